/**
 * Migration 015: the reading worklist (W6). One `reading_items` row per study to read, the
 * users' saved views and the automatic assignment setting.
 *
 * The worklist's common questions are about open items (`unread` to `preliminary`), which
 * stay few while the archive grows to millions of closed ones; the indexes that answer them
 * are partial on the open statuses, so they stay small and hot. Each one ends in
 * `(due_at, id)`, the keyset of the list, so that a page is a range scan in due order:
 * - the default view and "overdue" (due_at below now): `reading_items_open_due`;
 * - a facility, a facility and a modality, a modality: `..._open_facility`,
 *   `..._open_facility_modality`, `..._open_modality`;
 * - "mine": `..._open_assigned` and `..._open_claimed`;
 * - closed items by status (with or without a facility): `..._status_due`, `..._facility_status_due`;
 * - an accession number (or its beginning): `..._accession`;
 * - claims to expire: `..._claim_expiry`.
 * The predicate text {@link OPEN_PREDICATE} is the one the queries use, word for word:
 * SQLite uses a partial index only for a query whose WHERE contains its terms.
 */
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/** The open statuses as an SQL predicate; queries on open items use exactly this text. */
export const OPEN_PREDICATE = "status in ('unread', 'in-progress', 'draft', 'preliminary')";

/** Migration `015_worklist`. */
export const worklistMigration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('reading_items')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_id', 'text', (c) => c.notNull().unique().references('studies.id'))
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text')
      .addColumn('accession_number', 'text', (c) => c.notNull())
      .addColumn('priority', 'text', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('body_part', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('arrived_at', 'text', (c) => c.notNull())
      .addColumn('due_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('assigned_to', 'text')
      .addColumn('assigned_to_name', 'text')
      .addColumn('assigned_at', 'text')
      .addColumn('assigned_by', 'text')
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_by_name', 'text')
      .addColumn('claimed_at', 'text')
      .addColumn('claim_expires_at', 'text')
      .addColumn('reading_mode', 'text', (c) => c.notNull())
      .addColumn('first_reader', 'text')
      .addColumn('second_reader', 'text')
      .addColumn('arbiter', 'text')
      .addColumn('report_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    const open = sql.raw(OPEN_PREDICATE);
    const partial = async (name: string, columns: string[], extra?: string) => {
      const cols = sql.join(columns.map((c) => sql.ref(c)));
      const where = extra ? sql`${open} and ${sql.raw(extra)}` : open;
      await sql`create index ${sql.id(name)} on reading_items (${cols}) where ${where}`.execute(db);
    };
    await partial('reading_items_open_due', ['due_at', 'id']);
    await partial('reading_items_open_facility', ['facility_id', 'due_at', 'id']);
    await partial('reading_items_open_facility_modality', ['facility_id', 'modality', 'due_at', 'id']);
    await partial('reading_items_open_modality', ['modality', 'due_at', 'id']);
    await partial('reading_items_open_assigned', ['assigned_to', 'due_at', 'id'], 'assigned_to is not null');
    await partial('reading_items_open_claimed', ['claimed_by', 'due_at', 'id'], 'claimed_by is not null');
    await db.schema.createIndex('reading_items_status_due').on('reading_items').columns(['status', 'due_at', 'id']).execute();
    await db.schema.createIndex('reading_items_facility_status_due').on('reading_items').columns(['facility_id', 'status', 'due_at', 'id']).execute();
    // Prefix searches (LIKE 'A123%'): text_pattern_ops on PostgreSQL; on SQLite, LIKE is
    // case-insensitive and uses an index only when it is NOCASE.
    if (postgres) await sql`create index reading_items_accession on reading_items (accession_number text_pattern_ops)`.execute(db);
    else await sql`create index reading_items_accession on reading_items (accession_number collate nocase)`.execute(db);
    await sql`create index reading_items_claim_expiry on reading_items (claim_expires_at) where claimed_by is not null`.execute(db);

    await db.schema
      .createTable('worklist_views')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('filters', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('worklist_views_user_name', ['user_id', 'name'])
      .execute();

    await db.schema
      .createTable('worklist_settings')
      // A facility id, or '*' for the global default.
      .addColumn('scope', 'text', (c) => c.primaryKey())
      .addColumn('auto_assign', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
  },
};
