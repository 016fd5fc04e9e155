/**
 * HL7 v2 interface: message model, character sets, MLLP transport and acknowledgments for orders
 * from Japanese hospital systems (JAHIS 放射線データ交換規約, HL7 v2.5). Other modules import
 * from here.
 */
import { type DecodeOptions, type DecodedHl7, decodeHl7 } from './charset.ts';
import { Hl7Message, type Hl7ParseOptions } from './message.ts';

export {
  Hl7Message, Hl7ParseError, Hl7Segment, parsePath, validateHeader,
  type Hl7ErrorCode, type Hl7Header, type Hl7HeaderIssue, type Hl7MessageType, type Hl7ParseOptions, type Hl7ParseReason, type Hl7Path,
} from './message.ts';
export { DEFAULT_DELIMITERS, encodingCharacters, escapeHl7, unescapeHl7, type Hl7Delimiters } from './escape.ts';
export { Hl7Builder, formatHl7DateTime, raw, repeat, type Hl7Field, type Hl7HeaderInit } from './builder.ts';
export {
  Hl7CharsetError, charsetModel, decodeHl7, encodeHl7, sniffHeader,
  type DecodeOptions, type DecodedHl7, type EncodeOptions, type Hl7CharsetModel, type SniffedHeader,
} from './charset.ts';
export {
  DEFAULT_MAX_FRAME_BYTES, MllpClient, MllpDecoder, MllpFramingError, MllpServer, MllpTimeoutError, encodeMllpFrame,
  type MllpClientOptions, type MllpEvent, type MllpMessageContext, type MllpServerOptions, type MllpTlsOptions,
} from './mllp.ts';
export {
  Hl7MappingError, classifyHl7Message, hl7TimeToIso, mapOrderMessage, mapPatientUpdate, type Hl7MappingIssue, type Hl7MessageKind,
} from './orders.ts';
export { createHl7Handler, startHl7Listener, type Hl7Listener, type Hl7ListenerDeps } from './listener.ts';
export { HL7_ERROR_CODES, buildAck, buildAckBytes, type AckCode, type AckError, type AckOptions, type Hl7ErrorLocation } from './ack.ts';
export {
  CLINICAL_DATA_TYPES, CODE_SYSTEM_NAMES, ClinicalMappingError, allergyFromAl1, allergyFromIam, codeSystemName, contrastClass, diagnosisFromDg1,
  diagnosisFromPrb, formatClinicalIssue, isClinicalDataType, isMetformin, isoTime, labClass, labFromObx, mapClinicalBytes, mapClinicalMessage,
  patientFromPid,
  type ClinicalContext, type ClinicalDataType, type ClinicalIssue, type ClinicalLocation, type ClinicalMessage, type LabTimes, type SegmentEnv,
  type SegmentResult,
} from './clinical.ts';

/**
 * Decode the bytes of one received message per its MSH-18 and parse it (the usual first step of
 * a listener). `\Xhh..\` data is read in the message's own character set.
 *
 * @throws Hl7CharsetError for bytes that are not HL7 or an unsupported character set,
 *   Hl7ParseError for a structurally invalid message.
 */
export function parseHl7Bytes(bytes: Uint8Array, options: DecodeOptions & Hl7ParseOptions = {}): { message: Hl7Message; decoded: DecodedHl7 } {
  const decoded = decodeHl7(bytes, options);
  const decodeHex = options.unescape?.decodeHex
    ?? (decoded.model.encoding === 'utf-8' ? (b: Uint8Array) => Buffer.from(b).toString('utf8') : undefined);
  const message = Hl7Message.parse(decoded.text, { unescape: { ...options.unescape, ...(decodeHex ? { decodeHex } : {}) } });
  return { message, decoded };
}
export { buildOruR01, encodeOruR01, isReadConfirmation, readConfirmationOf, READ_CONFIRMATION_TRIGGER, type OruOptions, type EncodedOru, type Hl7ReadConfirmation } from './oru.ts';
