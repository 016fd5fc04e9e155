/**
 * Transfer syntaxes Enkaku accepts for storage (PS3.5 §10, PS3.6 Annex A). Pixel data
 * is stored as received; the renderer decodes these later.
 */
export const TS = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLosslessP14: '1.2.840.10008.1.2.4.57',
  JpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  RleLossless: '1.2.840.10008.1.2.5',
} as const;

/** Every transfer syntax accepted by C-STORE SCP, STOW-RS and import. */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = Object.values(TS);

/** Native (uncompressed) transfer syntaxes, preferred in that order when a sender offers several. */
export const NATIVE_TRANSFER_SYNTAXES: readonly string[] = [
  TS.ExplicitVRLittleEndian,
  TS.ImplicitVRLittleEndian,
  TS.ExplicitVRBigEndian,
  TS.DeflatedExplicitVRLittleEndian,
];

/** Whether the transfer syntax uses explicit VR. */
export function isExplicitVr(ts: string): boolean {
  return ts !== TS.ImplicitVRLittleEndian;
}

/** Whether the transfer syntax is big endian (retired, still received from old modalities). */
export function isBigEndian(ts: string): boolean {
  return ts === TS.ExplicitVRBigEndian;
}

/** Verification SOP Class (C-ECHO). */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Enkaku's implementation class UID (PS3.7 D.3.3.2), under the UUID-derived 2.25 root. */
export const IMPLEMENTATION_CLASS_UID = '2.25.196731548205838829914452153846217374120';
/** Implementation version name, at most 16 characters. */
export const IMPLEMENTATION_VERSION = 'ENKAKU_0_1';

/** A UID is at most 64 characters of digits and dots with no leading zeros in components (PS3.5 §9.1). */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
