/**
 * Table types of the Enkaku database, shared by SQLite and PostgreSQL. Times are ISO
 * 8601 UTC strings; DICOM dates and times keep their DICOM text form (DA, TM).
 */
import type { AuditDatabase } from '../../audit/index.ts';
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

export interface Database extends AuditDatabase {
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
