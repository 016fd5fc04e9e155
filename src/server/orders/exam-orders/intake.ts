/**
 * Order intake as a group commit: the messages of a batch apply in one transaction, each
 * with its own outcome, by the rules of service.ts (idempotency, out-of-order messages,
 * cancels). One transaction per batch instead of one per message is what lets intake keep
 * up with several senders while an acknowledgment still waits for the durable commit.
 *
 * How one batch runs (`applyBatch`, inside the caller's transaction):
 * 1. the orders the batch names are read (locked on PostgreSQL, in placer order), with the
 *    messages already taken and the patients known: one query each per facility;
 * 2. each message applies in memory, in a layer over the batch's state, its orders one after
 *    another; when all of them apply the layer joins the batch, else it is dropped and the
 *    message fails alone (nothing of it is written, except the note of a refused change of
 *    an order that was cancelled before the message);
 * 3. new and changed rows are written with a few multi-row statements, each table's rows in
 *    key order (two batches in flight wait for each other rather than deadlock);
 * 4. the audit head is locked (AuditService.withBatch); the orders the batch touched are
 *    matched to queued studies where their facility has any (reconciliation/service.ts:
 *    both sides match after taking the head lock, so a study and an order that race are
 *    never missed); the audit entries are written in message order, then the head, and the
 *    caller commits.
 * Row locks come before the head lock, as in every other audited change (image intake,
 * patient updates), so that none of them can deadlock with order intake. On SQLite, where
 * one connection writes at a time, the head (the database write lock) is taken first
 * instead: another process's commit can then no longer invalidate what was read.
 *
 * Orders are matched once their whole batch is written, each in its final state: two orders
 * of one batch that fit the same queued study make it ambiguous, as two orders stored one
 * after the other would have when the second arrived first. A batch that fails as a whole
 * (a database error, matching included) is rolled back and its messages are taken again,
 * each in its own transaction, by the caller.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AuditBatch, AuditEntryInput } from '../../audit/index.ts';
import type { OrderEventView } from '../../../shared/api.ts';
import { describeActor, type Actor } from '../../platform/context.ts';
import type { Database, Order, OrderEvent, Patient } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import { ConcurrentInsert } from '../db-errors.ts';
import type { OrderNote, OrderOutcome } from '../model.ts';
import { MpiRepository, demographicUpdate, newPatientRow, patientKey } from '../mpi/repository.ts';
import { OrderRepository } from './repository.ts';
import type { CleanOrder } from './validate.ts';

/** A message of a batch, checked: who sent it and its orders. */
export interface CheckedMessage {
  actor: Actor;
  orders: CleanOrder[];
}

/** What became of a message of a batch. */
export type MessageResult = { ok: true; outcomes: OrderOutcome[] } | { ok: false; error: unknown };

/** What a batch needs besides its transaction. */
export interface BatchDeps {
  dialect: 'sqlite' | 'postgres';
  /** Whether a facility has studies waiting for their order (reconciliation queue). */
  anyQueued: (trx: Transaction<Database>, facilityId: string) => Promise<boolean>;
  /** Links the queued study of an order just written (reconciliation). */
  matchOrder: (trx: Transaction<Database>, order: Order) => Promise<void>;
}

/** A change of a cancelled order: refused; the refusal is noted in the order's history. */
export class RefusedChange extends Error {
  constructor(readonly order: Order) {
    super('change of a cancelled order');
  }
}

/** Outcome of a message as stored in the history. */
type EventOutcome = OrderEventView['outcome'];

/** Order columns a message sets, with the names the history lists when they change. */
const DATA_FIELDS: ReadonlyArray<[keyof Order, string]> = [
  ['patient_ref', 'patient'],
  ['filler_order_number', 'fillerOrderNumber'],
  ['accession_number', 'accessionNumber'],
  ['priority', 'priority'],
  ['jj1017', 'jj1017'],
  ['modality', 'modality'],
  ['body_part', 'bodyPart'],
  ['procedure_text', 'procedureText'],
  ['reason', 'reason'],
  ['clinical_notes', 'clinicalNotes'],
  ['contrast', 'contrast'],
  ['requester_name', 'requester.name'],
  ['requester_department', 'requester.department'],
  ['requested_at', 'requestedAt'],
  ['scheduled_at', 'scheduledAt'],
];

const orderKey = (facilityId: string, placer: string): string => `${facilityId}\u0000${placer}`;
const messageKey = (facilityId: string, source: string, messageId: string): string => `${facilityId}\u0000${source}\u0000${messageId}`;

/**
 * What a batch knows and has changed: the batch's own state, or a message's layer over it
 * (`parent`) that joins it when the message applies. Rows are replaced, never mutated.
 */
class Layer {
  readonly orders = new Map<string, Order>();
  readonly patients = new Map<string, Patient>();
  /** Messages taken: order id by {@link messageKey}. */
  readonly messages = new Map<string, string>();
  /** Ids of rows not in the database yet. */
  readonly newIds = new Set<string>();
  readonly dirtyOrders = new Map<string, Order>();
  readonly dirtyPatients = new Map<string, Patient>();
  /** Demographic columns changed on stored patients: only these are written (see MpiRepository.updateDemographics). */
  readonly changedColumns = new Map<string, string[]>();
  readonly events: OrderEvent[] = [];
  readonly audit: AuditEntryInput[] = [];
  /** Orders a message applied to (not only duplicates), in the order first touched, as they are now. */
  readonly touched = new Map<string, Order>();

  constructor(readonly parent?: Layer) {}

  order(key: string): Order | undefined {
    return this.orders.get(key) ?? this.parent?.order(key);
  }

  patient(key: string): Patient | undefined {
    return this.patients.get(key) ?? this.parent?.patient(key);
  }

  message(key: string): string | undefined {
    return this.messages.get(key) ?? this.parent?.message(key);
  }

  isNew(id: string): boolean {
    return this.newIds.has(id) || (this.parent?.isNew(id) ?? false);
  }

  putOrder(row: Order, created: boolean): void {
    this.orders.set(orderKey(row.facility_id, row.placer_order_number), row);
    this.dirtyOrders.set(row.id, row);
    if (created) this.newIds.add(row.id);
  }

  putPatient(row: Patient, created: boolean, changed: readonly string[] = []): void {
    this.patients.set(patientKey(row.facility_id, row.patient_id, row.issuer), row);
    this.dirtyPatients.set(row.id, row);
    if (created) this.newIds.add(row.id);
    if (changed.length) this.changedColumns.set(row.id, [...new Set([...this.changed(row.id), ...changed])]);
  }

  private changed(id: string): string[] {
    return this.changedColumns.get(id) ?? this.parent?.changed(id) ?? [];
  }

  /** Hands everything to the parent layer (the message applied). */
  join(): void {
    const p = this.parent!;
    for (const [k, v] of this.orders) p.orders.set(k, v);
    for (const [k, v] of this.patients) p.patients.set(k, v);
    for (const [k, v] of this.messages) p.messages.set(k, v);
    for (const id of this.newIds) p.newIds.add(id);
    for (const [k, v] of this.dirtyOrders) p.dirtyOrders.set(k, v);
    for (const [k, v] of this.dirtyPatients) p.dirtyPatients.set(k, v);
    for (const [k, v] of this.changedColumns) p.changedColumns.set(k, v);
    p.events.push(...this.events);
    p.audit.push(...this.audit);
    for (const [k, v] of this.touched) p.touched.set(k, v);
  }
}

/** Finds or creates the patient of an order in the layer, filling empty demographics (as MpiRepository.ensure 'fill'). */
function ensurePatient(layer: Layer, o: CleanOrder, now: string): { id: string; created: boolean } {
  const found = layer.patient(patientKey(o.facilityId, o.patient.patientId, o.patient.issuer));
  if (!found) {
    const row = newPatientRow(o.facilityId, o.patient, now);
    layer.putPatient(row, true);
    return { id: row.id, created: true };
  }
  const { changed, row } = demographicUpdate(found, o.patient, 'fill', now);
  if (changed.length) layer.putPatient(row, false, changed);
  return { id: found.id, created: false };
}

/**
 * Applies one order message to the layer by the rules of the module notes (service.ts):
 * the order, its history entry and its audit entry. Reads and writes nothing in the database.
 * @throws RefusedChange for a change of a cancelled order that is not older than the cancel
 */
function applyOrder(layer: Layer, actor: Actor, o: CleanOrder, clock: (order: string) => string): OrderOutcome {
  const key = messageKey(o.facilityId, o.source, o.messageId);
  const dup = layer.message(key);
  if (dup) return { kind: 'duplicate', orderId: dup };
  const existing = layer.order(orderKey(o.facilityId, o.placerOrderNumber));
  const older = Boolean(existing && o.messageTime && existing.message_time && o.messageTime < existing.message_time);
  const newer = Boolean(existing && o.messageTime && existing.message_time && o.messageTime > existing.message_time);
  // Decided before the patient is touched: a refused message changes nothing.
  if (existing?.status === 'cancelled' && o.control === 'change' && !older) throw new RefusedChange(existing);
  const now = clock(orderKey(o.facilityId, o.placerOrderNumber));
  const patient = ensurePatient(layer, o, now);
  const data = {
    patient_ref: patient.id,
    filler_order_number: o.fillerOrderNumber,
    accession_number: o.accessionNumber,
    priority: o.priority,
    jj1017: o.jj1017,
    modality: o.modality,
    body_part: o.bodyPart,
    procedure_text: o.procedureText,
    reason: o.reason,
    clinical_notes: o.clinicalNotes,
    contrast: o.contrast ? 1 : 0,
    requester_name: o.requesterName,
    requester_department: o.requesterDepartment,
    requested_at: o.requestedAt,
    scheduled_at: o.scheduledAt,
  };

  let order: Order;
  let outcome: EventOutcome;
  let note: OrderNote | undefined;
  let changed: string[] = [];
  if (!existing) {
    order = {
      id: randomUUID(),
      facility_id: o.facilityId,
      placer_order_number: o.placerOrderNumber,
      ...data,
      status: o.control === 'cancel' ? 'cancelled' : 'scheduled',
      source: o.source,
      created_from: o.control,
      version: 1,
      message_time: o.messageTime,
      created_at: now,
      updated_at: now,
    };
    layer.putOrder(order, true);
    outcome = o.control === 'new' ? 'created' : o.control === 'change' ? 'created-from-change' : 'cancel-placeholder';
    if (o.control !== 'new') note = outcome as OrderNote;
  } else {
    order = existing;
    const applied = (fields: Partial<Order>): Order => ({
      ...existing,
      ...fields,
      source: o.source,
      version: existing.version + 1,
      message_time: o.messageTime && (!existing.message_time || o.messageTime > existing.message_time) ? o.messageTime : existing.message_time,
      updated_at: now,
    });
    if (existing.status === 'cancelled') {
      outcome = o.control === 'change' ? 'stale' : 'already-cancelled';
      note = outcome;
    } else if (o.control === 'cancel') {
      // A cancel is final, even when older than the last change: an exam the facility
      // cancelled is not read.
      order = applied({ status: 'cancelled' });
      layer.putOrder(order, false);
      outcome = 'cancelled';
      changed = ['status'];
    } else if (o.control === 'new' ? !newer : older) {
      outcome = 'stale';
      note = 'stale';
    } else {
      // Empty accession or filler numbers in a change do not erase the ones known.
      const next = { ...data, accession_number: data.accession_number || existing.accession_number, filler_order_number: data.filler_order_number || existing.filler_order_number };
      changed = DATA_FIELDS.filter(([col]) => next[col as keyof typeof next] !== existing[col]).map(([, name]) => name);
      order = applied(next);
      layer.putOrder(order, false);
      outcome = 'updated';
    }
  }

  layer.events.push({
    id: randomUUID(),
    order_id: order.id,
    facility_id: o.facilityId,
    source: o.source,
    message_id: o.messageId,
    control: o.control,
    message_time: o.messageTime,
    outcome,
    version: order.version,
    changed: JSON.stringify(changed),
    snapshot: JSON.stringify(o),
    actor: describeActor(actor),
    received_at: now,
  });
  layer.messages.set(key, order.id);
  layer.touched.set(order.id, order);
  const action = outcome === 'created' || outcome === 'created-from-change' ? 'order.create'
    : outcome === 'updated' ? 'order.update'
    : outcome === 'cancelled' || outcome === 'cancel-placeholder' ? 'order.cancel'
    : 'order.message-ignored';
  layer.audit.push({
    actor,
    action,
    object: { type: 'order', id: order.id },
    facilityId: o.facilityId,
    patientRef: order.patient_ref,
    details: { control: o.control, source: o.source, messageId: o.messageId, outcome, version: order.version, changed, ...(patient.created ? { patientCreated: true } : {}) },
  });

  const kind: OrderOutcome['kind'] = order.status === 'cancelled' ? 'cancelled' : outcome === 'created' || outcome === 'created-from-change' ? 'created' : 'updated';
  return note ? { kind, orderId: order.id, note } : { kind, orderId: order.id };
}

/** Notes a refused change of a cancelled order in its history and the audit trail (in the batch's layer). */
function noteRefusal(layer: Layer, actor: Actor, o: CleanOrder, order: Order, clock: (order: string) => string): void {
  layer.events.push({
    id: randomUUID(),
    order_id: order.id,
    facility_id: o.facilityId,
    source: o.source,
    message_id: o.messageId,
    control: o.control,
    message_time: o.messageTime,
    outcome: 'refused-conflict',
    version: order.version,
    changed: '[]',
    snapshot: JSON.stringify(o),
    actor: describeActor(actor),
    received_at: clock(orderKey(o.facilityId, o.placerOrderNumber)),
  });
  layer.audit.push({
    actor,
    action: 'order.update',
    object: { type: 'order', id: order.id },
    facilityId: o.facilityId,
    patientRef: order.patient_ref,
    outcome: 'failure',
    details: { control: o.control, source: o.source, messageId: o.messageId, reason: 'change of a cancelled order' },
  });
}

/** Writes what the batch changed: patients, orders, history; each table's rows in key order. */
async function writeRows(trx: Transaction<Database>, layer: Layer): Promise<void> {
  const mpi = new MpiRepository(trx);
  const repo = new OrderRepository(trx);
  const patients = [...layer.dirtyPatients.values()].sort((a, b) => compare(patientKey(a.facility_id, a.patient_id, a.issuer), patientKey(b.facility_id, b.patient_id, b.issuer)));
  const newPatients = patients.filter((p) => layer.isNew(p.id));
  if (newPatients.length) {
    const inserted = await mpi.insertMany(newPatients);
    if (inserted.size !== newPatients.length) throw new ConcurrentInsert('a patient');
  }
  for (const p of patients) if (!layer.isNew(p.id)) await mpi.updateDemographics(p, layer.changedColumns.get(p.id) ?? []);
  const orders = [...layer.dirtyOrders.values()].sort((a, b) => compare(orderKey(a.facility_id, a.placer_order_number), orderKey(b.facility_id, b.placer_order_number)));
  await repo.insertMany(orders.filter((o) => layer.isNew(o.id)));
  for (const o of orders) if (!layer.isNew(o.id)) await repo.update(o.id, mutableFields(o));
  await repo.insertEvents([...layer.events].sort((a, b) => compare(messageKey(a.facility_id, a.source, a.message_id), messageKey(b.facility_id, b.source, b.message_id))));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The columns of an order that messages change (all but its identity and creation). */
function mutableFields(o: Order): Parameters<OrderRepository['update']>[1] {
  return {
    patient_ref: o.patient_ref,
    filler_order_number: o.filler_order_number,
    accession_number: o.accession_number,
    status: o.status,
    priority: o.priority,
    jj1017: o.jj1017,
    modality: o.modality,
    body_part: o.body_part,
    procedure_text: o.procedure_text,
    reason: o.reason,
    clinical_notes: o.clinical_notes,
    contrast: o.contrast,
    requester_name: o.requester_name,
    requester_department: o.requester_department,
    requested_at: o.requested_at,
    scheduled_at: o.scheduled_at,
    source: o.source,
    version: o.version,
    message_time: o.message_time,
    updated_at: o.updated_at,
  };
}

/** Chains entries into the batch: all or none. */
function addAudit(audit: AuditBatch, entries: readonly AuditEntryInput[]): void {
  const mark = audit.mark();
  try {
    for (const e of entries) audit.add(e);
  } catch (err) {
    audit.rollbackTo(mark);
    throw err;
  }
}

/** Reads what a batch's messages name: orders (locked on PostgreSQL), messages taken, patients. */
async function prefetch(trx: Transaction<Database>, dialect: 'sqlite' | 'postgres', messages: readonly CheckedMessage[]): Promise<Layer> {
  const base = new Layer();
  const byFacility = new Map<string, CleanOrder[]>();
  for (const m of messages) {
    for (const o of m.orders) {
      const list = byFacility.get(o.facilityId);
      if (list) list.push(o);
      else byFacility.set(o.facilityId, [o]);
    }
  }
  const repo = new OrderRepository(trx);
  const mpi = new MpiRepository(trx);
  // Facilities in a fixed order, and orders in placer order within each (see byPlacers).
  for (const facilityId of [...byFacility.keys()].sort()) {
    const orders = byFacility.get(facilityId)!;
    for (const [placer, row] of await repo.byPlacers(facilityId, orders.map((o) => o.placerOrderNumber), dialect === 'postgres')) base.orders.set(orderKey(facilityId, placer), row);
  }
  for (const [facilityId, orders] of byFacility) {
    for (const source of new Set(orders.map((o) => o.source))) {
      const ids = orders.filter((o) => o.source === source).map((o) => o.messageId);
      for (const [messageId, orderId] of await repo.eventsByMessages(facilityId, source, ids)) base.messages.set(messageKey(facilityId, source, messageId), orderId);
    }
    for (const [k, row] of await mpi.findMany(facilityId, orders.map((o) => o.patient.patientId))) base.patients.set(k, row);
  }
  return base;
}

/**
 * Applies checked messages inside `trx` (see the module notes) and returns each one's result.
 * Throws only for failures of the batch as a whole (database errors, matching included),
 * after which the caller rolls back and retries or splits the batch.
 */
export async function applyBatch(
  trx: Transaction<Database>,
  deps: BatchDeps,
  audit: { withBatch: <R>(trx: Transaction<Database>, fn: (batch: AuditBatch) => Promise<R>) => Promise<R> },
  messages: readonly CheckedMessage[],
): Promise<MessageResult[]> {
  const work = async (headLocked: <R>(fn: (batch: AuditBatch) => Promise<R>) => Promise<R>): Promise<MessageResult[]> => {
    const base = await prefetch(trx, deps.dialect, messages);
    const clock = batchClock();
    const results = messages.map((m) => applyMessage(base, m, clock));
    await writeRows(trx, base);
    return headLocked(async (batch) => {
      addAudit(batch, base.audit);
      const queued = new Map<string, boolean>();
      for (const order of base.touched.values()) {
        if (order.status === 'cancelled') continue;
        let q = queued.get(order.facility_id);
        if (q === undefined) queued.set(order.facility_id, (q = await deps.anyQueued(trx, order.facility_id)));
        // Nothing in order intake queues a study: a facility without queued studies has none to match.
        if (q) await deps.matchOrder(trx, order);
      }
      return results;
    });
  };
  if (deps.dialect === 'sqlite') return audit.withBatch(trx, (batch) => work((fn) => fn(batch)));
  return work((fn) => audit.withBatch(trx, fn));
}

/** The latest time given to a message in this process (ms since the epoch). */
let lastStamp = 0;

/**
 * The times of a batch's messages (history received_at, rows' updated_at): now, except that
 * the messages of one order get times a millisecond apart at least, also from the order's
 * messages in earlier batches of this process, so that its history (read in the order of
 * received_at, then version) lists them in the order they applied. Taken after the batch
 * has locked its orders, so after the batch before it, for the same order, committed.
 */
function batchClock(): (order: string) => string {
  const base = Math.max(Date.now(), lastStamp + 1);
  const perOrder = new Map<string, number>();
  return (order) => {
    const prev = perOrder.get(order);
    const t = prev === undefined ? base : prev + 1;
    perOrder.set(order, t);
    lastStamp = Math.max(lastStamp, t);
    return new Date(t).toISOString();
  };
}

/** Applies one message's orders in a layer over the batch: all join it, or none. */
function applyMessage(base: Layer, m: CheckedMessage, clock: (order: string) => string): MessageResult {
  const layer = new Layer(base);
  let current: CleanOrder | undefined;
  try {
    const outcomes: OrderOutcome[] = [];
    for (current of m.orders) outcomes.push(applyOrder(layer, m.actor, current, clock));
    layer.join();
    return { ok: true, outcomes };
  } catch (err) {
    if (!(err instanceof RefusedChange) || !current) return { ok: false, error: err };
    // Noted only when the order was cancelled before this message: a cancel earlier in the
    // same message was not applied either.
    const before = base.order(orderKey(current.facilityId, current.placerOrderNumber));
    if (before?.status === 'cancelled') noteRefusal(base, m.actor, current, before, clock);
    return { ok: false, error: new AppError('conflict', `order ${current.placerOrderNumber} is cancelled; a change cannot apply to it`) };
  }
}
