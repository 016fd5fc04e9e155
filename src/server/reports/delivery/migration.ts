/**
 * Migration `017_delivery`: delivery endpoints per facility, deliveries of report versions and
 * their attempts. Portable column types only (text, integer), as every migration.
 */
import type { Kysely, Migration } from 'kysely';

/** Creates `delivery_endpoints`, `report_deliveries` and `report_delivery_attempts`. */
export const deliveryMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('delivery_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('host', 'text')
      .addColumn('port', 'integer')
      .addColumn('tls', 'integer', (c) => c.notNull())
      .addColumn('tls_ca', 'text')
      .addColumn('tls_cert', 'text')
      .addColumn('tls_key', 'text')
      .addColumn('allow_plain', 'integer', (c) => c.notNull())
      .addColumn('sending_application', 'text', (c) => c.notNull())
      .addColumn('sending_facility', 'text', (c) => c.notNull())
      .addColumn('receiving_application', 'text', (c) => c.notNull())
      .addColumn('receiving_facility', 'text', (c) => c.notNull())
      .addColumn('charset', 'text', (c) => c.notNull())
      .addColumn('text_type', 'text', (c) => c.notNull())
      .addColumn('embed_pdf', 'integer', (c) => c.notNull())
      .addColumn('base_url', 'text')
      .addColumn('auth_token_sealed', 'text')
      .addColumn('patient_id_system', 'text')
      .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('delivery_endpoints_name', ['facility_id', 'name'])
      .execute();
    await db.schema
      .createTable('report_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('key', 'text', (c) => c.notNull().unique())
      .addColumn('version_id', 'text', (c) => c.notNull())
      .addColumn('report_id', 'text')
      .addColumn('version_number', 'integer')
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('route', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.references('delivery_endpoints.id'))
      .addColumn('job_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('control_id', 'text')
      .addColumn('last_code', 'text')
      .addColumn('last_error', 'text')
      .addColumn('delivered_at', 'text')
      .addColumn('confirmer_role', 'text')
      .addColumn('manual_reason', 'text')
      .addColumn('transcribed_by', 'text')
      .addColumn('transcribed_by_name', 'text')
      .addColumn('transcribed_at', 'text')
      .addColumn('confirmed_by', 'text')
      .addColumn('confirmed_by_name', 'text')
      .addColumn('confirmed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('report_deliveries_version').on('report_deliveries').columns(['version_id']).execute();
    await db.schema.createIndex('report_deliveries_facility_status').on('report_deliveries').columns(['facility_id', 'status', 'created_at']).execute();
    await db.schema.createIndex('report_deliveries_report').on('report_deliveries').columns(['report_id', 'endpoint_id', 'version_number']).execute();
    await db.schema
      .createTable('report_delivery_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('delivery_id', 'text', (c) => c.notNull().references('report_deliveries.id'))
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('ack_code', 'text')
      .addColumn('http_status', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer')
      .execute();
    await db.schema.createIndex('report_delivery_attempts_delivery').on('report_delivery_attempts').columns(['delivery_id', 'attempt']).execute();
  },
};
