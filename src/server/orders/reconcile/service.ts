/**
 * Reconciliation of studies and orders (W2; the idea of IHE Radiology Technical Framework
 * Vol. 1, Imaging Reconciliation Workflow). A study is linked to its order:
 * 1. by Accession Number (0008,0050) within the facility: one open order with it links;
 *    several are ambiguous; only a cancelled order, or an order that already has its study,
 *    leaves the study in the queue saying so;
 * 2. otherwise by patient (Patient ID, and issuer unless one side has none), exam date
 *    (the Tokyo date of the order's schedule, else of its request, equal to Study Date) and
 *    modality (CR and DX count as one): exactly one candidate links. Accession numbers must
 *    not contradict (both present and different means different exams).
 * What does not link waits in the queue, where a facility user or an administrator links it
 * by hand. Matching runs when a study is first stored (inside its index transaction, after
 * its audit entry) and when an order arrives (inside the order's transaction, after its
 * audit entry): both have then taken the audit head lock, so of two that race, the second
 * sees what the first committed and the pair is never missed. Every link and unlink is
 * audited in its transaction; links are ended, never deleted.
 * A link moves its order from scheduled to in progress, and ending it moves the order back
 * (exam-orders/status.ts): recorded in the order's history and audited in the same
 * transaction. The order row itself is not written here (the status is derived from the
 * link, exam-orders/repository.ts explains why).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type { IntakeOrigin } from '../../archive/index.ts';
import type { LinkedStudyView, ReconcileLinkRequest, ReconcileUnlinkRequest, ReconciliationQueue, UnmatchedStudyView } from '../../../shared/api.ts';
import { describeActor, type Actor } from '../../platform/context.ts';
import type { Database, Order, OrderStudyLink, Study } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { reconcileScope } from '../access.ts';
import { isUniqueViolation } from '../db-errors.ts';
import { OrderRepository } from '../exam-orders/repository.ts';
import { recordStatusChange } from '../exam-orders/status.ts';
import { orderSummary } from '../exam-orders/views.ts';
import { MpiRepository } from '../mpi/repository.ts';
import { tokyoDicomDate } from '../time.ts';
import { ReconcileRepository, type StudyWithPatient } from './repository.ts';

/** How automatic links appear in the audit trail. */
const RECONCILER: Actor = { kind: 'system', name: 'reconciliation' };
/** Most queue entries of each kind returned. */
const MAX_QUEUE = 500;

/** What to do with a study. */
type Decision =
  | { kind: 'link'; order: Order; method: 'accession' | 'demographics' }
  | { kind: 'queue'; reason: UnmatchedStudyView['reason']; candidates: number };

/** The exam date of an order: Tokyo date of its schedule, else of its request (DICOM DA). */
export function examDate(o: Pick<Order, 'scheduled_at' | 'requested_at'>): string {
  return tokyoDicomDate(o.scheduled_at ?? o.requested_at);
}

/** Modalities that name the same acquisition for matching (computed radiography and digital radiography). */
function canonicalModality(m: string): string {
  const u = m.trim().toUpperCase();
  return u === 'DX' ? 'CR' : u;
}

/** Whether an order's modality is among a study's modalities (backslash-separated). */
export function modalityMatches(orderModality: string, studyModalities: string): boolean {
  const wanted = canonicalModality(orderModality);
  return studyModalities.split('\\').some((m) => canonicalModality(m) === wanted);
}

/** Accession numbers that do not contradict: either is empty, or they are equal. */
function accessionsAgree(a: string, b: string): boolean {
  return !a.trim() || !b.trim() || a.trim() === b.trim();
}

/** Whether a study and an order fit by patient, date and modality. */
function demographicFit(o: Order, s: Pick<Study, 'study_date' | 'modalities' | 'accession_number'>): boolean {
  return examDate(o) === s.study_date && modalityMatches(o.modality, s.modalities) && accessionsAgree(o.accession_number, s.accession_number);
}

function str(v: unknown, name: string, max: number, required: boolean): string {
  if (v === undefined || v === null) v = '';
  if (typeof v !== 'string') throw new AppError('bad_request', `${name} must be a string`);
  const t = v.trim();
  if (required && !t) throw new AppError('bad_request', `${name} is required`);
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  return t;
}

/** Links studies to orders automatically and by hand, and shows the queue. */
export class ReconciliationService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService<Database>,
    private readonly log: Logger,
    private readonly opts: {
      dialect?: 'sqlite' | 'postgres' | undefined;
      /** Whether the study's report is final (the reports module's answer, read in the transaction). */
      studyReported?: ((ex: Kysely<Database>, studyId: string) => Promise<boolean>) | undefined;
    } = {},
  ) {}

  /**
   * Image-intake hook (archive IntakeService.onNewStudy): for a study that is new to Enkaku,
   * match it to its order in the index transaction. Prior studies pulled from a PACS have no
   * order here and are left alone.
   */
  async prepare(origin: IntakeOrigin): Promise<((trx: Transaction<Database>, study: Study) => Promise<void>) | undefined> {
    if (origin.source === 'priors') return undefined;
    return (trx, study) => this.onNewStudy(trx, study);
  }

  /**
   * Matches a new study inside its index transaction. A failure here must never lose the
   * image: the work runs in a savepoint, and on error is undone, logged, and the study is
   * left for the queue screen's next look (the order's arrival or a user links it).
   */
  async onNewStudy(trx: Transaction<Database>, study: Pick<Study, 'id'>): Promise<void> {
    await sql`savepoint enkaku_reconcile`.execute(trx);
    try {
      await this.matchStudy(trx, study.id);
      await sql`release savepoint enkaku_reconcile`.execute(trx);
    } catch (err) {
      await sql`rollback to savepoint enkaku_reconcile`.execute(trx);
      await sql`release savepoint enkaku_reconcile`.execute(trx);
      this.log.error({ event: 'reconcile.error', studyId: study.id, err: (err as Error).message }, 'matching a new study to its order failed; the study is not queued');
    }
  }

  /** Links a study to its order, or queues it (see the module notes). */
  async matchStudy(trx: Kysely<Database>, studyId: string): Promise<void> {
    const repo = new ReconcileRepository(trx);
    // Read again inside the transaction: the study's modalities are set with its first series.
    const s = await repo.study(studyId);
    if (!s || (await repo.activeLinkOfStudy(s.id))) return;
    const d = await this.decide(repo, s);
    if (d.kind === 'link') {
      await this.writeLink(trx, RECONCILER, d.order, s, d.method);
      this.log.info({ event: 'reconcile.linked', studyId: s.id, orderId: d.order.id, method: d.method }, 'study linked to its order');
    } else {
      await repo.enqueue({ study_id: s.id, facility_id: s.facility_id, reason: d.reason, candidates: d.candidates, queued_at: new Date().toISOString() });
      this.log.info({ event: 'reconcile.queued', studyId: s.id, reason: d.reason, candidates: d.candidates }, 'study waits for reconciliation');
    }
  }

  private async decide(repo: ReconcileRepository, s: StudyWithPatient): Promise<Decision> {
    const accession = s.accession_number.trim();
    if (accession) {
      const byAccession = await repo.unlinkedOrdersByAccession(s.facility_id, accession);
      const open = byAccession.filter((o) => o.status !== 'cancelled');
      if (open.length === 1) return { kind: 'link', order: open[0]!, method: 'accession' };
      if (open.length > 1) return { kind: 'queue', reason: 'ambiguous', candidates: open.length };
      if (byAccession.length > 0) return { kind: 'queue', reason: 'order-cancelled', candidates: 0 };
      if (await repo.anyOrderWithAccession(s.facility_id, accession)) return { kind: 'queue', reason: 'order-linked', candidates: 0 };
    }
    if (!s.p_patient_id.trim()) return { kind: 'queue', reason: 'no-order', candidates: 0 };
    const candidates = (await repo.openOrdersOfPatient(s.facility_id, s.p_patient_id, s.p_issuer)).filter((o) => demographicFit(o, s));
    if (candidates.length === 1) return { kind: 'link', order: candidates[0]!, method: 'demographics' };
    return { kind: 'queue', reason: candidates.length > 1 ? 'ambiguous' : 'no-order', candidates: candidates.length };
  }

  /** Whether any study of a facility waits in the queue (order intake matches only then). */
  async anyQueued(trx: Kysely<Database>, facilityId: string): Promise<boolean> {
    return new ReconcileRepository(trx).anyQueued(facilityId);
  }

  /**
   * For an order just received (inside its transaction, after its audit entry): links the
   * queued study that is its own, by accession number, else by patient, date and modality
   * when that study has no other candidate.
   */
  async matchOrder(trx: Kysely<Database>, order: Order): Promise<void> {
    if (order.status === 'cancelled') return;
    const repo = new ReconcileRepository(trx);
    // Orders mostly come before their studies: with nothing queued there is nothing to find.
    if (!(await repo.anyQueued(order.facility_id))) return;
    if (await repo.activeLinkOfOrder(order.id)) return;
    const accession = order.accession_number.trim();
    if (accession) {
      const queued = await repo.queuedByAccession(order.facility_id, accession);
      if (queued.length === 1) return this.writeLink(trx, RECONCILER, order, queued[0]!, 'accession');
      if (queued.length > 1) return;
    }
    const patient = await new MpiRepository(trx).patient(order.patient_ref);
    if (!patient) return;
    const studies = (await repo.queuedOfPatient(order.facility_id, patient.patient_id, patient.issuer)).filter((s) => demographicFit(order, s));
    if (studies.length !== 1) return;
    const s = studies[0]!;
    const rivals = (await repo.openOrdersOfPatient(order.facility_id, s.p_patient_id, s.p_issuer)).filter((o) => o.id !== order.id && demographicFit(o, s));
    if (rivals.length) {
      await repo.enqueue({ study_id: s.id, facility_id: s.facility_id, reason: 'ambiguous', candidates: rivals.length + 1, queued_at: new Date().toISOString() });
      return;
    }
    await this.writeLink(trx, RECONCILER, order, s, 'demographics');
  }

  private async writeLink(trx: Kysely<Database>, actor: Actor, order: Order, s: Study, method: OrderStudyLink['method']): Promise<void> {
    const repo = new ReconcileRepository(trx);
    // A study read and reported before its order was linked (the order came late, or was
    // linked by hand) completes the order at once. Its row is locked before the first audit
    // entry, in the order OrderService.markReported takes the same locks. A study that has
    // just arrived has no report, so image intake still never writes an order row.
    const reported = (await this.opts.studyReported?.(trx, s.id)) ?? false;
    const orders = new OrderRepository(trx);
    if (reported) await orders.byIdLocked(order.id, this.opts.dialect === 'postgres');
    const link: OrderStudyLink = {
      id: randomUUID(),
      order_id: order.id,
      study_id: s.id,
      facility_id: s.facility_id,
      method,
      linked_by: describeActor(actor),
      linked_at: new Date().toISOString(),
      unlinked_by: null,
      unlinked_at: null,
      unlink_reason: null,
    };
    await repo.insertLink(link);
    await repo.dequeue(s.id);
    await this.audit.append(trx, {
      actor,
      action: 'order.study-link',
      object: { type: 'order', id: order.id },
      facilityId: order.facility_id,
      patientRef: order.patient_ref,
      details: { studyId: s.id, studyUid: s.study_uid, method },
    });
    // Read again in the transaction: the order as it stands now (a batch of order intake
    // may have changed it). A completed order (its report final) stays completed.
    const current = await orders.byId(order.id);
    if (current && current.status !== 'cancelled' && current.status !== 'completed') {
      await recordStatusChange(trx, this.audit, { actor, order: current, from: 'scheduled', to: 'in-progress', key: `study-link:${link.id}`, why: 'study-linked', studyId: s.id, studyUid: s.study_uid });
      if (reported) {
        const done: Order = { ...current, status: 'completed', version: current.version + 1, updated_at: new Date().toISOString() };
        await orders.update(current.id, { status: done.status, version: done.version, updated_at: done.updated_at });
        await recordStatusChange(trx, this.audit, { actor, order: done, from: 'in-progress', to: 'completed', key: `report-final:${current.id}`, why: 'report-final', studyId: s.id, studyUid: s.study_uid });
      }
    }
  }

  private scope(actor: Actor): 'all' | string[] {
    const scope = reconcileScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'the reconciliation queue is worked by the facility\'s staff and system administrators');
    return scope;
  }

  /**
   * The queue: studies without an order and orders without a study (not cancelled), of the
   * facilities the actor works. Audited (it shows patients).
   * @throws AppError forbidden
   */
  async queue(actor: Actor, q: { facilityId?: string | undefined; limit?: number | undefined } = {}): Promise<ReconciliationQueue> {
    const scope = this.scope(actor);
    const limit = q.limit ?? 200;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUEUE) throw new AppError('bad_request', `limit must be 1-${MAX_QUEUE}`);
    let facilities: 'all' | string[] = scope;
    if (q.facilityId) {
      if (scope !== 'all' && !scope.includes(q.facilityId)) throw new AppError('forbidden', 'you do not work the queue of this facility');
      facilities = [q.facilityId];
    }
    const studies = await new ReconcileRepository(this.db).queue(facilities, limit);
    const orders = await new OrderRepository(this.db).list({ facilities, unlinkedOnly: true, limit, offset: 0 });
    await this.audit.record({
      actor,
      action: 'reconciliation.view',
      object: { type: 'reconciliation', id: facilities === 'all' ? 'all' : facilities.join(',').slice(0, 256) },
      facilityId: facilities !== 'all' && facilities.length === 1 ? facilities[0] : null,
      details: { studies: studies.length, orders: orders.rows.length },
    });
    return {
      studies: studies.map((s) => ({
        studyId: s.id,
        facilityId: s.facility_id,
        facilityName: s.facility_name,
        studyUid: s.study_uid,
        studyDate: s.study_date,
        studyTime: s.study_time,
        modalities: s.modalities,
        accessionNumber: s.accession_number,
        description: s.description,
        patient: {
          id: s.patient_ref,
          facilityId: s.facility_id,
          facilityName: s.facility_name,
          patientId: s.p_patient_id,
          issuer: s.p_issuer,
          name: { alphabetic: s.p_name_alphabetic, ideographic: s.p_name_ideographic, phonetic: s.p_name_phonetic },
          sex: s.p_sex,
          birthDate: s.p_birth_date,
        },
        reason: s.reason as UnmatchedStudyView['reason'],
        candidates: s.candidates,
        queuedAt: s.queued_at,
      })),
      orders: orders.rows.map(orderSummary),
    };
  }

  /**
   * Links a study to an order by hand (a facility user of that facility, a system
   * administrator or an operator), audited in the same transaction.
   * @throws AppError forbidden, not_found, bad_request (different facilities), conflict
   *         (order cancelled, either side already linked, different patients)
   */
  async link(actor: Actor, body: ReconcileLinkRequest): Promise<LinkedStudyView> {
    const scope = this.scope(actor);
    const studyId = str(body?.studyId, 'studyId', 64, true);
    const orderId = str(body?.orderId, 'orderId', 64, true);
    const repo = new ReconcileRepository(this.db);
    const s = await repo.study(studyId);
    if (!s) throw new AppError('not_found', 'no such study');
    if (scope !== 'all' && !scope.includes(s.facility_id)) throw new AppError('forbidden', 'you do not work the queue of this study\'s facility');
    const order = await new OrderRepository(this.db).byId(orderId);
    if (!order) throw new AppError('not_found', 'no such order');
    if (scope !== 'all' && !scope.includes(order.facility_id)) throw new AppError('forbidden', 'you do not work the queue of this order\'s facility');
    if (order.facility_id !== s.facility_id) throw new AppError('bad_request', 'the study and the order belong to different facilities');
    if (order.status === 'cancelled') throw new AppError('conflict', 'the order is cancelled');
    const patient = await new MpiRepository(this.db).patient(order.patient_ref);
    const samePatient = patient && patient.patient_id === s.p_patient_id && (!patient.issuer || !s.p_issuer || patient.issuer === s.p_issuer);
    if (!samePatient) throw new AppError('conflict', 'the study\'s patient is not the order\'s patient: the facility corrects the patient first');
    try {
      await this.db.transaction().execute(async (trx) => {
        const r = new ReconcileRepository(trx);
        if (await r.activeLinkOfStudy(s.id)) throw new AppError('conflict', 'the study is already linked to an order');
        if (await r.activeLinkOfOrder(order.id)) throw new AppError('conflict', 'the order already has a linked study');
        await this.writeLink(trx, actor, order, s, 'manual');
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'the study or the order was linked meanwhile');
      throw err;
    }
    return (await this.linkedStudy(order.id))!;
  }

  /**
   * Ends a study's link to its order (the link stays in the history); the study goes back to
   * the queue. Audited in the same transaction.
   * @throws AppError forbidden, not_found, conflict (not linked)
   */
  async unlink(actor: Actor, body: ReconcileUnlinkRequest): Promise<{ ok: true }> {
    const scope = this.scope(actor);
    const studyId = str(body?.studyId, 'studyId', 64, true);
    const reason = str(body?.reason, 'reason', 500, false);
    const s = await new ReconcileRepository(this.db).study(studyId);
    if (!s) throw new AppError('not_found', 'no such study');
    if (scope !== 'all' && !scope.includes(s.facility_id)) throw new AppError('forbidden', 'you do not work the queue of this study\'s facility');
    const at = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      const r = new ReconcileRepository(trx);
      const link = await r.activeLinkOfStudy(s.id);
      if (!link || !(await r.endLink(link.id, describeActor(actor), at, reason))) throw new AppError('conflict', 'the study is not linked to an order');
      await r.enqueue({ study_id: s.id, facility_id: s.facility_id, reason: 'unlinked', candidates: 0, queued_at: at });
      const order = await new OrderRepository(trx).byId(link.order_id);
      await this.audit.append(trx, {
        actor,
        action: 'order.study-unlink',
        object: { type: 'order', id: link.order_id },
        facilityId: s.facility_id,
        patientRef: order?.patient_ref ?? s.patient_ref,
        details: { studyId: s.id, studyUid: s.study_uid, linkId: link.id },
      });
      if (order && order.status !== 'cancelled' && order.status !== 'completed') {
        await recordStatusChange(trx, this.audit, { actor, order, from: 'in-progress', to: 'scheduled', key: `study-unlink:${link.id}`, why: 'study-unlinked', studyId: s.id, studyUid: s.study_uid });
      }
    });
    return { ok: true };
  }

  /** The study linked to an order now, or null. */
  async linkedStudy(orderId: string): Promise<LinkedStudyView | null> {
    const repo = new ReconcileRepository(this.db);
    const link = await repo.activeLinkOfOrder(orderId);
    if (!link) return null;
    const s = await repo.study(link.study_id);
    if (!s) return null;
    return {
      id: s.id,
      studyUid: s.study_uid,
      studyDate: s.study_date,
      studyTime: s.study_time,
      modalities: s.modalities,
      description: s.description,
      accessionNumber: s.accession_number,
      method: link.method as LinkedStudyView['method'],
      linkedAt: link.linked_at,
      linkedBy: link.linked_by,
    };
  }
}
