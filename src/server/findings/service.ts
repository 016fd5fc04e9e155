/**
 * Critical and incidental findings (C1, C2, C3, L3, W11): the reader raises a finding on a
 * study (also before the report is final); the notice goes at once to the attending
 * physicians and then up the contract's contact ladder (ladder.ts), as in-app alerts on
 * every open screen of the step's recipients (events.ts) and as PHI-free prompts over the
 * outside channels (channels.ts); it stays open until a recipient acknowledges it in Enkaku,
 * and escalates on durable timers when nobody does (escalation.ts). Telephone contacts are
 * logged with their read-back; incidental findings carry a follow-up the facility closes;
 * a periodic review lists what is still open; management physicians see it all (L3).
 *
 * Every change is audited and recorded in the finding's history in the transaction that
 * makes it (ARCHITECTURE rule 3); every read of a finding is audited too. Findings that the
 * caller may not see answer 404, as if they did not exist.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type {
  FindingReviewItem,
  FindingReviewView,
  FindingSettingsView,
  FindingStats,
  FindingView,
} from '../../shared/findings.ts';
import type { ContactStep } from '../../shared/api.ts';
import type { AuditService } from '../audit/index.ts';
import { describeActor, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/log.ts';
import type { JobHandler, JobQueue } from '../platform/outbox/index.ts';
import type { ReportCommunication } from '../reports/document.ts';
import { medicalScope, tokyoDate } from '../security/index.ts';
import {
  assertInvolved,
  assertPhysician,
  isManagement,
  mayRaise,
  mayReadStats,
  mayRecordFollowUp,
  mayView,
  memberFacilities,
  settingsRight,
  viewFacilities,
} from './access.ts';
import { createTransports, type ChannelTransports } from './channels.ts';
import {
  alertOf,
  enqueuePrompts,
  enqueueTimer,
  notifiedUsers,
  promptTargets,
  registerFindingHandlers,
  scheduleReview,
  runReview,
  stepNames,
  stepUsers,
  type FindingsContext,
} from './escalation.ts';
import { FindingEvents, type AlertSubscription } from './events.ts';
import { buildLadder } from './ladder.ts';
import { FindingRepository, type Executor, type FindingRow, type RecipientRow, type Visibility } from './repository.ts';
import * as v from './schemas.ts';
import { effective, effectiveSettings, settingsView, stepSeconds, type FindingsDefaults } from './settings.ts';
import { communicationsOf, findingViews, statsOf } from './views.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** What the findings service needs. */
export interface FindingsServiceDeps {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  audit: AuditService<Database>;
  queue: JobQueue;
  /** The facility contract's contact ladder (orders module). */
  contracts: { current(facilityId: string): Promise<{ contactLadder: ContactStep[] }> };
  log: Logger;
  /** Server-wide defaults (config.findings). */
  defaults: FindingsDefaults;
  /** Transports of the outside channels; default: from `transportConfig`. */
  transports?: ChannelTransports | undefined;
  /** SMTP and SMS gateway settings for the default transports. */
  transportConfig?: { smtpUrl: string | undefined; smtpFrom: string; smsGatewayUrl: string | undefined; smsGatewayToken: string | undefined } | undefined;
  /** ENKAKU_PUBLIC_URL: prompts link to `<publicUrl>/findings/<id>`. */
  publicUrl?: string | undefined;
  /** PostgreSQL: LISTEN here for alerts of other nodes. */
  listen?: { url: string; schema?: string | undefined } | undefined;
  now?: (() => Date) | undefined;
}

/** Findings, their notices, escalation, telephone log, follow-up and the management view. */
export class FindingsService {
  readonly repo: FindingRepository;
  readonly events: FindingEvents;
  private readonly ctx: FindingsContext;
  private readonly now: () => Date;

  constructor(private readonly deps: FindingsServiceDeps) {
    this.repo = new FindingRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
    this.events = new FindingEvents({ db: deps.db, dialect: deps.dialect, log: deps.log, listen: deps.listen });
    const transports =
      deps.transports ??
      createTransports({
        webhookUrl: deps.defaults.webhookUrl,
        smtpUrl: deps.transportConfig?.smtpUrl,
        smtpFrom: deps.transportConfig?.smtpFrom ?? 'enkaku@localhost',
        smsGatewayUrl: deps.transportConfig?.smsGatewayUrl,
        smsGatewayToken: deps.transportConfig?.smsGatewayToken,
      });
    this.ctx = {
      db: deps.db,
      repo: this.repo,
      audit: deps.audit,
      queue: deps.queue,
      events: this.events,
      transports,
      defaults: deps.defaults,
      publicUrl: deps.publicUrl,
      log: deps.log,
      now: this.now,
    };
  }

  // Jobs ---------------------------------------------------------------------------------

  /**
   * Registers the module's job handlers (`finding.escalate`, `finding.notify`,
   * `finding.review`) on a worker, before it starts.
   */
  registerHandlers(worker: { register(kind: string, handler: JobHandler): unknown }): void {
    registerFindingHandlers(worker, this.ctx);
  }

  /** Queues the next periodic follow-up review unless it is queued already (call once at start). */
  async scheduleReview(): Promise<{ key: string; runAfter: string }> {
    return scheduleReview(this.ctx);
  }

  /** Runs a follow-up review now (operators, tests); stores one review per facility with open follow-ups. */
  async runReview(period: string): Promise<{ period: string; facilities: number; open: number }> {
    return runReview(this.ctx, period);
  }

  // Raising ------------------------------------------------------------------------------

  /**
   * Raises a finding on a study (`POST /api/findings`): a physician with the study in scope,
   * also before the report is final. The first ladder step is notified at once; its timer
   * and the outside prompts are queued in the same transaction.
   * @throws AppError forbidden (not a physician), not_found (study not in scope), bad_request
   */
  async raise(actor: UserActor, body: unknown): Promise<FindingView> {
    assertPhysician(actor);
    const req = v.raiseRequest(body);
    const scope = medicalScope(actor);
    const study = await this.repo.study(req.studyUid, scope);
    if (!study) throw new AppError('not_found', 'no such study');
    if (!mayRaise(actor, study.facility_id)) throw new AppError('forbidden', 'only physicians raise findings');
    if (req.reportId && (await this.repo.reportStudy(req.reportId)) !== study.id) throw new AppError('bad_request', 'reportId is not a report of this study');
    const settings = await effectiveSettings(this.repo, this.deps.defaults, study.facility_id);
    const contract = await this.deps.contracts.current(study.facility_id);
    const ladder = await buildLadder(this.repo, { facilityId: study.facility_id, requesterName: await this.repo.requesterName(study.id), contactLadder: contract.contactLadder });
    const raiserName = (await this.repo.userName(actor.userId)) || actor.username;
    const now = this.now();
    const at = now.toISOString();
    if (req.followUpDueOn && req.followUpDueOn < tokyoDate(now)) throw new AppError('bad_request', 'followUpDueOn must not be in the past');
    const seconds = stepSeconds(settings, req.category);
    const id = randomUUID();
    const row: FindingRow = {
      id,
      study_id: study.id,
      study_uid: study.study_uid,
      facility_id: study.facility_id,
      patient_ref: study.patient_ref,
      report_id: req.reportId ?? null,
      category: req.category,
      message: req.message,
      raised_by: actor.userId,
      raised_by_name: raiserName,
      raised_at: at,
      status: 'open',
      step: 0,
      steps: ladder.length,
      escalations: 0,
      step_seconds: seconds,
      deadline_at: ladder.length ? new Date(now.getTime() + seconds * 1000).toISOString() : null,
      acknowledged_by: null,
      acknowledged_by_name: null,
      acknowledged_at: null,
      cancelled_by: null,
      cancelled_at: null,
      cancel_reason: null,
      follow_up_state: req.category === 'incidental' ? 'pending' : null,
      follow_up_due_on: req.category === 'incidental' ? (req.followUpDueOn ?? tokyoDate(new Date(now.getTime() + settings.followUpDays * 86_400_000))) : null,
      follow_up_note: '',
      follow_up_by: null,
      follow_up_by_name: null,
      follow_up_at: null,
      version: 1,
      updated_at: at,
    };
    const recipients: RecipientRow[] = ladder.flatMap((step, s) =>
      step.map((e, position) => ({ id: randomUUID(), finding_id: id, step: s, position, source: e.source, name: e.name, role: e.role, phone: e.phone, user_id: e.userId, notified_at: s === 0 ? at : null })),
    );
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insert(trx, row, recipients);
      await this.repo.addEvent(trx, {
        finding_id: id,
        at,
        kind: 'raised',
        step: 0,
        channel: null,
        outcome: null,
        actor: raiserName,
        detail: `${req.category}${req.reportId ? '' : '（報告書確定前の速報 / preliminary notice）'}${ladder.length ? '' : ' — 連絡先の登録がありません。施設へ電話してください / nobody on record to notify: telephone the facility'}`,
      });
      if (ladder.length) {
        await this.repo.addEvent(trx, { finding_id: id, at, kind: 'notified', step: 0, channel: 'in-app', outcome: null, actor: stepNames(recipients, 0), detail: 'Enkaku 通知（段階 0） / in-app alert, step 0' });
      }
      await enqueueTimer(this.ctx, trx, row);
      if (ladder.length) await enqueuePrompts(this.ctx, trx, row, 0, promptTargets(this.ctx, settings, recipients, 0));
      await this.events.publish(trx, { alert: alertOf(row, 'raised', study.facility_name), userIds: [...stepUsers(recipients, 0), actor.userId], version: row.version });
      // Last: the audit entry locks the chain's head until the commit, so nothing else waits on it longer.
      await this.deps.audit.append(trx, {
        actor,
        action: 'finding.raise',
        object: { type: 'finding', id },
        facilityId: study.facility_id,
        patientRef: study.patient_ref,
        details: { studyUid: study.study_uid, category: req.category, reportId: req.reportId ?? null, steps: ladder.length, recipients: recipients.length, deadline: row.deadline_at, followUpDueOn: row.follow_up_due_on },
      });
    });
    return (await findingViews(this.repo, this.deps.db, [row]))[0]!;
  }

  // Reading ------------------------------------------------------------------------------

  /** A finding the actor may see, and whether (and how) the actor is one of its recipients; 404 otherwise. */
  private async visible(actor: UserActor, id: string, ex: Executor = this.deps.db): Promise<{ f: FindingRow; recipient: RecipientRow | undefined }> {
    assertInvolved(actor);
    const f = await this.repo.finding(ex, String(id));
    if (!f) throw new AppError('not_found', 'no such finding');
    const recipient = await this.repo.isRecipient(ex, f.id, actor.userId);
    if (!mayView(actor, f, Boolean(recipient))) throw new AppError('not_found', 'no such finding');
    return { f, recipient };
  }

  private async viewOf(id: string): Promise<FindingView> {
    const f = await this.repo.finding(this.deps.db, id);
    if (!f) throw new AppError('not_found', 'no such finding');
    return (await findingViews(this.repo, this.deps.db, [f]))[0]!;
  }

  /** One finding with its notice, recipients, telephone log and history (audited). */
  async get(actor: UserActor, id: string): Promise<FindingView> {
    const { f } = await this.visible(actor, id);
    await this.deps.audit.record({ actor, action: 'finding.view', object: { type: 'finding', id: f.id }, facilityId: f.facility_id, patientRef: f.patient_ref });
    return (await findingViews(this.repo, this.deps.db, [f]))[0]!;
  }

  /**
   * Findings the actor may see (`GET /api/findings`): management physicians all of them,
   * facility staff their facility's, readers what they raised, and everyone what they are a
   * recipient of. Newest first; audited.
   */
  async list(actor: UserActor, query: Record<string, unknown>): Promise<FindingView[]> {
    assertInvolved(actor);
    const q = v.listQuery(query);
    const vis: Visibility = isManagement(actor) ? { all: true } : { all: false, userId: actor.userId, facilities: viewFacilities(actor) };
    const now = this.now();
    const rows = await this.repo.list(vis, { ...q, now: now.toISOString(), today: tokyoDate(now) });
    await this.deps.audit.record({
      actor,
      action: 'finding.list',
      object: { type: 'finding', id: q.facilityId ?? '*' },
      facilityId: q.facilityId,
      details: { status: q.status, count: rows.length, findings: rows.slice(0, 100).map((r) => r.id) },
    });
    return findingViews(this.repo, this.deps.db, rows);
  }

  // Closing the loop ---------------------------------------------------------------------

  /**
   * A recipient acknowledges the notice in Enkaku (C2): it is closed and its timers change
   * nothing any more. Acknowledging an acknowledged notice returns it unchanged.
   * @throws AppError not_found, forbidden (not a recipient), conflict (cancelled)
   */
  async acknowledge(actor: UserActor, id: string): Promise<FindingView> {
    const { f, recipient } = await this.visible(actor, id);
    if (!recipient) throw new AppError('forbidden', 'only the recipients of a notice acknowledge it');
    // The loop closes on the receiving side: a reader who is also a recipient (a management
    // physician) does not acknowledge their own notice.
    if (f.raised_by === actor.userId) throw new AppError('forbidden', 'the physician who raised a notice does not acknowledge it');
    if (f.status === 'acknowledged') return this.viewOf(f.id);
    if (f.status !== 'open') throw new AppError('conflict', 'the notice was cancelled');
    await this.acknowledgeIn(actor, f, recipient);
    return this.viewOf(f.id);
  }

  private async acknowledgeIn(actor: UserActor, f: FindingRow, recipient: RecipientRow): Promise<boolean> {
    const name = recipient.name;
    const at = this.now().toISOString();
    const facilityName = (await this.repo.facilityName(f.facility_id)) ?? '';
    return this.deps.db.transaction().execute(async (trx) => {
      const done = await trx
        .updateTable('findings')
        .set((eb) => ({ status: 'acknowledged', acknowledged_by: actor.userId, acknowledged_by_name: name, acknowledged_at: at, deadline_at: null, version: eb('version', '+', 1), updated_at: at }))
        .where('id', '=', f.id)
        .where('status', '=', 'open')
        .returningAll()
        .executeTakeFirst();
      if (!done) return false;
      await this.repo.addEvent(trx, { finding_id: f.id, at, kind: 'acknowledged', step: recipient.step, channel: 'in-app', outcome: null, actor: name, detail: `確認済み（段階 ${done.step}、通知から ${minutesBetween(f.raised_at, at)} 分） / acknowledged in Enkaku` });
      await this.deps.audit.append(trx, {
        actor,
        action: 'finding.acknowledge',
        object: { type: 'finding', id: f.id },
        facilityId: f.facility_id,
        patientRef: f.patient_ref,
        details: { step: done.step, recipientStep: recipient.step, escalations: done.escalations, minutes: minutesBetween(f.raised_at, at) },
      });
      const recipients = await this.repo.recipients(trx, [f.id]);
      await this.events.publish(trx, { alert: alertOf(done, 'acknowledged', facilityName), userIds: [...notifiedUsers(recipients), done.raised_by], version: done.version });
      return true;
    });
  }

  /** Logs a telephone contact (C1): who called whom, when, the read-back and the outcome. */
  async phone(actor: UserActor, id: string, body: unknown): Promise<FindingView> {
    const { f } = await this.visible(actor, id);
    const req = v.phoneRequest(body);
    const now = this.now();
    const at = req.at ?? now.toISOString();
    if (Date.parse(at) > now.getTime() + 5 * 60_000) throw new AppError('bad_request', 'at must not be in the future');
    const callerName = (await this.repo.userName(actor.userId)) || actor.username;
    const recorded = now.toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      const locked = (await this.repo.lock(trx, f.id, recorded))!;
      const phoneId = randomUUID();
      await this.repo.addPhone(trx, { id: phoneId, finding_id: f.id, called_by: actor.userId, called_by_name: callerName, called_name: req.calledName, called_role: req.calledRole, phone: req.phone, at, read_back: req.readBack, outcome: req.outcome, recorded_at: recorded });
      await this.repo.addEvent(trx, {
        finding_id: f.id,
        at,
        kind: 'phone',
        step: locked.step,
        channel: 'phone',
        outcome: req.outcome,
        actor: callerName,
        detail: `電話 → ${req.calledName}${req.calledRole ? `（${req.calledRole}）` : ''}: ${req.outcome}${req.readBack ? '、復唱あり / read back' : ''}`,
      });
      await this.deps.audit.append(trx, { actor, action: 'finding.phone', object: { type: 'finding', id: f.id }, facilityId: f.facility_id, patientRef: f.patient_ref, details: { phoneContact: phoneId, outcome: req.outcome, readBack: Boolean(req.readBack) } });
    });
    return this.viewOf(f.id);
  }

  /**
   * The facility records the follow-up of an incidental finding (C3). When the recorder is a
   * recipient of a notice still open, this acknowledges it too.
   * @throws AppError not_found, forbidden, conflict (not incidental, or cancelled)
   */
  async followUp(actor: UserActor, id: string, body: unknown): Promise<FindingView> {
    const { f, recipient } = await this.visible(actor, id);
    if (!mayRecordFollowUp(actor, f.facility_id, recipient?.source)) throw new AppError('forbidden', 'the follow-up is recorded by the facility\'s attending physicians and staff');
    if (f.category !== 'incidental' || !f.follow_up_state) throw new AppError('conflict', 'only incidental findings carry a follow-up');
    if (f.status === 'cancelled') throw new AppError('conflict', 'the notice was cancelled');
    const req = v.followUpRequest(body);
    const name = recipient?.name || (await this.repo.userName(actor.userId)) || actor.username;
    const at = this.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      const locked = (await this.repo.lock(trx, f.id, at))!;
      await this.repo.update(trx, f.id, { follow_up_state: req.state, follow_up_note: req.note, follow_up_by: actor.userId, follow_up_by_name: name, follow_up_at: at });
      await this.repo.addEvent(trx, { finding_id: f.id, at, kind: 'follow-up', step: locked.step, channel: null, outcome: req.state, actor: name, detail: `${req.state}${locked.follow_up_state !== 'pending' ? `（${locked.follow_up_state} から変更 / changed)` : ''}` });
      await this.deps.audit.append(trx, { actor, action: 'finding.follow-up', object: { type: 'finding', id: f.id }, facilityId: f.facility_id, patientRef: f.patient_ref, details: { state: req.state, previous: locked.follow_up_state, dueOn: locked.follow_up_due_on } });
    });
    if (recipient && f.status === 'open' && f.raised_by !== actor.userId) await this.acknowledgeIn(actor, (await this.repo.finding(this.deps.db, f.id))!, recipient);
    return this.viewOf(f.id);
  }

  /** The reader who raised it (or a management physician) withdraws an open notice, with a reason. */
  async cancel(actor: UserActor, id: string, body: unknown): Promise<FindingView> {
    const { f } = await this.visible(actor, id);
    if (f.raised_by !== actor.userId && !isManagement(actor)) throw new AppError('forbidden', 'only the reader who raised a notice, or a management physician, cancels it');
    if (f.status !== 'open') throw new AppError('conflict', `the notice is ${f.status}`);
    const req = v.cancelRequest(body);
    const name = (await this.repo.userName(actor.userId)) || actor.username;
    const at = this.now().toISOString();
    const facilityName = (await this.repo.facilityName(f.facility_id)) ?? '';
    const done = await this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('findings')
        .set((eb) => ({ status: 'cancelled', cancelled_by: actor.userId, cancelled_at: at, cancel_reason: req.reason, deadline_at: null, version: eb('version', '+', 1), updated_at: at }))
        .where('id', '=', f.id)
        .where('status', '=', 'open')
        .returningAll()
        .executeTakeFirst();
      if (!row) return false;
      await this.repo.addEvent(trx, { finding_id: f.id, at, kind: 'cancelled', step: row.step, channel: null, outcome: null, actor: name, detail: `取り消し / cancelled: ${req.reason}` });
      await this.deps.audit.append(trx, { actor, action: 'finding.cancel', object: { type: 'finding', id: f.id }, facilityId: f.facility_id, patientRef: f.patient_ref, details: { step: row.step } });
      const recipients = await this.repo.recipients(trx, [f.id]);
      await this.events.publish(trx, { alert: alertOf(row, 'cancelled', facilityName), userIds: [...notifiedUsers(recipients), row.raised_by], version: row.version });
      return true;
    });
    if (!done) throw new AppError('conflict', 'the notice was closed meanwhile');
    return this.viewOf(f.id);
  }

  // Live alerts --------------------------------------------------------------------------

  /** One open screen of a logged-in user: the alerts addressed to them. */
  subscribe(actor: UserActor, send: Parameters<FindingEvents['subscribe']>[1]): AlertSubscription {
    return this.events.subscribe(actor.userId, send);
  }

  // Management view, reviews and settings ------------------------------------------------

  /** `GET /api/findings/stats` (L3): management physicians and system administrators. */
  async stats(actor: Actor, query: Record<string, unknown> = {}): Promise<FindingStats> {
    if (!mayReadStats(actor)) throw new AppError('forbidden', 'the findings statistics are for management physicians and system administrators');
    const facilityId = query.facilityId ? v.text(query.facilityId, 'facilityId', 64) : null;
    let since: string | null = null;
    if (query.since) {
      if (typeof query.since !== 'string' || Number.isNaN(Date.parse(query.since))) throw new AppError('bad_request', 'since must be an ISO 8601 time');
      since = new Date(query.since).toISOString();
    }
    const rows = await this.repo.forStats(facilityId, since);
    const now = this.now();
    return statsOf(rows, await this.repo.facilityNames(rows.map((r) => r.facility_id)), now.toISOString(), tokyoDate(now));
  }

  /** The periodic reviews (C3): management physicians all, facility members their facility's. */
  async reviews(actor: UserActor, query: Record<string, unknown> = {}): Promise<FindingReviewView[]> {
    assertInvolved(actor);
    const facilityId = query.facilityId ? v.text(query.facilityId, 'facilityId', 64) : null;
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AppError('bad_request', 'limit must be a whole number from 1 to 500');
    const rows = await this.repo.reviews(isManagement(actor) ? 'all' : memberFacilities(actor), facilityId, limit);
    const names = await this.repo.facilityNames(rows.map((r) => r.facility_id));
    return rows.map((r) => ({
      id: r.id,
      facilityId: r.facility_id,
      facilityName: names.get(r.facility_id) ?? '',
      period: r.period,
      generatedAt: r.generated_at,
      open: r.open_count,
      overdue: r.overdue_count,
      items: JSON.parse(r.items) as FindingReviewItem[],
    }));
  }

  /** A facility's findings settings (system administrators, management physicians, the facility's administrators). */
  async settings(actor: Actor, facilityId: string): Promise<FindingSettingsView> {
    if (settingsRight(actor, String(facilityId)) === 'none') throw new AppError('forbidden', 'only administrators and management physicians read the findings settings');
    if (!(await this.repo.facilityName(String(facilityId)))) throw new AppError('not_found', 'no such facility');
    return settingsView(facilityId, await this.repo.settings(facilityId), this.deps.defaults, this.ctx.transports);
  }

  /**
   * Changes a facility's settings (the fields named; null returns one to the default),
   * audited. Acknowledgement minutes and the follow-up period are the reading provider's
   * terms; the facility's administrators change its channels only.
   */
  async setSettings(actor: Actor, facilityId: string, body: unknown): Promise<FindingSettingsView> {
    const right = settingsRight(actor, String(facilityId));
    if (right === 'none') throw new AppError('forbidden', 'only system administrators, management physicians and the facility\'s administrators change the findings settings');
    if (!(await this.repo.facilityName(String(facilityId)))) throw new AppError('not_found', 'no such facility');
    const req = v.settingsRequest(body);
    if (right === 'channels' && (req.ackMinutes !== undefined || req.followUpDays !== undefined)) {
      throw new AppError('forbidden', 'a facility administrator changes the outside channels only; acknowledgement times are terms of the reading provider');
    }
    const current = await this.repo.settings(facilityId);
    const at = this.now().toISOString();
    const next = {
      facility_id: facilityId,
      critical_minutes: req.ackMinutes && 'critical' in req.ackMinutes ? (req.ackMinutes.critical ?? null) : (current?.critical_minutes ?? null),
      urgent_minutes: req.ackMinutes && 'urgent' in req.ackMinutes ? (req.ackMinutes.urgent ?? null) : (current?.urgent_minutes ?? null),
      incidental_minutes: req.ackMinutes && 'incidental' in req.ackMinutes ? (req.ackMinutes.incidental ?? null) : (current?.incidental_minutes ?? null),
      follow_up_days: req.followUpDays !== undefined ? req.followUpDays : (current?.follow_up_days ?? null),
      webhook_url: req.webhookUrl !== undefined ? req.webhookUrl : (current?.webhook_url ?? null),
      emails: req.emails !== undefined ? (req.emails === null ? null : req.emails.join(',')) : (current?.emails ?? null),
      sms: req.sms !== undefined ? (req.sms === null ? null : req.sms ? 1 : 0) : (current?.sms ?? null),
      updated_at: at,
      updated_by: describeActor(actor),
    };
    const changed = (Object.keys(next) as Array<keyof typeof next>).filter((k) => k !== 'updated_at' && k !== 'updated_by' && k !== 'facility_id' && next[k] !== (current?.[k] ?? null));
    if (changed.length) {
      await this.deps.db.transaction().execute(async (trx) => {
        await this.repo.saveSettings(trx, next);
        // Names of the changed settings only: a webhook URL may carry a secret.
        await this.deps.audit.append(trx, { actor, action: 'finding.settings-change', object: { type: 'facility', id: facilityId }, facilityId, details: { changed } });
      });
    }
    return settingsView(facilityId, await this.repo.settings(facilityId), this.deps.defaults, this.ctx.transports);
  }

  /** The settings in force for a facility (other services, tests). */
  async effectiveSettings(facilityId: string) {
    return effective(await this.repo.settings(facilityId), this.deps.defaults);
  }

  // The report's record ------------------------------------------------------------------

  /**
   * The communication record of a report (issue 8 "Record"): who was told about its findings,
   * when, how, and when the notice was acknowledged, oldest first, in the shape the signed
   * report carries (`ReportDocument.communications`). Cancelled notices are left out. Pass
   * the caller's transaction as `ex` when calling inside one (SQLite has one connection).
   */
  async communicationsOfReport(reportId: string, ex?: Executor): Promise<ReportCommunication[]> {
    return communicationsOf(this.repo, ex ?? this.deps.db, reportId);
  }

  /** Stops the live alerts and the outside transports. */
  async close(): Promise<void> {
    await this.events.close();
    this.ctx.transports.close();
  }
}

function minutesBetween(from: string, to: string): number {
  return Math.round(((Date.parse(to) - Date.parse(from)) / 60_000) * 10) / 10;
}
