/**
 * Read confirmations (参照確認, W8) as they arrive from a facility system, answered in each
 * interface's own terms:
 * - HL7 v2.5 on the MLLP listener: `ORU^ZR1^ORU_R01` (interop/hl7/oru.ts reads it), answered
 *   with `ACK^ZR1^ACK`: AA when recorded, AE 101/102 for missing or malformed values, AE 204
 *   for a report version never delivered to the sending facility, AE 207 when confirmations
 *   cannot be recorded now;
 * - FHIR R4: `POST /fhir/R4/Communication` (interop/fhir/diagnostic-report.ts reads it),
 *   answered 200 with the Communication, or an OperationOutcome.
 */
import type { Communication } from '@medplum/fhirtypes';
import { readConfirmationOfCommunication } from '../../interop/fhir/diagnostic-report.ts';
import { FhirError } from '../../interop/fhir/index.ts';
import { buildAckBytes, type AckCode, type AckError, type Hl7Message } from '../../interop/hl7/index.ts';
import { READ_CONFIRMATION_TRIGGER, readConfirmationOf } from '../../interop/hl7/oru.ts';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { DeliveryService } from './service.ts';

let counter = 0;
function ackControlId(): string {
  counter = (counter + 1) % 1_679_616;
  return `ENKR${Date.now().toString(36)}${counter.toString(36).padStart(4, '0')}`.slice(0, 20);
}

/** The listener's answer to one read confirmation. */
export interface Hl7ConfirmationAnswer {
  /** The encoded `ACK^ZR1^ACK`, in the sender's character set. */
  reply: Buffer;
  ack: AckCode;
  /** ERR-3 codes (HL7 table 0357). */
  codes: number[];
}

/**
 * Handles a parsed `ORU^ZR1` from a registered HL7 sender of `facilityId` (the listener has
 * decoded it, checked its header and resolved the sender) and builds the acknowledgment. Never
 * throws.
 */
export async function answerHl7ReadConfirmation(service: DeliveryService, actor: Actor, facilityId: string, message: Hl7Message): Promise<Hl7ConfirmationAnswer> {
  const messageType = { code: 'ACK', trigger: READ_CONFIRMATION_TRIGGER, structure: 'ACK' };
  const reply = (ack: AckCode, errors: AckError[], text: string): Hl7ConfirmationAnswer => {
    const options = { code: ack, controlId: ackControlId(), errors, textMessage: text, messageType };
    let bytes: Buffer;
    try {
      bytes = buildAckBytes(message, options);
    } catch {
      bytes = buildAckBytes(message, { ...options, errors: errors.map((e) => ({ ...e, diagnostic: e.diagnostic?.replace(/[^\x20-\x7e]/g, '?') })) }, { halfwidthKatakana: 'fullwidth' });
    }
    return { reply: bytes, ack, codes: errors.map((e) => e.code) };
  };
  const read = readConfirmationOf(message);
  if (!read.ok) {
    return reply(read.issues.some((i) => i.code === 200) ? 'AR' : 'AE', read.issues.map((i) => ({ code: i.code, location: i.location, diagnostic: i.message })), 'read confirmation not recorded');
  }
  try {
    await service.receiveReadConfirmation(actor, facilityId, { ...read.confirmation, source: 'hl7' });
    return reply('AA', [], 'read confirmation recorded');
  } catch (e) {
    if (e instanceof AppError && e.code === 'not_found') return reply('AE', [{ code: 204, location: 'OBR-20', diagnostic: e.message }], 'unknown report version');
    if (e instanceof AppError && e.code === 'forbidden') return reply('AR', [{ code: 207, diagnostic: e.message }], 'not permitted');
    return reply('AE', [{ code: 207, diagnostic: e instanceof AppError && e.code !== 'internal' ? e.message : 'Application internal error' }], 'read confirmation not recorded');
  }
}

/**
 * Handles `POST /fhir/R4/Communication` from a facility's API token: reads the read confirmation
 * and records it.
 * @throws FhirError for a malformed Communication; AppError not_found / unavailable / forbidden
 */
export async function receiveFhirReadConfirmation(service: DeliveryService, actor: Extract<Actor, { kind: 'token' }>, body: unknown): Promise<Communication> {
  const c = readConfirmationOfCommunication(body);
  try {
    await service.receiveReadConfirmation(actor, actor.facilityId, { ...c, source: 'fhir' });
  } catch (e) {
    if (e instanceof AppError && e.code === 'not_found') throw new FhirError(404, [{ code: 'not-found', expression: 'Communication.about', diagnostics: e.message }]);
    throw e;
  }
  return body as Communication;
}
