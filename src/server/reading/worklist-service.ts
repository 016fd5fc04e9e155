/**
 * The reading worklist (W6; L1, L2; guideline §5-1 (1)): one item per study to read, with
 * the order's priority, the due time from the facility contract, its status, the reader it
 * is assigned to and the claim (lock) that keeps two readers from reporting one study.
 *
 * Who sees what (ARCHITECTURE rule 2; the same scope as QIDO-RS, security/scope.ts): the
 * provider's radiologists, management physicians and transcriptionists see every facility
 * they serve; a facility's staff see their own facility. Only a physician whose reading role
 * covers the facility and whose verified Japanese licence and valid certification cover the
 * modality (CredentialService.mayRead, L1/L2) claims a study; a management physician
 * assigns and force-releases. Claims, releases, expiries and assignments are audited in
 * the transaction of the change (rule 3); listing shows patients, so it is audited too.
 *
 * Items are made when a study first arrives (the image-intake hook, after reconciliation
 * in the same transaction, so an order linked at once sets the priority) and brought up to
 * date by {@link WorklistService.refresh} when an order links later or its priority
 * changes; a housekeeping pass also catches links made without that call.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { READING_STATUSES, type ReadingStatus, type WorklistEvent, type WorklistFilters, type WorklistItem, type WorklistPage, type WorklistSettings, type WorklistView } from '../../shared/worklist.ts';
import type { IntakeOrigin } from '../archive/index.ts';
import type { AuditService } from '../audit/index.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database, Study } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/log.ts';
import { AccountRepository, medicalScope, type CredentialService } from '../security/index.ts';
import { WorklistEvents, type WorklistSubscription } from './worklist-events.ts';
import { changedFields, derive, inContractScope, isOpen, liveHolder, readerSlot, toItem } from './worklist-model.ts';
import { WorklistRepository, type Executor, type ReadingItemRow } from './worklist-repository.ts';
import { MAX_VIEWS, allOpen, decodeCursor, encodeCursor, parseAssign, parseFilters, parseLimit, parseSettings, parseView } from './worklist-schemas.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** Roles that read and sign (security/credentials.ts). */
const READING_ROLES = ['radiologist', 'management-physician'];
/** How automatic assignments and claim expiries appear in the audit trail. */
const AUTO_ASSIGNER: Actor = { kind: 'system', name: 'auto-assign' };
const CLAIM_CLOCK: Actor = { kind: 'system', name: 'claim-expiry' };
/** Housekeeping batch sizes. */
const SWEEP_BATCH = 200;
const ASSIGN_BATCH = 50;

/** What the worklist service needs. */
export interface WorklistServiceDeps {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  audit: AuditService<Database>;
  credentials: Pick<CredentialService, 'mayRead'>;
  log: Logger;
  /** Minutes a claim lasts without activity (ENKAKU_CLAIM_MINUTES). */
  claimMinutes: number;
  /** PostgreSQL: where this node LISTENs for the changes of every node. */
  listen?: { url: string; schema?: string | undefined } | undefined;
  /** Seconds between housekeeping passes (expired claims, pending assignments, order links); 0 turns them off. Default 30. */
  sweepSeconds?: number | undefined;
  now?: (() => Date) | undefined;
}

/** The outcome of an automatic assignment. */
export interface AutoAssignResult {
  assignedTo: string | null;
  /** Why nobody was assigned. */
  reason?: string;
}

function readsAt(actor: Actor, facilityId: string): boolean {
  return actor.kind === 'user' && actor.grants.some((g) => READING_ROLES.includes(g.role) && (g.facilityId === null || g.facilityId === facilityId));
}

function supervises(actor: Actor, facilityId?: string): boolean {
  return hasRole(actor, 'management-physician', null) || (facilityId !== undefined ? hasRole(actor, 'management-physician', facilityId) : hasRole(actor, 'management-physician'));
}

function itemId(v: unknown): string {
  if (typeof v !== 'string' || !v || v.length > 64) throw new AppError('not_found', 'no such worklist item');
  return v;
}

/** The reading worklist: items, claims, assignment, views, settings and live events. */
export class WorklistService {
  readonly repo: WorklistRepository;
  /** The live event bus (SSE subscribers, PostgreSQL LISTEN/NOTIFY). */
  readonly events: WorklistEvents;
  private readonly accounts: AccountRepository;
  private readonly now: () => Date;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private sweeps = 0;
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: WorklistServiceDeps) {
    this.repo = new WorklistRepository(deps.db, deps.dialect);
    this.events = new WorklistEvents({ db: deps.db, dialect: deps.dialect, log: deps.log, listen: deps.listen });
    this.accounts = new AccountRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
    // A study this node stored is assigned right after its transaction commits (the event
    // is delivered only then); the housekeeping pass catches whatever this misses.
    this.events.onEvent((e, own) => {
      if (own && e.type === 'created' && !this.closed) this.track(this.autoAssign(e.id).catch((err: unknown) => this.logError('auto-assign', err)));
    });
    const every = deps.sweepSeconds ?? 30;
    if (every > 0) {
      this.sweepTimer = setInterval(() => this.track(this.sweep()), every * 1000);
      this.sweepTimer.unref();
    }
  }

  /** Minutes a claim lasts without activity. */
  get claimMinutes(): number {
    return this.deps.claimMinutes;
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private logError(what: string, err: unknown): void {
    if (!this.closed) this.deps.log.error({ event: `worklist.${what}-error`, err: (err as Error).message }, `worklist ${what} failed`);
  }

  private iso(offsetMs = 0): string {
    return new Date(this.now().getTime() + offsetMs).toISOString();
  }

  /** The facilities whose worklist the actor sees. @throws AppError forbidden when none */
  private scope(actor: Actor): 'all' | string[] {
    const s = medicalScope(actor);
    if (s !== 'all' && s.length === 0) throw new AppError('forbidden', 'your roles do not include the reading worklist');
    return s;
  }

  /** The actor as a physician with a reading role somewhere. @throws AppError forbidden */
  private physician(actor: Actor): UserActor {
    if (actor.kind !== 'user' || !actor.grants.some((g) => READING_ROLES.includes(g.role))) {
      throw new AppError('forbidden', 'only radiologists and management physicians claim studies');
    }
    return actor;
  }

  /** An item the actor may see. @throws AppError forbidden, not_found */
  private async visibleItem(actor: Actor, id: unknown): Promise<ReadingItemRow> {
    const scope = this.scope(actor);
    const row = await this.repo.byId(itemId(id));
    if (!row || (scope !== 'all' && !scope.includes(row.facility_id))) throw new AppError('not_found', 'no such worklist item');
    return row;
  }

  private async displayName(userId: string): Promise<string> {
    return (await this.accounts.byId(userId))?.display_name ?? userId;
  }

  /** Publishes a change of an item (nothing when no live field changed). */
  private async publishChange(ex: Executor, before: ReadingItemRow, after: ReadingItemRow): Promise<void> {
    const changes = changedFields(before, after, this.iso());
    if (Object.keys(changes).length === 0) return;
    const event: WorklistEvent = { type: 'changed', id: after.id, facilityId: after.facility_id, version: after.version, changes };
    await this.events.publish(ex, event);
  }

  private async itemView(id: string, ex?: Executor): Promise<WorklistItem> {
    const v = await this.repo.view(id, ex);
    if (!v) throw new AppError('not_found', 'no such worklist item');
    return toItem(v, this.iso());
  }

  // --- items from studies ------------------------------------------------------------

  /**
   * Image-intake hook (archive IntakeService.onNewStudy; register it after reconciliation):
   * a study new to Enkaku becomes an item in its index transaction. Priors pulled from a
   * PACS are not read and get none.
   */
  async prepare(origin: IntakeOrigin): Promise<((trx: Transaction<Database>, study: Study) => Promise<void>) | undefined> {
    if (origin.source === 'priors') return undefined;
    return (trx, study) => this.onNewStudy(trx, study);
  }

  /**
   * Makes the item of a new study inside its index transaction. A failure must never lose
   * the image: the work runs in a savepoint, is undone and logged on error, and a later
   * {@link refresh} of the study makes the item.
   */
  async onNewStudy(trx: Transaction<Database>, study: Pick<Study, 'id'>): Promise<void> {
    await sql`savepoint enkaku_worklist`.execute(trx);
    try {
      await this.refresh(study.id, trx);
      await sql`release savepoint enkaku_worklist`.execute(trx);
    } catch (err) {
      await sql`rollback to savepoint enkaku_worklist`.execute(trx);
      await sql`release savepoint enkaku_worklist`.execute(trx);
      this.deps.log.error({ event: 'worklist.item-error', studyId: study.id, err: (err as Error).message }, 'the new study did not get its worklist item');
    }
  }

  /**
   * Makes or brings up to date the item of a study (internal study id): the linked order,
   * its priority, modality, body part and procedure, and the due time from the facility
   * contract. Reconciliation and the order service call it when an order links, unlinks or
   * changes priority; inside their transaction when given `trx` (and then it must come
   * before their audit entry, like every change). Nothing happens for an unknown study.
   * @returns the item as it is now
   */
  async refresh(studyId: string, trx?: Executor): Promise<ReadingItemRow | undefined> {
    const run = async (ex: Executor): Promise<ReadingItemRow | undefined> => {
      const facts = await this.repo.studyFacts(ex, studyId);
      if (!facts) return undefined;
      const contract = await this.repo.contractFacts(ex, facts.facility_id);
      const derived = derive(facts, contract);
      const cur = await this.repo.byStudy(studyId, ex, true);
      const now = this.iso();
      if (!cur) {
        const row: ReadingItemRow = {
          id: randomUUID(),
          study_id: facts.id,
          study_uid: facts.study_uid,
          facility_id: facts.facility_id,
          patient_ref: facts.patient_ref,
          accession_number: facts.accession_number,
          ...derived,
          status: 'unread',
          assigned_to: null,
          assigned_to_name: null,
          assigned_at: null,
          assigned_by: null,
          claimed_by: null,
          claimed_by_name: null,
          claimed_at: null,
          claim_expires_at: null,
          // A screening contract reads every study twice (W9); a management physician may change it per study.
          reading_mode: contract.doubleReading ? 'double' : 'single',
          first_reader: null,
          second_reader: null,
          arbiter: null,
          report_id: null,
          created_at: now,
          updated_at: now,
          version: 1,
        };
        await this.repo.insert(ex, row);
        await this.events.publish(ex, { type: 'created', id: row.id, facilityId: row.facility_id, version: 1 });
        return row;
      }
      const differs = (Object.keys(derived) as Array<keyof typeof derived>).some((k) => cur[k] !== derived[k]) || cur.accession_number !== facts.accession_number;
      if (!differs) return cur;
      const updated = (await this.repo.update(ex, cur.id, { ...derived, accession_number: facts.accession_number, updated_at: now }))!;
      await this.publishChange(ex, cur, updated);
      this.deps.log.info({ event: 'worklist.item-refreshed', itemId: cur.id, priority: updated.priority, dueAt: updated.due_at }, 'worklist item brought up to date');
      return updated;
    };
    return trx ? run(trx) : this.deps.db.transaction().execute(run);
  }

  // --- listing -----------------------------------------------------------------------

  /**
   * One page of the worklist for the actor, filtered and sorted by due time (keyset
   * pagination: pass `cursor` from the previous page). Audited `worklist.view` (it shows
   * patients' names).
   * @param query - {@link WorklistFilters} plus `limit` and `cursor`, as in the query string
   * @throws AppError forbidden (no worklist), bad_request (a filter)
   */
  async list(actor: Actor, query: Record<string, unknown> = {}): Promise<WorklistPage> {
    const scope = this.scope(actor);
    const f: WorklistFilters = parseFilters(query);
    const limit = parseLimit(query.limit);
    const sort = f.sort ?? 'due';
    const after = decodeCursor(query.cursor, sort);
    if (f.facilityId && scope !== 'all' && !scope.includes(f.facilityId)) throw new AppError('forbidden', 'you do not see the worklist of this facility');
    if (f.who === 'mine' && actor.kind !== 'user') throw new AppError('bad_request', 'who=mine needs a logged-in user');
    // Every open status is the open view (its indexes are partial on exactly that).
    const statuses = Array.isArray(f.status) && allOpen(f.status) && f.status.length === 4 ? 'open' : (f.status ?? 'open');
    const now = this.iso();
    const rows = await this.repo.list({
      scope,
      facilityId: f.facilityId,
      modality: f.modality,
      bodyPart: f.bodyPart,
      priorities: f.priority,
      statuses,
      who: f.who ?? 'all',
      userId: actor.kind === 'user' ? actor.userId : undefined,
      overdue: f.overdue === true,
      accessionPrefix: f.accession,
      now,
      desc: sort === '-due',
      after,
      limit: limit + 1,
    });
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    await this.deps.audit.record({
      actor,
      action: 'worklist.view',
      object: { type: 'worklist', id: f.facilityId ?? (scope === 'all' ? 'all' : scope.join(',').slice(0, 256)) },
      facilityId: f.facilityId ?? (scope !== 'all' && scope.length === 1 ? scope[0] : null),
      details: { count: page.length, items: page.map((r) => r.id).join(',').slice(0, 8000) },
    });
    return {
      items: page.map((r) => toItem(r, now)),
      nextCursor: more && last ? encodeCursor(last.due_at, last.id, sort) : null,
      serverTime: now,
      claimMinutes: this.deps.claimMinutes,
    };
  }

  // --- claims ------------------------------------------------------------------------

  /**
   * Claims a study for reading: the lock that keeps every other reader from reporting it,
   * for {@link claimMinutes} minutes, renewed by activity. Only a physician whose reading
   * role covers the facility and whose licence and certification cover the study (L1, L2).
   * Claiming again one's own claim renews it; an expired claim of someone else is taken over.
   * Audited `worklist.claim` (a refusal for qualification is audited as a failure).
   * @throws AppError forbidden (not a qualified reader; the message says why), not_found,
   *         conflict (claimed by another reader, or already reported)
   */
  async claim(actor: Actor, id: string): Promise<WorklistItem> {
    const user = this.physician(actor);
    const row = await this.visibleItem(actor, id);
    if (!readsAt(user, row.facility_id)) throw new AppError('forbidden', 'your reading role does not cover this facility');
    if (!isOpen(row.status)) throw new AppError('conflict', `the study is already ${row.status}`);
    const q = await this.deps.credentials.mayRead(user.userId, { modality: row.modality, facilityId: row.facility_id });
    const entry = { actor, action: 'worklist.claim', object: { type: 'study', id: row.study_uid }, facilityId: row.facility_id, patientRef: row.patient_ref };
    if (!q.allowed) {
      await this.deps.audit.record({ ...entry, outcome: 'failure', details: { item: row.id, modality: row.modality, reason: q.problems.join('; ').slice(0, 500) } });
      throw new AppError('forbidden', `you may not read this study: ${q.problems.join('; ')}`);
    }
    const name = await this.displayName(user.userId);
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const cur = (await this.repo.byId(row.id, trx, true))!;
      const at = this.now().getTime();
      const now = new Date(at).toISOString();
      if (!isOpen(cur.status)) throw new AppError('conflict', `the study is already ${cur.status}`);
      const holder = liveHolder(cur, now);
      if (holder && holder !== user.userId) throw new AppError('conflict', `already claimed by ${cur.claimed_by_name ?? 'another reader'} until ${cur.claim_expires_at}`);
      const slot = readerSlot(cur, user.userId);
      if (typeof slot === 'string') throw new AppError('conflict', slot);
      const expires = new Date(at + this.deps.claimMinutes * 60_000).toISOString();
      const next = (await this.repo.update(trx, cur.id, {
        claimed_by: user.userId,
        claimed_by_name: name,
        claimed_at: holder === user.userId && cur.claimed_at ? cur.claimed_at : now,
        claim_expires_at: expires,
        status: cur.status === 'unread' ? 'in-progress' : cur.status,
        updated_at: now,
        ...slot,
      }))!;
      const tookOver = cur.claimed_by && cur.claimed_by !== user.userId ? { tookOverExpiredClaimOf: cur.claimed_by } : {};
      await this.deps.audit.append(trx, { ...entry, details: { item: cur.id, expiresAt: expires, renewed: holder === user.userId, ...tookOver, ...(q.warnings.length ? { warnings: q.warnings.length } : {}) } });
      await this.publishChange(trx, cur, next);
      return next;
    });
    return this.itemView(updated.id);
  }

  /**
   * Renews the actor's claim for another {@link claimMinutes} minutes (the reader is still
   * at work). Not audited: the claim it extends is.
   * @throws AppError forbidden, not_found, conflict (the actor does not hold the claim)
   */
  async renew(actor: Actor, id: string): Promise<WorklistItem> {
    const user = this.physician(actor);
    const row = await this.visibleItem(actor, id);
    await this.deps.db.transaction().execute(async (trx) => {
      const cur = (await this.repo.byId(row.id, trx, true))!;
      if (cur.claimed_by !== user.userId || !isOpen(cur.status)) throw new AppError('conflict', 'you do not hold the claim on this study (it expired or was released): claim it again');
      const at = this.now().getTime();
      const next = (await this.repo.update(trx, cur.id, { claim_expires_at: new Date(at + this.deps.claimMinutes * 60_000).toISOString(), updated_at: new Date(at).toISOString() }))!;
      await this.publishChange(trx, cur, next);
    });
    return this.itemView(row.id);
  }

  /**
   * Releases a claim: the reader who holds it, or a management physician of the facility
   * (force-release, audited `worklist.force-release` with whose claim it was). A study still
   * `in-progress` goes back to `unread`; a draft stays a draft.
   * @throws AppError forbidden, not_found, conflict (not claimed)
   */
  async release(actor: Actor, id: string): Promise<WorklistItem> {
    const user = this.physician(actor);
    const row = await this.visibleItem(actor, id);
    await this.deps.db.transaction().execute(async (trx) => {
      const cur = (await this.repo.byId(row.id, trx, true))!;
      if (!cur.claimed_by) throw new AppError('conflict', 'the study is not claimed');
      const own = cur.claimed_by === user.userId;
      if (!own && !supervises(user, cur.facility_id)) throw new AppError('forbidden', 'only the reader who claimed the study or a management physician releases it');
      const next = (await this.repo.update(trx, cur.id, {
        claimed_by: null,
        claimed_by_name: null,
        claimed_at: null,
        claim_expires_at: null,
        status: cur.status === 'in-progress' ? 'unread' : cur.status,
        updated_at: this.iso(),
      }))!;
      await this.deps.audit.append(trx, {
        actor,
        action: own ? 'worklist.release' : 'worklist.force-release',
        object: { type: 'study', id: cur.study_uid },
        facilityId: cur.facility_id,
        patientRef: cur.patient_ref,
        details: { item: cur.id, ...(own ? {} : { claimedBy: cur.claimed_by, expired: !liveHolder(cur, this.iso()) }) },
      });
      await this.publishChange(trx, cur, next);
    });
    return this.itemView(row.id);
  }

  /**
   * For the report service, inside its transaction before its audit entry: the actor holds
   * the live claim on the study (internal study id). The item's row stays locked until that
   * transaction ends (PostgreSQL), and the claim is renewed: saving is activity.
   * @returns the item
   * @throws AppError forbidden (not a user), not_found (no item), locked (claimed by another
   *         reader), conflict (nobody holds it: claim it first)
   */
  async assertClaimedBy(actor: Actor, studyId: string, trx?: Executor): Promise<ReadingItemRow> {
    if (actor.kind !== 'user') throw new AppError('forbidden', 'only a reader who claimed the study writes its report');
    const check = async (ex: Executor): Promise<ReadingItemRow> => {
      const cur = await this.repo.byStudy(studyId, ex, true);
      if (!cur) throw new AppError('not_found', 'the study is not on the worklist');
      const holder = liveHolder(cur, this.iso());
      if (holder && holder !== actor.userId) throw new AppError('locked', `the study is claimed by ${cur.claimed_by_name ?? 'another reader'}`);
      if (holder !== actor.userId) throw new AppError('conflict', 'claim the study on the worklist first (your claim expired or was released)');
      const next = (await this.repo.update(ex, cur.id, { claim_expires_at: this.iso(this.deps.claimMinutes * 60_000) }))!;
      await this.publishChange(ex, cur, next);
      return next;
    };
    return trx ? check(trx) : this.deps.db.transaction().execute(check);
  }

  /**
   * For the report service, inside its transaction: the study's reading status (internal
   * study id) and, when given, its report. `final` and `cancelled` end the claim. Not audited
   * here: the report change that causes it is, in the same transaction.
   * @returns the item as written
   * @throws AppError bad_request (status), not_found (no such study)
   */
  async setStatus(trx: Executor, studyId: string, status: ReadingStatus, reportId?: string | null): Promise<ReadingItemRow> {
    if (!(READING_STATUSES as readonly string[]).includes(status)) throw new AppError('bad_request', `status must be among ${READING_STATUSES.join(', ')}`);
    const cur = (await this.repo.byStudy(studyId, trx, true)) ?? (await this.refresh(studyId, trx));
    if (!cur) throw new AppError('not_found', 'no such study');
    const closing = status === 'final' || status === 'cancelled';
    const next = (await this.repo.update(trx, cur.id, {
      status,
      updated_at: this.iso(),
      ...(reportId !== undefined ? { report_id: reportId } : {}),
      ...(closing ? { claimed_by: null, claimed_by_name: null, claimed_at: null, claim_expires_at: null } : {}),
    }))!;
    await this.publishChange(trx, cur, next);
    return next;
  }

  /**
   * For the report service, inside its transaction: a double reading's independent read is
   * done, so its reader's claim ends and the study waits for the next reader (status
   * `preliminary`). Not audited here: the report change that causes it is.
   */
  async endClaim(trx: Executor, studyId: string, status: ReadingStatus, reportId: string): Promise<ReadingItemRow> {
    const cur = await this.repo.byStudy(studyId, trx, true);
    if (!cur) throw new AppError('not_found', 'no such study');
    const next = (await this.repo.update(trx, cur.id, {
      status,
      report_id: reportId,
      claimed_by: null,
      claimed_by_name: null,
      claimed_at: null,
      claim_expires_at: null,
      updated_at: this.iso(),
    }))!;
    await this.publishChange(trx, cur, next);
    return next;
  }

  /** The item of a study (internal study id), if it has one: who holds the claim, the readers, the status. */
  itemOfStudy(studyId: string, ex?: Executor): Promise<ReadingItemRow | undefined> {
    return this.repo.byStudy(studyId, ex);
  }

  // --- assignment --------------------------------------------------------------------

  /**
   * Assigns an item (management physicians): to a reader who may read it, to nobody
   * (`userId: null`), or to the automatic choice (`auto: true`); and/or sets single or
   * double reading. Audited `worklist.assign`.
   * @throws AppError forbidden, not_found, bad_request, conflict (reported already),
   *         unprocessable (the reader may not read the study; nobody qualifies)
   */
  async assign(actor: Actor, id: string, body: unknown): Promise<WorklistItem> {
    if (!supervises(actor)) throw new AppError('forbidden', 'only a management physician assigns studies');
    const row = await this.visibleItem(actor, id);
    if (!supervises(actor, row.facility_id)) throw new AppError('forbidden', 'you do not supervise this facility');
    const input = parseAssign(body);
    if (!isOpen(row.status)) throw new AppError('conflict', `the study is already ${row.status}`);
    if (input.kind === 'auto') {
      if (input.readingMode) await this.writeAssignment(actor, row.id, { readingMode: input.readingMode });
      const r = await this.autoAssign(row.id, actor, { force: true });
      if (!r.assignedTo) throw new AppError('unprocessable', `nobody could be assigned: ${r.reason ?? 'no qualified reader'}`);
      return this.itemView(row.id);
    }
    let target: { id: string; name: string } | null | undefined;
    if (input.kind === 'user' && input.userId !== null) {
      const u = await this.accounts.byId(input.userId);
      if (!u || u.disabled) throw new AppError('not_found', 'no such user');
      const q = await this.deps.credentials.mayRead(u.id, { modality: row.modality, facilityId: row.facility_id });
      if (!q.allowed) throw new AppError('unprocessable', `that reader may not read this study: ${q.problems.join('; ')}`);
      target = { id: u.id, name: u.display_name };
    } else if (input.kind === 'user') target = null;
    await this.writeAssignment(actor, row.id, { ...(target !== undefined ? { target } : {}), ...(input.readingMode ? { readingMode: input.readingMode } : {}) });
    return this.itemView(row.id);
  }

  private async writeAssignment(actor: Actor, id: string, what: { target?: { id: string; name: string } | null; readingMode?: 'single' | 'double' }): Promise<ReadingItemRow | undefined> {
    return this.deps.db.transaction().execute(async (trx) => {
      const cur = (await this.repo.byId(id, trx, true))!;
      if (!isOpen(cur.status)) throw new AppError('conflict', `the study is already ${cur.status}`);
      const now = this.iso();
      const by = actor.kind === 'user' ? actor.userId : `system:${actor.kind === 'system' ? actor.name : actor.kind}`;
      const next = (await this.repo.update(trx, cur.id, {
        ...(what.target !== undefined ? { assigned_to: what.target?.id ?? null, assigned_to_name: what.target?.name ?? null, assigned_at: what.target ? now : null, assigned_by: what.target ? by : null } : {}),
        ...(what.readingMode ? { reading_mode: what.readingMode } : {}),
        updated_at: now,
      }))!;
      await this.deps.audit.append(trx, {
        actor,
        action: 'worklist.assign',
        object: { type: 'study', id: cur.study_uid },
        facilityId: cur.facility_id,
        patientRef: cur.patient_ref,
        details: { item: cur.id, ...(what.target !== undefined ? { assignedTo: what.target?.id ?? null, previous: cur.assigned_to } : {}), ...(what.readingMode ? { readingMode: what.readingMode } : {}) },
      });
      await this.publishChange(trx, cur, next);
      return next;
    });
  }

  /** Whether automatic assignment is on for a facility (its own setting, else the global one). */
  async autoAssignOn(facilityId: string): Promise<boolean> {
    const rows = await this.repo.settings();
    const own = rows.find((r) => r.scope === facilityId) ?? rows.find((r) => r.scope === '*');
    return own?.auto_assign === 1;
  }

  /** Active users with a reading role at the provider or at the facility. */
  private async readersFor(facilityId: string): Promise<Array<{ id: string; name: string }>> {
    const users = (await this.accounts.listUsers()).filter((u) => !u.disabled);
    const grants = await this.accounts.grants(users.map((u) => u.id));
    return users
      .filter((u) => (grants.get(u.id) ?? []).some((g) => READING_ROLES.includes(g.role) && (g.facilityId === null || g.facilityId === facilityId)))
      .map((u) => ({ id: u.id, name: u.display_name }));
  }

  /**
   * Automatic assignment (W6, L2): when it is on for the item's facility (or `force`d by a
   * management physician) and the item lies within the facility contract's scope, assigns
   * it to the qualified reader (licence and certification for the modality, reading role for
   * the facility; in double reading, someone who has not read it yet) with the fewest open
   * items assigned to or claimed by them. Runs after each new study and in housekeeping;
   * an item assigned or claimed meanwhile is left alone. Audited `worklist.assign` (auto).
   * @param item - the item or its id
   */
  async autoAssign(item: string | ReadingItemRow, actor: Actor = AUTO_ASSIGNER, opts: { force?: boolean } = {}): Promise<AutoAssignResult> {
    const row = await this.repo.byId(typeof item === 'string' ? item : item.id);
    if (!row) return { assignedTo: null, reason: 'no such item' };
    if (!isOpen(row.status)) return { assignedTo: null, reason: `the study is ${row.status}` };
    if (!opts.force) {
      if (row.assigned_to) return { assignedTo: row.assigned_to, reason: 'already assigned' };
      if (liveHolder(row, this.iso())) return { assignedTo: null, reason: 'claimed by a reader' };
      if (!(await this.autoAssignOn(row.facility_id))) return { assignedTo: null, reason: 'automatic assignment is off' };
    }
    if (!inContractScope(await this.repo.contractFacts(this.deps.db, row.facility_id), row)) return { assignedTo: null, reason: 'outside the facility contract\'s scope' };
    const readBefore = row.reading_mode === 'double' ? [row.first_reader, row.second_reader].filter((x): x is string => Boolean(x)) : [];
    const candidates = (await this.readersFor(row.facility_id)).filter((c) => !readBefore.includes(c.id));
    const qualified: Array<{ id: string; name: string }> = [];
    for (const c of candidates) if ((await this.deps.credentials.mayRead(c.id, { modality: row.modality, facilityId: row.facility_id })).allowed) qualified.push(c);
    if (qualified.length === 0) return { assignedTo: null, reason: `no reader is qualified for ${row.modality || 'this study'}` };
    const loads = await this.repo.loads(qualified.map((c) => c.id), this.iso());
    const pick = [...qualified].sort((a, b) => (loads.get(a.id) ?? 0) - (loads.get(b.id) ?? 0) || a.id.localeCompare(b.id))[0]!;
    const by = actor.kind === 'user' ? actor.userId : `system:${actor.kind === 'system' ? actor.name : actor.kind}`;
    const done = await this.deps.db.transaction().execute(async (trx) => {
      const now = this.iso();
      const values = { assigned_to: pick.id, assigned_to_name: pick.name, assigned_at: now, assigned_by: by, updated_at: now };
      const before = (await this.repo.byId(row.id, trx, true))!;
      const next = opts.force ? (isOpen(before.status) ? await this.repo.update(trx, row.id, values) : undefined) : await this.repo.assignIfFree(trx, row.id, values);
      if (!next) return false;
      await this.deps.audit.append(trx, {
        actor,
        action: 'worklist.assign',
        object: { type: 'study', id: row.study_uid },
        facilityId: row.facility_id,
        patientRef: row.patient_ref,
        details: { item: row.id, assignedTo: pick.id, previous: before.assigned_to, auto: true, openItems: loads.get(pick.id) ?? 0, qualified: qualified.length },
      });
      await this.publishChange(trx, before, next);
      return true;
    });
    return done ? { assignedTo: pick.id } : { assignedTo: null, reason: 'assigned or closed meanwhile' };
  }

  // --- settings and saved views ------------------------------------------------------

  private assertSettingsRight(actor: Actor): void {
    if (actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null)) return;
    throw new AppError('forbidden', 'only system administrators and the management physician change the worklist settings');
  }

  /** The automatic assignment settings. @throws AppError forbidden */
  async settings(actor: Actor): Promise<WorklistSettings> {
    this.assertSettingsRight(actor);
    const rows = await this.repo.settings();
    return {
      autoAssign: rows.find((r) => r.scope === '*')?.auto_assign === 1,
      facilities: rows.filter((r) => r.scope !== '*').map((r) => ({ facilityId: r.scope, autoAssign: r.auto_assign === 1 })),
    };
  }

  /**
   * Turns automatic assignment on or off, globally (`facilityId` null) or for a facility
   * (`autoAssign` null: the facility follows the global setting). Audited `worklist.settings-change`.
   * @throws AppError forbidden, bad_request, not_found (facility)
   */
  async setSettings(actor: Actor, body: unknown): Promise<WorklistSettings> {
    this.assertSettingsRight(actor);
    const s = parseSettings(body);
    if (s.facilityId && !(await this.deps.db.selectFrom('facilities').select('id').where('id', '=', s.facilityId).executeTakeFirst())) throw new AppError('not_found', 'no such facility');
    const by = actor.kind === 'user' ? actor.userId : `system:${actor.kind === 'system' ? actor.name : actor.kind}`;
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.setSetting(trx, s.facilityId ?? '*', s.autoAssign, this.iso(), by);
      await this.deps.audit.append(trx, { actor, action: 'worklist.settings-change', object: { type: 'worklist', id: s.facilityId ?? '*' }, facilityId: s.facilityId, details: { autoAssign: s.autoAssign } });
    });
    return this.settings(actor);
  }

  private viewUser(actor: Actor): UserActor {
    this.scope(actor);
    if (actor.kind !== 'user') throw new AppError('forbidden', 'saved views belong to users');
    return actor;
  }

  /** The actor's saved views. */
  async views(actor: Actor): Promise<WorklistView[]> {
    const u = this.viewUser(actor);
    return (await this.repo.views(u.userId)).map((v) => ({ id: v.id, name: v.name, filters: JSON.parse(v.filters) as WorklistFilters, createdAt: v.created_at }));
  }

  /** Saves a view of the actor's (replacing one of the same name). @throws AppError bad_request, conflict (too many) */
  async saveView(actor: Actor, body: unknown): Promise<WorklistView> {
    const u = this.viewUser(actor);
    const v = parseView(body);
    const existing = (await this.repo.views(u.userId)).some((x) => x.name === v.name);
    if (!existing && (await this.repo.countViews(u.userId)) >= MAX_VIEWS) throw new AppError('conflict', `at most ${MAX_VIEWS} saved views; delete one first`);
    const row = await this.repo.saveView({ id: randomUUID(), user_id: u.userId, name: v.name, filters: JSON.stringify(v.filters), created_at: this.iso() });
    return { id: row.id, name: row.name, filters: JSON.parse(row.filters) as WorklistFilters, createdAt: row.created_at };
  }

  /** Deletes a view of the actor's. @throws AppError not_found */
  async deleteView(actor: Actor, id: string): Promise<void> {
    const u = this.viewUser(actor);
    if (!(await this.repo.deleteView(u.userId, String(id).slice(0, 64)))) throw new AppError('not_found', 'no such saved view');
  }

  // --- live events -------------------------------------------------------------------

  /**
   * Opens a live stream of the worklist events of the facilities the actor sees.
   * @throws AppError forbidden (no worklist)
   */
  subscribe(actor: Actor, send: (event: WorklistEvent) => void): WorklistSubscription {
    return this.events.subscribe(this.scope(actor), send);
  }

  /** The facilities an actor's stream should cover now (after a role change), or null when none. */
  scopeOf(actor: Actor): 'all' | string[] | null {
    const s = medicalScope(actor);
    return s !== 'all' && s.length === 0 ? null : s;
  }

  // --- housekeeping ------------------------------------------------------------------

  /**
   * One housekeeping pass (every `sweepSeconds`, on every node; the work is idempotent):
   * ends expired claims (audited `worklist.claim-expire`, so that open lists see them
   * free), assigns pending items where automatic assignment is on, and, every fourth pass,
   * brings up to date items whose order link or priority changed without a refresh.
   */
  async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      await this.expireClaims().catch((err: unknown) => this.logError('claim-expiry', err));
      await this.assignPending().catch((err: unknown) => this.logError('auto-assign', err));
      if (this.sweeps++ % 4 === 0) await this.healOrderFacts().catch((err: unknown) => this.logError('refresh', err));
    } finally {
      this.sweeping = false;
    }
  }

  /** Ends expired claims; returns how many. */
  async expireClaims(): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      const now = this.iso();
      const rows = await this.repo.expiredClaims(trx, now, SWEEP_BATCH);
      for (const cur of rows) {
        const next = (await this.repo.update(trx, cur.id, { claimed_by: null, claimed_by_name: null, claimed_at: null, claim_expires_at: null, status: cur.status === 'in-progress' ? 'unread' : cur.status, updated_at: now }))!;
        await this.deps.audit.append(trx, {
          actor: CLAIM_CLOCK,
          action: 'worklist.claim-expire',
          object: { type: 'study', id: cur.study_uid },
          facilityId: cur.facility_id,
          patientRef: cur.patient_ref,
          details: { item: cur.id, claimedBy: cur.claimed_by, expiredAt: cur.claim_expires_at },
        });
        await this.publishChange(trx, cur, next);
      }
      return rows.length;
    });
  }

  private async assignPending(): Promise<void> {
    const rows = await this.repo.settings();
    const global = rows.find((r) => r.scope === '*')?.auto_assign === 1;
    const on = rows.filter((r) => r.scope !== '*' && r.auto_assign === 1).map((r) => r.scope);
    const off = rows.filter((r) => r.scope !== '*' && r.auto_assign === 0).map((r) => r.scope);
    if (!global && on.length === 0) return;
    for (const r of await this.repo.pendingAssignment(global ? { on: 'all', off } : { on, off: [] }, this.iso(), ASSIGN_BATCH)) {
      if (this.closed) return;
      await this.autoAssign(r);
    }
  }

  private async healOrderFacts(): Promise<void> {
    for (const studyId of await this.repo.staleOrderFacts(SWEEP_BATCH)) {
      if (this.closed) return;
      await this.refresh(studyId);
    }
  }

  /** Stops housekeeping and live events, after the work under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.pending]);
    await this.events.close();
  }
}
