/**
 * Exam orders (W1, W4, W5): intake from every interface, the order list and detail, the web
 * form, protocol instructions and the consultation thread.
 *
 * Intake (`receive`) commits the order, its history entry and its audit entry in one
 * transaction before it resolves, so an interface acknowledges only what is durable. It is
 * idempotent on (facility, source, message id), and keyed by (facility, placer order number).
 * `receiveMany` does the same for several messages in one transaction (group commit,
 * intake.ts, where the rules below are applied), each message with its own outcome.
 * Messages of one order may arrive out of order; the rules:
 * - a change for an order never seen creates it (the facility's latest truth), marked
 *   `created-from-change`;
 * - a cancel for an order never seen is kept as a cancelled placeholder, so that a late new
 *   does not bring it back; a cancel is final (a later new or cancel is history only);
 * - a change of a cancelled order is refused (conflict) and the refusal recorded, unless the
 *   change is older than the cancel, in which case it is a late message: history only;
 * - a message older than the order's latest applied one (by sender's message time, when
 *   both have one) is history only (`stale`); without message times arrival order counts,
 *   except that a new for an order already known never overwrites it (it is either a resend
 *   or later than the change that created the order).
 * Every message, applied or not, is in the order's history (order_events).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type {
  ConsultationMessage,
  ConsultationPostRequest,
  Jj1017View,
  OrderDetail,
  OrderEventView,
  OrderFormRequest,
  OrderFormResponse,
  ProtocolRequest,
  ProtocolView,
} from '../../../shared/api.ts';
import { describeActor, hasRole, type Actor } from '../../platform/context.ts';
import type { Database, Order } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { actorName, assertMaySendFor, assertReadable, assertReadsSomething, mayUseOrderForm, mayWriteProtocol, readScope } from '../access.ts';
import type { EgfrThresholds } from '../clinical/checks.ts';
import { protocolWarnings } from '../clinical/checks.ts';
import type { ClinicalService } from '../clinical/service.ts';
import type { ContractService } from '../contracts/service.ts';
import { isLostRace } from '../db-errors.ts';
import { JJ1017_LAYOUT } from '../jj1017.ts';
import type { OrderInput, OrderIntake, OrderIntakeItem, OrderIntakeResult, OrderOutcome, PatientInput } from '../model.ts';
import type { PatientService } from '../mpi/service.ts';
import { ReconcileRepository } from '../reconcile/repository.ts';
import type { ReconciliationService } from '../reconcile/service.ts';
import { isCalendarDate, tokyoDayStart, tokyoDicomDate } from '../time.ts';
import { applyBatch, type BatchDeps, type CheckedMessage, type MessageResult } from './intake.ts';
import { OrderRepository, type OrderFilter } from './repository.ts';
import { recordStatusChange } from './status.ts';
import { tryJj1017, validateOrder, type CleanOrder } from './validate.ts';
import { orderSummary, shownStatus, type OrderListPage } from './views.ts';

/** What the order service needs. */
export interface OrderServiceDeps {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  audit: AuditService<Database>;
  log: Logger;
  patients: PatientService;
  contracts: ContractService;
  clinical: ClinicalService;
  reconciliation: ReconciliationService;
  facilityExists: (id: string) => Promise<boolean>;
  thresholds: EgfrThresholds;
}

const STATUSES = ['scheduled', 'in-progress', 'completed', 'cancelled'];
const PRIORITIES = ['stat', 'urgent', 'routine'];
/** Most related orders shown with an order. */
const RELATED_ORDERS = 20;
/** Most attempts of one batch's transaction before its messages are taken one by one. */
const ATTEMPTS = 4;
/**
 * Transient database failures worth running the transaction again for: a concurrent
 * message for the same order or with the same id, or a patient created by image intake,
 * won the race (unique violation); PostgreSQL deadlock / serialisation failure.
 */
function retryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isLostRace(err) || code === '40P01' || code === '40001';
}

function text(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string' || !v.trim()) throw new AppError('bad_request', `${name} is required`);
  const t = v.trim();
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(t)) throw new AppError('bad_request', `${name} must not contain control characters`);
  return t;
}

/** A JJ1017 code in words for the order screen. */
export function jj1017View(code: string): Jj1017View | null {
  if (!code) return null;
  const { parsed, error } = tryJj1017(code);
  if (!parsed) return { code, form: null, valid: false, error: error ?? 'not a JJ1017 code', description: { ja: '', en: '' }, contrast: false, elements: [], warnings: [] };
  return {
    code: parsed.code,
    form: parsed.form,
    valid: true,
    error: null,
    description: parsed.description,
    contrast: parsed.contrast === true,
    elements: JJ1017_LAYOUT.filter((el) => parsed[el.name]).map((el) => {
      const p = parsed[el.name]!;
      return { element: el.name, ja: el.ja, en: el.en, code: p.code, specified: p.specified, known: p.known, words: p.ja && p.en ? { ja: p.ja, en: p.en } : null };
    }),
    warnings: parsed.warnings,
  };
}

/**
 * A time stamp for a new entry of an ordered list (protocol versions, consultation
 * messages): `now`, or one millisecond after the latest entry when that is not earlier, so
 * that entries made within the same millisecond keep the order they were made in.
 */
function stampAfter(latest: string | undefined, now: string): string {
  return latest && latest >= now ? new Date(Date.parse(latest) + 1).toISOString() : now;
}

/** Exam orders: intake, views, form, protocol and consultation. */
export class OrderService implements OrderIntake {
  private readonly repo: OrderRepository;
  /**
   * PostgreSQL: while one batch holds the audit head to commit, the next reads and writes
   * its rows. SQLite: one writer, one batch at a time.
   */
  readonly batchesInFlight: number;

  constructor(private readonly deps: OrderServiceDeps) {
    this.repo = new OrderRepository(deps.db);
    this.batchesInFlight = deps.dialect === 'postgres' ? 3 : 1;
  }

  /**
   * Takes in one order message (see the module notes for the rules). Orders of a patient
   * who opted out are taken like any other: the facility needs its reading; the opt-out
   * keeps them from other facilities.
   * @throws AppError forbidden (the actor may not send for this facility), bad_request
   *         naming the field, conflict (change of a cancelled order)
   */
  async receive(actor: Actor, input: OrderInput): Promise<OrderOutcome> {
    const [r] = await this.receiveMany([{ actor, orders: [input] }]);
    if (!r!.ok) throw r!.error;
    return r!.outcomes[0]!;
  }

  /**
   * Takes in several messages in one transaction (group commit, see intake.ts) and resolves
   * after the commit with one result per message, in the order given. A message's orders
   * apply in order, all or none; a message that fails has the error {@link receive} would
   * have thrown and changes nothing, whatever the others do. Messages are checked (actor,
   * fields, facility) before the transaction. When the transaction fails as a whole after
   * its retries (a database error), each message is taken in a transaction of its own, so
   * that a message that cannot be written fails alone.
   */
  async receiveMany(items: readonly OrderIntakeItem[]): Promise<OrderIntakeResult[]> {
    const results: Array<OrderIntakeResult | undefined> = new Array(items.length);
    const checked: Array<{ index: number; message: CheckedMessage }> = [];
    for (const [index, item] of items.entries()) {
      try {
        const orders: CleanOrder[] = [];
        for (const input of item.orders) orders.push(await this.check(item.actor, input));
        checked.push({ index, message: { actor: item.actor, orders } });
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
    if (checked.length) {
      const applied = await this.applyChecked(checked.map((c) => c.message));
      checked.forEach((c, i) => (results[c.index] = applied[i]));
    }
    return results as OrderIntakeResult[];
  }

  /** Checks one order of a message: who sends it, its fields, its facility. */
  private async check(actor: Actor, input: OrderInput): Promise<CleanOrder> {
    const claimed = typeof input?.facilityId === 'string' ? input.facilityId.trim() : '';
    if (claimed) assertMaySendFor(actor, claimed);
    const o = validateOrder(input, input?.source === 'form');
    assertMaySendFor(actor, o.facilityId);
    if (actor.kind === 'user' && o.source !== 'form') throw new AppError('forbidden', 'users send orders through the web form only');
    if (!(await this.deps.facilityExists(o.facilityId))) throw new AppError('bad_request', 'facilityId: no such facility');
    return o;
  }

  /** Runs checked messages as one transaction, again after a lost race, else one by one. */
  private async applyChecked(messages: readonly CheckedMessage[]): Promise<MessageResult[]> {
    const batchDeps: BatchDeps = {
      dialect: this.deps.dialect,
      anyQueued: (trx, facilityId) => this.deps.reconciliation.anyQueued(trx, facilityId),
      matchOrder: (trx, order) => this.deps.reconciliation.matchOrder(trx, order),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.db.transaction().execute((trx) => applyBatch(trx, batchDeps, this.deps.audit, messages));
      } catch (err) {
        // A concurrent message for the same order or with the same id won the race: run
        // again and see what it did.
        if (attempt < ATTEMPTS && retryable(err)) continue;
        if (messages.length === 1) return [{ ok: false, error: err }];
        if (!retryable(err)) this.deps.log.warn({ event: 'orders.batch-split', messages: messages.length, error: (err as Error)?.name ?? 'unknown' }, 'order batch failed; taking its messages one by one');
        const one: MessageResult[] = [];
        for (const m of messages) one.push(...(await this.applyChecked([m])));
        return one;
      }
    }
  }

  /**
   * The web form for facilities without interfaces (W1): technologists and attending
   * physicians of the facility. Builds an order message with source `form`; a repeated
   * `submissionId` is a duplicate, not a second order.
   * @throws AppError forbidden, bad_request naming the field
   */
  async submitForm(actor: Actor, body: OrderFormRequest): Promise<OrderFormResponse> {
    if (!mayUseOrderForm(actor)) throw new AppError('forbidden', 'orders are entered by the facility\'s technologists and attending physicians');
    if (!body || typeof body !== 'object') throw new AppError('bad_request', 'the order is required');
    const facilityId = text(body.facilityId, 'facilityId', 64);
    assertMaySendFor(actor, facilityId);
    const submission = body.submissionId === undefined || body.submissionId === '' ? randomUUID() : body.submissionId;
    if (typeof submission !== 'string' || !/^[A-Za-z0-9-]{8,64}$/.test(submission)) throw new AppError('bad_request', 'submissionId must be 8-64 letters, digits or hyphens (a UUID)');
    const now = new Date();
    const placer = (typeof body.placerOrderNumber === 'string' && body.placerOrderNumber.trim()) || `WEB-${tokyoDicomDate(now.toISOString())}-${randomBytes(4).toString('hex').toUpperCase()}`;
    const requester = body.requester && typeof body.requester === 'object' ? body.requester : {};
    const input: OrderInput = {
      facilityId,
      // Checked field by field by validateOrder (400 naming the field).
      patient: { issuer: '', sex: '', birthDate: '', ...(body.patient ?? {}), name: { alphabetic: '', ideographic: '', phonetic: '', ...(body.patient?.name ?? {}) } } as PatientInput,
      placerOrderNumber: placer,
      accessionNumber: body.accessionNumber ?? '',
      control: 'new',
      priority: body.priority,
      ...(body.jj1017 ? { jj1017: body.jj1017 } : {}),
      modality: body.modality ?? '',
      bodyPart: body.bodyPart ?? '',
      procedureText: text(body.procedureText, 'procedureText', 256),
      reason: text(body.reason, 'reason (the clinical question)', 4000),
      clinicalNotes: body.clinicalNotes ?? '',
      contrast: body.contrast ?? false,
      requester: { name: (typeof requester.name === 'string' && requester.name.trim()) || actorName(actor), department: requester.department ?? '' },
      requestedAt: now.toISOString(),
      ...(body.scheduledAt ? { scheduledAt: body.scheduledAt } : {}),
      source: 'form',
      messageId: `form:${submission}`,
    };
    const r = await this.receive(actor, input);
    return { orderId: r.orderId, outcome: r.kind };
  }

  /**
   * Orders the actor may read (facility staff: their facilities; the provider's readers: all
   * served), newest request first, with filters and paging. Audited.
   * @throws AppError forbidden, bad_request for a bad filter
   */
  async list(actor: Actor, q: { status?: string | undefined; modality?: string | undefined; priority?: string | undefined; facilityId?: string | undefined; from?: string | undefined; to?: string | undefined; limit?: number | undefined; offset?: number | undefined }): Promise<OrderListPage> {
    assertReadsSomething(actor);
    const scope = readScope(actor);
    let facilities: OrderFilter['facilities'] = scope;
    if (q.facilityId) {
      if (scope !== 'all' && !scope.includes(q.facilityId)) throw new AppError('forbidden', 'you do not read this facility\'s orders');
      facilities = [q.facilityId];
    }
    if (q.status && !STATUSES.includes(q.status)) throw new AppError('bad_request', `status must be one of ${STATUSES.join(', ')}`);
    if (q.priority && !PRIORITIES.includes(q.priority)) throw new AppError('bad_request', `priority must be one of ${PRIORITIES.join(', ')}`);
    const modality = q.modality?.trim().toUpperCase();
    if (modality && !/^[A-Z0-9]{1,16}$/.test(modality)) throw new AppError('bad_request', 'modality must be a DICOM modality (CT, MR, ...)');
    for (const [k, v] of [['from', q.from], ['to', q.to]] as const) if (v && !isCalendarDate(v)) throw new AppError('bad_request', `${k} must be a date (YYYY-MM-DD, Japan time)`);
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AppError('bad_request', 'limit must be 1-500');
    if (!Number.isInteger(offset) || offset < 0) throw new AppError('bad_request', 'offset must be 0 or more');
    const to = q.to ? new Date(Date.parse(tokyoDayStart(q.to)) + 86400_000).toISOString() : undefined;
    const { total, rows } = await this.repo.list({ facilities, status: q.status, modality, priority: q.priority, from: q.from ? tokyoDayStart(q.from) : undefined, to, limit, offset });
    await this.deps.audit.record({
      actor,
      action: 'order.search',
      object: { type: 'order', id: 'search' },
      facilityId: facilities !== 'all' && facilities.length === 1 ? facilities[0] : null,
      details: { filters: { status: q.status, modality, priority: q.priority, facilityId: q.facilityId, from: q.from, to: q.to, limit, offset }, total, returned: rows.length },
    });
    // Each with its JJ1017 code in words, as the order screen shows it.
    return { total, orders: rows.map((r) => ({ ...orderSummary(r), jj1017: jj1017View(r.jj1017) })) };
  }

  /**
   * The report of a study was finalised: the order linked to the study becomes completed
   * (in progress → completed), with a new version, a history entry and an audit entry
   * (`order.status-change`), all in the caller's transaction `trx` (the reports module's
   * finalising transaction). Idempotent: an order already completed, or cancelled, is left
   * as it is, and a study without a linked order changes nothing. Corrections and addenda
   * may call it again.
   *
   * Lock order: the order row is locked (PostgreSQL) before this writes its audit entry, as
   * order intake locks orders before it takes the audit head. Call it before the
   * transaction's first audit entry, so that the head is never held while waiting for an
   * order row (which could deadlock with an order message for the same order).
   * @param actor who finalised the report (named in the history and the audit entry)
   * @returns the linked order and whether this call completed it; undefined when no order is linked
   */
  async markReported(trx: Transaction<Database>, studyId: string, actor: Actor): Promise<{ orderId: string; completed: boolean } | undefined> {
    const link = await new ReconcileRepository(trx).activeLinkOfStudy(studyId);
    if (!link) return undefined;
    const repo = new OrderRepository(trx);
    const order = await repo.byIdLocked(link.order_id, this.deps.dialect === 'postgres');
    if (!order || order.status === 'cancelled' || order.status === 'completed') return { orderId: link.order_id, completed: false };
    const done: Order = { ...order, status: 'completed', version: order.version + 1, updated_at: new Date().toISOString() };
    await repo.update(order.id, { status: done.status, version: done.version, updated_at: done.updated_at });
    await recordStatusChange(trx, this.deps.audit, { actor, order: done, from: 'in-progress', to: 'completed', key: `report-final:${order.id}`, why: 'report-final', studyId });
    return { orderId: order.id, completed: true };
  }

  /**
   * One order with everything the order screen shows: the request with its JJ1017 code in
   * words, its history, the linked study, the clinical context (with linked records that
   * share theirs), protocol warnings with their evidence, the protocol, the consultation
   * thread and the patient's other orders. Audited.
   * @throws AppError forbidden (reads no facility's data) / not_found (no such order, or another facility's)
   */
  async detail(actor: Actor, orderId: string): Promise<OrderDetail> {
    assertReadsSomething(actor);
    const row = await this.repo.rowById(orderId);
    if (!row) throw new AppError('not_found', 'no such order');
    assertReadable(actor, row.facility_id, 'order');
    const { patients, contracts, clinical, reconciliation } = this.deps;
    const now = new Date();
    const [events, protocols, consultation, study, contract, summary, linked, optedOut] = await Promise.all([
      this.repo.events(row.id),
      this.repo.protocols(row.id),
      this.repo.consultations(row.id),
      reconciliation.linkedStudy(row.id),
      contracts.current(row.facility_id),
      clinical.summaryFor(row.patient_ref, now),
      patients.sharedLinks(row.patient_ref),
      patients.optedOut(row.patient_ref),
    ]);
    const related = await this.repo.ofPatients([row.patient_ref, ...linked.map((l) => l.id)], row.id, RELATED_ORDERS);
    const outOfScope: string[] = [];
    if (contract.scope.modalities.length && !contract.scope.modalities.includes(row.modality)) outOfScope.push(`modality ${row.modality}`);
    if (contract.scope.bodyParts.length && row.body_part && !contract.scope.bodyParts.includes(row.body_part)) outOfScope.push(`body part ${row.body_part}`);
    const [current, ...earlier] = protocols;
    await this.deps.audit.record({ actor, action: 'order.view', object: { type: 'order', id: row.id }, facilityId: row.facility_id, patientRef: row.patient_ref, details: { linkedRecords: linked.length } });
    return {
      ...orderSummary(row),
      status: shownStatus(row.status, study?.id ?? null),
      studyId: study?.id ?? null,
      fillerOrderNumber: row.filler_order_number,
      reason: row.reason,
      clinicalNotes: row.clinical_notes,
      requester: { name: row.requester_name, department: row.requester_department },
      source: row.source,
      version: row.version,
      jj1017: jj1017View(row.jj1017),
      outOfScope,
      dueMinutes: contract.dueMinutes[row.priority as 'stat' | 'urgent' | 'routine'],
      optedOut,
      history: events.map((e) => ({
        id: e.id,
        receivedAt: e.received_at,
        messageTime: e.message_time,
        source: e.source,
        messageId: e.message_id,
        control: e.control as OrderEventView['control'],
        outcome: e.outcome as OrderEventView['outcome'],
        version: e.version,
        changed: JSON.parse(e.changed) as string[],
        by: e.actor,
      })),
      study,
      clinical: summary,
      warnings: protocolWarnings({ modality: row.modality, contrast: row.contrast === 1 }, summary, this.deps.thresholds, now),
      protocol: current ? { text: current.text, author: current.author_name, recordedAt: current.recorded_at, earlier: earlier.map((p) => ({ text: p.text, author: p.author_name, recordedAt: p.recorded_at })) } : null,
      consultation: consultation.map((m) => ({ id: m.id, author: m.author_name, roles: m.author_roles, text: m.text, postedAt: m.posted_at })),
      relatedOrders: related.map(orderSummary),
    };
  }

  /** The order a thread or protocol call is about, after the read check. */
  private async readable(actor: Actor, orderId: string): Promise<Order> {
    assertReadsSomething(actor);
    const order = await this.repo.byId(orderId);
    if (!order) throw new AppError('not_found', 'no such order');
    assertReadable(actor, order.facility_id, 'order');
    return order;
  }

  /**
   * Records protocol instructions on an order (W5): radiologists and the management
   * physician, at the provider or at the order's facility. The technologists of the facility
   * see them with the order. Earlier instructions stay in the history. Audited.
   * @throws AppError forbidden, not_found, bad_request, conflict (order cancelled)
   */
  async setProtocol(actor: Actor, orderId: string, body: ProtocolRequest): Promise<ProtocolView> {
    if (!hasRole(actor, 'radiologist') && !hasRole(actor, 'management-physician')) throw new AppError('forbidden', 'protocol instructions are written by radiologists');
    const order = await this.readable(actor, orderId);
    if (!mayWriteProtocol(actor, order.facility_id)) throw new AppError('forbidden', 'protocol instructions are written by radiologists who read for this facility');
    const t = text(body?.text, 'text', 4000);
    if (order.status === 'cancelled') throw new AppError('conflict', 'the order is cancelled');
    const row = { id: randomUUID(), order_id: order.id, text: t, author_id: actor.kind === 'user' ? actor.userId : describeActor(actor), author_name: actorName(actor), recorded_at: new Date().toISOString() };
    await this.deps.db.transaction().execute(async (trx) => {
      // The audit entry first (it serialises the writers), then a stamp after the latest version's.
      await this.deps.audit.append(trx, { actor, action: 'order.protocol', object: { type: 'order', id: order.id }, facilityId: order.facility_id, patientRef: order.patient_ref, details: { protocolId: row.id, length: t.length } });
      const repo = new OrderRepository(trx);
      row.recorded_at = stampAfter(await repo.lastProtocolAt(order.id), row.recorded_at);
      await repo.insertProtocol(row);
    });
    const all = await this.repo.protocols(order.id);
    const [current, ...earlier] = all;
    return { text: current!.text, author: current!.author_name, recordedAt: current!.recorded_at, earlier: earlier.map((p) => ({ text: p.text, author: p.author_name, recordedAt: p.recorded_at })) };
  }

  /**
   * The consultation thread of an order (W5), oldest first: for the order's facility staff
   * and the provider's readers. Audited.
   * @throws AppError forbidden / not_found
   */
  async messages(actor: Actor, orderId: string): Promise<ConsultationMessage[]> {
    const order = await this.readable(actor, orderId);
    const rows = await this.repo.consultations(order.id);
    await this.deps.audit.record({ actor, action: 'order.consultation-view', object: { type: 'order', id: order.id }, facilityId: order.facility_id, patientRef: order.patient_ref, details: { messages: rows.length } });
    return rows.map((m) => ({ id: m.id, author: m.author_name, roles: m.author_roles, text: m.text, postedAt: m.posted_at }));
  }

  /**
   * Posts to an order's consultation thread (W5). The message stays in Enkaku, part of the
   * record; nothing of it is sent by email or chat (W11). Audited in the same transaction.
   * @throws AppError forbidden / not_found / bad_request
   */
  async postMessage(actor: Actor, orderId: string, body: ConsultationPostRequest): Promise<ConsultationMessage> {
    const order = await this.readable(actor, orderId);
    const t = text(body?.text, 'text', 4000);
    const roles = actor.kind === 'user' ? [...new Set(actor.grants.map((g) => g.role))].sort().join(',') : actor.kind;
    const row = { id: randomUUID(), order_id: order.id, author_id: actor.kind === 'user' ? actor.userId : describeActor(actor), author_name: actorName(actor), author_roles: roles, text: t, posted_at: new Date().toISOString() };
    await this.deps.db.transaction().execute(async (trx) => {
      // The audit entry first: it holds the audit chain's head until the commit, so posts
      // to the thread are one after another here, and each is stamped after the one before
      // (two in the same millisecond keep the order they were posted in).
      await this.deps.audit.append(trx, { actor, action: 'order.consultation-post', object: { type: 'order', id: order.id }, facilityId: order.facility_id, patientRef: order.patient_ref, details: { messageId: row.id, length: t.length } });
      const repo = new OrderRepository(trx);
      row.posted_at = stampAfter(await repo.lastConsultationAt(order.id), row.posted_at);
      await repo.insertConsultation(row);
    });
    return { id: row.id, author: row.author_name, roles: row.author_roles, text: row.text, postedAt: row.posted_at };
  }
}
