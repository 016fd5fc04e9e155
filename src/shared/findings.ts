/**
 * The critical and incidental findings contract (C1, C2, C3, L3, W11): `/api/findings/...`.
 * A finding is raised by the reader of a study; a notice goes to the attending physician and
 * the facility's contact ladder, stays open until a recipient acknowledges it in Enkaku, and
 * escalates on a durable timer when nobody does. Incidental findings carry a follow-up.
 * Times are UTC ISO 8601 strings.
 */

/** critical: minutes; urgent: hours; incidental: days to months (follow-up). */
export type FindingCategory = 'critical' | 'urgent' | 'incidental';
export const FINDING_CATEGORIES: readonly FindingCategory[] = ['critical', 'urgent', 'incidental'];

/** open: waiting for acknowledgement; acknowledged: a recipient confirmed in Enkaku; cancelled: withdrawn by the reader with a reason. */
export type NoticeStatus = 'open' | 'acknowledged' | 'cancelled';

/** Follow-up of an incidental finding (C3). */
export type FollowUpState = 'pending' | 'exam-ordered' | 'referred' | 'not-needed';

/** `POST /api/findings`: raise a finding on a study (also before the report is final: a preliminary notice). */
export interface RaiseFindingRequest {
  studyUid: string;
  category: FindingCategory;
  /** Short, shown in the alert (on Enkaku screens only; outside channels never carry it). */
  message: string;
  /** For incidental findings: when the follow-up is due (YYYY-MM-DD); default from the contract. */
  followUpDueOn?: string;
  /** The report it belongs to, when there is one. */
  reportId?: string;
}

/** Someone told about a finding, in ladder order. */
export interface NoticeRecipientView {
  /** Step of the ladder (0 = the attending physician / requester, then the contract's contact ladder). */
  step: number;
  name: string;
  role: string;
  /** The Enkaku user, when the contact has an account (in-app alert); null for phone-only contacts. */
  userId: string | null;
  notifiedAt: string | null;
}

/** One telephone contact logged against a finding (C1): who called whom, when, and the read-back. */
export interface PhoneContactView {
  id: string;
  calledBy: { id: string; name: string };
  calledName: string;
  calledRole: string;
  phone: string;
  at: string;
  /** What the called person read back (read-back confirms the message was understood). */
  readBack: string;
  outcome: 'reached' | 'no-answer' | 'left-message';
}

/** One step of the notice's history: raised, notified, escalated, acknowledged, phone, follow-up. */
export interface FindingEventView {
  at: string;
  kind: 'raised' | 'notified' | 'escalated' | 'acknowledged' | 'phone' | 'follow-up' | 'cancelled' | 'channel';
  /** Who acted or was told (names, never patient data). */
  actor: string;
  detail: string;
  /** The ladder step it concerns (added by the server; optional for older clients). */
  step?: number;
  /** in-app | webhook | email | sms | phone, where it applies. */
  channel?: string | null;
  /** For channel attempts: delivered | failed. */
  outcome?: string | null;
}

/** A finding with its notice, as its recipients, its reader and the management physician see it. */
export interface FindingView {
  id: string;
  studyUid: string;
  facilityId: string;
  facilityName: string;
  category: FindingCategory;
  message: string;
  raisedBy: { id: string; name: string };
  raisedAt: string;
  reportId: string | null;
  status: NoticeStatus;
  /** When the current step's time runs out and the notice escalates (null once acknowledged). */
  deadlineAt: string | null;
  /** The ladder step now responsible (0-based), and how many escalations happened. */
  step: number;
  escalations: number;
  recipients: NoticeRecipientView[];
  acknowledgedBy: { id: string; name: string } | null;
  acknowledgedAt: string | null;
  phoneContacts: PhoneContactView[];
  followUp: { state: FollowUpState; dueOn: string; recordedBy: string | null; recordedAt: string | null; note: string } | null;
  events: FindingEventView[];
}

/** `POST /api/findings/:id/phone`. */
export interface PhoneContactRequest {
  calledName: string;
  calledRole: string;
  phone: string;
  readBack: string;
  outcome: 'reached' | 'no-answer' | 'left-message';
  /** When the call was made (ISO 8601); default: when it is recorded. */
  at?: string;
}

/** `POST /api/findings/:id/follow-up`: the facility records the action taken (C3). */
export interface FollowUpRequest {
  state: Exclude<FollowUpState, 'pending'>;
  note: string;
}

/**
 * An in-app alert pushed to a recipient's open screens (`GET /api/findings/events`, SSE
 * `event: finding`): enough to show the alert and play the sound; the screen fetches the
 * finding to show more.
 */
export interface FindingAlertEvent {
  type: 'raised' | 'escalated' | 'acknowledged' | 'cancelled';
  findingId: string;
  category: FindingCategory;
  facilityName: string;
  deadlineAt: string | null;
}

/** `GET /api/findings/stats`: the management view (L3). */
export interface FindingStats {
  open: number;
  overdue: number;
  /** Minutes from raise to acknowledgement: median and p90, per facility and per reader. */
  byFacility: Array<{ facilityId: string; facilityName: string; count: number; medianAckMinutes: number | null; p90AckMinutes: number | null; open: number; overdue: number }>;
  byReader: Array<{ readerId: string; readerName: string; count: number; medianAckMinutes: number | null }>;
  /** Incidental follow-ups: completed, pending, overdue. */
  followUps: { completed: number; pending: number; overdue: number };
}

// ---------------------------------------------------------------------------------------
// Additions of the server side (issue 8): cancelling, the periodic follow-up review and the
// per-facility settings. Nothing above changes.

/**
 * `GET /api/findings` answers `FindingView[]`, newest first. Query: `status` open (default) |
 * overdue | all (`overdue=true` is the same as `status=overdue`), `facilityId`, `category`,
 * `studyUid`, `reportId`, `limit` (default 100, at most 500), `offset`. Overdue: an open notice that missed a
 * deadline, or an incidental follow-up still pending after its due date.
 */
export type FindingListStatus = 'open' | 'overdue' | 'all';

/** `POST /api/findings/:id/cancel`: the reader (or the management physician) withdraws the notice. */
export interface CancelFindingRequest {
  reason: string;
}

/** One still-open follow-up listed by a periodic review (ids and dates only, no patient data). */
export interface FindingReviewItem {
  findingId: string;
  category: FindingCategory;
  raisedAt: string;
  raisedBy: string;
  /** YYYY-MM-DD. */
  dueOn: string;
  overdue: boolean;
}

/** `GET /api/findings/reviews`: the periodic review of a facility's open follow-ups (C3), newest first. */
export interface FindingReviewView {
  id: string;
  facilityId: string;
  facilityName: string;
  /** The period reviewed: `YYYY-MM` (monthly) or the date of the review (`YYYY-MM-DD`). */
  period: string;
  generatedAt: string;
  open: number;
  overdue: number;
  items: FindingReviewItem[];
}

/**
 * `GET|PUT /api/findings/settings/:facilityId`: acknowledgement minutes per ladder step and
 * category, the follow-up period, and the outside channels of a facility. A `null` field in
 * an answer means the server-wide default applies (shown in `effective`). A PUT changes the
 * fields it names; system administrators and the management physician change all of them,
 * the facility's administrators its channels only.
 */
export interface FindingSettingsView {
  facilityId: string;
  ackMinutes: { critical: number | null; urgent: number | null; incidental: number | null };
  followUpDays: number | null;
  /** The facility's webhook; null: the server-wide ENKAKU_FINDINGS_WEBHOOK_URL, if any. */
  webhookUrl: string | null;
  /** Addresses that get the email prompt; null: the server-wide ENKAKU_FINDINGS_EMAIL_TO. */
  emails: string[] | null;
  /** SMS prompts to the phone numbers of the contact ladder (when a gateway is configured). */
  sms: boolean | null;
  effective: {
    ackMinutes: { critical: number; urgent: number; incidental: number };
    followUpDays: number;
    webhookUrl: string | null;
    emails: string[];
    sms: boolean;
    /** Which outside channels the server can use at all (configured transports). */
    transports: { webhook: boolean; email: boolean; sms: boolean };
  };
  updatedAt: string | null;
  updatedBy: string | null;
}

/** `PUT /api/findings/settings/:facilityId` body: any subset of the fields; null returns a field to the default. */
export interface FindingSettingsRequest {
  ackMinutes?: { critical?: number | null; urgent?: number | null; incidental?: number | null };
  followUpDays?: number | null;
  webhookUrl?: string | null;
  emails?: string[] | null;
  sms?: boolean | null;
}
