/**
 * SQL of the reading worklist: `reading_items`, `worklist_views`, `worklist_settings` (the
 * only place that touches them).
 *
 * To build an item inside the transaction that stores a study or links it to an order, it
 * also reads (never writes) the archive's `studies` and `series`, the orders module's active
 * `order_study_links`/`orders` and the contract's due minutes and scope in
 * `facility_contracts`: the public services of those modules read through their own
 * connection, which inside a SQLite transaction would wait for itself.
 */
import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import type { Database, ReadingItemTable, WorklistViewTable } from '../platform/db/schema.ts';
import { DEFAULT_TERMS } from '../orders/index.ts';
import { OPEN_PREDICATE } from './worklist-migration.ts';
import { OPEN_STATUSES } from '../../shared/worklist.ts';

export type ReadingItemRow = Selectable<ReadingItemTable>;
export type WorklistViewRow = Selectable<WorklistViewTable>;
export type Executor = Kysely<Database> | Transaction<Database>;

/** The open statuses as SQL (the partial indexes' predicate, word for word). */
export const OPEN = sql.raw<boolean>(OPEN_PREDICATE);
/** The same of the items under the alias `r` (in joins, where other tables have a status too). */
const OPEN_R = sql.raw<boolean>(OPEN_PREDICATE.replace('status', 'r.status'));
const CLOSED_R = sql.raw<boolean>("r.status in ('final', 'cancelled')");

/** What a reading item is built from: the study, its first series and its linked order. */
export interface StudyFacts {
  id: string;
  study_uid: string;
  facility_id: string;
  patient_ref: string;
  accession_number: string;
  modalities: string;
  description: string;
  created_at: string;
  /** Modality and body part of the study's series, in arrival order. */
  series: Array<{ modality: string; body_part: string }>;
  order: { id: string; priority: string; modality: string; body_part: string; procedure_text: string } | null;
}

/** The parts of a facility contract the worklist uses (defaults while none is on record). */
export interface ContractFacts {
  dueMinutes: { stat: number; urgent: number; routine: number };
  modalities: string[];
  bodyParts: string[];
  /** Screening contract: studies are double read (W9). */
  doubleReading: boolean;
}

/** A list request, already authorised and validated. */
export interface ItemQuery {
  /** Facilities the caller may see. */
  scope: 'all' | string[];
  facilityId?: string | undefined;
  modality?: string | undefined;
  bodyPart?: string | undefined;
  priorities?: string[] | undefined;
  /** `open`, `closed`, `all`, or a list of statuses. */
  statuses: 'open' | 'closed' | 'all' | string[];
  who: 'all' | 'mine' | 'unassigned';
  userId?: string | undefined;
  overdue: boolean;
  accessionPrefix?: string | undefined;
  now: string;
  desc: boolean;
  /** Keyset: the last (due_at, id) of the previous page. */
  after?: [string, string] | undefined;
  limit: number;
}

/** A listed item with the names the list shows. */
export type ItemWithNames = ReadingItemRow & { facility_name: string; name_alphabetic: string; name_ideographic: string; name_phonetic: string };

const LIKE_SPECIAL = /[\\%_]/g;

/** Persistence of the worklist. */
export class WorklistRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** An item by id; `lock` takes its row lock (PostgreSQL) until the transaction ends. */
  byId(id: string, ex: Executor = this.db, lock = false): Promise<ReadingItemRow | undefined> {
    return ex
      .selectFrom('reading_items')
      .selectAll()
      .where('id', '=', id)
      .$if(lock && this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
  }

  /** The item of a study (internal study id). */
  byStudy(studyId: string, ex: Executor = this.db, lock = false): Promise<ReadingItemRow | undefined> {
    return ex
      .selectFrom('reading_items')
      .selectAll()
      .where('study_id', '=', studyId)
      .$if(lock && this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
  }

  /** The internal id of a study by its Study Instance UID. */
  async studyIdOfUid(ex: Executor, studyUid: string): Promise<string | undefined> {
    return (await ex.selectFrom('studies').select('id').where('study_uid', '=', studyUid).executeTakeFirst())?.id;
  }

  /** The study, its series and its active order link. */
  async studyFacts(ex: Executor, studyId: string): Promise<StudyFacts | undefined> {
    const s = await ex
      .selectFrom('studies')
      .select(['id', 'study_uid', 'facility_id', 'patient_ref', 'accession_number', 'modalities', 'description', 'created_at'])
      .where('id', '=', studyId)
      .executeTakeFirst();
    if (!s) return undefined;
    const series = await ex.selectFrom('series').select(['modality', 'body_part']).where('study_ref', '=', studyId).orderBy('created_at').orderBy('id').execute();
    const order = await ex
      .selectFrom('order_study_links as l')
      .innerJoin('orders as o', 'o.id', 'l.order_id')
      .select(['o.id', 'o.priority', 'o.modality', 'o.body_part', 'o.procedure_text'])
      .where('l.study_id', '=', studyId)
      .where('l.unlinked_at', 'is', null)
      .executeTakeFirst();
    return { ...s, series, order: order ?? null };
  }

  /** Due minutes and reading scope of a facility's contract. */
  async contractFacts(ex: Executor, facilityId: string): Promise<ContractFacts> {
    const r = await ex
      .selectFrom('facility_contracts')
      .select(['due_stat_minutes', 'due_urgent_minutes', 'due_routine_minutes', 'modalities', 'body_parts', 'double_reading'])
      .where('facility_id', '=', facilityId)
      .executeTakeFirst();
    if (!r) return { dueMinutes: { ...DEFAULT_TERMS.dueMinutes }, modalities: [...DEFAULT_TERMS.scope.modalities], bodyParts: [...DEFAULT_TERMS.scope.bodyParts], doubleReading: false };
    return {
      dueMinutes: { stat: r.due_stat_minutes, urgent: r.due_urgent_minutes, routine: r.due_routine_minutes },
      modalities: r.modalities ? r.modalities.split(',') : [],
      bodyParts: JSON.parse(r.body_parts) as string[],
      doubleReading: r.double_reading === 1,
    };
  }

  async insert(ex: Executor, row: ReadingItemRow): Promise<void> {
    await ex.insertInto('reading_items').values(row).execute();
  }

  /** Updates an item; returns the row as written, or undefined when `where` excluded it. */
  async update(ex: Executor, id: string, values: Updateable<ReadingItemTable>): Promise<ReadingItemRow | undefined> {
    return ex
      .updateTable('reading_items')
      .set({ ...values, version: sql<number>`version + 1` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** Assigns an item that is open and still unassigned (automatic assignment); undefined when it no longer is. */
  async assignIfFree(ex: Executor, id: string, values: Updateable<ReadingItemTable>): Promise<ReadingItemRow | undefined> {
    return ex
      .updateTable('reading_items')
      .set({ ...values, version: sql<number>`version + 1` })
      .where('id', '=', id)
      .where('assigned_to', 'is', null)
      .where(OPEN)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * One page of items with the facility's and the patient's names. "Mine" runs as two
   * queries, assigned to me and claimed by me, each a range scan of its own partial index in
   * due order, merged here: one query with an OR would read the open items in due order and
   * filter, which costs in proportion to the whole backlog.
   */
  async list(q: ItemQuery): Promise<ItemWithNames[]> {
    if (q.who !== 'mine') return this.listOnce(q, q.who);
    const [assigned, claimed] = await Promise.all([this.listOnce(q, 'assigned'), this.listOnce(q, 'claimed')]);
    const byId = new Map([...assigned, ...claimed].map((r) => [r.id, r]));
    const sign = q.desc ? -1 : 1;
    return [...byId.values()]
      .sort((a, b) => sign * (a.due_at < b.due_at ? -1 : a.due_at > b.due_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, q.limit);
  }

  private async listOnce(q: ItemQuery, who: 'all' | 'unassigned' | 'assigned' | 'claimed'): Promise<ItemWithNames[]> {
    let query = this.db
      .selectFrom('reading_items as r')
      .innerJoin('facilities as f', 'f.id', 'r.facility_id')
      .innerJoin('patients as p', 'p.id', 'r.patient_ref')
      .selectAll('r')
      .select(['f.name as facility_name', 'p.name_alphabetic', 'p.name_ideographic', 'p.name_phonetic']);
    if (q.scope !== 'all') query = query.where('r.facility_id', 'in', q.scope);
    if (q.facilityId) query = query.where('r.facility_id', '=', q.facilityId);
    if (q.modality) query = query.where('r.modality', '=', q.modality);
    if (q.bodyPart) query = query.where('r.body_part', '=', q.bodyPart);
    if (q.priorities?.length) query = query.where('r.priority', 'in', q.priorities);
    if (q.statuses === 'open' || q.overdue) query = query.where(OPEN_R);
    if (q.statuses === 'closed') query = query.where(CLOSED_R);
    else if (Array.isArray(q.statuses)) {
      query = query.where('r.status', 'in', q.statuses);
      // Open statuses only: also the open predicate, so that the partial indexes apply.
      if (!q.overdue && q.statuses.every((s) => (OPEN_STATUSES as readonly string[]).includes(s))) query = query.where(OPEN_R);
    }
    if (q.overdue) query = query.where('r.due_at', '<', q.now);
    if (who === 'assigned') query = query.where('r.assigned_to', '=', q.userId ?? '');
    else if (who === 'claimed') query = query.where('r.claimed_by', '=', q.userId ?? '').where('r.claim_expires_at', '>', q.now);
    else if (who === 'unassigned') {
      query = query.where('r.assigned_to', 'is', null).where((eb) => eb.or([eb('r.claimed_by', 'is', null), eb('r.claim_expires_at', '<=', q.now)]));
    }
    if (q.accessionPrefix) {
      const pattern = `${q.accessionPrefix.replace(LIKE_SPECIAL, (c) => `\\${c}`)}%`;
      query = query.where(sql<boolean>`r.accession_number like ${pattern} escape '\\'`);
    }
    if (q.after) {
      const [due, id] = q.after;
      query = query.where((eb) => eb(eb.refTuple('r.due_at', 'r.id'), q.desc ? '<' : '>', eb.tuple(due, id)));
    }
    const dir = q.desc ? 'desc' : 'asc';
    return query.orderBy('r.due_at', dir).orderBy('r.id', dir).limit(q.limit).execute() as Promise<ItemWithNames[]>;
  }

  /** One item with the names the list shows. */
  async view(id: string, ex: Executor = this.db): Promise<ItemWithNames | undefined> {
    return ex
      .selectFrom('reading_items as r')
      .innerJoin('facilities as f', 'f.id', 'r.facility_id')
      .innerJoin('patients as p', 'p.id', 'r.patient_ref')
      .selectAll('r')
      .select(['f.name as facility_name', 'p.name_alphabetic', 'p.name_ideographic', 'p.name_phonetic'])
      .where('r.id', '=', id)
      .executeTakeFirst() as Promise<ItemWithNames | undefined>;
  }

  /** Open items each user holds (assigned to them, or claimed by them and not expired). */
  async loads(userIds: string[], now: string): Promise<Map<string, number>> {
    const out = new Map(userIds.map((u) => [u, 0]));
    if (userIds.length === 0) return out;
    const assigned = await this.db
      .selectFrom('reading_items')
      .select(['assigned_to as user', (eb) => eb.fn.countAll<number>().as('n')])
      .where(OPEN)
      .where('assigned_to', 'in', userIds)
      .groupBy('assigned_to')
      .execute();
    const claimedOnly = await this.db
      .selectFrom('reading_items')
      .select(['claimed_by as user', (eb) => eb.fn.countAll<number>().as('n')])
      .where(OPEN)
      .where('claimed_by', 'in', userIds)
      .where('claim_expires_at', '>', now)
      .where((eb) => eb.or([eb('assigned_to', 'is', null), eb('assigned_to', '<>', eb.ref('claimed_by'))]))
      .groupBy('claimed_by')
      .execute();
    for (const r of [...assigned, ...claimedOnly]) if (r.user) out.set(r.user, (out.get(r.user) ?? 0) + Number(r.n));
    return out;
  }

  /** Claims that have expired (oldest first), locked for this transaction on PostgreSQL (others skip them). */
  expiredClaims(ex: Executor, now: string, limit: number): Promise<ReadingItemRow[]> {
    return ex
      .selectFrom('reading_items')
      .selectAll()
      .where('claimed_by', 'is not', null)
      .where('claim_expires_at', '<=', now)
      .orderBy('claim_expires_at')
      .limit(limit)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked())
      .execute();
  }

  /** Open items nobody holds, earliest due first, in facilities where automatic assignment is on. */
  pendingAssignment(facilities: { on: string[] | 'all'; off: string[] }, now: string, limit: number): Promise<ReadingItemRow[]> {
    let q = this.db
      .selectFrom('reading_items')
      .selectAll()
      .where(OPEN)
      .where('assigned_to', 'is', null)
      .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claim_expires_at', '<=', now)]));
    if (facilities.on !== 'all') q = q.where('facility_id', 'in', facilities.on.length ? facilities.on : ['']);
    if (facilities.off.length) q = q.where('facility_id', 'not in', facilities.off);
    return q.orderBy('due_at').orderBy('id').limit(limit).execute();
  }

  /**
   * Open items whose order link or order priority changed since they were built (a safety
   * net for links made without a `refresh` call): study ids.
   */
  async staleOrderFacts(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('reading_items as r')
      .leftJoin('order_study_links as l', (j) => j.onRef('l.study_id', '=', 'r.study_id').on('l.unlinked_at', 'is', null))
      .leftJoin('orders as o', 'o.id', 'l.order_id')
      .select('r.study_id')
      .where(OPEN_R)
      .where((eb) =>
        eb.or([
          eb.and([eb('l.order_id', 'is', null), eb('r.order_id', 'is not', null)]),
          eb.and([eb('l.order_id', 'is not', null), eb('r.order_id', 'is', null)]),
          eb('r.order_id', '<>', eb.ref('l.order_id')),
          eb('r.priority', '<>', sql<string>`case when o.priority in ('stat', 'urgent') then o.priority else 'routine' end`),
        ]),
      )
      .limit(limit)
      .execute();
    return rows.map((r) => r.study_id);
  }

  // --- settings ----------------------------------------------------------------------

  async settings(ex: Executor = this.db): Promise<Array<{ scope: string; auto_assign: number }>> {
    return ex.selectFrom('worklist_settings').select(['scope', 'auto_assign']).orderBy('scope').execute();
  }

  async setSetting(ex: Executor, scope: string, autoAssign: boolean | null, at: string, by: string): Promise<void> {
    if (autoAssign === null) {
      await ex.deleteFrom('worklist_settings').where('scope', '=', scope).execute();
      return;
    }
    const row = { scope, auto_assign: autoAssign ? 1 : 0, updated_at: at, updated_by: by };
    await ex
      .insertInto('worklist_settings')
      .values(row)
      .onConflict((oc) => oc.column('scope').doUpdateSet({ auto_assign: row.auto_assign, updated_at: at, updated_by: by }))
      .execute();
  }

  // --- saved views -------------------------------------------------------------------

  views(userId: string): Promise<WorklistViewRow[]> {
    return this.db.selectFrom('worklist_views').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }

  async countViews(userId: string): Promise<number> {
    const r = await this.db.selectFrom('worklist_views').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Saves a view; a view of the same name is replaced (its id is kept). */
  async saveView(row: WorklistViewRow): Promise<WorklistViewRow> {
    await this.db
      .insertInto('worklist_views')
      .values(row)
      .onConflict((oc) => oc.columns(['user_id', 'name']).doUpdateSet({ filters: row.filters }))
      .execute();
    return (await this.db.selectFrom('worklist_views').selectAll().where('user_id', '=', row.user_id).where('name', '=', row.name).executeTakeFirst())!;
  }

  async deleteView(userId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('worklist_views').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
