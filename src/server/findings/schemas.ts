/**
 * Validation of the findings requests (contract: src/shared/findings.ts). Anything malformed
 * is refused with a 400 that names the field, and nothing is written.
 */
import {
  FINDING_CATEGORIES,
  type CancelFindingRequest,
  type FindingCategory,
  type FindingListStatus,
  type FindingSettingsRequest,
  type FollowUpRequest,
  type PhoneContactRequest,
  type RaiseFindingRequest,
} from '../../shared/findings.ts';
import { AppError } from '../platform/errors.ts';

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** A trimmed string field; `multiline` allows line breaks. */
export function text(v: unknown, field: string, max: number, opts: { required?: boolean; multiline?: boolean } = {}): string {
  if (v === undefined || v === null) {
    if (opts.required) bad(`${field} is required`);
    return '';
  }
  if (typeof v !== 'string') bad(`${field} must be a string`);
  const t = v.replace(/\r\n?/g, '\n').trim();
  if (opts.required && !t) bad(`${field} is required`);
  if (t.length > max) bad(`${field} must be at most ${max} characters`);
  if (CONTROL.test(t) || (!opts.multiline && t.includes('\n'))) bad(`${field} must not contain control characters${opts.multiline ? '' : ' or line breaks'}`);
  return t;
}

/** A calendar date YYYY-MM-DD that exists. */
export function date(v: unknown, field: string): string {
  if (typeof v !== 'string' || !DATE.test(v)) bad(`${field} must be a date YYYY-MM-DD`);
  const d = new Date(`${v}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) bad(`${field} is not a calendar date`);
  return v;
}

function category(v: unknown): FindingCategory {
  if (!FINDING_CATEGORIES.includes(v as FindingCategory)) bad(`category must be one of ${FINDING_CATEGORIES.join(', ')}`);
  return v as FindingCategory;
}

/** `POST /api/findings`. */
export function raiseRequest(body: unknown): RaiseFindingRequest {
  const b = object(body ?? {}, 'the request body');
  const studyUid = text(b.studyUid, 'studyUid', 64, { required: true });
  if (!/^[0-9.]+$/.test(studyUid)) bad('studyUid must be a DICOM UID');
  const c = category(b.category);
  const out: RaiseFindingRequest = { studyUid, category: c, message: text(b.message, 'message', 1000, { required: true, multiline: true }) };
  if (b.followUpDueOn !== undefined && b.followUpDueOn !== null) {
    if (c !== 'incidental') bad('followUpDueOn is for incidental findings only');
    out.followUpDueOn = date(b.followUpDueOn, 'followUpDueOn');
  }
  if (b.reportId !== undefined && b.reportId !== null) out.reportId = text(b.reportId, 'reportId', 64, { required: true });
  return out;
}

const OUTCOMES: ReadonlyArray<PhoneContactRequest['outcome']> = ['reached', 'no-answer', 'left-message'];

/** `POST /api/findings/:id/phone`. */
export function phoneRequest(body: unknown): Omit<PhoneContactRequest, 'at'> & { at: string | null } {
  const b = object(body ?? {}, 'the request body');
  if (!OUTCOMES.includes(b.outcome as PhoneContactRequest['outcome'])) bad(`outcome must be one of ${OUTCOMES.join(', ')}`);
  const outcome = b.outcome as PhoneContactRequest['outcome'];
  const readBack = text(b.readBack, 'readBack', 2000, { multiline: true, required: outcome === 'reached' });
  const phone = text(b.phone, 'phone', 40);
  if (phone && !/^[0-9+\-() ]+$/.test(phone)) bad('phone must hold digits, spaces, +, - and parentheses only');
  let at: string | null = null;
  if (b.at !== undefined && b.at !== null) {
    if (typeof b.at !== 'string' || Number.isNaN(Date.parse(b.at))) bad('at must be an ISO 8601 time');
    at = new Date(b.at).toISOString();
  }
  return {
    calledName: text(b.calledName, 'calledName', 100, { required: true }),
    calledRole: text(b.calledRole, 'calledRole', 100),
    phone,
    readBack,
    outcome,
    at,
  };
}

const FOLLOW_UP_STATES: ReadonlyArray<FollowUpRequest['state']> = ['exam-ordered', 'referred', 'not-needed'];

/** `POST /api/findings/:id/follow-up`. */
export function followUpRequest(body: unknown): FollowUpRequest {
  const b = object(body ?? {}, 'the request body');
  if (!FOLLOW_UP_STATES.includes(b.state as FollowUpRequest['state'])) bad(`state must be one of ${FOLLOW_UP_STATES.join(', ')}`);
  const state = b.state as FollowUpRequest['state'];
  // Judging a follow-up unnecessary needs its reason on record.
  return { state, note: text(b.note, 'note', 2000, { multiline: true, required: state === 'not-needed' }) };
}

/** `POST /api/findings/:id/cancel`. */
export function cancelRequest(body: unknown): CancelFindingRequest {
  const b = object(body ?? {}, 'the request body');
  return { reason: text(b.reason, 'reason', 500, { required: true, multiline: true }) };
}

/** The query of `GET /api/findings`. */
export interface ListQuery {
  status: FindingListStatus;
  facilityId: string | null;
  category: FindingCategory | null;
  studyUid: string | null;
  reportId: string | null;
  limit: number;
  offset: number;
}

function count(v: unknown, field: string, fallback: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) bad(`${field} must be a whole number from 0 to ${max}`);
  return n;
}

/** `GET /api/findings?status=&overdue=&facilityId=&category=&studyUid=&reportId=&limit=&offset=`. */
export function listQuery(q: Record<string, unknown>): ListQuery {
  let status = (q.status ?? 'open') as FindingListStatus;
  if (!['open', 'overdue', 'all'].includes(status)) bad('status must be open, overdue or all');
  if (q.overdue !== undefined && q.overdue !== 'false') {
    if (q.overdue !== 'true') bad('overdue must be true or false');
    status = 'overdue';
  }
  return {
    status,
    facilityId: q.facilityId ? text(q.facilityId, 'facilityId', 64) : null,
    category: q.category ? category(q.category) : null,
    studyUid: q.studyUid ? text(q.studyUid, 'studyUid', 64) : null,
    reportId: q.reportId ? text(q.reportId, 'reportId', 64) : null,
    limit: Math.max(1, count(q.limit, 'limit', 100, 500)),
    offset: count(q.offset, 'offset', 0, 1_000_000),
  };
}

const MAX_MINUTES = 525_600;

function minutes(v: unknown, field: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_MINUTES) bad(`${field} must be a whole number of minutes from 1 to ${MAX_MINUTES}, or null for the default`);
  return v;
}

/** `PUT /api/findings/settings/:facilityId`: only the fields present are returned. */
export function settingsRequest(body: unknown): FindingSettingsRequest {
  const b = object(body ?? {}, 'the request body');
  const known = ['ackMinutes', 'followUpDays', 'webhookUrl', 'emails', 'sms'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) bad(`unknown setting ${unknown[0]}`);
  const out: FindingSettingsRequest = {};
  if (b.ackMinutes !== undefined) {
    const a = object(b.ackMinutes, 'ackMinutes');
    out.ackMinutes = {};
    for (const c of FINDING_CATEGORIES) if (a[c] !== undefined) out.ackMinutes[c] = minutes(a[c], `ackMinutes.${c}`);
  }
  if (b.followUpDays !== undefined) {
    if (b.followUpDays !== null && (typeof b.followUpDays !== 'number' || !Number.isInteger(b.followUpDays) || b.followUpDays < 1 || b.followUpDays > 3650)) bad('followUpDays must be a whole number from 1 to 3650, or null');
    out.followUpDays = b.followUpDays as number | null;
  }
  if (b.webhookUrl !== undefined) {
    if (b.webhookUrl === null) out.webhookUrl = null;
    else {
      const raw = text(b.webhookUrl, 'webhookUrl', 500, { required: true });
      let url: URL | undefined;
      try {
        url = new URL(raw);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) bad('webhookUrl must be an http(s) URL');
      out.webhookUrl = url.toString();
    }
  }
  if (b.emails !== undefined) {
    if (b.emails === null) out.emails = null;
    else {
      if (!Array.isArray(b.emails) || b.emails.length > 20) bad('emails must be a list of at most 20 addresses, or null');
      out.emails = b.emails.map((e, i) => {
        const a = text(e, `emails[${i}]`, 254, { required: true });
        if (!/^[^\s@,<>]+@[^\s@,<>]+$/.test(a)) bad(`emails[${i}] is not an email address`);
        return a;
      });
    }
  }
  if (b.sms !== undefined) {
    if (b.sms !== null && typeof b.sms !== 'boolean') bad('sms must be true, false or null');
    out.sms = b.sms as boolean | null;
  }
  return out;
}
