/**
 * The JSON contract between Enkaku's server and its web application (`/api/...`).
 * Every non-GET request carries the session's CSRF token in the `x-csrf-token` header;
 * the session itself is an HttpOnly cookie. Errors are `{ error: code, message }` with
 * the matching HTTP status (401 not logged in, 403 not allowed, 423 account locked).
 */

/** Roles of Enkaku (REQUIREMENTS A1, L1-L3, S10). */
export const ROLES = [
  'system-admin',
  'facility-admin',
  'attending-physician',
  'technologist',
  'radiologist',
  'management-physician',
  'transcriptionist',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

/** A role held at a facility, or at the reading provider when `facilityId` is null. */
export interface RoleGrant {
  role: Role;
  facilityId: string | null;
  facilityName: string | null;
}

/** The logged-in user as the web app sees it. */
export interface SessionUser {
  id: string;
  username: string;
  displayName: string;
  grants: RoleGrant[];
  mfaEnrolled: boolean;
  /** The confidentiality agreement must be accepted before anything else (S10). */
  mustAcceptAgreement: boolean;
  /** The password must be changed before anything else (e.g. set by an administrator). */
  mustChangePassword: boolean;
}

/** `GET /api/session` when logged in. */
export interface SessionInfo {
  user: SessionUser;
  csrfToken: string;
  /** ISO times at which the session ends if idle / at the latest. */
  idleExpiresAt: string;
  absoluteExpiresAt: string;
}

/** `GET /api/setup`: whether the first administrator still has to be created. */
export interface SetupStatus {
  needed: boolean;
}

/** `POST /api/setup`: the one-time token printed by `npm start`. */
export interface SetupRequest {
  token: string;
  username: string;
  displayName: string;
  password: string;
}

/** `POST /api/auth/login`. */
export interface LoginRequest {
  username: string;
  password: string;
}

/** TOTP enrolment data shown once: the secret, its otpauth:// URL and a QR code (SVG). */
export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

/**
 * Answer to `POST /api/auth/login` and `POST /api/auth/mfa`:
 * - `mfa-required`: send the TOTP code to `POST /api/auth/mfa` `{ code }`;
 * - `mfa-enrolment-required`: show the QR code, then send the first code to `POST /api/auth/mfa` `{ code }`;
 * - `ok`: logged in; the session cookie is set.
 */
export type LoginResponse =
  | { status: 'mfa-required'; passkeyAvailable?: boolean; totpAvailable?: boolean }
  | { status: 'mfa-enrolment-required'; enrolment: TotpEnrolment }
  | { status: 'ok'; session: SessionInfo };

/** `POST /api/auth/mfa`. */
export interface MfaRequest {
  code: string;
}

/**
 * `POST /api/me/reauth` `{ password }`: confirms the password for sensitive acts
 * (exports such as `GET /api/audit/fhir`, signing) during the next 5 minutes.
 */
export interface ReauthRequest {
  password: string;
}

/** `POST /api/me/password`. */
export interface PasswordChangeRequest {
  currentPassword: string;
  newPassword: string;
}

/** A user as administrators see it (`GET /api/admin/users`). */
export interface AdminUser {
  id: string;
  username: string;
  displayName: string;
  grants: RoleGrant[];
  mfaEnrolled: boolean;
  locked: boolean;
  disabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

/** `POST /api/admin/users`. */
export interface CreateUserRequest {
  username: string;
  displayName: string;
  /** Initial password; the user must change it at first login. */
  password: string;
  grants: Array<{ role: Role; facilityId: string | null }>;
}

/** `PUT /api/admin/users/:id/grants` (a sensitive act: needs `reauthPassword`). */
export interface SetGrantsRequest {
  grants: Array<{ role: Role; facilityId: string | null }>;
  reauthPassword: string;
}

/**
 * `POST /api/admin/users/:id/reset-mfa` `{ reauthPassword }`: removes the user's TOTP and
 * passkeys and ends their sessions (lost authenticator); they enrol anew at next login.
 */
export interface ResetMfaRequest {
  reauthPassword: string;
}

/** `GET /api/admin/facilities`. */
export interface FacilitySummary {
  id: string;
  name: string;
  aets: string[];
}

/** One audit entry (`GET /api/audit?from=&to=&action=&actor=&outcome=&limit=&offset=`). */
export interface AuditEntry {
  seq: number;
  recordedAt: string;
  actorName: string;
  actorRole: string;
  action: string;
  objectType: string;
  objectId: string;
  facilityId: string | null;
  outcome: 'success' | 'failure';
  clientAddress: string;
}

/** `GET /api/audit` answer. */
export interface AuditPage {
  entries: AuditEntry[];
  total: number;
}

/** A security alert (S11) (`GET /api/alerts`). */
export interface SecurityAlert {
  id: string;
  raisedAt: string;
  kind: 'failed-logins' | 'out-of-scope' | 'mass-export' | 'audit-chain' | 'integrity';
  message: string;
  acknowledged: boolean;
}

/**
 * Passkeys (WebAuthn) as an alternative second factor:
 * - `POST /api/me/passkeys/options` → creation options (PublicKeyCredentialCreationOptionsJSON);
 * - `POST /api/me/passkeys` `{ name, response }` (RegistrationResponseJSON) → `{ id }`;
 * - `GET /api/me/passkeys` → PasskeySummary[]; `DELETE /api/me/passkeys/:id`;
 * - during login, instead of a TOTP code: `POST /api/auth/passkey/options` → request options
 *   (PublicKeyCredentialRequestOptionsJSON), then `POST /api/auth/passkey` `{ response }`
 *   (AuthenticationResponseJSON) → LoginResponse.
 * `LoginResponse` 'mfa-required' carries `passkeyAvailable: true` when the user has one.
 */
export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Credentials of a physician as administrators see them (`GET /api/admin/users/:id/credentials`). */
export interface UserCredentials {
  licences: Array<{ id: string; kind: 'jp-medical' | 'foreign-medical'; number: string; country: string; verified_by: string; verified_at: string; evidence: string; revoked_at: string | null }>;
  certifications: Array<{ id: string; kind: string; number: string; issued_on: string; expires_on: string; verified_by: string; verified_at: string; evidence: string }>;
  trainings: Array<{ id: string; course: string; completed_on: string | null; due_on: string; recorded_by: string; recorded_at: string }>;
}

/** `GET /api/admin/users/:id/qualification?modality=CT&facilityId=...`. */
export interface QualificationCheck {
  allowed: boolean;
  problems: string[];
  warnings: string[];
}

/**
 * A background job as users see it (`GET /api/jobs?kind=&state=&limit=&offset=`, newest
 * first; `GET /api/jobs/:id`; system administrators: `POST /api/jobs/:id/retry`). Users see
 * the jobs of the facilities whose studies they may read. Payload and progress hold
 * identifiers and counts only, never PHI.
 */
export interface JobView {
  id: string;
  /** e.g. `priors.fetch`. */
  kind: string;
  /** The natural identifier the job is keyed on (for `priors.fetch`, the Study Instance UID). */
  key: string;
  facilityId: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  maxAttempts: number;
  /** Not before this time (the next attempt, after a backoff). */
  runAfter: string;
  lastError: string | null;
  payload: Record<string, unknown>;
  progress: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** Progress of a `priors.fetch` job (prior studies pulled from the facility's PACS). */
export interface PriorsFetchProgress {
  /** Prior studies of the patient at the PACS within the policy (years, modalities). */
  studiesFound: number;
  /** Those this job retrieves: of the most recent `maxStudies`, the ones Enkaku did not hold before. */
  studiesWanted: number;
  studiesDone: number;
  instancesReceived: number;
  /** Studies whose retrieval failed in the last attempt (the next attempt tries them again). */
  failures: number;
  /** Each wanted study by UID with its outcome. */
  studies?: Array<{ studyUid: string; state: 'pending' | 'done' | 'failed'; instances: number; error?: string }>;
  via?: 'get' | 'move';
  /** Why nothing was fetched (policy off, study gone, the study itself arrived as a prior). */
  skipped?: string;
  /** For a study retrieved as a prior: the study it was retrieved for. */
  priorOf?: string;
}
