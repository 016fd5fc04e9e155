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

// ---------------------------------------------------------------------------------------
// Reading terminals, monitor QC and the display profile (REQUIREMENTS Q1, Q2; JESRA X-0093,
// AAPM TG18, DICOM PS3.14). Managed by system administrators and the management physician;
// readers list the terminals they may use, record the daily visual check and bind their
// session to the terminal they sit at. Dates without a time (`YYYY-MM-DD`) are calendar
// days in Asia/Tokyo; times are ISO 8601 UTC.
// ---------------------------------------------------------------------------------------

/** JESRA X-0093 management grades (1A: Lmax ≥ 350 cd/m², ratio ≥ 250, κδ ±10 %; 1B: 170, 250, 15 %; 2: 100, 100, 30 %). */
export const JESRA_GRADES = ['1A', '1B', '2'] as const;
export type JesraGradeName = (typeof JESRA_GRADES)[number];

/**
 * A display's native response (its characteristic curve without ambient light, PS3.14 §3.1):
 * a power law, or photometer readings at DDLs 0..255 (increasing, first 0, last 255), e.g.
 * the 18 TG18-LN levels, in cd/m².
 */
export type DisplayNativeResponse = { kind: 'gamma'; gamma: number } | { kind: 'measured'; ddl: number[]; luminance: number[] };

/**
 * How the server calibrates rendered images for a terminal:
 * - `gsdf`: the DICOM PS3.14 GSDF output LUT from the terminal's Lmin, Lmax, Lamb and native response;
 * - `gamma22`: gamma 2.2 compensation (luminance proportional to the P-Value on a consumer display);
 * - `none`: P-Values sent unchanged (a medical display calibrated to the GSDF in hardware).
 */
export const DISPLAY_PROFILES = ['gsdf', 'gamma22', 'none'] as const;
export type DisplayProfileKind = (typeof DISPLAY_PROFILES)[number];

/**
 * The active display profile of a terminal, with the label the viewer shows. Rendered images
 * and thumbnails of a session bound to a terminal carry the label in the
 * `X-Enkaku-Display-Profile` header, percent-encoded UTF-8 (`decodeURIComponent` gives it).
 */
export interface DisplayProfile {
  kind: DisplayProfileKind;
  /** e.g. "GSDF 0.5–350 cd/m² (ambient 0.2)", "Gamma 2.2 compensation", "None (display calibrated)". */
  label: string;
}

/** `POST /api/terminals` (and `PUT /api/terminals/:id`, which takes the same fields plus `active`). */
export interface TerminalInput {
  name: string;
  /** Room or place, e.g. "読影室 2" or "自宅 (Dr. A)"; free text, no PHI. */
  location: string;
  displayModel: string;
  displaySerial: string;
  grade: JesraGradeName;
  /** Maximum and minimum luminance from the acceptance test, cd/m², ambient excluded. */
  lmax: number;
  lmin: number;
  /** Ambient luminance Lamb, cd/m², at the terminal (0 or more). */
  lamb: number;
  /** Date of the acceptance test (`YYYY-MM-DD`). */
  acceptanceTestedOn: string;
  /** Default: gamma 2.2. */
  native?: DisplayNativeResponse;
  /** The facility the terminal belongs to, or null for the reading provider. */
  facilityId: string | null;
  /**
   * Reading on this terminal is blocked (not just warned) while today's daily visual check
   * is missing or failed. A facility whose contract requires the check blocks too.
   */
  requireDailyCheck?: boolean;
  /** Default `gsdf`. */
  profile?: DisplayProfileKind;
  /** Months between constancy tests (default 6, JESRA X-0093 §6.5.4 for LCDs; 1..12). */
  constancyIntervalMonths?: number;
  /** `PUT` only: false retires the terminal (kept for its QC history; no longer bindable). */
  active?: boolean;
}

/** A registered reading terminal (`GET /api/terminals`, `GET /api/terminals/:id`). */
export interface ReadingTerminal {
  id: string;
  name: string;
  location: string;
  displayModel: string;
  displaySerial: string;
  grade: JesraGradeName;
  lmax: number;
  lmin: number;
  lamb: number;
  acceptanceTestedOn: string;
  native: DisplayNativeResponse;
  facilityId: string | null;
  facilityName: string | null;
  requireDailyCheck: boolean;
  constancyIntervalMonths: number;
  profile: DisplayProfile;
  active: boolean;
  /** Increases with every change; rendered images are calibrated with the LUT of this version. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** `PUT /api/terminals/:id/profile` `{ profile }` → {@link ReadingTerminal}. */
export interface SetDisplayProfileRequest {
  profile: DisplayProfileKind;
}

/**
 * The items of the daily visual check (JESRA X-0093 日常点検; AAPM TG18 OR-03 §4 visual
 * tests with TG18-QC, TG18-UN10/UN80; SMPTE RP 133), each seen OK or not:
 * - `patch-5pct`: the 5 % patch inside the 0 % square is visible;
 * - `patch-95pct`: the 95 % patch inside the 100 % square is visible;
 * - `grey-steps`: every grey step (16 TG18-QC patches, 11 SMPTE steps) is distinct from its neighbours;
 * - `low-contrast`: the low-contrast corner squares of the patches and the "QUALITY CONTROL" letters are seen;
 * - `line-pairs`: the 1- and 2-pixel line pairs are resolved in the centre and the four corners;
 * - `ramps`: the ramps run smoothly, without bands (contouring);
 * - `no-artefacts`: no flicker, streaks, smearing, pixel defects or geometric distortion;
 * - `uniformity`: TG18-UN10 and TG18-UN80 look uniform, with no visible mura or dark corners.
 */
export const DAILY_CHECK_ITEMS = ['patch-5pct', 'patch-95pct', 'grey-steps', 'low-contrast', 'line-pairs', 'ramps', 'no-artefacts', 'uniformity'] as const;
export type DailyCheckItem = (typeof DAILY_CHECK_ITEMS)[number];

/** Test patterns the server draws (`GET /api/qc/patterns`). */
export const QC_PATTERNS = ['TG18-QC', 'TG18-UN10', 'TG18-UN80', 'SMPTE'] as const;
export type QcPatternName = (typeof QC_PATTERNS)[number];

/** `POST /api/terminals/:id/daily-checks`: every item must be given. */
export interface DailyCheckRequest {
  /** The pattern mainly used (TG18-QC or SMPTE); the uniformity item is judged on TG18-UN10/UN80. */
  pattern: QcPatternName;
  items: Record<DailyCheckItem, boolean>;
  note?: string;
}

/** A recorded daily visual check. */
export interface DailyCheck {
  id: string;
  terminalId: string;
  userId: string;
  userName: string;
  pattern: QcPatternName;
  items: Record<DailyCheckItem, boolean>;
  /** True when every item was seen OK. */
  passed: boolean;
  note: string;
  checkedAt: string;
  /** The Tokyo calendar day of the check. */
  checkedOn: string;
}

/** One luminance reading of a constancy test: the driving level of the patch (0..4095) and cd/m² (ambient excluded). */
export interface LuminanceReadingInput {
  ddl: number;
  luminance: number;
}

/** `POST /api/terminals/:id/constancy`: a constancy test with its numbers (at least 3 readings; TG18-LN uses 18). */
export interface ConstancyRequest {
  lmax: number;
  lmin: number;
  lamb: number;
  readings: LuminanceReadingInput[];
  /** Date of the measurement (`YYYY-MM-DD`, default today in Tokyo). */
  testedOn?: string;
  /** Photometer used, remarks. */
  note?: string;
}

/** One judged item of a constancy test (JESRA X-0093 §4 grade table, §6.5.4 Lmax change). */
export interface ConstancyItemResult {
  item: 'lmax' | 'luminance-ratio' | 'contrast-response' | 'lmax-change';
  pass: boolean;
  value: number;
  limit: number;
  reason: string;
}

/** A recorded, judged constancy test. */
export interface ConstancyResult {
  id: string;
  terminalId: string;
  grade: JesraGradeName;
  lmax: number;
  lmin: number;
  lamb: number;
  readings: LuminanceReadingInput[];
  /** κδ: largest relative deviation of the contrast response from the GSDF (0.1 = 10 %). */
  contrastDeviation: number;
  /** L'max / L'min with ambient light. */
  luminanceRatio: number;
  items: ConstancyItemResult[];
  passed: boolean;
  note: string;
  testedOn: string;
  recordedBy: string;
  recordedByName: string;
  recordedAt: string;
  /** When the next constancy test is due (`testedOn` + the terminal's interval). */
  nextDueOn: string;
}

/** Whether reading may go on at a terminal (and for which facility), with the reasons. */
export interface ReadingDecision {
  /** False: reading is blocked until the blockers are resolved (the rendered images answer 423). */
  allowed: boolean;
  /** Reasons reading is blocked. */
  blockers: string[];
  /** Reasons to warn the reader (overdue or failed checks that do not block). */
  warnings: string[];
}

/** `GET /api/terminals/:id/status`. */
export interface TerminalStatus {
  terminal: ReadingTerminal;
  /** Today in Asia/Tokyo. */
  today: string;
  daily: {
    last: DailyCheck | null;
    /** No passed check today (Tokyo): the last one is from an earlier day, failed, or missing. */
    overdue: boolean;
    /** Today's last check found a problem. */
    failed: boolean;
  };
  constancy: {
    last: ConstancyResult | null;
    /** Due date of the next constancy test (from the last test, else from the acceptance test). */
    dueOn: string;
    overdue: boolean;
  };
  profile: DisplayProfile;
  /** For the caller, on this terminal, without regard to a particular facility's contract. */
  reading: ReadingDecision;
}

/** `PUT /api/me/terminal` `{ terminalId }` (null unbinds); answer of it and of `GET /api/me/terminal`. */
export interface SessionTerminal {
  terminal: ReadingTerminal | null;
  /** The profile applied to rendered images of this session (null: no terminal, no calibration). */
  profile: DisplayProfile | null;
  status: TerminalStatus | null;
}

/** `PUT /api/me/terminal`. */
export interface BindTerminalRequest {
  terminalId: string | null;
}

/** A region of a test pattern, painted in list order (later regions cover earlier ones). */
export interface QcPatternRegion {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
  fill:
    | { kind: 'solid'; value: number }
    | { kind: 'ramp'; axis: 'x' | 'y'; from: number; to: number }
    | { kind: 'stripes'; orientation: 'vertical' | 'horizontal'; width: number; a: number; b: number };
}

/**
 * `GET /api/qc/patterns`: the patterns with their size and regions. `GET /api/qc/patterns/:name`
 * is the pattern as a one-channel 8-bit PNG of exactly these pixels (show it at 1:1, accounting
 * for devicePixelRatio); `?calibrated=1` applies the session terminal's display profile, as
 * rendered images get it.
 */
export interface QcPatternInfo {
  name: QcPatternName;
  width: number;
  height: number;
  regions: QcPatternRegion[];
}

// ---------------------------------------------------------------------------------------
// Measurements, key images and viewing sessions (issue 6, Q4, S6).
// ---------------------------------------------------------------------------------------

/**
 * A point in image pixel coordinates (PS3.3 C.10.5.1.2): x to the right along a row, y down
 * along a column, (0, 0) the top left corner of the top left pixel, (0.5, 0.5) its centre.
 */
export interface ImagePoint {
  x: number;
  y: number;
}

/**
 * `POST /api/measurements`: computed on the server from the stored pixel values:
 * - `length`: two points;
 * - `angle`: three points, the vertex in the middle (degrees, 0..180);
 * - `roi`: `ellipse` or `rectangle` from two opposite corners of the bounding box, or a
 *   `polygon` of 3 or more vertices. A pixel belongs to the ROI when its centre lies inside.
 */
export interface MeasurementRequest {
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  /** 1-based frame number (default 1). */
  frame?: number;
  kind: 'length' | 'angle' | 'roi';
  shape?: 'ellipse' | 'rectangle' | 'polygon';
  points: ImagePoint[];
}

/** Statistics of the stored values inside an ROI, in modality units (after the Modality LUT: HU for CT). */
export interface RoiStatistics {
  /** Pixels whose centre lies inside the shape (padding pixels excluded). */
  pixels: number;
  /** Pixels inside that carry Pixel Padding Value (outside the scanned field) and are left out. */
  paddingPixels: number;
  /** pixels × pixel area, mm² (null without a pixel spacing). */
  areaMm2: number | null;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one pixel. */
  sd: number;
  min: number;
  max: number;
}

/** Answer of `POST /api/measurements`. */
export interface MeasurementResult {
  kind: 'length' | 'angle' | 'roi';
  shape: 'ellipse' | 'rectangle' | 'polygon' | null;
  frame: number;
  points: ImagePoint[];
  /**
   * The spacing used, mm between pixel centres: `PixelSpacing` (0028,0030) in the patient,
   * `ImagerPixelSpacing` (0018,1164) at the detector (projection radiography: not corrected for
   * magnification), or `none` (lengths and areas are then in pixels only).
   */
  spacing: { row: number; column: number; source: 'PixelSpacing' | 'ImagerPixelSpacing' | 'none' };
  /** `length`: in mm (null without spacing) and in pixels. */
  lengthMm?: number | null;
  lengthPixels?: number;
  /** `angle`: in degrees, measured with the pixel spacing (pixels are not always square). */
  angleDegrees?: number;
  /** `roi`. */
  roi?: RoiStatistics;
  /**
   * The unit of the result: `mm` (or `px` without spacing) for a length, `°` for an angle; for
   * an ROI the unit of the modality values: `HU` for CT, else the Rescale Type, else "".
   */
  unit: string;
  /** Caveats for the reader (spacing at the detector, calibrated spacing, ...). */
  notes: string[];
}

/** `POST /api/studies/:studyUid/key-images`. */
export interface KeyImageRequest {
  seriesUid: string;
  sopInstanceUid: string;
  /** 1-based frame (default 1). */
  frame?: number;
  note?: string;
  /** The window the reader used, modality units (for the report's rendering of the key image). */
  window?: { center: number; width: number; fn?: 'linear' | 'linear-exact' | 'sigmoid' } | null;
}

/** A key image of a study (`GET /api/studies/:studyUid/key-images`; `DELETE .../key-images/:id` by its author or a management physician). */
export interface KeyImage {
  id: string;
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  frame: number;
  note: string;
  window: { center: number; width: number; fn: 'linear' | 'linear-exact' | 'sigmoid' } | null;
  createdBy: string;
  createdByName: string;
  createdAt: string;
}

/**
 * `POST /api/viewer/sessions` `{ studyUid }` when the viewer opens a study (audited
 * `study.view` with the terminal and the display profile); `POST /api/viewer/sessions/:id/end`
 * when it closes (audited `study.view-end` with the duration). Opening answers 423 with the
 * reason when reading is blocked at the session's terminal.
 */
export interface ViewerSessionRequest {
  studyUid: string;
}

/** A viewing session of one study by one user. */
export interface ViewerSession {
  id: string;
  studyUid: string;
  terminalId: string | null;
  terminalName: string | null;
  profile: DisplayProfile | null;
  startedAt: string;
  endedAt: string | null;
  /** Warnings to show (e.g. the daily check is overdue); blocked sessions are not opened. */
  reading: ReadingDecision;
}

// ---------------------------------------------------------------------------------------
// Orders module: facility contracts, patients (MPI, opt-out), orders, reconciliation,
// clinical context, protocol and consultation (W1-W5, W11, L5, A5, S1). Patients and
// orders appear in URLs by internal id only (no PHI in URLs). Times are ISO 8601 UTC;
// the web shows them in Asia/Tokyo.

/** One step of a facility's critical-finding contact ladder, called in order (L5). */
export interface ContactStep {
  name: string;
  /** e.g. 依頼医, 放射線科部長, 当直医. */
  role: string;
  phone: string;
  /** When this contact answers, e.g. 平日 8:30-17:15, 24時間. */
  hours: string;
}

/** How reports reach the facility's EMR (A5, 責任分界点). */
export type DeliveryRoute = 'hl7' | 'fhir' | 'manual';

/**
 * The terms of a facility contract: the body of `PUT /api/facilities/:id/contract` (all
 * fields required). Only system administrators and the management physician change the
 * provider's terms; a facility administrator may change the contact ladder only.
 */
export interface FacilityContractTerms {
  /** What the provider reads for the facility; empty lists mean every modality / body part. */
  scope: { modalities: string[]; bodyParts: string[] };
  /** Minutes from the study's arrival to the report, per priority (stat ≤ urgent ≤ routine). */
  dueMinutes: { stat: number; urgent: number; routine: number };
  /** Days the reading copy of the images is kept. */
  retentionDays: number;
  /** Whom to call for a critical finding, in order (at least one). */
  contactLadder: ContactStep[];
  /** For `manual`, `transcriptionConfirmer` names who confirms the transcription into the EMR. */
  delivery: { route: DeliveryRoute; transcriptionConfirmer: string };
  /** The facility's records may be shown to readers of other facilities (cross-facility priors, W3). */
  onwardSharing: boolean;
  /** Readers pass the daily monitor check before reading this facility's studies. */
  monitorCheckRequired: boolean;
  /**
   * Screening: every study is read by two readers independently, and a third reads where
   * they disagree (W9). Absent in a request means false; answers always carry it.
   */
  doubleReading?: boolean;
  /** The notice about external storage and sharing that the facility gives its patients (S1). */
  optOutNotice: string;
}

/** `GET /api/facilities/:id/contract`: the current terms (defaults while `configured` is false). */
export interface FacilityContractView extends FacilityContractTerms {
  facilityId: string;
  configured: boolean;
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** `GET /api/facilities/:id/contract/history`: every version, newest first. */
export interface FacilityContractVersionView {
  version: number;
  terms: FacilityContractTerms;
  changedAt: string;
  changedBy: string;
}

/** Person name component groups as in DICOM PN (family^given). */
export interface PersonName {
  alphabetic: string;
  ideographic: string;
  phonetic: string;
}

/** A patient record of one facility (an entry of the master patient index). */
export interface PatientSummary {
  /** Internal id: the only patient identifier used in URLs. */
  id: string;
  facilityId: string;
  facilityName: string;
  patientId: string;
  issuer: string;
  name: PersonName;
  sex: string;
  /** YYYYMMDD or ''. */
  birthDate: string;
}

/** An opt-out (S1, 明示的な留保), active until withdrawn. */
export interface OptOutView {
  id: string;
  active: boolean;
  declaredOn: string;
  source: string;
  note: string;
  recordedBy: string;
  recordedAt: string;
  withdrawnOn: string | null;
  withdrawnSource: string | null;
  withdrawnBy: string | null;
  withdrawnAt: string | null;
}

/** A link between two facilities' records of one person (W3), with its history. */
export interface PatientLinkView {
  id: string;
  active: boolean;
  /** The other record's id and facility; `other` is null when it may not be shown to the caller. */
  otherId: string;
  otherFacilityId: string;
  other: PatientSummary | null;
  /** Both sides allow sharing now (contracts and opt-outs). */
  shared: boolean;
  reason: string;
  linkedBy: string;
  linkedAt: string;
  unlinkedBy: string | null;
  unlinkedAt: string | null;
  unlinkReason: string | null;
}

/** `GET /api/patients/:id`. */
export interface PatientDetail extends PatientSummary {
  optedOut: boolean;
  /** The record may be shown to other facilities (contract allows and no active opt-out). */
  sharingAllowed: boolean;
  optOuts: OptOutView[];
  links: PatientLinkView[];
}

/** `POST /api/patients/links` → PatientLinkView; `DELETE /api/patients/links/:id` `{ reason? }`. */
export interface PatientLinkRequest {
  patientA: string;
  patientB: string;
  reason: string;
}

/** `POST /api/patients/:id/opt-out` → OptOutView. `date` YYYY-MM-DD; `source` e.g. 書面, 口頭. */
export interface OptOutRequest {
  date: string;
  source: string;
  note?: string;
}

/** `POST /api/patients/:id/opt-out/withdraw` → OptOutView. */
export interface OptOutWithdrawRequest {
  date: string;
  source?: string;
}

/** A parsed JJ1017 code in words (JJ1017 指針 Ver3.4). */
export interface Jj1017View {
  code: string;
  form: '32' | '16M' | '16S' | null;
  valid: boolean;
  /** Why the code is not valid JJ1017 (names the position). */
  error: string | null;
  description: { ja: string; en: string };
  contrast: boolean;
  elements: Array<{ element: string; ja: string; en: string; code: string; specified: boolean; known: boolean; words: { ja: string; en: string } | null }>;
  warnings: string[];
}

/** An order in lists (`GET /api/orders`). */
export interface OrderSummary {
  id: string;
  facilityId: string;
  facilityName: string;
  patient: PatientSummary;
  placerOrderNumber: string;
  accessionNumber: string;
  status: 'scheduled' | 'in-progress' | 'completed' | 'cancelled';
  priority: 'stat' | 'urgent' | 'routine';
  modality: string;
  bodyPart: string;
  procedureText: string;
  contrast: boolean;
  requestedAt: string;
  scheduledAt: string | null;
  /** new; change: created from a change that came before its new; cancel: a cancelled placeholder. */
  createdFrom: 'new' | 'change' | 'cancel';
  /** The linked study (W2), if any. */
  studyId: string | null;
}

/** `GET /api/orders?status=&modality=&priority=&facilityId=&from=&to=&limit=&offset=` (from/to: Tokyo dates of the request). */
export interface OrderList {
  total: number;
  orders: OrderSummary[];
}

/** One message received for an order, applied or not. */
export interface OrderEventView {
  id: string;
  receivedAt: string;
  messageTime: string | null;
  source: string;
  messageId: string;
  control: 'new' | 'change' | 'cancel';
  outcome: 'created' | 'created-from-change' | 'cancel-placeholder' | 'updated' | 'cancelled' | 'stale' | 'already-cancelled' | 'refused-conflict';
  version: number;
  changed: string[];
  by: string;
}

/** The study linked to an order. */
export interface LinkedStudyView {
  id: string;
  studyUid: string;
  studyDate: string;
  studyTime: string;
  modalities: string;
  description: string;
  accessionNumber: string;
  method: 'accession' | 'demographics' | 'manual';
  linkedAt: string;
  linkedBy: string;
}

/** A clinical fact as the order screen shows it (W4). */
export interface ClinicalEntry {
  id: string;
  facilityId: string;
  /** From a linked record of another facility that shares it (W3). */
  linked: boolean;
  kind: 'diagnosis' | 'allergy' | 'lab' | 'prescription' | 'injection';
  code: string;
  codeSystem: string;
  text: string;
  category: string;
  status: string;
  observedAt: string;
  value: number | null;
  unit: string;
}

/** One lab value with its date. `derived`: eGFR calculated from creatinine (日本腎臓学会 eGFRcreat). */
export interface LabPoint {
  value: number;
  unit: string;
  observedAt: string;
  facilityId: string;
  itemId: string | null;
  derived: boolean;
}

/** The newest values of a lab test, newest first, with the change from the one before. */
export interface LabTrend {
  latest: LabPoint | null;
  points: LabPoint[];
  change: number | null;
}

/** The clinical context of a patient (W4), including linked records that share it. */
export interface ClinicalSummaryView {
  diagnoses: ClinicalEntry[];
  allergies: ClinicalEntry[];
  creatinine: LabTrend;
  egfr: LabTrend;
  prescriptions: ClinicalEntry[];
  injections: ClinicalEntry[];
}

/** What a protocol warning rests on. */
export interface WarningEvidence {
  text: string;
  value: number | null;
  unit: string;
  observedAt: string | null;
  facilityId: string | null;
  itemId: string | null;
}

/** A protocol check result for an order with contrast (W4). */
export interface ProtocolWarning {
  code: 'egfr-contraindicated' | 'egfr-low' | 'egfr-unknown' | 'contrast-allergy' | 'metformin';
  severity: 'danger' | 'warning' | 'info';
  message: { ja: string; en: string };
  evidence: WarningEvidence[];
}

/** Protocol instructions on an order (W5): the current text and the earlier ones. */
export interface ProtocolView {
  text: string;
  author: string;
  recordedAt: string;
  earlier: Array<{ text: string; author: string; recordedAt: string }>;
}

/** `PUT /api/orders/:id/protocol` → ProtocolView. */
export interface ProtocolRequest {
  text: string;
}

/** One message of an order's consultation thread (W5); it stays in Enkaku (W11). */
export interface ConsultationMessage {
  id: string;
  author: string;
  roles: string;
  text: string;
  postedAt: string;
}

/** `POST /api/orders/:id/messages` → ConsultationMessage; `GET` → ConsultationMessage[]. */
export interface ConsultationPostRequest {
  text: string;
}

/** `GET /api/orders/:id`. */
export interface OrderDetail extends OrderSummary {
  fillerOrderNumber: string;
  reason: string;
  clinicalNotes: string;
  requester: { name: string; department: string };
  source: string;
  version: number;
  jj1017: Jj1017View | null;
  /** What lies outside the facility contract's service scope (modality, body part), if anything. */
  outOfScope: string[];
  /** Minutes from the study's arrival to the report for this priority (facility contract). */
  dueMinutes: number;
  optedOut: boolean;
  history: OrderEventView[];
  study: LinkedStudyView | null;
  clinical: ClinicalSummaryView;
  warnings: ProtocolWarning[];
  protocol: ProtocolView | null;
  consultation: ConsultationMessage[];
  /** Other orders of the patient at this facility, and of linked records that share them. */
  relatedOrders: OrderSummary[];
}

/**
 * `POST /api/orders`: the web form for facilities without interfaces (technologists and
 * attending physicians of the facility) → OrderFormResponse. `submissionId` (a UUID made
 * by the form) makes a repeated submission harmless.
 */
export interface OrderFormRequest {
  facilityId: string;
  submissionId?: string;
  patient: { patientId: string; issuer?: string; name?: Partial<PersonName>; sex?: string; birthDate?: string };
  placerOrderNumber?: string;
  accessionNumber?: string;
  priority: 'stat' | 'urgent' | 'routine';
  jj1017?: string;
  modality: string;
  bodyPart?: string;
  procedureText: string;
  reason: string;
  clinicalNotes?: string;
  contrast?: boolean;
  requester?: { name?: string; department?: string };
  scheduledAt?: string;
}

/** Answer to `POST /api/orders`. */
export interface OrderFormResponse {
  orderId: string;
  outcome: 'created' | 'updated' | 'cancelled' | 'duplicate';
}

/** A study waiting for its order in the reconciliation queue (W2). */
export interface UnmatchedStudyView {
  studyId: string;
  facilityId: string;
  facilityName: string;
  studyUid: string;
  studyDate: string;
  studyTime: string;
  modalities: string;
  accessionNumber: string;
  description: string;
  patient: PatientSummary;
  /** no-order: nothing matched; ambiguous: several orders matched; order-cancelled / order-linked: the accession number's order is cancelled / has its study; unlinked: a user ended its link. */
  reason: 'no-order' | 'ambiguous' | 'order-cancelled' | 'order-linked' | 'unlinked';
  candidates: number;
  queuedAt: string;
}

/** `GET /api/reconciliation?facilityId=&limit=`: unlinked studies and orders without a study. */
export interface ReconciliationQueue {
  studies: UnmatchedStudyView[];
  orders: OrderSummary[];
}

/** `POST /api/reconciliation/link` → LinkedStudyView. */
export interface ReconcileLinkRequest {
  studyId: string;
  orderId: string;
}

/** `POST /api/reconciliation/unlink`. */
export interface ReconcileUnlinkRequest {
  studyId: string;
  reason?: string;
}
