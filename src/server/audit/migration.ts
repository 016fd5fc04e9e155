/**
 * Migration creating the audit trail tables. Portable column types only (text, bigint),
 * identical on SQLite and PostgreSQL. Add it to platform/db/migrations.ts under a new
 * name; never edit it once released.
 */
import type { Kysely, Migration } from 'kysely';

/** Creates `audit_events` and `audit_head` (with its single row: seq 0, genesis hash). */
export const auditMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('audit_events')
      // bigint, not integer: on PostgreSQL integer ends at 2^31, a few years of busy intake.
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .addColumn('actor_kind', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text', (c) => c.notNull())
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('actor_role', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('object_type', 'text', (c) => c.notNull())
      .addColumn('object_id', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text')
      .addColumn('patient_ref', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('client_address', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    // Indexes for the audit log screen and for "who looked at this patient" (S4).
    await db.schema.createIndex('audit_events_recorded').on('audit_events').column('recorded_at').execute();
    await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'recorded_at']).execute();
    await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'recorded_at']).execute();
    await db.schema.createIndex('audit_events_facility').on('audit_events').columns(['facility_id', 'recorded_at']).execute();
    await db.schema.createIndex('audit_events_patient').on('audit_events').columns(['patient_ref', 'recorded_at']).execute();
    await db.schema
      .createTable('audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    // The genesis hash (64 zeros) is spelled out: a released migration must not change
    // when a constant elsewhere does.
    await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: '0000000000000000000000000000000000000000000000000000000000000000' }).execute();
  },
};
