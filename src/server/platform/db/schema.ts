/**
 * Table types of the Enkaku database, shared by SQLite and PostgreSQL. Times are ISO
 * 8601 UTC strings; DICOM dates and times keep their DICOM text form (DA, TM).
 */
import type { AuditDatabase } from '../../audit/index.ts';
// Report delivery tables (reports/delivery, migration 017_delivery).
import type { DeliveryDatabase } from '../../reports/delivery/schema.ts';
// Reports, versions, templates, AI findings (reports, migration 018_reports).
import type { ReportsDatabase } from '../../reports/migration.ts';
// Signing certificates of physicians (reports/signing, migration 016_signing).
import type { SigningDatabase } from '../../reports/signing/schema.ts';
// Critical and incidental findings (findings, migration 020_findings).
import type { FindingsDatabase } from '../../findings/migration.ts';
import type { Insertable, Selectable, Updateable } from 'kysely';

export interface FacilityTable {
  id: string;
  name: string;
  created_at: string;
}

export interface FacilityAetTable {
  /** Calling AE title, unique across facilities. */
  aet: string;
  facility_id: string;
  created_at: string;
}

export interface PatientTable {
  id: string;
  facility_id: string;
  patient_id: string;
  issuer: string;
  name_alphabetic: string;
  name_ideographic: string;
  name_phonetic: string;
  /** Normalised name groups joined for searching (lower case, kana folded). */
  name_search: string;
  sex: string;
  birth_date: string;
  created_at: string;
  updated_at: string;
}

/**
 * Fuzzy name search keys of patients (see nameSearchKeys in archive/dicom/names.ts): one
 * row per key, kept with the patient's name by whoever writes it (archive/name-keys.ts).
 */
export interface PatientNameKeyTable {
  key: string;
  facility_id: string;
  patient_id: string;
}

export interface StudyTable {
  id: string;
  facility_id: string;
  patient_ref: string;
  study_uid: string;
  accession_number: string;
  study_id: string;
  study_date: string;
  study_time: string;
  modalities: string;
  description: string;
  referring_physician: string;
  institution: string;
  num_series: number;
  num_instances: number;
  size_bytes: number;
  /** The patient's name_search, kept with it (archive/name-keys.ts), for fuzzy name searches that walk the studies. */
  patient_name_search: string;
  created_at: string;
  updated_at: string;
}

export interface SeriesTable {
  id: string;
  study_ref: string;
  series_uid: string;
  modality: string;
  series_number: number | null;
  description: string;
  body_part: string;
  num_instances: number;
  created_at: string;
}

export interface InstanceTable {
  id: string;
  series_ref: string;
  study_ref: string;
  facility_id: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  instance_number: number | null;
  rows: number | null;
  columns: number | null;
  frames: number | null;
  size_bytes: number;
  /** SHA-256 of the stored Part 10 file (the blob's name). */
  blob_sha256: string;
  /** SHA-256 of the data set after the file meta group: identity for duplicate detection. */
  dataset_sha256: string;
  specific_character_set: string;
  received_at: string;
  calling_aet: string;
  source: string;
}

export interface InstanceConflictTable {
  id: string;
  sop_instance_uid: string;
  facility_id: string;
  kept_blob_sha256: string;
  /** The refused version is kept too, so that it can be inspected. */
  refused_blob_sha256: string;
  calling_aet: string;
  source: string;
  received_at: string;
}

export interface ApiTokenTable {
  id: string;
  facility_id: string;
  name: string;
  /** Space-separated scopes, e.g. `dicomweb:write`. */
  scopes: string;
  /** SHA-256 of the secret part; the secret itself is shown once and never stored. */
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

export interface UserTable {
  id: string;
  username: string;
  display_name: string;
  /** argon2id PHC string. */
  password_hash: string;
  password_changed_at: string;
  must_change_password: number;
  /** TOTP secret, encrypted with the data folder's secret key. */
  totp_secret: string | null;
  totp_pending_secret: string | null;
  /** Last accepted TOTP time step (codes at or before it are refused: no replay). */
  totp_last_step: number | null;
  mfa_enrolled_at: string | null;
  failed_logins: number;
  /** Lockouts so far without a successful login: each one doubles the next. */
  lockouts: number;
  locked_until: string | null;
  disabled: number;
  agreement_accepted_at: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserGrantTable {
  user_id: string;
  role: string;
  /** '' for the reading provider, else a facility id. */
  facility_id: string;
  created_at: string;
}

export interface SessionTable {
  /** SHA-256 of the session cookie value. */
  id: string;
  user_id: string;
  /** 'mfa' while the second factor is pending; 'full' once logged in. */
  stage: string;
  csrf_token: string;
  client_address: string;
  user_agent: string;
  created_at: string;
  last_seen_at: string;
  absolute_expires_at: string;
  revoked_at: string | null;
  /** Pending WebAuthn challenge (registration or login), cleared when used. */
  webauthn_challenge: string | null;
  /** When the user last confirmed their password in this session (sensitive acts). */
  reauth_at: string | null;
  /** The reading terminal the session is bound to (Q2: its display profile calibrates rendered images). */
  terminal_id: string | null;
}

export interface PasskeyTable {
  /** Credential id, base64url. */
  id: string;
  user_id: string;
  name: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number;
  /** JSON array of transports. */
  transports: string;
  created_at: string;
  last_used_at: string | null;
}

export interface SetupTokenTable {
  token_sha256: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface LicenceTable {
  id: string;
  user_id: string;
  /** 'jp-medical' (医籍登録) or 'foreign-medical'. */
  kind: string;
  /** 医籍登録番号, or the foreign licence number. */
  number: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** User id of the administrator who checked it. */
  verified_by: string;
  verified_at: string;
  /** What was checked, e.g. the MHLW 医師等資格確認検索 result and a copy of the licence. */
  evidence: string;
  revoked_at: string | null;
}

export interface CertificationTable {
  id: string;
  user_id: string;
  /** e.g. 'diagnostic-radiology-specialist' (放射線診断専門医), 'mammography-reader'. */
  kind: string;
  number: string;
  issued_on: string;
  expires_on: string;
  verified_by: string;
  verified_at: string;
  evidence: string;
}

export interface TrainingTable {
  id: string;
  user_id: string;
  course: string;
  completed_on: string | null;
  due_on: string;
  recorded_by: string;
  recorded_at: string;
}

export interface SecurityAlertTable {
  id: string;
  raised_at: string;
  /** 'failed-logins' | 'out-of-scope' | 'mass-export' | 'audit-chain'. */
  kind: string;
  message: string;
  /** JSON without PHI: user ids, addresses, counts. */
  details: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
}

/** A DICOM node of a facility that Enkaku calls (its PACS, or a C-MOVE destination). */
export interface DicomNodeTable {
  id: string;
  facility_id: string;
  aet: string;
  host: string;
  port: number;
  /** 1 when the node speaks DICOM over TLS (PS3.15 B.1). */
  tls: number;
  /** 1 when Enkaku queries and retrieves the facility's prior studies from this node. */
  query: number;
  /** 1 when C-MOVE requests from the facility may name this node as destination. */
  destination: number;
  created_at: string;
}

/** How far back, and which prior studies, Enkaku pulls from a facility's PACS (W3). */
export interface PriorPolicyTable {
  facility_id: string;
  enabled: number;
  years: number;
  /** Comma-separated modalities; empty means every modality. */
  modalities: string;
  max_studies: number;
  /** 'get' (C-GET on the same association) or 'move' (C-MOVE to Enkaku's AE). */
  retrieve: string;
  updated_at: string;
}

/** Durable job (outbox row), idempotent on (kind, key). */
export interface JobTable {
  id: string;
  kind: string;
  key: string;
  facility_id: string | null;
  /** JSON. */
  payload: string;
  /** queued | running | done | failed */
  state: string;
  attempts: number;
  max_attempts: number;
  run_after: string;
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  /** JSON: what the job has done so far, shown to users. */
  progress: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}


/** A facility's contract terms with the reading provider (L5, A5), the current version. */
export interface FacilityContractTable {
  facility_id: string;
  /** Comma-separated DICOM modalities read for the facility; empty: every modality. */
  modalities: string;
  /** JSON array of body parts read; empty: every body part. */
  body_parts: string;
  due_stat_minutes: number;
  due_urgent_minutes: number;
  due_routine_minutes: number;
  /** Days the reading copy of the images is kept. */
  retention_days: number;
  /** JSON array of { name, role, phone, hours }: whom to call for a critical finding, in order. */
  contact_ladder: string;
  /** 'hl7' | 'fhir' | 'manual': how reports reach the facility's EMR (A5). */
  delivery_route: string;
  /** For manual delivery: who confirms the transcription into the EMR (A5). */
  transcription_confirmer: string;
  /** 1 when the facility's records may be shown to readers of other facilities' studies (W3, S1). */
  onward_sharing: number;
  /** 1 when a reader must pass the daily monitor check before reading this facility's studies. */
  monitor_check_required: number;
  /** 1 when studies are double read (screening, W9); migration 019. */
  double_reading: number;
  /** The opt-out notice (external storage and sharing) the facility shows its patients (S1). */
  opt_out_notice: string;
  version: number;
  updated_at: string;
  /** Who changed it last (actor description, no PHI). */
  updated_by: string;
}

/** Every version of a facility contract, as JSON (history of L5 terms). */
export interface FacilityContractVersionTable {
  facility_id: string;
  version: number;
  terms: string;
  changed_at: string;
  changed_by: string;
}

/** An explicit link between two facilities' records of one person (W3); rows are never deleted. */
export interface PatientLinkTable {
  id: string;
  /** The two patient rows, the smaller id first. */
  patient_a: string;
  patient_b: string;
  reason: string;
  linked_by: string;
  linked_at: string;
  unlinked_by: string | null;
  unlinked_at: string | null;
  unlink_reason: string | null;
}

/** A patient's opt-out from sharing (S1, 明示的な留保); active while withdrawn_at is null. */
export interface PatientOptOutTable {
  id: string;
  patient_ref: string;
  /** The date the patient declared it (YYYY-MM-DD). */
  declared_on: string;
  /** How it was declared: 書面, 口頭, ... */
  source: string;
  note: string;
  recorded_by: string;
  recorded_at: string;
  withdrawn_on: string | null;
  withdrawn_source: string | null;
  withdrawn_by: string | null;
  withdrawn_at: string | null;
}

/** An exam order of a facility, keyed by (facility, placer order number) (W1). */
export interface OrderTable {
  id: string;
  facility_id: string;
  patient_ref: string;
  placer_order_number: string;
  filler_order_number: string;
  accession_number: string;
  /** scheduled | in-progress | completed | cancelled */
  status: string;
  /** stat | urgent | routine */
  priority: string;
  jj1017: string;
  modality: string;
  body_part: string;
  procedure_text: string;
  reason: string;
  clinical_notes: string;
  contrast: number;
  requester_name: string;
  requester_department: string;
  requested_at: string;
  scheduled_at: string | null;
  /** hl7 | fhir | form: where the latest applied message came from. */
  source: string;
  /** new | change | cancel: the kind of the first message seen (change: created from a change; cancel: placeholder). */
  created_from: string;
  /** Applied messages so far. */
  version: number;
  /** Sender's time of the latest applied message that had one. */
  message_time: string | null;
  created_at: string;
  updated_at: string;
}

/** Every message received for an order, applied or not (history and duplicate detection). */
export interface OrderEventTable {
  id: string;
  order_id: string;
  facility_id: string;
  source: string;
  message_id: string;
  control: string;
  message_time: string | null;
  /** created | created-from-change | cancel-placeholder | updated | cancelled | stale | already-cancelled | refused-conflict */
  outcome: string;
  /** The order's version after this message. */
  version: number;
  /** JSON array of the fields this message changed. */
  changed: string;
  /** JSON of the message as received (OrderInput). */
  snapshot: string;
  actor: string;
  received_at: string;
}

/** Protocol instructions on an order (W5); the newest row is current. */
export interface OrderProtocolTable {
  id: string;
  order_id: string;
  text: string;
  author_id: string;
  author_name: string;
  recorded_at: string;
}

/** The consultation thread of an order (W5, W11): messages stay in Enkaku. */
export interface OrderConsultationTable {
  id: string;
  order_id: string;
  author_id: string;
  author_name: string;
  /** Comma-separated roles the author held. */
  author_roles: string;
  text: string;
  posted_at: string;
}

/** A study linked to its order (W2); unlinking keeps the row. */
export interface OrderStudyLinkTable {
  id: string;
  order_id: string;
  study_id: string;
  facility_id: string;
  /** accession | demographics | manual */
  method: string;
  linked_by: string;
  linked_at: string;
  unlinked_by: string | null;
  unlinked_at: string | null;
  unlink_reason: string | null;
}

/** Studies waiting in the reconciliation queue (W2). */
export interface UnmatchedStudyTable {
  study_id: string;
  facility_id: string;
  /** no-order | ambiguous | order-cancelled | unlinked */
  reason: string;
  /** Orders that matched equally well (ambiguous). */
  candidates: number;
  queued_at: string;
}

/** A clinical fact about a patient (W4), idempotent on (facility, source, source key). */
export interface ClinicalItemTable {
  id: string;
  facility_id: string;
  patient_ref: string;
  /** diagnosis | allergy | lab | prescription | injection */
  kind: string;
  code: string;
  code_system: string;
  text: string;
  /** Lab value as a decimal string (portable column types only). */
  value: string | null;
  unit: string;
  category: string;
  observed_at: string;
  status: string;
  source: string;
  source_key: string;
  content_sha256: string;
  recorded_at: string;
  updated_at: string;
}

/** A reading terminal (Q1): display, JESRA X-0093 grade, acceptance values and display profile. */
export interface ReadingTerminalTable {
  id: string;
  name: string;
  location: string;
  display_model: string;
  display_serial: string;
  /** '1A' | '1B' | '2' (JESRA X-0093 management grade). */
  grade: string;
  /** Acceptance-test luminances, cd/m² (ambient excluded), and the ambient luminance Lamb. */
  lmax: number;
  lmin: number;
  lamb: number;
  acceptance_tested_on: string;
  /** JSON: the display's native response ({ kind: 'gamma', gamma } or { kind: 'measured', ddl, luminance }). */
  native: string;
  /** null: the reading provider's terminal. */
  facility_id: string | null;
  require_daily_check: number;
  /** 'gsdf' | 'gamma22' | 'none'. */
  profile: string;
  constancy_interval_months: number;
  active: number;
  /** Increases with every change (the output LUT is cached per id and version). */
  version: number;
  /** The newest daily check: when, its Tokyo date, and whether every item was OK. */
  last_check_at: string | null;
  last_check_on: string | null;
  last_check_passed: number | null;
  created_at: string;
  updated_at: string;
}

/** A daily visual check of a terminal by a user (JESRA X-0093 日常点検; TG18-QC, SMPTE). */
export interface TerminalDailyCheckTable {
  id: string;
  terminal_id: string;
  user_id: string;
  user_name: string;
  pattern: string;
  /** JSON object item → boolean. */
  items: string;
  passed: number;
  note: string;
  checked_at: string;
  /** The Tokyo calendar day of `checked_at`. */
  checked_on: string;
}

/** A constancy test with its numbers and judgement (JESRA X-0093 §4, §6.5.4; TG18 OR-03 §4.3). */
export interface TerminalConstancyTestTable {
  id: string;
  terminal_id: string;
  /** The grade judged against (the terminal's at the time). */
  grade: string;
  lmax: number;
  lmin: number;
  lamb: number;
  /** JSON array of { ddl, luminance }. */
  readings: string;
  contrast_deviation: number;
  luminance_ratio: number;
  /** JSON array of judged items. */
  items: string;
  passed: number;
  note: string;
  tested_on: string;
  next_due_on: string;
  recorded_by: string;
  recorded_by_name: string;
  recorded_at: string;
}

/** A key image of a study, marked by a reader for the report. Removal keeps the row. */
export interface KeyImageTable {
  id: string;
  study_uid: string;
  facility_id: string;
  series_uid: string;
  sop_instance_uid: string;
  frame: number;
  note: string;
  window_center: number | null;
  window_width: number | null;
  /** 'linear' | 'linear-exact' | 'sigmoid'. */
  window_fn: string | null;
  created_by: string;
  created_by_name: string;
  created_at: string;
  removed_by: string | null;
  removed_at: string | null;
}

/** One user's viewing of one study (S6: viewing audited per study session). */
export interface ViewerSessionTable {
  id: string;
  user_id: string;
  /** The login session (sessions.id) it was opened in. */
  session_id: string;
  study_uid: string;
  facility_id: string;
  terminal_id: string | null;
  /** Label of the display profile in effect when the study was opened. */
  profile: string | null;
  started_at: string;
  ended_at: string | null;
}

// ---------------------------------------------------------------------------------------
// Reading worklist (W6; src/server/reading/worklist-*.ts, migration 015_worklist)

/** One study to read: priority, due time, status, assignment, claim (lock) and double reading. */
export interface ReadingItemTable {
  id: string;
  study_id: string;
  study_uid: string;
  facility_id: string;
  patient_ref: string;
  /** The linked order, null while the study has none. */
  order_id: string | null;
  accession_number: string;
  /** stat | urgent | routine (routine without an order). */
  priority: string;
  modality: string;
  body_part: string;
  description: string;
  /** When the study's first instance arrived. */
  arrived_at: string;
  /** arrived_at + the contract's due minutes for the priority. */
  due_at: string;
  /** unread | in-progress | draft | preliminary | final | cancelled */
  status: string;
  assigned_to: string | null;
  assigned_to_name: string | null;
  assigned_at: string | null;
  /** Who assigned: a user id, or `system:auto-assign`. */
  assigned_by: string | null;
  claimed_by: string | null;
  claimed_by_name: string | null;
  claimed_at: string | null;
  claim_expires_at: string | null;
  /** single | double */
  reading_mode: string;
  first_reader: string | null;
  second_reader: string | null;
  arbiter: string | null;
  report_id: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** A user's saved worklist view (filters as JSON). */
export interface WorklistViewTable {
  id: string;
  user_id: string;
  name: string;
  filters: string;
  created_at: string;
}

/** Automatic assignment on (1) or off (0), per facility id or '*' for the global default. */
export interface WorklistSettingTable {
  scope: string;
  auto_assign: number;
  updated_at: string;
  updated_by: string;
}

export interface Database extends AuditDatabase, DeliveryDatabase, ReportsDatabase, SigningDatabase, FindingsDatabase {
  // Reading worklist (015_worklist).
  reading_items: ReadingItemTable;
  worklist_views: WorklistViewTable;
  worklist_settings: WorklistSettingTable;
  reading_terminals: ReadingTerminalTable;
  terminal_daily_checks: TerminalDailyCheckTable;
  terminal_constancy_tests: TerminalConstancyTestTable;
  key_images: KeyImageTable;
  viewer_sessions: ViewerSessionTable;
  facility_contracts: FacilityContractTable;
  facility_contract_versions: FacilityContractVersionTable;
  patient_links: PatientLinkTable;
  patient_opt_outs: PatientOptOutTable;
  orders: OrderTable;
  order_events: OrderEventTable;
  order_protocols: OrderProtocolTable;
  order_consultations: OrderConsultationTable;
  order_study_links: OrderStudyLinkTable;
  unmatched_studies: UnmatchedStudyTable;
  clinical_items: ClinicalItemTable;
  dicom_nodes: DicomNodeTable;
  prior_policies: PriorPolicyTable;
  jobs: JobTable;
  passkeys: PasskeyTable;
  security_alerts: SecurityAlertTable;
  licences: LicenceTable;
  certifications: CertificationTable;
  trainings: TrainingTable;
  users: UserTable;
  user_grants: UserGrantTable;
  sessions: SessionTable;
  setup_tokens: SetupTokenTable;
  api_tokens: ApiTokenTable;
  facilities: FacilityTable;
  facility_aets: FacilityAetTable;
  patients: PatientTable;
  patient_name_keys: PatientNameKeyTable;
  studies: StudyTable;
  series: SeriesTable;
  instances: InstanceTable;
  instance_conflicts: InstanceConflictTable;
}

export type Facility = Selectable<FacilityTable>;
export type DicomNode = Selectable<DicomNodeTable>;
export type PriorPolicy = Selectable<PriorPolicyTable>;
export type Job = Selectable<JobTable>;
export type Patient = Selectable<PatientTable>;
export type Study = Selectable<StudyTable>;
export type Series = Selectable<SeriesTable>;
export type Instance = Selectable<InstanceTable>;
export type NewInstance = Insertable<InstanceTable>;
export type StudyUpdate = Updateable<StudyTable>;
export type FacilityContract = Selectable<FacilityContractTable>;
export type PatientLink = Selectable<PatientLinkTable>;
export type PatientOptOut = Selectable<PatientOptOutTable>;
export type Order = Selectable<OrderTable>;
export type OrderEvent = Selectable<OrderEventTable>;
export type OrderStudyLink = Selectable<OrderStudyLinkTable>;
export type ClinicalItem = Selectable<ClinicalItemTable>;
