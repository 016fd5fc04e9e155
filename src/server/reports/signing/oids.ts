/**
 * Object identifiers of report signing: CMS (RFC 5652), ESS (RFC 5035), RFC 3161
 * time-stamping, PKIX extended key usages (RFC 5280, RFC 9336), and Enkaku's own arc.
 */
import * as asn1js from 'asn1js';

/**
 * Enkaku's own OID arc: a UUID-derived OID (ITU-T X.667 / ISO/IEC 9834-8, `2.25.<UUID as a
 * decimal integer>`), which needs no registration and collides with no one's.
 */
export const ENKAKU_ARC = '2.25.339258100229830049426559507861592602349';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  signatureTimeStampToken: '1.2.840.113549.1.9.16.2.14',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecPublicKey: '1.2.840.10045.2.1',
  ekuTimeStamping: '1.3.6.1.5.5.7.3.8',
  ekuEmailProtection: '1.3.6.1.5.5.7.3.4',
  ekuDocumentSigning: '1.3.6.1.5.5.7.3.36',
  /** X.520 serialNumber and RFC 4519 uid, which carry the Enkaku user id in signing certificates. */
  attrSerialNumber: '2.5.4.5',
  attrUid: '0.9.2342.19200300.100.1.1',
  /**
   * Policy of Enkaku's built-in time-stamping authority: "local clock of this Enkaku
   * installation, not an accredited TSA" (ENKAKU_ARC.1.1).
   */
  localTsaPolicy: `${ENKAKU_ARC}.1.1`,
  /** Certificate policy of signing certificates issued by an Enkaku installation's own CA. */
  localSigningCertPolicy: `${ENKAKU_ARC}.1.2`,
} as const;

/**
 * How asn1js prints an OID it has parsed. It keeps arcs above 2^53 (every arc of a 2.25 UUID
 * OID) as `{hex}` instead of decimal, so parsed OIDs of Enkaku's arc are compared through
 * this rendering.
 */
function asParsed(oid: string): string {
  const encoded = new asn1js.ObjectIdentifier({ value: oid }).toBER(false);
  const parsed = asn1js.fromBER(encoded).result;
  return parsed instanceof asn1js.ObjectIdentifier ? parsed.valueBlock.toString() : oid;
}

const PARSED = new Map<string, string>();

/** Whether an OID as parsed by asn1js / pkijs is the given OID. */
export function isOid(parsed: string, oid: string): boolean {
  if (parsed === oid) return true;
  let rendered = PARSED.get(oid);
  if (rendered === undefined) {
    rendered = asParsed(oid);
    PARSED.set(oid, rendered);
  }
  return parsed === rendered;
}
