/**
 * SQL of the findings module: the only place that touches its tables (findings, recipients,
 * events, phone contacts, reviews, settings), and the read-only lookups of the study, the
 * order's requester and the users a notice goes to.
 *
 * Every change of a finding first raises its `version` ({@link FindingRepository.lock}):
 * on PostgreSQL that UPDATE locks the row until the transaction ends, so writers of one
 * finding (an acknowledgement racing an escalation, two channel records) run one after the
 * other and its events are numbered without gaps or repeats; SQLite has one writer anyway.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database } from '../platform/db/schema.ts';
import type { FindingEventTable, FindingPhoneContactTable, FindingRecipientTable, FindingReviewTable, FindingSettingsTable, FindingTable } from './migration.ts';

export type Executor = Kysely<Database> | Transaction<Database>;
export type FindingRow = Selectable<FindingTable>;
export type RecipientRow = Selectable<FindingRecipientTable>;
export type EventRow = Selectable<FindingEventTable>;
export type PhoneRow = Selectable<FindingPhoneContactTable>;
export type ReviewRow = Selectable<FindingReviewTable>;
export type SettingsRow = Selectable<FindingSettingsTable>;

/** The study facts a finding needs. */
export interface StudyRef {
  id: string;
  study_uid: string;
  facility_id: string;
  facility_name: string;
  patient_ref: string;
}

/** Which findings a listing may return. */
export type Visibility =
  | { all: true }
  | {
      all: false;
      /** The user: what they raised and what they are a recipient of. */
      userId: string;
      /** Facilities whose findings they see as a whole. */
      facilities: string[];
    };

/** Filters of a listing. */
export interface FindingFilter {
  status: 'open' | 'overdue' | 'all';
  facilityId: string | null;
  category: string | null;
  studyUid: string | null;
  reportId: string | null;
  /** Now (ISO) and today in Asia/Tokyo (YYYY-MM-DD), for "overdue". */
  now: string;
  today: string;
  limit: number;
  offset: number;
}

/** Persistence of findings. */
export class FindingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // Lookups outside the module's tables ------------------------------------------------

  /** A study by UID within the facilities given ('all' for every one). */
  async study(studyUid: string, scope: 'all' | string[]): Promise<StudyRef | undefined> {
    if (scope !== 'all' && scope.length === 0) return undefined;
    let q = this.db
      .selectFrom('studies as s')
      .innerJoin('facilities as f', 'f.id', 's.facility_id')
      .select(['s.id', 's.study_uid', 's.facility_id', 'f.name as facility_name', 's.patient_ref'])
      .where('s.study_uid', '=', studyUid);
    if (scope !== 'all') q = q.where('s.facility_id', 'in', scope);
    return q.executeTakeFirst();
  }

  /** The requester named by the order linked to the study now, if any. */
  async requesterName(studyId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('order_study_links as l')
      .innerJoin('orders as o', 'o.id', 'l.order_id')
      .select('o.requester_name')
      .where('l.study_id', '=', studyId)
      .where('l.unlinked_at', 'is', null)
      .orderBy('l.linked_at', 'desc')
      .executeTakeFirst();
    return row?.requester_name || undefined;
  }

  /** The report's study (to check that a finding's report belongs to its study). */
  async reportStudy(reportId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('reports').select('study_id').where('id', '=', reportId).executeTakeFirst())?.study_id;
  }

  /**
   * Active users holding one of `roles` at one of `facilityIds` ('' is the reading provider),
   * ordered by name.
   */
  async usersWithRoles(roles: string[], facilityIds: string[]): Promise<Array<{ id: string; display_name: string }>> {
    if (!roles.length || !facilityIds.length) return [];
    return this.db
      .selectFrom('users as u')
      .innerJoin('user_grants as g', 'g.user_id', 'u.id')
      .select(['u.id', 'u.display_name'])
      .distinct()
      .where('u.disabled', '=', 0)
      .where('g.role', 'in', roles)
      .where('g.facility_id', 'in', facilityIds)
      .orderBy('u.display_name')
      .orderBy('u.id')
      .execute();
  }

  async userName(id: string): Promise<string> {
    return (await this.db.selectFrom('users').select('display_name').where('id', '=', id).executeTakeFirst())?.display_name ?? '';
  }

  async facilityName(id: string): Promise<string | undefined> {
    return (await this.db.selectFrom('facilities').select('name').where('id', '=', id).executeTakeFirst())?.name;
  }

  async facilityNames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('facilities').select(['id', 'name']).where('id', 'in', [...new Set(ids)]).execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  // Findings -----------------------------------------------------------------------------

  async insert(ex: Executor, row: FindingRow, recipients: RecipientRow[]): Promise<void> {
    await ex.insertInto('findings').values(row).execute();
    if (recipients.length) await ex.insertInto('finding_recipients').values(recipients).execute();
  }

  async finding(ex: Executor, id: string): Promise<FindingRow | undefined> {
    return ex.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Raises the finding's version (and on PostgreSQL locks its row until the transaction
   * ends); returns the row as it is now, or undefined when there is no such finding.
   */
  async lock(ex: Executor, id: string, at: string): Promise<FindingRow | undefined> {
    return ex.updateTable('findings').set({ version: sql<number>`version + 1`, updated_at: at }).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async update(ex: Executor, id: string, fields: Partial<FindingRow>): Promise<void> {
    await ex.updateTable('findings').set(fields).where('id', '=', id).execute();
  }

  /** Appends an event with the next number of the finding (call after {@link lock}). */
  async addEvent(ex: Executor, e: Omit<EventRow, 'id' | 'seq'>): Promise<void> {
    const last = await ex.selectFrom('finding_events').select((eb) => eb.fn.max('seq').as('seq')).where('finding_id', '=', e.finding_id).executeTakeFirst();
    await ex.insertInto('finding_events').values({ ...e, id: randomUUID(), seq: Number(last?.seq ?? 0) + 1 }).execute();
  }

  async recipients(ex: Executor, findingIds: string[]): Promise<RecipientRow[]> {
    if (!findingIds.length) return [];
    return ex.selectFrom('finding_recipients').selectAll().where('finding_id', 'in', findingIds).orderBy('finding_id').orderBy('step').orderBy('position').execute();
  }

  /** Sets the time the step's recipients were first notified. */
  async markNotified(ex: Executor, findingId: string, step: number, at: string): Promise<void> {
    await ex.updateTable('finding_recipients').set({ notified_at: at }).where('finding_id', '=', findingId).where('step', '=', step).where('notified_at', 'is', null).execute();
  }

  async isRecipient(ex: Executor, findingId: string, userId: string): Promise<RecipientRow | undefined> {
    return ex.selectFrom('finding_recipients').selectAll().where('finding_id', '=', findingId).where('user_id', '=', userId).orderBy('step').executeTakeFirst();
  }

  async events(ex: Executor, findingIds: string[]): Promise<EventRow[]> {
    if (!findingIds.length) return [];
    return ex.selectFrom('finding_events').selectAll().where('finding_id', 'in', findingIds).orderBy('finding_id').orderBy('seq').execute();
  }

  async addPhone(ex: Executor, row: PhoneRow): Promise<void> {
    await ex.insertInto('finding_phone_contacts').values(row).execute();
  }

  async phones(ex: Executor, findingIds: string[]): Promise<PhoneRow[]> {
    if (!findingIds.length) return [];
    return ex.selectFrom('finding_phone_contacts').selectAll().where('finding_id', 'in', findingIds).orderBy('at').orderBy('recorded_at').execute();
  }

  /** Findings visible under `vis` matching the filter, newest first. */
  async list(vis: Visibility, f: FindingFilter): Promise<FindingRow[]> {
    let q = this.db.selectFrom('findings').selectAll();
    if (!vis.all) {
      const { userId, facilities } = vis;
      q = q.where((eb) =>
        eb.or([
          eb('raised_by', '=', userId),
          ...(facilities.length ? [eb('facility_id', 'in', facilities)] : []),
          eb('id', 'in', eb.selectFrom('finding_recipients').select('finding_id').where('user_id', '=', userId)),
        ]),
      );
    }
    if (f.facilityId) q = q.where('facility_id', '=', f.facilityId);
    if (f.category) q = q.where('category', '=', f.category);
    if (f.studyUid) q = q.where('study_uid', '=', f.studyUid);
    if (f.reportId) q = q.where('report_id', '=', f.reportId);
    if (f.status === 'open') q = q.where('status', '=', 'open');
    if (f.status === 'overdue') {
      q = q.where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'open'), eb.or([eb('escalations', '>', 0), eb('deadline_at', '<', f.now)])]),
          eb.and([eb('status', '!=', 'cancelled'), eb('follow_up_state', '=', 'pending'), eb('follow_up_due_on', '<', f.today)]),
        ]),
      );
    }
    return q.orderBy('raised_at', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute();
  }

  /** Findings of a report (its communication record), oldest first. */
  async ofReport(ex: Executor, reportId: string): Promise<FindingRow[]> {
    return ex.selectFrom('findings').selectAll().where('report_id', '=', reportId).orderBy('raised_at').orderBy('id').execute();
  }

  /** What the management view counts (not cancelled), optionally of one facility and since a time. */
  async forStats(facilityId: string | null, since: string | null) {
    let q = this.db
      .selectFrom('findings')
      .select(['id', 'facility_id', 'raised_by', 'raised_by_name', 'raised_at', 'status', 'escalations', 'deadline_at', 'acknowledged_at', 'follow_up_state', 'follow_up_due_on'])
      .where('status', '!=', 'cancelled');
    if (facilityId) q = q.where('facility_id', '=', facilityId);
    if (since) q = q.where('raised_at', '>=', since);
    return q.execute();
  }

  /** Incidental follow-ups still pending (notice not cancelled), per facility, due date first. */
  async pendingFollowUps(): Promise<Array<Pick<FindingRow, 'id' | 'facility_id' | 'category' | 'raised_at' | 'raised_by_name' | 'follow_up_due_on'>>> {
    return this.db
      .selectFrom('findings')
      .select(['id', 'facility_id', 'category', 'raised_at', 'raised_by_name', 'follow_up_due_on'])
      .where('follow_up_state', '=', 'pending')
      .where('status', '!=', 'cancelled')
      .orderBy('facility_id')
      .orderBy('follow_up_due_on')
      .orderBy('id')
      .execute();
  }

  // Reviews ------------------------------------------------------------------------------

  /** Stores a review unless the facility's review of that period exists; true when stored. */
  async insertReview(ex: Executor, row: ReviewRow): Promise<boolean> {
    const r = await ex.insertInto('finding_reviews').values(row).onConflict((oc) => oc.columns(['facility_id', 'period']).doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async reviews(facilities: 'all' | string[], facilityId: string | null, limit: number): Promise<ReviewRow[]> {
    if (facilities !== 'all' && facilities.length === 0) return [];
    let q = this.db.selectFrom('finding_reviews').selectAll();
    if (facilities !== 'all') q = q.where('facility_id', 'in', facilities);
    if (facilityId) q = q.where('facility_id', '=', facilityId);
    return q.orderBy('generated_at', 'desc').orderBy('facility_id').limit(limit).execute();
  }

  // Settings -----------------------------------------------------------------------------

  async settings(facilityId: string): Promise<SettingsRow | undefined> {
    return this.db.selectFrom('finding_settings').selectAll().where('facility_id', '=', facilityId).executeTakeFirst();
  }

  async saveSettings(ex: Executor, row: SettingsRow): Promise<void> {
    await ex
      .insertInto('finding_settings')
      .values(row)
      .onConflict((oc) => oc.column('facility_id').doUpdateSet({ ...row }))
      .execute();
  }
}
