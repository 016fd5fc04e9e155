/**
 * Migration `020_findings`: critical and incidental findings (C1, C2, C3), the people each
 * notice goes to in ladder order, every step of its history, telephone contacts, the
 * periodic follow-up reviews and the module's per-facility settings. Portable column types
 * only (text, integer), as every migration; times are ISO 8601 UTC strings.
 */
import type { Kysely, Migration } from 'kysely';

/** Creates the findings tables. */
export const findingsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('findings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('study_uid', 'text', (c) => c.notNull())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('patient_ref', 'text', (c) => c.notNull())
      .addColumn('report_id', 'text')
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('raised_by', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('raised_by_name', 'text', (c) => c.notNull())
      .addColumn('raised_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('steps', 'integer', (c) => c.notNull())
      .addColumn('escalations', 'integer', (c) => c.notNull())
      .addColumn('step_seconds', 'integer', (c) => c.notNull())
      .addColumn('deadline_at', 'text')
      .addColumn('acknowledged_by', 'text')
      .addColumn('acknowledged_by_name', 'text')
      .addColumn('acknowledged_at', 'text')
      .addColumn('cancelled_by', 'text')
      .addColumn('cancelled_at', 'text')
      .addColumn('cancel_reason', 'text')
      .addColumn('follow_up_state', 'text')
      .addColumn('follow_up_due_on', 'text')
      .addColumn('follow_up_note', 'text', (c) => c.notNull())
      .addColumn('follow_up_by', 'text')
      .addColumn('follow_up_by_name', 'text')
      .addColumn('follow_up_at', 'text')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('findings_facility_status').on('findings').columns(['facility_id', 'status', 'raised_at']).execute();
    await db.schema.createIndex('findings_raised_by').on('findings').columns(['raised_by', 'raised_at']).execute();
    await db.schema.createIndex('findings_report').on('findings').columns(['report_id']).execute();
    await db.schema.createIndex('findings_study').on('findings').columns(['study_uid', 'raised_at']).execute();
    await db.schema.createIndex('findings_follow_up').on('findings').columns(['follow_up_state', 'follow_up_due_on']).execute();
    await db.schema
      .createTable('finding_recipients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id'))
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('notified_at', 'text')
      .execute();
    await db.schema.createIndex('finding_recipients_finding').on('finding_recipients').columns(['finding_id', 'step', 'position']).execute();
    await db.schema.createIndex('finding_recipients_user').on('finding_recipients').columns(['user_id']).execute();
    await db.schema
      .createTable('finding_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('channel', 'text')
      .addColumn('outcome', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addUniqueConstraint('finding_events_seq', ['finding_id', 'seq'])
      .execute();
    await db.schema
      .createTable('finding_phone_contacts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id'))
      .addColumn('called_by', 'text', (c) => c.notNull())
      .addColumn('called_by_name', 'text', (c) => c.notNull())
      .addColumn('called_name', 'text', (c) => c.notNull())
      .addColumn('called_role', 'text', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('read_back', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('finding_phone_contacts_finding').on('finding_phone_contacts').columns(['finding_id', 'at']).execute();
    await db.schema
      .createTable('finding_reviews')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('generated_at', 'text', (c) => c.notNull())
      .addColumn('open_count', 'integer', (c) => c.notNull())
      .addColumn('overdue_count', 'integer', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addUniqueConstraint('finding_reviews_period', ['facility_id', 'period'])
      .execute();
    await db.schema
      .createTable('finding_settings')
      .addColumn('facility_id', 'text', (c) => c.primaryKey().references('facilities.id'))
      .addColumn('critical_minutes', 'integer')
      .addColumn('urgent_minutes', 'integer')
      .addColumn('incidental_minutes', 'integer')
      .addColumn('follow_up_days', 'integer')
      .addColumn('webhook_url', 'text')
      .addColumn('emails', 'text')
      .addColumn('sms', 'integer')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
  },
};

/** A finding and its notice (one row; its history is in `finding_events`). */
export interface FindingTable {
  id: string;
  study_id: string;
  study_uid: string;
  facility_id: string;
  /** Internal patient row id (never a name). */
  patient_ref: string;
  report_id: string | null;
  /** critical | urgent | incidental */
  category: string;
  /** The reader's short message: shown on Enkaku screens only, never sent outside. */
  message: string;
  raised_by: string;
  raised_by_name: string;
  raised_at: string;
  /** open | acknowledged | cancelled */
  status: string;
  /** The ladder step responsible now (0-based). */
  step: number;
  /** How many ladder steps the notice has (fixed when raised). */
  steps: number;
  /** Escalations so far (repeats at the last step count too); the key of the next timer. */
  escalations: number;
  /** Time each step has to acknowledge, fixed when raised (settings changes do not move running notices). */
  step_seconds: number;
  deadline_at: string | null;
  acknowledged_by: string | null;
  acknowledged_by_name: string | null;
  acknowledged_at: string | null;
  cancelled_by: string | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
  /** Incidental findings: pending | exam-ordered | referred | not-needed; null otherwise. */
  follow_up_state: string | null;
  /** YYYY-MM-DD. */
  follow_up_due_on: string | null;
  follow_up_note: string;
  follow_up_by: string | null;
  follow_up_by_name: string | null;
  follow_up_at: string | null;
  /** Goes up with every change (serialises writers; SQLite live events check it after commit). */
  version: number;
  updated_at: string;
}

/** Someone a notice goes to, in ladder order. */
export interface FindingRecipientTable {
  id: string;
  finding_id: string;
  step: number;
  /** Order within the step (the requester first). */
  position: number;
  /** requester | attending | ladder | management */
  source: string;
  name: string;
  role: string;
  phone: string;
  /** The Enkaku account, when the contact has one (in-app alerts, acknowledgement). */
  user_id: string | null;
  notified_at: string | null;
}

/** One step of a finding's history. */
export interface FindingEventTable {
  id: string;
  finding_id: string;
  /** 1, 2, ... per finding. */
  seq: number;
  at: string;
  /** raised | notified | escalated | acknowledged | phone | follow-up | cancelled | channel */
  kind: string;
  step: number;
  /** in-app | webhook | email | sms | phone, where it applies. */
  channel: string | null;
  /** delivered | failed | skipped, for channel attempts. */
  outcome: string | null;
  /** Who acted or was told: names of staff, never patient data. */
  actor: string;
  detail: string;
}

/** A logged telephone contact (C1). */
export interface FindingPhoneContactTable {
  id: string;
  finding_id: string;
  called_by: string;
  called_by_name: string;
  called_name: string;
  called_role: string;
  phone: string;
  at: string;
  read_back: string;
  /** reached | no-answer | left-message */
  outcome: string;
  recorded_at: string;
}

/** A periodic review of a facility's still-open follow-ups (C3). */
export interface FindingReviewTable {
  id: string;
  facility_id: string;
  period: string;
  generated_at: string;
  open_count: number;
  overdue_count: number;
  /** JSON FindingReviewItem[] (ids, dates, reader names; no patient data). */
  items: string;
}

/** Per-facility settings of the findings module; a null column means the server-wide default. */
export interface FindingSettingsTable {
  facility_id: string;
  critical_minutes: number | null;
  urgent_minutes: number | null;
  incidental_minutes: number | null;
  follow_up_days: number | null;
  webhook_url: string | null;
  /** Comma-separated addresses. */
  emails: string | null;
  sms: number | null;
  updated_at: string;
  updated_by: string;
}

/** The findings module's part of the database. */
export interface FindingsDatabase {
  findings: FindingTable;
  finding_recipients: FindingRecipientTable;
  finding_events: FindingEventTable;
  finding_phone_contacts: FindingPhoneContactTable;
  finding_reviews: FindingReviewTable;
  finding_settings: FindingSettingsTable;
}
