/**
 * Durable timers and outside prompts of finding notices (C2, C3, W11), as jobs of the durable
 * queue (platform/outbox), so that they survive restarts and, on PostgreSQL, run once in a
 * cluster (claims use FOR UPDATE SKIP LOCKED):
 *
 * - `finding.escalate`, key `<findingId>:<n>`, run after the deadline: the n-th escalation.
 *   It moves an open notice to the next ladder step (at the last step, the management
 *   physicians, it notifies that step again), sets the next deadline, queues the next timer
 *   and the step's prompts, and alerts the step's open screens, all in one transaction. It
 *   acts only if the notice is still open and has had exactly n − 1 escalations (a guarded
 *   UPDATE), so a timer that runs twice (a crash after the work but before the job was
 *   marked done) or after an acknowledgement changes nothing.
 * - `finding.notify`, key `<findingId>:<n>:<channel>:<target hash>`: one prompt of the n-th
 *   notification (0 = raised) over a webhook, email or SMS. Each attempt is recorded as a
 *   `channel` event of the finding and audited; failures are retried with the queue's backoff.
 *   A prompt for a notice acknowledged meanwhile is not sent.
 * - `finding.review`, key `monthly:<YYYY-MM>` (or `every-<N>d:<n>`): the periodic review of
 *   open follow-ups per facility; each run stores its reviews and queues the next one.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { FindingAlertEvent, FindingCategory, FindingReviewItem } from '../../shared/findings.ts';
import type { AuditService } from '../audit/index.ts';
import type { Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/schema.ts';
import type { Logger } from '../platform/log.ts';
import type { JobContext, JobHandler, JobQueue } from '../platform/outbox/index.ts';
import { tokyoDate } from '../security/index.ts';
import { findingUrl, outsideMessage, smsNumber, type ChannelTransports, type OutsideChannel } from './channels.ts';
import type { FindingEvents } from './events.ts';
import type { FindingRepository, FindingRow, RecipientRow } from './repository.ts';
import { effectiveSettings, type EffectiveSettings, type FindingsDefaults } from './settings.ts';

/** Job kinds of the findings module. */
export const ESCALATE_JOB = 'finding.escalate';
export const NOTIFY_JOB = 'finding.notify';
export const REVIEW_JOB = 'finding.review';

/** Attempts of one outside prompt (with the queue's backoff: about 15 minutes in all). */
export const PROMPT_MAX_ATTEMPTS = 6;

/** Work done by Enkaku itself. */
export const FINDINGS_SYSTEM: Actor = { kind: 'system', name: 'findings' };

/** What the findings service and its jobs share. */
export interface FindingsContext {
  db: Kysely<Database>;
  repo: FindingRepository;
  audit: AuditService<Database>;
  queue: JobQueue;
  events: FindingEvents;
  transports: ChannelTransports;
  defaults: FindingsDefaults;
  publicUrl: string | undefined;
  log: Logger;
  now: () => Date;
}

type Trx = Transaction<Database>;

/** Users of one step (in-app alerts). */
export function stepUsers(recipients: RecipientRow[], step: number): string[] {
  return [...new Set(recipients.filter((r) => r.step === step && r.user_id).map((r) => r.user_id!))];
}

/** Users told so far (they get the acknowledgement and the cancellation). */
export function notifiedUsers(recipients: RecipientRow[]): string[] {
  return [...new Set(recipients.filter((r) => r.notified_at && r.user_id).map((r) => r.user_id!))];
}

/** Names of a step's people, for the history ("佐藤 花子（主治医）、…"). */
export function stepNames(recipients: RecipientRow[], step: number): string {
  return recipients.filter((r) => r.step === step).map((r) => `${r.name}（${r.role}）`).join('、');
}

/** The alert of a finding as it is now. */
export function alertOf(f: FindingRow, type: FindingAlertEvent['type'], facilityName: string): FindingAlertEvent {
  return { type, findingId: f.id, category: f.category as FindingCategory, facilityName, deadlineAt: f.status === 'open' ? f.deadline_at : null };
}

/** Queues the timer of the finding's next escalation at its deadline (in the caller's transaction). */
export async function enqueueTimer(ctx: FindingsContext, trx: Trx, f: FindingRow): Promise<void> {
  if (f.status !== 'open' || !f.deadline_at || f.steps === 0) return;
  const n = f.escalations + 1;
  await ctx.queue.enqueue(trx, { kind: ESCALATE_JOB, key: `${f.id}:${n}`, facilityId: f.facility_id, payload: { findingId: f.id, escalation: n }, runAfter: new Date(f.deadline_at), maxAttempts: 100 });
}

/** The outside prompts of one notification: what goes where (nothing when no transport is set). */
export function promptTargets(ctx: FindingsContext, settings: EffectiveSettings, recipients: RecipientRow[], step: number): Array<{ channel: OutsideChannel; target: string }> {
  const out: Array<{ channel: OutsideChannel; target: string }> = [];
  // The webhook's URL is looked up when sending: it may hold a secret, and job payloads are shown to users.
  if (settings.webhookUrl && ctx.transports.available.webhook) out.push({ channel: 'webhook', target: 'webhook' });
  if (ctx.transports.available.email) for (const e of new Set(settings.emails)) out.push({ channel: 'email', target: e });
  if (ctx.transports.available.sms && settings.sms) {
    const numbers = recipients.filter((r) => r.step === step).map((r) => smsNumber(r.phone)).filter((n): n is string => Boolean(n));
    for (const n of new Set(numbers)) out.push({ channel: 'sms', target: n });
  }
  return out;
}

/** Queues the outside prompts of the n-th notification of a finding (in the caller's transaction). */
export async function enqueuePrompts(ctx: FindingsContext, trx: Trx, f: FindingRow, n: number, targets: Array<{ channel: OutsideChannel; target: string }>): Promise<void> {
  for (const { channel, target } of targets) {
    const hash = createHash('sha256').update(target).digest('hex').slice(0, 16);
    await ctx.queue.enqueue(trx, {
      kind: NOTIFY_JOB,
      key: `${f.id}:${n}:${channel}:${hash}`,
      facilityId: f.facility_id,
      payload: { findingId: f.id, notification: n, step: f.step, channel, target },
      maxAttempts: PROMPT_MAX_ATTEMPTS,
    });
  }
}

/**
 * The n-th escalation of a notice (the `finding.escalate` job): see the module notes.
 * @returns what happened, stored as the job's progress
 */
export async function escalate(ctx: FindingsContext, findingId: string, n: number): Promise<Record<string, unknown>> {
  const before = await ctx.repo.finding(ctx.db, findingId);
  if (!before) return { skipped: 'no such finding' };
  if (before.status !== 'open' || before.escalations !== n - 1 || before.steps === 0) return { skipped: before.status !== 'open' ? before.status : 'already escalated' };
  // Lookups before the transaction: SQLite has one connection, which the transaction holds.
  const settings = await effectiveSettings(ctx.repo, ctx.defaults, before.facility_id);
  const facilityName = (await ctx.repo.facilityName(before.facility_id)) ?? '';
  const at = ctx.now();
  const iso = at.toISOString();
  const next = Math.min(before.step + 1, before.steps - 1);
  const repeat = next === before.step;
  const deadline = new Date(at.getTime() + before.step_seconds * 1000).toISOString();
  return ctx.db.transaction().execute(async (trx) => {
    const f = await trx
      .updateTable('findings')
      .set((eb) => ({ step: next, escalations: n, deadline_at: deadline, version: eb('version', '+', 1), updated_at: iso }))
      .where('id', '=', findingId)
      .where('status', '=', 'open')
      .where('escalations', '=', n - 1)
      .returningAll()
      .executeTakeFirst();
    if (!f) return { skipped: 'acknowledged or escalated meanwhile' };
    await ctx.repo.markNotified(trx, f.id, next, iso);
    const recipients = await ctx.repo.recipients(trx, [f.id]);
    const missed = before.deadline_at ?? iso;
    await ctx.repo.addEvent(trx, {
      finding_id: f.id,
      at: iso,
      kind: 'escalated',
      step: next,
      channel: null,
      outcome: null,
      actor: 'Enkaku',
      detail: repeat
        ? `未確認のため最終段階に再通知（期限 ${missed}） / not acknowledged by ${missed}: last step notified again`
        : `未確認のため段階 ${before.step} → ${next} にエスカレーション（期限 ${missed}） / not acknowledged by ${missed}: step ${before.step} → ${next}`,
    });
    await ctx.repo.addEvent(trx, { finding_id: f.id, at: iso, kind: 'notified', step: next, channel: 'in-app', outcome: null, actor: stepNames(recipients, next), detail: `Enkaku 通知（段階 ${next}） / in-app alert, step ${next}` });
    await ctx.audit.append(trx, {
      actor: FINDINGS_SYSTEM,
      action: 'finding.escalate',
      object: { type: 'finding', id: f.id },
      facilityId: f.facility_id,
      patientRef: f.patient_ref,
      details: { escalation: n, fromStep: before.step, toStep: next, repeat, missedDeadline: missed, deadline, recipients: recipients.filter((r) => r.step === next).length },
    });
    await enqueueTimer(ctx, trx, f);
    await enqueuePrompts(ctx, trx, f, n, promptTargets(ctx, settings, recipients, next));
    // Everyone told so far (the earlier steps too: their alert shows the new step) and the reader.
    await ctx.events.publish(trx, { alert: alertOf(f, 'escalated', facilityName), userIds: [...notifiedUsers(recipients), f.raised_by], version: f.version });
    return { escalation: n, fromStep: before.step, toStep: next, deadline };
  });
}

const CHANNEL_LABEL: Record<OutsideChannel, string> = { webhook: 'Webhook', email: 'メール', sms: 'SMS' };

/** How a target appears in the history: a webhook by its host only (its path may hold a secret). */
function describeTarget(channel: OutsideChannel, target: string): string {
  if (channel !== 'webhook') return target;
  try {
    return new URL(target).host;
  } catch {
    return 'webhook';
  }
}

/** Records one attempt of a prompt: an event of the finding and an audit entry, in one transaction. */
async function recordAttempt(ctx: FindingsContext, job: JobContext, p: { findingId: string; notification: number; step: number; channel: OutsideChannel; target: string }, outcome: 'delivered' | 'failed', detail: string): Promise<void> {
  const iso = ctx.now().toISOString();
  await ctx.db.transaction().execute(async (trx) => {
    const f = await ctx.repo.lock(trx, p.findingId, iso);
    if (!f) return;
    await ctx.repo.addEvent(trx, {
      finding_id: f.id,
      at: iso,
      kind: 'channel',
      step: p.step,
      channel: p.channel,
      outcome,
      actor: 'Enkaku',
      detail: `${CHANNEL_LABEL[p.channel]} → ${describeTarget(p.channel, p.target)}: ${outcome === 'delivered' ? '送信済み / sent' : '失敗 / failed'} (${detail}; attempt ${job.attempt})`,
    });
    await ctx.audit.append(trx, {
      actor: FINDINGS_SYSTEM,
      action: 'finding.channel',
      object: { type: 'finding', id: f.id },
      facilityId: f.facility_id,
      patientRef: f.patient_ref,
      outcome: outcome === 'delivered' ? 'success' : 'failure',
      details: { channel: p.channel, notification: p.notification, step: p.step, attempt: job.attempt, jobId: job.job.id, ...(outcome === 'failed' ? { reason: detail } : {}) },
    });
  });
}

/** One attempt of an outside prompt (the `finding.notify` job). */
export async function sendPrompt(ctx: FindingsContext, job: JobContext): Promise<Record<string, unknown>> {
  const p = {
    findingId: String(job.payload.findingId),
    notification: Number(job.payload.notification),
    step: Number(job.payload.step),
    channel: job.payload.channel as OutsideChannel,
    target: String(job.payload.target),
  };
  const f = await ctx.repo.finding(ctx.db, p.findingId);
  if (!f) return { skipped: 'no such finding' };
  if (f.status !== 'open') return { skipped: `not sent: the notice was ${f.status} meanwhile` };
  // W11: built from the opaque id and the category only.
  const message = outsideMessage({ findingId: f.id, category: f.category as FindingCategory, kind: p.notification === 0 ? 'raised' : 'escalated', url: findingUrl(ctx.publicUrl, f.id) });
  let webhookUrl: string | null = null;
  if (p.channel === 'webhook') {
    webhookUrl = (await effectiveSettings(ctx.repo, ctx.defaults, f.facility_id)).webhookUrl;
    if (!webhookUrl) return { skipped: 'no webhook configured any more' };
  }
  let detail: string;
  try {
    if (p.channel === 'webhook') detail = await ctx.transports.webhook(webhookUrl!, message, job.signal);
    else if (p.channel === 'email') detail = await ctx.transports.email(p.target, message);
    else if (p.channel === 'sms') detail = await ctx.transports.sms(p.target, message, job.signal);
    else return { skipped: `unknown channel ${String(p.channel)}` };
  } catch (err) {
    const reason = ((err as Error)?.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 200);
    await recordAttempt(ctx, job, { ...p, target: webhookUrl ?? p.target }, 'failed', reason);
    throw err;
  }
  await recordAttempt(ctx, job, { ...p, target: webhookUrl ?? p.target }, 'delivered', detail.slice(0, 200));
  return { channel: p.channel, sent: true, attempt: job.attempt };
}

// Periodic review of open follow-ups (C3) ----------------------------------------------------

/** The next review after `now`: its key, its period label and when it runs. */
export function nextReview(now: Date, everyDays: number): { key: string; period: string; runAfter: Date } {
  if (everyDays > 0) {
    const dayMs = 86_400_000;
    const index = Math.floor(now.getTime() / (everyDays * dayMs)) + 1;
    const runAfter = new Date(index * everyDays * dayMs);
    return { key: `every-${everyDays}d:${index}`, period: tokyoDate(runAfter), runAfter };
  }
  // Monthly: 00:00 Asia/Tokyo (UTC+9, no daylight saving) on the 1st of the next month.
  const tokyo = new Date(now.getTime() + 9 * 3_600_000);
  const y = tokyo.getUTCFullYear();
  const m = tokyo.getUTCMonth() + 1;
  const ny = m === 12 ? y + 1 : y;
  const nm = m === 12 ? 1 : m + 1;
  const runAfter = new Date(Date.UTC(ny, nm - 1, 1) - 9 * 3_600_000);
  const period = `${ny}-${String(nm).padStart(2, '0')}`;
  return { key: `monthly:${period}`, period, runAfter };
}

/** Queues the next periodic review unless it is queued already (idempotent on its key). */
export async function scheduleReview(ctx: FindingsContext, after?: Date): Promise<{ key: string; runAfter: string }> {
  // After the review that ran (never its own period again, even with a clock a little behind).
  const now = ctx.now();
  const from = after && after.getTime() + 1000 > now.getTime() ? new Date(after.getTime() + 1000) : now;
  const r = nextReview(from, ctx.defaults.reviewEveryDays);
  const ex = ctx.db;
  await ctx.queue.enqueue(ex, { kind: REVIEW_JOB, key: r.key, facilityId: null, payload: { period: r.period }, runAfter: r.runAfter, maxAttempts: 20 });
  return { key: r.key, runAfter: r.runAfter.toISOString() };
}

/**
 * Reviews the open follow-ups of every facility that has any: one stored review per
 * facility and period (a repeat of the same period stores nothing new), audited.
 */
export async function runReview(ctx: FindingsContext, period: string): Promise<{ period: string; facilities: number; open: number }> {
  const now = ctx.now();
  const today = tokyoDate(now);
  const rows = await ctx.repo.pendingFollowUps();
  const byFacility = new Map<string, FindingReviewItem[]>();
  for (const r of rows) {
    const items = byFacility.get(r.facility_id) ?? [];
    items.push({ findingId: r.id, category: r.category as FindingCategory, raisedAt: r.raised_at, raisedBy: r.raised_by_name, dueOn: r.follow_up_due_on ?? '', overdue: Boolean(r.follow_up_due_on && r.follow_up_due_on < today) });
    byFacility.set(r.facility_id, items);
  }
  let stored = 0;
  for (const [facilityId, items] of byFacility) {
    await ctx.db.transaction().execute(async (trx) => {
      const overdue = items.filter((i) => i.overdue).length;
      const id = randomUUID();
      const created = await ctx.repo.insertReview(trx, { id, facility_id: facilityId, period, generated_at: now.toISOString(), open_count: items.length, overdue_count: overdue, items: JSON.stringify(items) });
      if (!created) return;
      stored++;
      await ctx.audit.append(trx, { actor: FINDINGS_SYSTEM, action: 'finding.review', object: { type: 'finding-review', id }, facilityId, details: { period, open: items.length, overdue } });
    });
  }
  return { period, facilities: stored, open: rows.length };
}

/** Registers the handlers of the module's jobs on a worker (before it starts). */
export function registerFindingHandlers(worker: { register(kind: string, handler: JobHandler): unknown }, ctx: FindingsContext): void {
  worker.register(ESCALATE_JOB, async (job) => escalate(ctx, String(job.payload.findingId), Number(job.payload.escalation)));
  worker.register(NOTIFY_JOB, async (job) => sendPrompt(ctx, job));
  worker.register(REVIEW_JOB, async (job) => {
    const result = await runReview(ctx, String(job.payload.period));
    // The next review is queued by this one (a job that queues itself again).
    const next = await scheduleReview(ctx, new Date(job.job.run_after));
    ctx.log.info({ event: 'findings.review', period: result.period, facilities: result.facilities, next: next.runAfter }, 'follow-up review done');
    return { ...result, next: next.runAfter };
  });
}
