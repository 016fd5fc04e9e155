/**
 * Why an object was refused, and how each reason is told to the sender: the DIMSE
 * C-STORE status (PS3.4 B.2.3, PS3.7 C) and the STOW-RS Failure Reason (PS3.18 §10.5.3).
 * docs/dicom-conformance.md lists the same table.
 */
export type IntakeFailure =
  | 'malformed'
  | 'missing-uid'
  | 'sop-mismatch'
  | 'too-large'
  | 'conflict'
  | 'not-authorized'
  | 'unsupported-transfer-syntax'
  | 'processing';

/** Status codes per failure. */
export const FAILURE_STATUS: Record<IntakeFailure, number> = {
  /** Error: cannot understand (C-STORE C000-CFFF): the bytes are not a valid data set. */
  malformed: 0xc000,
  /** Error: cannot understand, a mandatory UID is missing or invalid. */
  'missing-uid': 0xc001,
  /** Error: data set does not match SOP class / the command's affected SOP UIDs. */
  'sop-mismatch': 0xa900,
  /** Refused: out of resources, the object exceeds the configured size limit. */
  'too-large': 0xa700,
  /** Failure: duplicate SOP instance with different content; the first version is kept. */
  conflict: 0x0111,
  /** Refused: not authorized, the study belongs to another facility. */
  'not-authorized': 0x0124,
  /** Referenced Transfer Syntax not supported (STOW-RS). */
  'unsupported-transfer-syntax': 0xc122,
  /** Processing failure: an internal error; nothing was stored. */
  processing: 0x0110,
};

/** Success. */
export const STATUS_SUCCESS = 0x0000;
