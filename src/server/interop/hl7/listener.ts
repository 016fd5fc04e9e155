/**
 * The HL7 v2 listener: orders and patient updates from a facility's HIS/RIS over MLLP
 * (HL7 v2.5 Appendix C.4), bound to the facility by the registered sender (MSH-4, MSH-3).
 *
 * Per message: decode (MSH-18) and parse, check the header, find the sender, map (orders.ts),
 * call the orders services, and answer. Order messages that arrive at the same time, on any
 * connection, are committed together (group commit, platform/group-commit.ts and
 * OrderIntake.receiveMany): while one transaction commits, the messages arriving wait for
 * the next, which takes all of them; each is answered once the transaction that carried it
 * has committed, and each connection still gets its answers in order (it sends its next
 * message only then). Acknowledgment rules (HL7 v2.5 §2.9.2, original mode):
 * - AA only after the orders service has committed the message (it resolves after its transaction);
 *   a message already applied (same MSH-10 from the same facility) is answered AA again, saying
 *   so in MSA-3, and nothing changes;
 * - AR when the message cannot be taken at all: unreadable bytes or header, unknown sender,
 *   unsupported message type (200), event (201), processing ID (202) or version (203);
 * - AE when the content is wrong (101 required field missing, 102 data type, 103 table value,
 *   204 unknown order, 206 order cannot be changed in its state) or the application failed (207,
 *   without details);
 * - the reply is ORG^O20 for OMG^O19, ORR^O02 for ORM^O01, ACK otherwise, encoded in the
 *   sender's character set (MSH-18), or in ASCII when that set cannot be written.
 * Logs carry the facility, message type, control ID and codes, never message content (PHI).
 */
import fs from 'node:fs';
import { isLoopback, type EnkakuConfig } from '../../config.ts';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import type { ClinicalIntake, OrderInput, OrderIntake, OrderIntakeItem, OrderIntakeResult, OrderOutcome, PatientUpdates } from '../../orders/index.ts';
import { GroupCommitQueue } from '../../platform/group-commit.ts';
import { HL7_ERROR_CODES, buildAckBytes, type AckCode, type AckError } from './ack.ts';
import { Hl7CharsetError, decodeHl7 } from './charset.ts';
import { Hl7Message, Hl7ParseError, validateHeader, type Hl7MessageType } from './message.ts';
import { MllpServer, type MllpMessageContext } from './mllp.ts';
import { ClinicalMappingError, formatClinicalIssue, mapClinicalMessage } from './clinical.ts';
import { Hl7MappingError, classifyHl7Message, mapOrderMessage, mapPatientUpdate } from './orders.ts';
import { isReadConfirmation } from './oru.ts';

/** What the listener needs. */
export interface Hl7ListenerDeps {
  /** Looks up the facility of a sender by the namespace IDs of MSH-4 and MSH-3. */
  senders: { resolve(sendingFacility: string, sendingApplication: string): Promise<{ facilityId: string } | undefined> };
  orders: OrderIntake;
  patients: PatientUpdates;
  /** Clinical context (PPR^ZD1, ADT^A60, OUL^R22, RDE^O11, RAS^O17); without it those are refused with 200. */
  clinical?: ClinicalIntake;
  log: Logger;
  /** Most order messages committed in one transaction (default 64; 1 commits each alone). */
  maxBatch?: number;
  /**
   * Read confirmations of delivered reports (`ORU^ZR1`, W8): answers with the encoded
   * `ACK^ZR1`; without it they are refused with 200 like any other unknown message.
   */
  readConfirmations?: (actor: Actor, facilityId: string, message: Hl7Message) => Promise<{ reply: Buffer; ack: AckCode; codes: number[] }>;
}

/** Applies the orders of one message, all or none; resolves once they are committed. */
type OrderApplier = (actor: Actor, orders: OrderInput[]) => Promise<OrderOutcome[]>;

/**
 * How the listener applies order messages: through a group-commit queue when the orders
 * service takes batches, else one order after another.
 */
function orderApplier(deps: Hl7ListenerDeps): OrderApplier {
  const orders = deps.orders;
  if (orders.receiveMany && (deps.maxBatch ?? 2) > 1) {
    const queue = new GroupCommitQueue<OrderIntakeItem, OrderIntakeResult>((items) => orders.receiveMany!(items), { maxBatch: deps.maxBatch ?? 64, concurrency: orders.batchesInFlight ?? 1 });
    return async (actor, list) => {
      const r = await queue.submit({ actor, orders: list });
      if (!r.ok) throw r.error;
      return r.outcomes;
    };
  }
  return async (actor, list) => {
    const outcomes: OrderOutcome[] = [];
    // One at a time, in message order: a change must not overtake its new order.
    for (const order of list) outcomes.push(await orders.receive(actor, order));
    return outcomes;
  };
}

/** HL7 versions taken (MSH-12): 2.3 to 2.9; JAHIS messages are 2.5. */
const VERSION = /^2\.[3-9](\.\d+)*$/;

let ackCounter = 0;
/** MSH-10 of our replies: unique, at most 20 characters (HL7 v2.5 MSH-10 length). */
function ackControlId(): string {
  ackCounter = (ackCounter + 1) % 1_679_616;
  return `ENK${Date.now().toString(36)}${ackCounter.toString(36).padStart(4, '0')}`.slice(0, 20);
}

/** The first component (HD namespace ID) of MSH-3/MSH-4 as written, else the universal ID. */
function namespaceOf(message: Hl7Message, field: number): string {
  const msh = message.segments[0]!;
  return (msh.get(field, 1) ?? msh.get(field, 2) ?? '').trim();
}

/**
 * A message made of the MSH line of unreadable bytes (read as Latin-1), so that the reply can still
 * name the sender and the control ID; a bare MSH when even that fails.
 */
function headerOf(bytes: Uint8Array): Hl7Message {
  const text = Buffer.from(bytes).toString('latin1').replace(/^[\s\uFEFF]+/, '');
  const line = text.split(/[\r\n]/)[0] ?? '';
  try {
    if (line.startsWith('MSH')) return withoutCharset(Hl7Message.parse(line));
  } catch {
    // fall through
  }
  return Hl7Message.parse('MSH|^~\\&|||||||||P|2.5\r');
}

/** The same message header with MSH-18 and MSH-20 cleared (the reply is then plain ASCII). */
function withoutCharset(message: Hl7Message): Hl7Message {
  const msh = message.segments[0]!;
  const fields: string[] = [];
  for (let n = 2; n <= msh.fieldCount; n++) fields.push(n === 18 || n === 20 ? '' : msh.raw(n));
  // Keep ASCII only: a Latin-1 view of multi-byte text is noise.
  const line = `MSH${msh.raw(1)}${fields.join(msh.raw(1))}`.replace(/[^\x20-\x7e]/g, '?');
  return Hl7Message.parse(`${line}\r`);
}

/** Decode per MSH-18 and parse (as `parseHl7Bytes` of index.ts, which re-exports this module). */
function parseBytes(bytes: Uint8Array): Hl7Message {
  const decoded = decodeHl7(bytes);
  const decodeHex = decoded.model.encoding === 'utf-8' ? (b: Uint8Array) => Buffer.from(b).toString('utf8') : undefined;
  return Hl7Message.parse(decoded.text, decodeHex ? { unescape: { decodeHex } } : {});
}

/** Outcome of one message, for the log. */
interface Handled {
  reply: Buffer;
  ack: AckCode;
  codes: number[];
  facilityId?: string;
  type: string;
  controlId: string;
  outcome?: string;
}

/**
 * Builds the per-message handler of the listener (exported for tests): bytes in, the encoded
 * acknowledgment out. It never throws; every failure becomes an AR or AE.
 */
export function createHl7Handler(deps: Hl7ListenerDeps): (bytes: Uint8Array, context: Pick<MllpMessageContext, 'remoteAddress'>) => Promise<Buffer> {
  const applyOrders = orderApplier(deps);
  return async (bytes, context) => {
    const started = performance.now();
    const handled = await handleMessage(deps, applyOrders, bytes, context);
    deps.log.info({
      event: 'hl7.message',
      facilityId: handled.facilityId,
      type: handled.type,
      controlId: handled.controlId,
      ack: handled.ack,
      ...(handled.codes.length ? { errors: handled.codes } : {}),
      ...(handled.outcome ? { outcome: handled.outcome } : {}),
      ms: Math.round(performance.now() - started),
    }, 'HL7 message answered');
    return handled.reply;
  };
}

async function handleMessage(deps: Hl7ListenerDeps, applyOrders: OrderApplier, bytes: Uint8Array, context: Pick<MllpMessageContext, 'remoteAddress'>): Promise<Handled> {
  let message: Hl7Message;
  try {
    message = parseBytes(bytes);
  } catch (e) {
    const original = headerOf(bytes);
    const h = original.header;
    const error = describeReadError(e);
    return {
      reply: encodeReply(original, 'AR', [error], undefined, 'the message could not be read'),
      ack: 'AR', codes: [error.code], type: typeOf(h.messageType), controlId: h.controlId,
    };
  }
  const h = message.header;
  const kind = classifyHl7Message(h.messageType.code, h.messageType.trigger);
  const replyType: Hl7MessageType | undefined = kind.kind === 'order' || kind.kind === 'patient' ? kind.reply : undefined;
  const base = { type: typeOf(h.messageType), controlId: h.controlId };
  const reject = (ack: 'AR' | 'AE', errors: AckError[], text: string, facilityId?: string): Handled => ({
    ...base, reply: encodeReply(message, ack, errors, replyType, text), ack, codes: errors.map((e) => e.code), ...(facilityId ? { facilityId } : {}),
  });

  const headerIssues = validateHeader(message);
  if (headerIssues.length) return reject('AR', headerIssues.map((i) => ({ code: i.code, location: i.location, diagnostic: i.message })), 'invalid message header');

  const sendingFacility = namespaceOf(message, 4);
  const sendingApplication = namespaceOf(message, 3);
  let sender: { facilityId: string } | undefined;
  try {
    sender = await deps.senders.resolve(sendingFacility, sendingApplication);
  } catch {
    deps.log.error({ event: 'hl7.error', type: base.type, controlId: base.controlId }, 'HL7 sender lookup failed');
    return reject('AE', [{ code: 207, diagnostic: HL7_ERROR_CODES[207] }], 'application internal error');
  }
  if (!sender) {
    return reject('AR', [{
      code: 204, location: 'MSH-4',
      diagnostic: `sender ${sendingFacility || '(empty MSH-4)'}${sendingApplication ? ` / ${sendingApplication}` : ''} is not registered with Enkaku (enkaku facility add-hl7-sender)`,
    }], 'sender not registered');
  }
  const facilityId = sender.facilityId;
  if (!VERSION.test(h.version)) return reject('AR', [{ code: 203, location: 'MSH-12', diagnostic: `HL7 version ${h.version} is not supported (2.3 to 2.9; JAHIS uses 2.5)` }], 'unsupported version', facilityId);
  if (h.processingId !== 'P') return reject('AR', [{ code: 202, location: 'MSH-11', diagnostic: `processing ID ${h.processingId} is not accepted: only P (production) messages are stored` }], 'unsupported processing ID', facilityId);
  if (deps.readConfirmations && isReadConfirmation(message)) {
    const device: Actor = { kind: 'device', facilityId, aet: `HL7 ${sendingApplication || sendingFacility}`.slice(0, 64), address: context.remoteAddress ?? '' };
    const answer = await deps.readConfirmations(device, facilityId, message);
    return { ...base, facilityId, reply: answer.reply, ack: answer.ack, codes: answer.codes, outcome: 'read-confirmation' };
  }
  if (kind.kind === 'unsupported') return reject('AR', [{ code: kind.code, location: kind.code === 200 ? 'MSH-9-1' : 'MSH-9-2', diagnostic: kind.message }], 'unsupported message', facilityId);
  if (kind.kind === 'clinical' && !deps.clinical) {
    return reject('AR', [{ code: 200, location: 'MSH-9', diagnostic: `clinical messages (${base.type}) are not accepted by this listener yet` }], 'unsupported message', facilityId);
  }

  const actor: Actor = { kind: 'device', facilityId, aet: `HL7 ${sendingApplication || sendingFacility}`.slice(0, 64), address: context.remoteAddress ?? '' };
  try {
    let text: string;
    let outcome: string;
    let warnings: AckError[] = [];
    if (kind.kind === 'order') {
      const outcomes = await applyOrders(actor, mapOrderMessage(message, { facilityId }));
      outcome = outcomes.map((o) => o.kind).join(',');
      text = outcomes.every((o) => o.kind === 'duplicate')
        ? 'duplicate: this message was already applied; nothing changed'
        : outcomes.map((o) => (o.kind === 'duplicate' ? 'duplicate (already applied)' : `order ${o.kind}${o.note ? ` (${o.note})` : ''}`)).join('; ');
    } else if (kind.kind === 'patient') {
      const patient = mapPatientUpdate(message);
      await deps.patients.update(actor, facilityId, patient);
      outcome = 'patient-updated';
      text = 'patient updated';
      // ADT^A08 may carry allergies (AL1) and diagnoses (DG1): SS-MIX2 ADT-00.
      if (deps.clinical && message.segments.some((s) => s.name === 'AL1' || s.name === 'DG1' || s.name === 'IAM')) {
        const mapped = mapClinicalMessage(message, { facilityId, source: 'hl7', keyPrefix: clinicalKey(sendingFacility, sendingApplication) });
        if (mapped.items.length) {
          const r = await deps.clinical.record(actor, mapped.items);
          text += `; ${r.added} clinical item(s) added, ${r.updated} updated, ${r.unchanged} unchanged`;
        }
      }
    } else {
      const mapped = mapClinicalMessage(message, { facilityId, source: 'hl7', keyPrefix: clinicalKey(sendingFacility, sendingApplication) });
      if (mapped.demographics) await deps.patients.update(actor, facilityId, mapped.patient);
      const r = await deps.clinical!.record(actor, mapped.items);
      outcome = `clinical:${r.added}+${r.updated}+${r.unchanged}`;
      text = `${r.added} clinical item(s) added, ${r.updated} updated, ${r.unchanged} unchanged`;
      // Items that could not be read do not stop the others; the sender is told (ERR-4 W).
      warnings = mapped.issues.map((i) => ({ code: 102 as const, severity: 'W' as const, ...(i.field && /^[A-Z][A-Z0-9]{2}-\d+/.test(i.field) ? { location: i.field.replace(/^([A-Z0-9]{3})-(\d+).*$/, '$1-$2') } : {}), diagnostic: formatClinicalIssue(i).replace(/[^\x20-\x7e]/g, '?').slice(0, 200) }));
    }
    return { ...base, facilityId, reply: encodeReply(message, 'AA', warnings, replyType, text), ack: 'AA', codes: warnings.map((w) => w.code), outcome };
  } catch (e) {
    if (e instanceof ClinicalMappingError) {
      const field = e.location.field && /^[A-Z][A-Z0-9]{2}-\d+$/.test(e.location.field) ? e.location.field : undefined;
      return reject('AE', [{ code: field ? 101 : 100, location: field ?? e.location.segment ?? 'MSH', diagnostic: e.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) }], 'required data missing or invalid', facilityId);
    }
    if (e instanceof Hl7MappingError) {
      return reject('AE', e.issues.map((i) => ({ code: i.code, location: i.location, diagnostic: i.message })), 'required data missing or invalid', facilityId);
    }
    if (e instanceof AppError) {
      const { ack, code } = appErrorCode(e);
      if (code === 207 && e.code === 'internal') deps.log.error({ event: 'hl7.error', facilityId, type: base.type, controlId: base.controlId }, 'orders service failed');
      // AppError messages are safe to show (they carry no PHI, platform/errors.ts).
      return reject(ack, [{ code, diagnostic: e.code === 'internal' ? HL7_ERROR_CODES[207] : e.message }], ack === 'AR' ? 'not permitted' : 'not applied', facilityId);
    }
    deps.log.error({ event: 'hl7.error', facilityId, type: base.type, controlId: base.controlId, error: (e as Error)?.name ?? 'unknown' }, 'HL7 message could not be applied');
    return reject('AE', [{ code: 207 }], 'application internal error', facilityId);
  }
}

/** Start of the clinical items' source keys: the sender (MSH-10 and the segment follow). */
function clinicalKey(sendingFacility: string, sendingApplication: string): string {
  return `mllp:${sendingFacility}/${sendingApplication}`;
}

/** Table 0357 code and MSA-1 for an error of the orders services. */
function appErrorCode(e: AppError): { ack: 'AE' | 'AR'; code: 101 | 102 | 204 | 206 | 207 } {
  switch (e.code) {
    case 'bad_request':
    case 'unprocessable':
      return { ack: 'AE', code: /required|missing/i.test(e.message) ? 101 : 102 };
    case 'not_found':
      return { ack: 'AE', code: 204 };
    case 'conflict':
    case 'locked':
      return { ack: 'AE', code: 206 };
    case 'forbidden':
    case 'unauthenticated':
      return { ack: 'AR', code: 207 };
    default:
      return { ack: 'AE', code: 207 };
  }
}

/** The ERR of a message that could not be decoded or parsed. */
function describeReadError(e: unknown): AckError {
  if (e instanceof Hl7CharsetError) {
    return e.reason === 'unsupported-charset'
      ? { code: 103, location: 'MSH-18', diagnostic: `${e.message} (HL7 table 0211; JAHIS: ~ISO IR87)` }
      : { code: 100, location: 'MSH', diagnostic: e.message };
  }
  if (e instanceof Hl7ParseError) {
    const seg = e.location.segment && /^[A-Z][A-Z0-9]{2}$/.test(e.location.segment) ? e.location.segment : undefined;
    return {
      code: e.errorCode,
      ...(seg ? { location: { segment: seg, sequence: 1, ...(e.location.field ? { field: e.location.field } : {}) } } : {}),
      diagnostic: e.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
    };
  }
  return { code: 207, diagnostic: HL7_ERROR_CODES[207] };
}

function typeOf(t: Hl7MessageType): string {
  return `${t.code || '?'}^${t.trigger || '?'}`;
}

/** The acknowledgment in the sender's character set, or in ASCII when that cannot be written. */
function encodeReply(original: Hl7Message, code: AckCode, errors: AckError[], messageType: Hl7MessageType | undefined, text: string): Buffer {
  const options = { code, controlId: ackControlId(), errors, textMessage: text, ...(messageType ? { messageType } : {}) };
  try {
    return buildAckBytes(original, options);
  } catch {
    return buildAckBytes(withoutCharset(original), { ...options, errors: errors.map((e) => ({ ...e, diagnostic: e.diagnostic?.replace(/[^\x20-\x7e]/g, '?') })) });
  }
}

/** A running HL7 listener. */
export interface Hl7Listener {
  host: string;
  port: number;
  tls: boolean;
  close(): Promise<void>;
}

/**
 * Starts the MLLP listener on `ENKAKU_HL7_HOST:ENKAKU_HL7_PORT`. Like the DICOM listener it binds
 * to loopback by default and refuses plain TCP elsewhere unless TLS is configured
 * (`ENKAKU_HL7_TLS_CERT`, `ENKAKU_HL7_TLS_KEY`; `ENKAKU_HL7_TLS_CA` requires client certificates)
 * or the operator sets `ENKAKU_HL7_ALLOW_PLAIN=1` (e.g. inside an IPsec VPN).
 *
 * @throws Error when plain MLLP off loopback is not allowed, or the port cannot be bound
 */
export async function startHl7Listener(config: Pick<EnkakuConfig, 'hl7' | 'tlsMinVersion'>, deps: Hl7ListenerDeps): Promise<Hl7Listener> {
  const c = config.hl7;
  const useTls = Boolean(c.tlsCert && c.tlsKey);
  if (!useTls && !isLoopback(c.host) && !c.allowPlainOffLoopback) {
    throw new Error(
      `refusing to accept HL7 in plain text on ${c.host}: set ENKAKU_HL7_TLS_CERT and ENKAKU_HL7_TLS_KEY, ` +
        'bind ENKAKU_HL7_HOST to 127.0.0.1, or set ENKAKU_HL7_ALLOW_PLAIN=1 inside a protected network',
    );
  }
  const handler = createHl7Handler(deps);
  const server = new MllpServer({
    handler: (bytes, context) => handler(bytes, context),
    ...(useTls
      ? {
          tls: {
            cert: fs.readFileSync(c.tlsCert!),
            key: fs.readFileSync(c.tlsKey!),
            ...(c.tlsCa ? { ca: fs.readFileSync(c.tlsCa), requestCert: true } : {}),
            minVersion: config.tlsMinVersion,
          },
        }
      : {}),
    onError: (error, context) => deps.log.warn({ event: 'hl7.transport', reason: (error as { reason?: string }).reason ?? error.name, detail: error.message, connectionId: context.connectionId }, 'HL7 transport problem'),
  });
  const address = await server.listen(c.port, c.host);
  deps.log.info({ event: 'hl7.listen', host: c.host, port: address.port, tls: useTls }, 'HL7 listener ready');
  return { host: c.host, port: address.port, tls: useTls, close: () => server.close() };
}
