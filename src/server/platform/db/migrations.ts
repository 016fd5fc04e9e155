/**
 * Schema migrations. The same migrations run on SQLite and PostgreSQL; only portable
 * column types are used (text, integer, bigint). Never edit a migration that has been
 * released: add a new one.
 */
import { auditMigration } from '../../audit/index.ts';
import { hl7SendersMigration } from '../../orders/senders.ts';
import { worklistMigration } from '../../reading/worklist-migration.ts';
import { deliveryMigration } from '../../reports/delivery/migration.ts';
import { reportsMigration } from '../../reports/migration.ts';
import { signingMigration } from '../../reports/signing/schema.ts';
// Critical and incidental findings (findings, migration 020_findings).
import { findingsMigration } from '../../findings/migration.ts';
import { writeNameKeys } from '../../archive/name-keys.ts';
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

const m001: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('facilities')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('facility_aets')
      .addColumn('aet', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('patients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_id', 'text', (c) => c.notNull())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('name_alphabetic', 'text', (c) => c.notNull())
      .addColumn('name_ideographic', 'text', (c) => c.notNull())
      .addColumn('name_phonetic', 'text', (c) => c.notNull())
      .addColumn('name_search', 'text', (c) => c.notNull())
      .addColumn('sex', 'text', (c) => c.notNull())
      .addColumn('birth_date', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('patients_facility_pid_issuer', ['facility_id', 'patient_id', 'issuer'])
      .execute();
    await db.schema
      .createTable('studies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('study_uid', 'text', (c) => c.notNull().unique())
      .addColumn('accession_number', 'text', (c) => c.notNull())
      .addColumn('study_id', 'text', (c) => c.notNull())
      .addColumn('study_date', 'text', (c) => c.notNull())
      .addColumn('study_time', 'text', (c) => c.notNull())
      .addColumn('modalities', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('referring_physician', 'text', (c) => c.notNull())
      .addColumn('institution', 'text', (c) => c.notNull())
      .addColumn('num_series', 'integer', (c) => c.notNull())
      .addColumn('num_instances', 'integer', (c) => c.notNull())
      .addColumn('size_bytes', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('studies_accession').on('studies').columns(['facility_id', 'accession_number']).execute();
    await db.schema.createIndex('studies_date').on('studies').columns(['study_date', 'study_time']).execute();
    await db.schema.createIndex('studies_patient').on('studies').column('patient_ref').execute();
    await db.schema
      .createTable('series')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_ref', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('series_uid', 'text', (c) => c.notNull().unique())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('series_number', 'integer')
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('body_part', 'text', (c) => c.notNull())
      .addColumn('num_instances', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('series_study').on('series').column('study_ref').execute();
    await db.schema
      .createTable('instances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('series_ref', 'text', (c) => c.notNull().references('series.id'))
      .addColumn('study_ref', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('sop_instance_uid', 'text', (c) => c.notNull().unique())
      .addColumn('sop_class_uid', 'text', (c) => c.notNull())
      .addColumn('transfer_syntax_uid', 'text', (c) => c.notNull())
      .addColumn('instance_number', 'integer')
      .addColumn('rows', 'integer')
      .addColumn('columns', 'integer')
      .addColumn('frames', 'integer')
      .addColumn('size_bytes', 'bigint', (c) => c.notNull())
      .addColumn('blob_sha256', 'text', (c) => c.notNull())
      .addColumn('dataset_sha256', 'text', (c) => c.notNull())
      .addColumn('specific_character_set', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('calling_aet', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instances_series').on('instances').column('series_ref').execute();
    await db.schema.createIndex('instances_study').on('instances').column('study_ref').execute();
    await db.schema.createIndex('instances_blob').on('instances').column('blob_sha256').execute();
    await db.schema
      .createTable('instance_conflicts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('kept_blob_sha256', 'text', (c) => c.notNull())
      .addColumn('refused_blob_sha256', 'text', (c) => c.notNull())
      .addColumn('calling_aet', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .execute();
  },
};

const m002: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('secret_sha256', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
  },
};

const m003: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('password_changed_at', 'text', (c) => c.notNull())
      .addColumn('must_change_password', 'integer', (c) => c.notNull())
      .addColumn('totp_secret', 'text')
      .addColumn('totp_pending_secret', 'text')
      .addColumn('totp_last_step', 'integer')
      .addColumn('mfa_enrolled_at', 'text')
      .addColumn('failed_logins', 'integer', (c) => c.notNull())
      .addColumn('lockouts', 'integer', (c) => c.notNull())
      .addColumn('locked_until', 'text')
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('agreement_accepted_at', 'text')
      .addColumn('last_login_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('user_grants')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      // '' is the reading provider; otherwise a facility id.
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_grants_pk', ['user_id', 'role', 'facility_id'])
      .execute();
    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('client_address', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('absolute_expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
    await db.schema
      .createTable('setup_tokens')
      .addColumn('token_sha256', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
  },
};

const m004: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('licences')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('number', 'text', (c) => c.notNull())
      .addColumn('country', 'text', (c) => c.notNull())
      .addColumn('verified_by', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'text', (c) => c.notNull())
      .addColumn('evidence', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('licences_user').on('licences').column('user_id').execute();
    await db.schema
      .createTable('certifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('number', 'text', (c) => c.notNull())
      .addColumn('issued_on', 'text', (c) => c.notNull())
      .addColumn('expires_on', 'text', (c) => c.notNull())
      .addColumn('verified_by', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'text', (c) => c.notNull())
      .addColumn('evidence', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('certifications_user').on('certifications').column('user_id').execute();
    await db.schema
      .createTable('trainings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('course', 'text', (c) => c.notNull())
      .addColumn('completed_on', 'text')
      .addColumn('due_on', 'text', (c) => c.notNull())
      .addColumn('recorded_by', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('trainings_user').on('trainings').column('user_id').execute();
  },
};

const m005: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('security_alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('raised_at', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('acknowledged_by', 'text')
      .addColumn('acknowledged_at', 'text')
      .execute();
    await db.schema.createIndex('security_alerts_raised').on('security_alerts').column('raised_at').execute();
  },
};

const m007: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('passkeys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
    await db.schema.alterTable('sessions').addColumn('webauthn_challenge', 'text').execute();
  },
};

const m008: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('sessions').addColumn('reauth_at', 'text').execute();
  },
};

const m009: Migration = {
  async up(db: Kysely<any>) {
    // DICOM nodes of a facility that Enkaku calls: its PACS (queried for priors) and the
    // C-MOVE destinations it may send to. Moves go to registered nodes only.
    await db.schema
      .createTable('dicom_nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('aet', 'text', (c) => c.notNull())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('port', 'integer', (c) => c.notNull())
      .addColumn('tls', 'integer', (c) => c.notNull())
      .addColumn('query', 'integer', (c) => c.notNull())
      .addColumn('destination', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('dicom_nodes_facility_aet', ['facility_id', 'aet'])
      .execute();
    await db.schema
      .createTable('prior_policies')
      .addColumn('facility_id', 'text', (c) => c.primaryKey().references('facilities.id'))
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('years', 'integer', (c) => c.notNull())
      .addColumn('modalities', 'text', (c) => c.notNull())
      .addColumn('max_studies', 'integer', (c) => c.notNull())
      .addColumn('retrieve', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    // The durable job table (outbox): one row per unit of work, idempotent on (kind, key).
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('run_after', 'text', (c) => c.notNull())
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('progress', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addUniqueConstraint('jobs_kind_key', ['kind', 'key'])
      .execute();
    await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_after']).execute();
    await db.schema.createIndex('jobs_facility').on('jobs').columns(['facility_id', 'created_at']).execute();
  },
};

/**
 * Indexes for study searches (QIDO-RS, C-FIND; QueryRepository.studies), sized on one
 * million studies in PostgreSQL (`npm run bench:query`). The search finds the ids of a
 * page first and reads full rows only for that page, so these indexes carry every column
 * that step needs and the scans stay inside them:
 * - newest first: (facility_id | nothing, study_date, study_time, id, patient_ref), read
 *   backwards, for a facility's token and for users who read every facility;
 * - a patient's studies in date order: (patient_ref, facility_id, study_date, ...), used
 *   when a name or Patient ID matches few patients;
 * - ModalitiesInStudy: (modalities, study_date, ...) on the study's own list of its
 *   series' modalities;
 * - patients: Patient ID; each name group with facility and id, for prefix and exact
 *   matches read from the index alone (LIKE 'Yamada%': SQLite needs NOCASE indexes for
 *   its case-insensitive LIKE, PostgreSQL text_pattern_ops unless the database collation
 *   is C); id with all name columns, so checking the name of a study's patient needs no
 *   table read;
 * - fuzzy names (a component of any group starting with the text): a trigram index on
 *   name_search, PostgreSQL only, when the pg_trgm extension is available.
 * The two single-column indexes of 001 that the new ones start with are dropped.
 */
const m010: Migration = {
  async up(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema.createIndex('patients_patient_id').on('patients').column('patient_id').execute();
    await db.schema.createIndex('patients_names').on('patients').columns(['id', 'name_alphabetic', 'name_ideographic', 'name_phonetic', 'name_search']).execute();
    for (const column of ['name_alphabetic', 'name_ideographic', 'name_phonetic']) {
      const name = sql.id(`patients_${column}_prefix`);
      const col = sql.ref(column);
      if (postgres) await sql`create index ${name} on patients (${col} text_pattern_ops, facility_id, id)`.execute(db);
      else await sql`create index ${name} on patients (${col} collate nocase, facility_id, id)`.execute(db);
    }
    await db.schema.createIndex('studies_facility_date').on('studies').columns(['facility_id', 'study_date', 'study_time', 'id', 'patient_ref']).execute();
    await db.schema.createIndex('studies_date_order').on('studies').columns(['study_date', 'study_time', 'id', 'patient_ref']).execute();
    await db.schema.createIndex('studies_patient_date').on('studies').columns(['patient_ref', 'facility_id', 'study_date', 'study_time', 'id']).execute();
    await db.schema.createIndex('studies_modalities').on('studies').columns(['modalities', 'study_date', 'study_time', 'id', 'facility_id']).execute();
    await db.schema.dropIndex('studies_date').execute();
    await db.schema.dropIndex('studies_patient').execute();
    if (postgres) await trigramIndex(db);
  },
};

/**
 * PostgreSQL: a GIN trigram index on patients.name_search for fuzzy name searches
 * (LIKE '%...%'), if pg_trgm is installed or can be installed (it is a trusted extension:
 * CREATE on the database is enough). Without it the searches still work, by scanning.
 * It all runs in a savepoint, so that a refusal (no privilege, or the extension's schema
 * dropped meanwhile by another tenant of the database) leaves the migration intact.
 */
async function trigramIndex(db: Kysely<any>): Promise<void> {
  const available = (await sql`select 1 from pg_available_extensions where name = 'pg_trgm'`.execute(db)).rows.length > 0;
  if (!available) return;
  await sql`savepoint enkaku_pg_trgm`.execute(db);
  try {
    // Installed once per database in `public`, never in Enkaku's own schema: an extension
    // belongs to one schema, and dropping that schema would drop it (and every trigram
    // index of other schemas in the same database) with it.
    await sql`create extension if not exists pg_trgm with schema public`.execute(db);
    const { rows } = await sql<{ schema: string }>`select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db);
    await sql`create index patients_name_search_trgm on patients using gin (name_search ${sql.id(rows[0]!.schema, 'gin_trgm_ops')})`.execute(db);
    await sql`release savepoint enkaku_pg_trgm`.execute(db);
  } catch {
    await sql`rollback to savepoint enkaku_pg_trgm`.execute(db);
  }
}

/**
 * The orders module (W1-W5, L5, A5, S1): facility contracts and their versions, explicit
 * links between facilities' patient records and opt-outs (the patients table of 001 is the
 * master patient index), orders with every message received for them, protocols and the
 * consultation thread, order-study links and the reconciliation queue, clinical items.
 * "Active" rows (links, opt-outs) are those not ended; partial unique indexes keep one
 * active row where there may be only one, and ended rows stay as history.
 */
const m011: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('facility_contracts')
      .addColumn('facility_id', 'text', (c) => c.primaryKey().references('facilities.id'))
      .addColumn('modalities', 'text', (c) => c.notNull())
      .addColumn('body_parts', 'text', (c) => c.notNull())
      .addColumn('due_stat_minutes', 'integer', (c) => c.notNull())
      .addColumn('due_urgent_minutes', 'integer', (c) => c.notNull())
      .addColumn('due_routine_minutes', 'integer', (c) => c.notNull())
      .addColumn('retention_days', 'integer', (c) => c.notNull())
      .addColumn('contact_ladder', 'text', (c) => c.notNull())
      .addColumn('delivery_route', 'text', (c) => c.notNull())
      .addColumn('transcription_confirmer', 'text', (c) => c.notNull())
      .addColumn('onward_sharing', 'integer', (c) => c.notNull())
      .addColumn('monitor_check_required', 'integer', (c) => c.notNull())
      .addColumn('opt_out_notice', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('facility_contract_versions')
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('terms', 'text', (c) => c.notNull())
      .addColumn('changed_at', 'text', (c) => c.notNull())
      .addColumn('changed_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('facility_contract_versions_pk', ['facility_id', 'version'])
      .execute();

    await db.schema
      .createTable('patient_links')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_a', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('patient_b', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('linked_by', 'text', (c) => c.notNull())
      .addColumn('linked_at', 'text', (c) => c.notNull())
      .addColumn('unlinked_by', 'text')
      .addColumn('unlinked_at', 'text')
      .addColumn('unlink_reason', 'text')
      .execute();
    await db.schema.createIndex('patient_links_active').on('patient_links').columns(['patient_a', 'patient_b']).unique().where(sql.ref('unlinked_at'), 'is', null).execute();
    await db.schema.createIndex('patient_links_a').on('patient_links').column('patient_a').execute();
    await db.schema.createIndex('patient_links_b').on('patient_links').column('patient_b').execute();
    await db.schema
      .createTable('patient_opt_outs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_ref', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('declared_on', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('recorded_by', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .addColumn('withdrawn_on', 'text')
      .addColumn('withdrawn_source', 'text')
      .addColumn('withdrawn_by', 'text')
      .addColumn('withdrawn_at', 'text')
      .execute();
    await db.schema.createIndex('patient_opt_outs_active').on('patient_opt_outs').column('patient_ref').unique().where(sql.ref('withdrawn_at'), 'is', null).execute();
    await db.schema.createIndex('patient_opt_outs_patient').on('patient_opt_outs').column('patient_ref').execute();

    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('placer_order_number', 'text', (c) => c.notNull())
      .addColumn('filler_order_number', 'text', (c) => c.notNull())
      .addColumn('accession_number', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('priority', 'text', (c) => c.notNull())
      .addColumn('jj1017', 'text', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('body_part', 'text', (c) => c.notNull())
      .addColumn('procedure_text', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('clinical_notes', 'text', (c) => c.notNull())
      .addColumn('contrast', 'integer', (c) => c.notNull())
      .addColumn('requester_name', 'text', (c) => c.notNull())
      .addColumn('requester_department', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('scheduled_at', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('created_from', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('message_time', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('orders_facility_placer', ['facility_id', 'placer_order_number'])
      .execute();
    await db.schema.createIndex('orders_accession').on('orders').columns(['facility_id', 'accession_number']).execute();
    await db.schema.createIndex('orders_patient').on('orders').column('patient_ref').execute();
    await db.schema.createIndex('orders_facility_requested').on('orders').columns(['facility_id', 'requested_at', 'id']).execute();
    await db.schema.createIndex('orders_requested').on('orders').columns(['requested_at', 'id']).execute();
    await db.schema
      .createTable('order_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('control', 'text', (c) => c.notNull())
      .addColumn('message_time', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('changed', 'text', (c) => c.notNull())
      .addColumn('snapshot', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .execute();
    // A refused message is history, not a key: sent again it is refused again.
    await db.schema
      .createIndex('order_events_message')
      .on('order_events')
      .columns(['facility_id', 'source', 'message_id'])
      .unique()
      .where(sql<boolean>`outcome <> 'refused-conflict'`)
      .execute();
    await db.schema.createIndex('order_events_order').on('order_events').columns(['order_id', 'received_at']).execute();
    await db.schema
      .createTable('order_protocols')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('author_id', 'text', (c) => c.notNull())
      .addColumn('author_name', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('order_protocols_order').on('order_protocols').columns(['order_id', 'recorded_at']).execute();
    await db.schema
      .createTable('order_consultations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('author_id', 'text', (c) => c.notNull())
      .addColumn('author_name', 'text', (c) => c.notNull())
      .addColumn('author_roles', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('posted_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('order_consultations_order').on('order_consultations').columns(['order_id', 'posted_at']).execute();

    await db.schema
      .createTable('order_study_links')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('linked_by', 'text', (c) => c.notNull())
      .addColumn('linked_at', 'text', (c) => c.notNull())
      .addColumn('unlinked_by', 'text')
      .addColumn('unlinked_at', 'text')
      .addColumn('unlink_reason', 'text')
      .execute();
    await db.schema.createIndex('order_study_links_study_active').on('order_study_links').column('study_id').unique().where(sql.ref('unlinked_at'), 'is', null).execute();
    await db.schema.createIndex('order_study_links_order_active').on('order_study_links').column('order_id').unique().where(sql.ref('unlinked_at'), 'is', null).execute();
    await db.schema.createIndex('order_study_links_study').on('order_study_links').column('study_id').execute();
    await db.schema.createIndex('order_study_links_order').on('order_study_links').column('order_id').execute();
    await db.schema
      .createTable('unmatched_studies')
      .addColumn('study_id', 'text', (c) => c.primaryKey().references('studies.id'))
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('candidates', 'integer', (c) => c.notNull())
      .addColumn('queued_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('unmatched_studies_facility').on('unmatched_studies').columns(['facility_id', 'queued_at']).execute();

    await db.schema
      .createTable('clinical_items')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('code_system', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('value', 'text')
      .addColumn('unit', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('observed_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('source_key', 'text', (c) => c.notNull())
      .addColumn('content_sha256', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('clinical_items_source_key', ['facility_id', 'source', 'source_key'])
      .execute();
    await db.schema.createIndex('clinical_items_patient').on('clinical_items').columns(['patient_ref', 'kind', 'observed_at']).execute();
  },
};

/**
 * Reading terminals and monitor QC (Q1, Q2; JESRA X-0093, AAPM TG18, DICOM PS3.14): the
 * terminals with their acceptance values and display profile, the daily visual checks and
 * the constancy tests with their numbers; the terminal a session is bound to; key images of
 * a study and viewing sessions (S6, issue 6). Luminances are `double precision` (REAL in
 * SQLite, float8 in PostgreSQL): they are measurements, not money.
 * `reading_terminals.last_check_*` repeat the newest daily check of the terminal (written in
 * the same transaction), so that the rendering path decides "checked today?" from one row.
 */
const m013: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('reading_terminals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('location', 'text', (c) => c.notNull())
      .addColumn('display_model', 'text', (c) => c.notNull())
      .addColumn('display_serial', 'text', (c) => c.notNull())
      .addColumn('grade', 'text', (c) => c.notNull())
      .addColumn('lmax', 'double precision', (c) => c.notNull())
      .addColumn('lmin', 'double precision', (c) => c.notNull())
      .addColumn('lamb', 'double precision', (c) => c.notNull())
      .addColumn('acceptance_tested_on', 'text', (c) => c.notNull())
      .addColumn('native', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.references('facilities.id'))
      .addColumn('require_daily_check', 'integer', (c) => c.notNull())
      .addColumn('profile', 'text', (c) => c.notNull())
      .addColumn('constancy_interval_months', 'integer', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('last_check_at', 'text')
      .addColumn('last_check_on', 'text')
      .addColumn('last_check_passed', 'integer')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('reading_terminals_facility').on('reading_terminals').columns(['facility_id', 'name']).execute();
    await db.schema
      .createTable('terminal_daily_checks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('terminal_id', 'text', (c) => c.notNull().references('reading_terminals.id'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('user_name', 'text', (c) => c.notNull())
      .addColumn('pattern', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('passed', 'integer', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .addColumn('checked_on', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('terminal_daily_checks_terminal').on('terminal_daily_checks').columns(['terminal_id', 'checked_at']).execute();
    await db.schema
      .createTable('terminal_constancy_tests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('terminal_id', 'text', (c) => c.notNull().references('reading_terminals.id'))
      .addColumn('grade', 'text', (c) => c.notNull())
      .addColumn('lmax', 'double precision', (c) => c.notNull())
      .addColumn('lmin', 'double precision', (c) => c.notNull())
      .addColumn('lamb', 'double precision', (c) => c.notNull())
      .addColumn('readings', 'text', (c) => c.notNull())
      .addColumn('contrast_deviation', 'double precision', (c) => c.notNull())
      .addColumn('luminance_ratio', 'double precision', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('passed', 'integer', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('tested_on', 'text', (c) => c.notNull())
      .addColumn('next_due_on', 'text', (c) => c.notNull())
      .addColumn('recorded_by', 'text', (c) => c.notNull())
      .addColumn('recorded_by_name', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('terminal_constancy_terminal').on('terminal_constancy_tests').columns(['terminal_id', 'tested_on', 'recorded_at']).execute();
    await db.schema.alterTable('sessions').addColumn('terminal_id', 'text').execute();
    await db.schema
      .createTable('key_images')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('series_uid', 'text', (c) => c.notNull())
      .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
      .addColumn('frame', 'integer', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('window_center', 'double precision')
      .addColumn('window_width', 'double precision')
      .addColumn('window_fn', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_by_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('removed_by', 'text')
      .addColumn('removed_at', 'text')
      .execute();
    await db.schema.createIndex('key_images_study').on('key_images').columns(['study_uid', 'created_at']).execute();
    await db.schema
      .createTable('viewer_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('terminal_id', 'text')
      .addColumn('profile', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('ended_at', 'text')
      .execute();
    await db.schema.createIndex('viewer_sessions_user').on('viewer_sessions').columns(['user_id', 'started_at']).execute();
  },
};

/**
 * An accession number's studies in date order. SQLite keeps no statistics unless ANALYZE
 * runs; without them it prefers an index that gives the order over one that only finds the
 * rows, so the accession index carries the order too and wins for an accession number.
 */
const m014Accession: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('studies_accession_date').on('studies').columns(['facility_id', 'accession_number', 'study_date', 'study_time', 'id']).execute();
    await db.schema.dropIndex('studies_accession').execute();
  },
};

/** Screening contracts read every study twice (W9): a term of the facility contract. */
const m019DoubleReading: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('facility_contracts').addColumn('double_reading', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};

/**
 * Fuzzy person-name search keys (see nameSearchKeys in archive/dicom/names.ts): each
 * patient's searchable name text from every component start, one row per key, with its
 * facility and patient. The primary key (key, facility_id, patient_id) answers "some
 * component starts with ..." as a range of the index alone; bytewise order on PostgreSQL
 * (COLLATE "C"), as SQLite's default, so that a prefix is one contiguous range. Existing
 * patients get their keys here.
 */
const m021NameKeys: Migration = {
  async up(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('patient_name_keys')
      .addColumn('key', 'text', (c) => (postgres ? c.modifyFront(sql`collate "C"`).notNull() : c.notNull()))
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addPrimaryKeyConstraint('patient_name_keys_pk', ['key', 'facility_id', 'patient_id'])
      .execute();
    await db.schema.createIndex('patient_name_keys_patient').on('patient_name_keys').column('patient_id').execute();
    let after = '';
    for (;;) {
      const batch = await db.selectFrom('patients').select(['id', 'facility_id', 'name_search']).where('id', '>', after).orderBy('id').limit(1000).execute();
      if (batch.length === 0) break;
      await writeNameKeys(db, batch, false);
      after = batch[batch.length - 1]!.id;
    }
  },
};

/**
 * Each study carries its patient's searchable name text (patients.name_search; kept with
 * the patient's name keys by writeNameKeys), as the last column of the two indexes that give
 * the newest-first order. A fuzzy name search that matches many patients walks the newest
 * studies and tests the name in the index alone, instead of looking up each study's patient
 * (about ten times less work per study on a million studies).
 */
const m022StudyNames: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('studies').addColumn('patient_name_search', 'text', (c) => c.notNull().defaultTo('')).execute();
    await sql`update studies set patient_name_search = coalesce((select p.name_search from patients p where p.id = studies.patient_ref), '')`.execute(db);
    await db.schema.dropIndex('studies_facility_date').execute();
    await db.schema.dropIndex('studies_date_order').execute();
    await db.schema.createIndex('studies_facility_date').on('studies').columns(['facility_id', 'study_date', 'study_time', 'id', 'patient_ref', 'patient_name_search']).execute();
    await db.schema.createIndex('studies_date_order').on('studies').columns(['study_date', 'study_time', 'id', 'patient_ref', 'patient_name_search']).execute();
  },
};

/** All migrations by name, applied in name order. */
export const migrations: Record<string, Migration> = {
  '001_archive': m001,
  '002_api_tokens': m002,
  '003_accounts': m003,
  '004_physician_credentials': m004,
  '005_security_alerts': m005,
  '006_audit': auditMigration,
  '007_passkeys': m007,
  '008_session_reauth': m008,
  '009_nodes_priors_jobs': m009,
  '010_query_indexes': m010,
  '011_orders': m011,
  '012_hl7_senders': hl7SendersMigration,
  '013_viewer_qc': m013,
  '014_accession_order': m014Accession,
  // The reading worklist (W6): reading items, saved views, assignment setting.
  '015_worklist': worklistMigration,
  // Physicians' signing certificates (reports/signing).
  '016_signing': signingMigration,
  // Report delivery endpoints, deliveries and attempts (reports/delivery).
  '017_delivery': deliveryMigration,
  // Reports, signed versions, templates and AI findings (reports).
  '018_reports': reportsMigration,
  '019_contract_double_reading': m019DoubleReading,
  // Critical and incidental findings: notices, recipients, history, phone log, reviews (findings).
  '020_findings': findingsMigration,
  '021_patient_name_keys': m021NameKeys,
  '022_study_patient_names': m022StudyNames,
};
