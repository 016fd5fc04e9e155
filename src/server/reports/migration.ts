/**
 * Migration 018: reports, their signed versions, report templates and AI findings.
 * A final version row is written once and never updated except for its read confirmation
 * (A2: corrections and addenda are new versions).
 */
import type { Kysely, Migration } from 'kysely';

/** Tables of the reports module. */
export const reportsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull())
      .addColumn('reading_role', 'text', (c) => c.notNull())
      .addColumn('physician_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('sections', 'text', (c) => c.notNull())
      .addColumn('assessment', 'text')
      .addColumn('template_id', 'text')
      .addColumn('location', 'text')
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('saved_by', 'text')
      .addColumn('saved_at', 'text')
      .addColumn('current_version', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('reports_study_role', ['study_id', 'reading_role'])
      .execute();
    await db.schema.createIndex('reports_physician').on('reports').columns(['physician_id', 'status']).execute();
    await db.schema.createIndex('reports_patient').on('reports').columns(['patient_ref', 'status']).execute();
    await db.schema
      .createTable('report_versions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('report_id', 'text', (c) => c.notNull().references('reports.id'))
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('canonical_sha256', 'text', (c) => c.notNull())
      .addColumn('pdf_sha256', 'text', (c) => c.notNull())
      .addColumn('cms_sha256', 'text', (c) => c.notNull())
      .addColumn('timestamp_time', 'text', (c) => c.notNull())
      .addColumn('tsa', 'text', (c) => c.notNull())
      .addColumn('certificate', 'text', (c) => c.notNull())
      .addColumn('signed_by', 'text', (c) => c.notNull())
      .addColumn('signed_by_name', 'text', (c) => c.notNull())
      .addColumn('finalised_at', 'text', (c) => c.notNull())
      .addColumn('confirmed_by', 'text')
      .addColumn('confirmed_at', 'text')
      .addColumn('confirm_source', 'text')
      .addUniqueConstraint('report_versions_number', ['report_id', 'version'])
      .execute();
    await db.schema.createIndex('report_versions_unconfirmed').on('report_versions').columns(['facility_id', 'confirmed_at', 'finalised_at']).execute();
    await db.schema
      .createTable('report_templates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('body_part', 'text', (c) => c.notNull())
      .addColumn('sections', 'text', (c) => c.notNull())
      .addColumn('macros', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ai_findings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('received_by', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ai_findings_study').on('ai_findings').columns(['study_uid']).execute();
  },
};

/** Row shapes of the reports tables. */
export interface ReportTable {
  id: string;
  study_id: string;
  study_uid: string;
  facility_id: string;
  patient_ref: string;
  /** single | first | second | arbiter */
  reading_role: string;
  physician_id: string;
  /** draft | final */
  status: string;
  /** JSON ReportSections: the draft before finalising, the current content after. */
  sections: string;
  assessment: string | null;
  template_id: string | null;
  location: string | null;
  revision: number;
  saved_by: string | null;
  saved_at: string | null;
  /** 0 until finalised. */
  current_version: number;
  created_by: string;
  started_at: string;
  updated_at: string;
}

export interface ReportVersionTable {
  id: string;
  report_id: string;
  facility_id: string;
  version: number;
  /** final | correction | addendum */
  kind: string;
  reason: string;
  /** JSON ReportDocument as signed. */
  document: string;
  canonical_sha256: string;
  pdf_sha256: string;
  cms_sha256: string;
  timestamp_time: string;
  tsa: string;
  /** JSON { subject, serial, fingerprint }. */
  certificate: string;
  signed_by: string;
  signed_by_name: string;
  finalised_at: string;
  confirmed_by: string | null;
  confirmed_at: string | null;
  /** web | hl7 | fhir */
  confirm_source: string | null;
}

export interface ReportTemplateTable {
  id: string;
  name: string;
  modality: string;
  body_part: string;
  sections: string;
  macros: string;
  active: number;
  updated_by: string;
  updated_at: string;
}

export interface AiFindingTable {
  id: string;
  study_uid: string;
  facility_id: string;
  source: string;
  text: string;
  received_by: string;
  received_at: string;
}

/** The reports module's part of the database. */
export interface ReportsDatabase {
  reports: ReportTable;
  report_versions: ReportVersionTable;
  report_templates: ReportTemplateTable;
  ai_findings: AiFindingTable;
}
