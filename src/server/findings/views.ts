/**
 * How findings are shown: the view of a notice with its recipients, telephone log and
 * history (FindingView), the management statistics (FindingStats, L3) and the communication
 * record that a report carries (ReportCommunication, issue 8 "Record").
 */
import type { FindingCategory, FindingStats, FindingView, FollowUpState, NoticeStatus } from '../../shared/findings.ts';
import type { ReportCommunication } from '../reports/document.ts';
import type { EventRow, Executor, FindingRepository, FindingRow, PhoneRow, RecipientRow } from './repository.ts';

function group<T extends { finding_id: string }>(rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.finding_id) ?? [];
    list.push(r);
    out.set(r.finding_id, list);
  }
  return out;
}

/** Views of findings (their recipients, phone contacts and events read in three queries). */
export async function findingViews(repo: FindingRepository, ex: Executor, rows: FindingRow[]): Promise<FindingView[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [recipients, phones, events, names] = await Promise.all([repo.recipients(ex, ids), repo.phones(ex, ids), repo.events(ex, ids), repo.facilityNames(rows.map((r) => r.facility_id))]);
  const rec = group(recipients);
  const ph = group(phones);
  const ev = group(events);
  return rows.map((f) => view(f, names.get(f.facility_id) ?? '', rec.get(f.id) ?? [], ph.get(f.id) ?? [], ev.get(f.id) ?? []));
}

function view(f: FindingRow, facilityName: string, recipients: RecipientRow[], phones: PhoneRow[], events: EventRow[]): FindingView {
  return {
    id: f.id,
    studyUid: f.study_uid,
    facilityId: f.facility_id,
    facilityName,
    category: f.category as FindingCategory,
    message: f.message,
    raisedBy: { id: f.raised_by, name: f.raised_by_name },
    raisedAt: f.raised_at,
    reportId: f.report_id,
    status: f.status as NoticeStatus,
    deadlineAt: f.status === 'open' ? f.deadline_at : null,
    step: f.step,
    escalations: f.escalations,
    recipients: recipients.map((r) => ({ step: r.step, name: r.name, role: r.role, userId: r.user_id, notifiedAt: r.notified_at })),
    acknowledgedBy: f.acknowledged_by ? { id: f.acknowledged_by, name: f.acknowledged_by_name ?? '' } : null,
    acknowledgedAt: f.acknowledged_at,
    phoneContacts: phones.map((p) => ({
      id: p.id,
      calledBy: { id: p.called_by, name: p.called_by_name },
      calledName: p.called_name,
      calledRole: p.called_role,
      phone: p.phone,
      at: p.at,
      readBack: p.read_back,
      outcome: p.outcome as 'reached' | 'no-answer' | 'left-message',
    })),
    followUp:
      f.follow_up_state && f.follow_up_due_on
        ? { state: f.follow_up_state as FollowUpState, dueOn: f.follow_up_due_on, recordedBy: f.follow_up_by_name, recordedAt: f.follow_up_at, note: f.follow_up_note }
        : null,
    events: events.map((e) => ({ at: e.at, kind: e.kind as FindingView['events'][number]['kind'], actor: e.actor, detail: e.detail, step: e.step, channel: e.channel, outcome: e.outcome })),
  };
}

/** Whether an open notice missed a deadline, or a follow-up is past its due date. */
export function isOverdue(f: Pick<FindingRow, 'status' | 'escalations' | 'deadline_at' | 'follow_up_state' | 'follow_up_due_on'>, now: string, today: string): boolean {
  return noticeOverdue(f, now) || followUpOverdue(f, today);
}

function noticeOverdue(f: Pick<FindingRow, 'status' | 'escalations' | 'deadline_at'>, now: string): boolean {
  return f.status === 'open' && (f.escalations > 0 || (f.deadline_at !== null && f.deadline_at < now));
}

function followUpOverdue(f: Pick<FindingRow, 'status' | 'follow_up_state' | 'follow_up_due_on'>, today: string): boolean {
  return f.status !== 'cancelled' && f.follow_up_state === 'pending' && f.follow_up_due_on !== null && f.follow_up_due_on < today;
}

/** The q-quantile (0..1) of sorted numbers by linear interpolation; null when empty. */
export function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const v = sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  return Math.round(v * 10) / 10;
}

type StatsRow = Awaited<ReturnType<FindingRepository['forStats']>>[number];

/** The management view (L3) over the findings given (not cancelled). */
export function statsOf(rows: StatsRow[], facilityNames: Map<string, string>, now: string, today: string): FindingStats {
  const ackMinutes = (r: StatsRow): number | null => (r.acknowledged_at ? (Date.parse(r.acknowledged_at) - Date.parse(r.raised_at)) / 60_000 : null);
  const facilities = new Map<string, StatsRow[]>();
  const readers = new Map<string, StatsRow[]>();
  const groupInto = (map: Map<string, StatsRow[]>, key: string, r: StatsRow): void => {
    const list = map.get(key);
    if (list) list.push(r);
    else map.set(key, [r]);
  };
  for (const r of rows) {
    groupInto(facilities, r.facility_id, r);
    groupInto(readers, r.raised_by, r);
  }
  const acks = (list: StatsRow[]): number[] => list.map(ackMinutes).filter((m): m is number => m !== null).sort((a, b) => a - b);
  const followUps = rows.filter((r) => r.follow_up_state !== null);
  return {
    open: rows.filter((r) => r.status === 'open').length,
    overdue: rows.filter((r) => isOverdue(r, now, today)).length,
    byFacility: [...facilities.entries()]
      .map(([facilityId, list]) => ({
        facilityId,
        facilityName: facilityNames.get(facilityId) ?? '',
        count: list.length,
        medianAckMinutes: quantile(acks(list), 0.5),
        p90AckMinutes: quantile(acks(list), 0.9),
        open: list.filter((r) => r.status === 'open').length,
        overdue: list.filter((r) => isOverdue(r, now, today)).length,
      }))
      .sort((a, b) => a.facilityName.localeCompare(b.facilityName, 'ja') || a.facilityId.localeCompare(b.facilityId)),
    byReader: [...readers.entries()]
      .map(([readerId, list]) => ({ readerId, readerName: list[0]!.raised_by_name, count: list.length, medianAckMinutes: quantile(acks(list), 0.5) }))
      .sort((a, b) => a.readerName.localeCompare(b.readerName, 'ja') || a.readerId.localeCompare(b.readerId)),
    followUps: {
      completed: followUps.filter((r) => r.follow_up_state !== 'pending').length,
      pending: followUps.filter((r) => r.follow_up_state === 'pending').length,
      overdue: followUps.filter((r) => followUpOverdue(r, today)).length,
    },
  };
}

const OUTCOME_JA: Record<string, string> = { reached: '応答あり', 'no-answer': '応答なし', 'left-message': '伝言' };
const CHANNEL_JA: Record<string, string> = { webhook: 'Webhook', email: 'メール', sms: 'SMS' };

/**
 * The communication record of a report's findings, oldest first: for each finding, one
 * entry per ladder step that was notified (in-app alert, with the outside channels that
 * delivered a prompt for that step) and one per telephone contact (with its outcome and
 * read-back). Cancelled notices are left out. `acknowledgedAt` is the notice's.
 */
export async function communicationsOf(repo: FindingRepository, ex: Executor, reportId: string): Promise<ReportCommunication[]> {
  const rows = (await repo.ofReport(ex, reportId)).filter((f) => f.status !== 'cancelled');
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [recipients, phones, events] = await Promise.all([repo.recipients(ex, ids), repo.phones(ex, ids), repo.events(ex, ids)]);
  const out: Array<ReportCommunication & { order: string }> = [];
  for (const f of rows) {
    const mine = recipients.filter((r) => r.finding_id === f.id && r.notified_at);
    for (const step of [...new Set(mine.map((r) => r.step))].sort((a, b) => a - b)) {
      const people = mine.filter((r) => r.step === step);
      const at = people.map((r) => r.notified_at!).sort()[0]!;
      const outside = [...new Set(events.filter((e) => e.finding_id === f.id && e.kind === 'channel' && e.outcome === 'delivered' && e.step === step && e.channel).map((e) => CHANNEL_JA[e.channel!] ?? e.channel!))];
      const acknowledger = f.acknowledged_by && people.some((r) => r.user_id === f.acknowledged_by) ? `（確認: ${f.acknowledged_by_name ?? ''}）` : '';
      out.push({
        order: `${at}|${f.id}|a${step}`,
        category: f.category,
        message: f.message,
        recipient: `${people.map((r) => `${r.name}（${r.role}）`).join('、')}${acknowledger}`,
        channel: ['Enkaku 通知', ...outside].join(' / '),
        at,
        acknowledgedAt: f.acknowledged_at,
      });
    }
    for (const p of phones.filter((x) => x.finding_id === f.id)) {
      out.push({
        order: `${p.at}|${f.id}|p${p.id}`,
        category: f.category,
        message: p.read_back ? `${f.message}\n復唱: ${p.read_back}` : f.message,
        recipient: p.called_role ? `${p.called_name}（${p.called_role}）` : p.called_name,
        channel: `電話（${OUTCOME_JA[p.outcome] ?? p.outcome}、発信 ${p.called_by_name}）`,
        at: p.at,
        acknowledgedAt: f.acknowledged_at,
      });
    }
  }
  return out.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)).map(({ order: _order, ...c }) => c);
}
