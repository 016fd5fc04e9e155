/**
 * Acknowledgment messages (HL7 v2.5 §2.9 acknowledgment rules, §2.14.1 ACK, §2.15.8 MSA,
 * §2.15.5 ERR). The reply mirrors the original: sender and receiver swapped, the same processing
 * ID, version, delimiters and character set (MSH-18, MSH-20), so it can be encoded back with
 * `encodeHl7` in the sender's own charset.
 */
import { Hl7Builder, raw, type Hl7Field, type Hl7Repetition } from './builder.ts';
import { encodeHl7, type EncodeOptions } from './charset.ts';
import { type Hl7ErrorCode, type Hl7Message, type Hl7MessageType, parsePath } from './message.ts';

/**
 * MSA-1 acknowledgment code (HL7 table 0008): AA accept, AE error, AR reject (original mode and
 * application acknowledgments); CA, CE, CR the enhanced-mode commit acknowledgments.
 */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** HL7 table 0357, message error condition codes (HL7 v2.5 ERR-3), with their table texts. */
export const HL7_ERROR_CODES: Readonly<Record<Hl7ErrorCode, string>> = Object.freeze({
  0: 'Message accepted',
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
});

/** Where an error is (ERR-2, ERL data type): segment ID, its sequence, field, repetition, component, subcomponent. */
export interface Hl7ErrorLocation {
  segment: string;
  /** Which occurrence of the segment in the message (1-based). */
  sequence?: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

/** One ERR segment. */
export interface AckError {
  /** ERR-3, HL7 table 0357. */
  code: Hl7ErrorCode;
  /** ERR-2, as an object or a path such as `PID-3` or `OBR[2]-4-1`. */
  location?: Hl7ErrorLocation | string;
  /** ERR-4 severity (table 0516): E error (default), W warning, I information. */
  severity?: 'E' | 'W' | 'I';
  /** ERR-5 application error code (CWE identifier^text^coding system). */
  applicationErrorCode?: { code: string; text?: string; system?: string };
  /** ERR-7 diagnostic information for the sender's support staff (no PHI). */
  diagnostic?: string;
  /** ERR-8 user message, e.g. 「患者IDがありません」 (any text the reply charset can carry). */
  userMessage?: string;
}

/** Options of {@link buildAck}. */
export interface AckOptions {
  code: AckCode;
  /** MSH-10 of the acknowledgment itself. */
  controlId: string;
  errors?: readonly AckError[];
  /** MSA-3 text message (deprecated in v2.5 but still read by many receivers). */
  textMessage?: string;
  /** MSH-7, default now. */
  dateTime?: Date | string;
  /**
   * MSH-9 of the reply. Default `ACK^<original trigger>^ACK` (HL7 v2.5 §2.14.1); an application
   * acknowledgment such as `ORG^O20^ORG_O20` can be given instead.
   */
  messageType?: Hl7MessageType;
  /** Used when MSH-3/4 of the original name no application/facility to answer as (our identity). */
  sendingApplication?: Hl7Repetition;
  sendingFacility?: Hl7Repetition;
  /** MSH-12 when the original's version is missing (default 2.5). */
  fallbackVersion?: string;
}

/**
 * Build an acknowledgment for a received message: MSH mirrored from the original (MSH-3/4 from
 * its MSH-5/6 and the other way round, MSH-11, MSH-12, MSH-17, MSH-18 and MSH-20 copied, the
 * same delimiters), MSA-1 the code and MSA-2 the original's control ID, and one ERR segment per
 * error (ERR-2 location, ERR-3 table 0357 code, ERR-4 severity, ERR-7, ERR-8).
 */
export function buildAck(original: Hl7Message, options: AckOptions): Hl7Message {
  const h = original.header;
  const b = new Hl7Builder({ delimiters: original.delimiters });
  const copied = (rawField: string, fallback: Hl7Repetition | undefined): Hl7Repetition | undefined =>
    rawField !== '' ? raw(rawField) : fallback;
  b.msh({
    sendingApplication: copied(h.receivingApplication, options.sendingApplication),
    sendingFacility: copied(h.receivingFacility, options.sendingFacility),
    receivingApplication: copied(h.sendingApplication, undefined),
    receivingFacility: copied(h.sendingFacility, undefined),
    dateTime: options.dateTime ?? new Date(),
    messageType: options.messageType ?? { code: 'ACK', trigger: h.messageType.trigger, structure: 'ACK' },
    controlId: options.controlId,
    processingId: h.processingId || 'P',
    version: h.version || (options.fallbackVersion ?? '2.5'),
    countryCode: h.countryCode || undefined,
    characterSet: h.characterSet,
    alternateCharacterSetHandling: h.alternateCharacterSetHandling || undefined,
  });
  b.segment('MSA', options.code, h.controlId, options.textMessage);
  for (const e of options.errors ?? []) b.segment('ERR', ...errFields(e));
  return b.build();
}

/** The ERR fields 1..8 of one error. */
function errFields(e: AckError): Hl7Field[] {
  const loc = e.location === undefined ? undefined : typeof e.location === 'string' ? locationFromPath(e.location) : e.location;
  const erl: Hl7Field = loc
    ? [loc.segment, loc.sequence ?? 1, loc.field, loc.field !== undefined ? loc.repetition ?? 1 : undefined, loc.component, loc.subcomponent]
    : undefined;
  const app = e.applicationErrorCode ? [e.applicationErrorCode.code, e.applicationErrorCode.text, e.applicationErrorCode.system] : undefined;
  return [
    undefined, // ERR-1 (ELD) is kept for backward compatibility only (HL7 v2.5 §2.15.5.1)
    erl,
    [String(e.code), HL7_ERROR_CODES[e.code], 'HL70357'],
    e.severity ?? 'E',
    app,
    undefined,
    e.diagnostic,
    e.userMessage,
  ];
}

function locationFromPath(path: string): Hl7ErrorLocation {
  if (/^[A-Z][A-Z0-9]{2}(?:\[\d+\])?$/.test(path)) {
    const m = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?$/.exec(path)!;
    return { segment: m[1]!, sequence: m[2] ? Number(m[2]) : 1 };
  }
  const p = parsePath(path);
  return { segment: p.segment, sequence: p.occurrence, field: p.field, repetition: p.repetition, component: p.component, subcomponent: p.subcomponent };
}

/**
 * Build the acknowledgment and encode it in the original's character set (MSH-18), ready to be
 * returned by an MLLP handler.
 *
 * @throws Hl7CharsetError when a user message cannot be written in that character set.
 */
export function buildAckBytes(original: Hl7Message, options: AckOptions, encodeOptions: EncodeOptions = {}): Buffer {
  const ack = buildAck(original, options);
  return encodeHl7(ack.toString(), original.header.characterSet, encodeOptions);
}
