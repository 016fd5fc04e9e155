/**
 * Critical and incidental findings through HTTP (SQLite, or PostgreSQL with
 * ENKAKU_TEST_DATABASE_URL): a reader raises a finding and the attending physicians' open
 * screens get the alert at once while another facility's do not; a user of another facility
 * can neither see nor acknowledge it; only recipients acknowledge; without acknowledgement
 * the notice escalates up the contact ladder at each deadline (1-second steps here) until
 * a recipient acknowledges; outside prompts (webhook, email over SMTP, SMS gateway) reach
 * local stand-ins and carry no patient data; the telephone log; incidental follow-ups,
 * the overdue listing (with a clock 31 days ahead) and the periodic review; cancelling;
 * the management view; per-facility settings; and the communication record a report carries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { JobWorker } from '../platform/outbox/index.ts';
import { call } from '../reading/test-support.ts';
import type { FindingReviewView, FindingSettingsView, FindingStats, FindingView } from '../../shared/findings.ts';
import type { WorklistPage } from '../../shared/worklist.ts';
import { FindingsService } from './service.ts';
import {
  CaptureServer,
  OP,
  PHI_FRAGMENTS,
  SECRET_PATIENT,
  SmtpTestServer,
  contractWithLadder,
  decodeMail,
  eventually,
  openAlerts,
  person,
  sleep,
  studyWithOrder,
  type AlertStream,
  type Person,
} from './test-support.ts';

const MESSAGE = '右緊張性気胸。直ちに脱気を。';
const PUBLIC_URL = 'https://enkaku.example.jp';
const FACILITY_A = 'さくら総合病院';

describe('findings: raise, alert, acknowledge, escalate, follow up', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let port: number;
  const webhook = new CaptureServer();
  const gateway = new CaptureServer();
  const smtp = new SmtpTestServer();
  let facilityA: string;
  let facilityB: string;
  let studyUid: string;
  let reader: Person;
  let reader2: Person;
  let attA1: Person;
  let attA2: Person;
  let ladderA: Person;
  let techA: Person;
  let fadminA: Person;
  let mgmt: Person;
  let attB: Person;
  let fadminB: Person;
  let sysadmin: Person;
  const streams: AlertStream[] = [];
  const open = async (p: Person): Promise<AlertStream> => {
    const s = await openAlerts(port, p.cookie);
    streams.push(s);
    return s;
  };
  const raise = async (body: Record<string, unknown>, who: Person = reader): Promise<FindingView> => {
    const res = await call(app, who, 'POST', '/api/findings', { studyUid, message: MESSAGE, ...body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as FindingView;
  };
  const worker = (): JobWorker => {
    const w = new JobWorker(rt.jobs, { log: rt.log, pollMs: 50, leaseMs: 5000 });
    rt.findings.registerHandlers(w);
    return w;
  };
  const findingOf = async (id: string): Promise<FindingView> => {
    const res = await call(app, mgmt, 'GET', `/api/findings/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as FindingView;
  };
  const auditOf = async (action: string, objectId: string) =>
    (await rt.audit.search(OP, { action, objectId, limit: 1000 })).records.reverse();

  before(async () => {
    await Promise.all([webhook.start(), gateway.start(), smtp.start()]);
    const defaults = loadConfig({}).findings;
    rt = await testRuntime({
      publicUrl: PUBLIC_URL,
      findings: {
        ...defaults,
        // One-second ladder steps for critical findings; urgent ones keep an hour.
        ackMinutes: { ...defaults.ackMinutes, critical: 1 / 60 },
        webhookUrl: webhook.url('/hook'),
        smtpUrl: smtp.url,
        smtpFrom: 'enkaku@provider.example',
        emailTo: ['duty@hospital-a.example'],
        smsGatewayUrl: gateway.url('/sms'),
        smsGatewayToken: 'gw-token',
      },
    });
    app = await buildApp(rt);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
    facilityA = (await rt.facilities.add(OP, { name: FACILITY_A, aets: ['SAKURA'] })).id;
    facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['HOSPB'] })).id;
    await rt.contracts.set(OP, facilityA, contractWithLadder([
      { name: '鈴木 一郎', role: '放射線科部長', phone: '090-1111-2222', hours: '平日 8:30-17:15' },
      { name: '当直医', role: '当直', phone: '03-1234-5678', hours: '24時間' },
    ]));
    reader = await person(rt, 'reader', '読影 太郎', 'radiologist', null);
    await rt.credentials.recordLicence(OP, reader.id, { kind: 'jp-medical', number: '7654321', country: 'JP', evidence: '医籍登録 確認済み' });
    await rt.credentials.recordCertification(OP, reader.id, { kind: 'diagnostic-radiology-specialist', number: 'F-1', issuedOn: '2020-04-01', expiresOn: '2099-03-31', evidence: '専門医証' });
    reader2 = await person(rt, 'reader2', '読影 次郎', 'radiologist', null);
    attA1 = await person(rt, 'att-a1', '佐藤 花子', 'attending-physician', facilityA);
    attA2 = await person(rt, 'att-a2', '高橋 健', 'attending-physician', facilityA);
    ladderA = await person(rt, 'ladder-a', '鈴木 一郎', 'facility-admin', facilityA);
    techA = await person(rt, 'tech-a', '技師 A', 'technologist', facilityA);
    fadminA = await person(rt, 'fadmin-a', '管理者 A', 'facility-admin', facilityA);
    mgmt = await person(rt, 'mgmt', '管理 医師', 'management-physician', null);
    attB = await person(rt, 'att-b', '他院 医師', 'attending-physician', facilityB);
    fadminB = await person(rt, 'fadmin-b', '他院 管理者', 'facility-admin', facilityB);
    sysadmin = await person(rt, 'sysadmin', 'システム管理者', 'system-admin', null);
    // The order names the requester without the space of the account's display name.
    studyUid = await studyWithOrder(rt, facilityA, '佐藤花子', '1');
  });
  after(async () => {
    for (const s of streams) s.close();
    await app?.close();
    await rt?.cleanup();
    await Promise.all([webhook.stop(), gateway.stop(), smtp.stop()]);
  });

  let f1: FindingView;
  /** The first attending physician's screen, open from the first test on. */
  let screenA1: AlertStream;

  test('raise: the attending physicians\' open screens get the alert at once, another facility\'s do not', async () => {
    const [a1, a2, ladder, b, self, tech] = await Promise.all([open(attA1), open(attA2), open(ladderA), open(attB), open(reader), open(techA)]);
    screenA1 = a1;
    f1 = await raise({ category: 'critical' });
    assert.equal(f1.status, 'open');
    assert.equal(f1.facilityName, FACILITY_A);
    assert.equal(f1.step, 0);
    assert.equal(f1.reportId, null, 'a preliminary notice, before any report');
    // The ladder: the requester first (matched by name), the other attending physician, the
    // contract's contacts (the first is an Enkaku user, the duty contact is phone-only), then
    // the management physicians.
    assert.deepEqual(
      f1.recipients.map((r) => [r.step, r.name, r.role, r.userId]),
      [
        [0, '佐藤 花子', '依頼医', attA1.id],
        [0, '高橋 健', '主治医', attA2.id],
        [1, '鈴木 一郎', '放射線科部長', ladderA.id],
        [2, '当直医', '当直', null],
        [3, '管理 医師', '管理医', mgmt.id],
      ],
    );
    assert.ok(f1.recipients.filter((r) => r.step === 0).every((r) => r.notifiedAt === f1.raisedAt));
    assert.ok(f1.recipients.filter((r) => r.step > 0).every((r) => r.notifiedAt === null));
    assert.equal(Date.parse(f1.deadlineAt!) - Date.parse(f1.raisedAt), 1000, 'one-second steps for critical findings in this test');
    assert.deepEqual(f1.events.map((e) => e.kind), ['raised', 'notified']);
    const seen = await a1.waitFor((a) => a.findingId === f1.id);
    assert.deepEqual(seen, { type: 'raised', findingId: f1.id, category: 'critical', facilityName: FACILITY_A, deadlineAt: f1.deadlineAt });
    await a2.waitFor((a) => a.findingId === f1.id);
    await self.waitFor((a) => a.findingId === f1.id);
    await sleep(300);
    assert.deepEqual(b.alerts, [], 'another facility\'s attending physician hears nothing');
    assert.deepEqual(ladder.alerts, [], 'the next step is not told before the deadline');
    assert.deepEqual(tech.alerts, [], 'facility staff who are not recipients get no alert');
    assert.ok(!JSON.stringify(seen).includes(MESSAGE), 'the alert itself carries no message text');
    const [entry] = await auditOf('finding.raise', f1.id);
    assert.equal(entry?.details.category, 'critical');
    assert.equal(entry?.facilityId, facilityA);
    assert.ok(!JSON.stringify(entry).includes(MESSAGE), 'the audit entry holds ids, not the message');
    // Raising is for physicians, on studies in their scope.
    assert.equal((await call(app, attA1, 'POST', '/api/findings', { studyUid, category: 'critical', message: 'x' })).statusCode, 403);
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid: '1.2.3.999', category: 'critical', message: 'x' })).statusCode, 404);
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid, category: 'severe', message: 'x' })).statusCode, 400);
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid, category: 'critical', message: '' })).statusCode, 400);
  });

  test('a user of another facility can neither see nor acknowledge the notice; only its recipients acknowledge', async () => {
    for (const outsider of [attB, fadminB]) {
      assert.equal((await call(app, outsider, 'GET', `/api/findings/${f1.id}`)).statusCode, 404);
      assert.equal((await call(app, outsider, 'POST', `/api/findings/${f1.id}/acknowledge`)).statusCode, 404);
      assert.equal((await call(app, outsider, 'POST', `/api/findings/${f1.id}/phone`, { calledName: 'x', outcome: 'no-answer' })).statusCode, 404);
      const list = (await call(app, outsider, 'GET', '/api/findings?status=all')).json() as FindingView[];
      assert.ok(!list.some((f) => f.id === f1.id));
    }
    // Another reader of the provider sees what they raised only.
    assert.equal((await call(app, reader2, 'GET', `/api/findings/${f1.id}`)).statusCode, 404);
    // The facility's technologist sees it but is not a recipient; nor is the reader.
    assert.equal((await call(app, techA, 'GET', `/api/findings/${f1.id}`)).statusCode, 200);
    assert.equal((await call(app, techA, 'POST', `/api/findings/${f1.id}/acknowledge`)).statusCode, 403);
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f1.id}/acknowledge`)).statusCode, 403);
    assert.equal((await app.inject({ method: 'POST', url: `/api/findings/${f1.id}/acknowledge` })).statusCode, 401);
    const a1 = screenA1;
    const res = await call(app, attA2, 'POST', `/api/findings/${f1.id}/acknowledge`);
    assert.equal(res.statusCode, 200, res.body);
    const acked = res.json() as FindingView;
    assert.equal(acked.status, 'acknowledged');
    assert.deepEqual(acked.acknowledgedBy, { id: attA2.id, name: '高橋 健' });
    assert.equal(acked.deadlineAt, null);
    await a1.waitFor((a) => a.findingId === f1.id && a.type === 'acknowledged');
    // A second acknowledgement changes nothing.
    const again = (await call(app, attA1, 'POST', `/api/findings/${f1.id}/acknowledge`)).json() as FindingView;
    assert.deepEqual(again.acknowledgedBy, { id: attA2.id, name: '高橋 健' });
    assert.equal((await auditOf('finding.acknowledge', f1.id)).length, 1);
    assert.equal((await auditOf('finding.view', f1.id)).length >= 1, true, 'reading a finding is audited');
  });

  test('the telephone log records who called whom, when, the read-back and the outcome', async () => {
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f1.id}/phone`, { calledName: '佐藤 花子', outcome: 'reached' })).statusCode, 400, 'reached needs the read-back');
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f1.id}/phone`, { calledName: '佐藤 花子', outcome: 'maybe' })).statusCode, 400);
    const res = await call(app, reader, 'POST', `/api/findings/${f1.id}/phone`, { calledName: '佐藤 花子', calledRole: '主治医', phone: '03-1111-0000', readBack: '右緊張性気胸、直ちに脱気', outcome: 'reached' });
    assert.equal(res.statusCode, 201, res.body);
    const v = res.json() as FindingView;
    assert.equal(v.phoneContacts.length, 1);
    const [p] = v.phoneContacts;
    assert.deepEqual({ ...p, id: '', at: '' }, { id: '', at: '', calledBy: { id: reader.id, name: '読影 太郎' }, calledName: '佐藤 花子', calledRole: '主治医', phone: '03-1111-0000', readBack: '右緊張性気胸、直ちに脱気', outcome: 'reached' });
    assert.equal(v.events.at(-1)?.kind, 'phone');
    const [entry] = await auditOf('finding.phone', f1.id);
    assert.equal(entry?.details.readBack, true);
    assert.ok(!JSON.stringify(entry).includes('脱気'), 'the read-back text stays out of the audit trail');
  });

  let f2: FindingView;

  test('without acknowledgement the notice escalates up the ladder at each deadline until a recipient acknowledges', { timeout: 60_000 }, async () => {
    const [a1, ladder, boss, self] = await Promise.all([open(attA1), open(ladderA), open(mgmt), open(reader)]);
    f2 = await raise({ category: 'critical' });
    const w = worker();
    w.start();
    try {
      // Step 1 (the first contract contact, an Enkaku user) at the first deadline.
      const up = await ladder.waitFor((a) => a.findingId === f2.id && a.type === 'escalated');
      const afterOne = await findingOf(f2.id);
      const escalated1 = afterOne.events.find((e) => e.kind === 'escalated')!;
      assert.ok(Date.parse(escalated1.at) >= Date.parse(f2.deadlineAt!), 'not before the deadline');
      assert.ok(Date.parse(escalated1.at) - Date.parse(f2.deadlineAt!) < 5000, 'soon after the deadline');
      assert.ok(up.deadlineAt && Date.parse(up.deadlineAt) > Date.parse(f2.deadlineAt!), 'a new deadline for the next step');
      assert.ok(afterOne.recipients.find((r) => r.step === 1)!.notifiedAt);
      await self.waitFor((a) => a.findingId === f2.id && a.type === 'escalated');
      // The attending physician told at step 0 hears of the escalation too (the alert shows the new step).
      await a1.waitFor((a) => a.findingId === f2.id && a.type === 'escalated');
      // Then the duty contact (phone only) and the management physicians.
      await boss.waitFor((a) => a.findingId === f2.id && a.type === 'escalated', 15_000);
      const atTop = await findingOf(f2.id);
      assert.equal(atTop.step, 3);
      assert.ok(atTop.escalations >= 3);
      const res = await call(app, mgmt, 'POST', `/api/findings/${f2.id}/acknowledge`);
      assert.equal(res.statusCode, 200, res.body);
      const done = res.json() as FindingView;
      assert.equal(done.status, 'acknowledged');
      await a1.waitFor((a) => a.findingId === f2.id && a.type === 'acknowledged');
      // The timer of the next escalation fires and changes nothing.
      await sleep(1500);
      const later = await findingOf(f2.id);
      assert.equal(later.escalations, done.escalations);
      assert.equal(later.status, 'acknowledged');
      const n = done.escalations;
      for (let i = 1; i <= n; i++) assert.equal((await rt.jobs.byKey('finding.escalate', `${f2.id}:${i}`))?.state, 'done', `timer ${i} done`);
      await eventually(async () => (await rt.jobs.byKey('finding.escalate', `${f2.id}:${n + 1}`))?.state === 'done', 5000, 'the last timer ran');
      const audited = (await auditOf('finding.escalate', f2.id)).map((e) => e.details.escalation);
      assert.deepEqual(audited, Array.from({ length: n }, (_, i) => i + 1), 'each escalation once, in order');
      const steps = later.events.filter((e) => e.kind === 'escalated').map((e) => e.step);
      assert.deepEqual(steps.slice(0, 3), [1, 2, 3]);
      assert.ok(steps.slice(3).every((s) => s === 3), 'the last step is notified again');
      // Every prompt of this notice has been sent or skipped.
      await eventually(async () => (await rt.jobs.list({ kind: 'finding.notify', limit: 500 })).filter((j) => j.key.startsWith(f2.id)).every((j) => j.state === 'done'), 10_000, 'prompts settled');
    } finally {
      await w.stop();
    }
  });

  test('outside channels carry only a prompt to open Enkaku: no patient data in any webhook, email or SMS', { timeout: 60_000 }, async () => {
    const hooks = webhook.requests.filter((r) => r.path === '/hook');
    const sms = gateway.requests.filter((r) => r.path === '/sms');
    const mails = smtp.messages;
    assert.ok(hooks.length >= 2, `webhook calls: ${hooks.length}`);
    assert.ok(sms.length >= 1, `SMS: ${sms.length}`);
    assert.ok(mails.length >= 2, `emails: ${mails.length}`);
    const forbidden = [...PHI_FRAGMENTS, MESSAGE, studyUid, FACILITY_A, '佐藤', '鈴木', '高橋', '右緊張性気胸'];
    const check = (what: string, text: string): void => {
      for (const bad of forbidden) assert.ok(!text.includes(bad), `${what} contains "${bad}": ${text}`);
    };
    for (const h of hooks) {
      const body = JSON.parse(h.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['category', 'event', 'findingId', 'type', 'url']);
      assert.equal(body.type, 'enkaku.finding');
      assert.equal(body.url, `${PUBLIC_URL}/findings/${String(body.findingId)}`);
      check('a webhook body', h.body);
    }
    for (const s of sms) {
      assert.equal(s.headers.authorization, 'Bearer gw-token');
      const body = JSON.parse(s.body) as { to: string; text: string };
      assert.ok(['09011112222', '0312345678'].includes(body.to), body.to);
      assert.match(body.text, new RegExp(`${PUBLIC_URL}/findings/[0-9a-f-]{36}`));
      check('an SMS', s.body);
    }
    for (const m of mails) {
      assert.deepEqual(m.to, ['duty@hospital-a.example']);
      assert.equal(m.from, 'enkaku@provider.example');
      const d = decodeMail(m.raw);
      assert.match(d.text, new RegExp(`${PUBLIC_URL}/findings/${f2.id}`), 'the decoded text holds the link (decoding works)');
      assert.match(d.subject, /critical/);
      check('an email (raw)', m.raw);
      check('an email (decoded)', `${d.headers}\n${d.subject}\n${d.text}`);
    }
    // Every attempt is in the finding's history and the audit trail.
    const v = await findingOf(f2.id);
    const sent = v.events.filter((e) => e.kind === 'channel' && e.outcome === 'delivered');
    const toF2 = hooks.filter((h) => h.body.includes(f2.id)).length + sms.length + mails.length;
    assert.equal(sent.length, toF2, 'one recorded attempt per message received');
    assert.equal((await auditOf('finding.channel', f2.id)).filter((e) => e.outcome === 'success').length, toF2);
    // The acknowledged first notice's prompts were not sent.
    assert.ok(!hooks.some((h) => h.body.includes(f1.id)));

    // A failing receiver: the attempt is recorded as failed and retried later.
    webhook.status = 503;
    const f5 = await raise({ category: 'urgent' });
    const w = worker();
    w.start();
    try {
      const failed = await eventually(async () => (await findingOf(f5.id)).events.find((e) => e.kind === 'channel' && e.outcome === 'failed'), 10_000, 'a failed attempt');
      assert.match(failed.detail, /HTTP 503; attempt 1/);
      const job = (await rt.jobs.list({ kind: 'finding.notify', limit: 500 })).find((j) => j.key.startsWith(`${f5.id}:0:webhook`))!;
      await eventually(async () => (await rt.jobs.get(job.id))?.state === 'queued', 5000, 'queued again');
      assert.equal((await rt.jobs.get(job.id))?.last_error, 'HTTP 503');
      assert.equal((await auditOf('finding.channel', f5.id)).filter((e) => e.outcome === 'failure').length, 1);
    } finally {
      await w.stop();
      webhook.status = 200;
    }
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f5.id}/cancel`, { reason: 'テスト終了' })).statusCode, 200);
  });

  let f3: FindingView;

  test('incidental findings carry a follow-up the facility records; overdue ones are listed and reviewed', { timeout: 30_000 }, async () => {
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid, category: 'incidental', message: 'x', followUpDueOn: '2000-01-01' })).statusCode, 400);
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid, category: 'critical', message: 'x', followUpDueOn: '2099-01-01' })).statusCode, 400);
    f3 = await raise({ category: 'incidental', message: '左腎に 12 mm の嚢胞性病変。3 か月後に再検を。' });
    assert.equal(f3.followUp?.state, 'pending');
    const due = new Date(Date.parse(f3.raisedAt) + 30 * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 10);
    assert.equal(f3.followUp?.dueOn, due, 'due in 30 days (Asia/Tokyo date)');
    assert.equal(Date.parse(f3.deadlineAt!) - Date.parse(f3.raisedAt), 3 * 86_400_000, 'three days per step to acknowledge an incidental notice');
    const overdueNow = (await call(app, attA1, 'GET', '/api/findings?overdue=true')).json() as FindingView[];
    assert.ok(!overdueNow.some((f) => f.id === f3.id), 'not overdue yet');

    // 31 days later (an injected clock over the same database).
    const later = new FindingsService({
      db: rt.db.kysely, dialect: rt.db.dialect, audit: rt.audit, queue: rt.jobs, contracts: rt.contracts, log: rt.log, defaults: rt.config.findings,
      transports: { available: { webhook: false, email: false, sms: false }, webhook: async () => '', email: async () => '', sms: async () => '', close: () => undefined },
      now: () => new Date(Date.now() + 31 * 86_400_000),
    });
    try {
      const overdue = await later.list(attA1.actor, { overdue: 'true' });
      assert.ok(overdue.some((f) => f.id === f3.id), 'overdue 31 days later');
      assert.ok(!(await later.list(attB.actor, { overdue: 'true' })).some((f) => f.id === f3.id));
      const review = await later.runReview('2026-06');
      assert.ok(review.facilities >= 1);
      assert.equal((await later.runReview('2026-06')).facilities, 0, 'a period is reviewed once');
      const reviews = (await call(app, attA1, 'GET', '/api/findings/reviews')).json() as FindingReviewView[];
      const mine = reviews.find((r) => r.period === '2026-06' && r.facilityId === facilityA)!;
      assert.ok(mine, JSON.stringify(reviews));
      assert.equal(mine.facilityName, FACILITY_A);
      const item = mine.items.find((i) => i.findingId === f3.id)!;
      assert.deepEqual({ ...item }, { findingId: f3.id, category: 'incidental', raisedAt: f3.raisedAt, raisedBy: '読影 太郎', dueOn: due, overdue: true });
      assert.ok(!JSON.stringify(mine).includes(SECRET_PATIENT.id) && !JSON.stringify(mine).includes('金沢'), 'a review lists ids, not patients');
      assert.deepEqual((await call(app, attB, 'GET', '/api/findings/reviews')).json(), [], 'another facility sees none of it');
      assert.ok(((await call(app, mgmt, 'GET', '/api/findings/reviews')).json() as FindingReviewView[]).some((r) => r.id === mine.id));
      assert.equal((await call(app, sysadmin, 'GET', '/api/findings/reviews')).statusCode, 403);

      // The facility records the action; the reader cannot, another facility cannot even see it.
      assert.equal((await call(app, reader, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'referred', note: '' })).statusCode, 403);
      assert.equal((await call(app, attB, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'referred', note: '' })).statusCode, 404);
      assert.equal((await call(app, techA, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'done', note: '' })).statusCode, 400);
      const referred = await call(app, techA, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'referred', note: '泌尿器科へ紹介' });
      assert.equal(referred.statusCode, 200, referred.body);
      const r = referred.json() as FindingView;
      assert.equal(r.followUp?.state, 'referred');
      assert.equal(r.followUp?.recordedBy, '技師 A');
      assert.equal(r.status, 'open', 'a technologist is not a recipient: the notice itself stays open');
      assert.equal((await call(app, attA1, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'not-needed', note: '' })).statusCode, 400, 'not-needed needs its reason');
      const closed = (await call(app, attA1, 'POST', `/api/findings/${f3.id}/follow-up`, { state: 'exam-ordered', note: '3 か月後 CT をオーダー' })).json() as FindingView;
      assert.equal(closed.followUp?.state, 'exam-ordered');
      assert.equal(closed.followUp?.note, '3 か月後 CT をオーダー');
      assert.equal(closed.status, 'acknowledged', 'the attending physician recording the action acknowledges the notice too');
      assert.deepEqual(closed.events.filter((e) => e.kind === 'follow-up').map((e) => e.outcome), ['referred', 'exam-ordered']);
      assert.equal((await auditOf('finding.follow-up', f3.id)).length, 2);
      assert.ok(!(await later.list(attA1.actor, { overdue: 'true' })).some((f) => f.id === f3.id), 'no longer overdue');
      assert.equal((await call(app, attA1, 'POST', `/api/findings/${f1.id}/follow-up`, { state: 'referred', note: 'x' })).statusCode, 409, 'a critical finding has no follow-up');
    } finally {
      await later.close();
    }
  });

  test('the periodic review is a job that queues the next one', { timeout: 30_000 }, async () => {
    const f6 = await raise({ category: 'incidental', message: '甲状腺結節。', followUpDueOn: '2099-12-31' });
    const first = await rt.findings.scheduleReview();
    assert.deepEqual(await rt.findings.scheduleReview(), first, 'scheduling is idempotent');
    assert.match(first.key, /^monthly:\d{4}-\d{2}$/);
    assert.equal((await rt.jobs.list({ kind: 'finding.review' })).length, 1);
    // Run one review now, as the timer would at the start of a month.
    await rt.jobs.enqueue(rt.db.kysely, { kind: 'finding.review', key: 'monthly:2026-07', facilityId: null, payload: { period: '2026-07' } });
    const w = worker();
    w.start();
    try {
      const done = await eventually(async () => {
        const j = await rt.jobs.byKey('finding.review', 'monthly:2026-07');
        return j?.state === 'done' && j;
      }, 10_000, 'the review ran');
      assert.ok(done);
    } finally {
      await w.stop();
    }
    const reviews = (await call(app, mgmt, 'GET', `/api/findings/reviews?facilityId=${facilityA}`)).json() as FindingReviewView[];
    const july = reviews.find((r) => r.period === '2026-07')!;
    assert.ok(july.items.some((i) => i.findingId === f6.id && !i.overdue));
    assert.ok(!july.items.some((i) => i.findingId === f3.id), 'a recorded follow-up is no longer open');
    assert.equal((await rt.jobs.byKey('finding.review', first.key))?.state, 'queued', 'the next review waits for its month');
    assert.equal((await auditOf('finding.review', july.id)).length, 1);
  });

  test('cancelling: the reader withdraws an open notice with a reason', async () => {
    const a1 = await open(attA1);
    const f7 = await raise({ category: 'urgent' });
    await a1.waitFor((a) => a.findingId === f7.id);
    assert.equal(Date.parse(f7.deadlineAt!) - Date.parse(f7.raisedAt), 3_600_000, 'urgent: an hour per step');
    assert.equal((await call(app, reader2, 'POST', `/api/findings/${f7.id}/cancel`, { reason: 'x' })).statusCode, 404);
    assert.equal((await call(app, attA1, 'POST', `/api/findings/${f7.id}/cancel`, { reason: 'x' })).statusCode, 403);
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f7.id}/cancel`, {})).statusCode, 400);
    const res = await call(app, reader, 'POST', `/api/findings/${f7.id}/cancel`, { reason: '別患者の画像と取り違え' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as FindingView).status, 'cancelled');
    await a1.waitFor((a) => a.findingId === f7.id && a.type === 'cancelled');
    assert.equal((await call(app, attA1, 'POST', `/api/findings/${f7.id}/acknowledge`)).statusCode, 409);
    // A management physician who raises a notice is among its recipients but does not acknowledge it.
    const own = await raise({ category: 'urgent' }, mgmt);
    assert.ok(own.recipients.some((r) => r.userId === mgmt.id));
    assert.equal((await call(app, mgmt, 'POST', `/api/findings/${own.id}/acknowledge`)).statusCode, 403);
    assert.equal((await call(app, mgmt, 'POST', `/api/findings/${own.id}/cancel`, { reason: '確認用' })).statusCode, 200);
  });

  test('the management view: listings by role and the statistics', async () => {
    const all = (await call(app, mgmt, 'GET', '/api/findings?status=all')).json() as FindingView[];
    assert.ok([f1, f2, f3].every((f) => all.some((x) => x.id === f.id)));
    assert.deepEqual((await call(app, mgmt, 'GET', `/api/findings?status=all&facilityId=${facilityB}`)).json(), []);
    const mine = (await call(app, reader, 'GET', '/api/findings?status=all')).json() as FindingView[];
    assert.deepEqual(mine.map((f) => f.id), all.filter((f) => f.raisedBy.id === reader.id).map((f) => f.id), 'a reader lists what they raised');
    assert.equal(all.filter((f) => f.raisedBy.id !== reader.id).length, 1);
    assert.deepEqual((await call(app, reader2, 'GET', '/api/findings?status=all')).json(), []);
    assert.equal(((await call(app, techA, 'GET', '/api/findings?status=all')).json() as FindingView[]).length, all.length);
    assert.deepEqual((await call(app, attB, 'GET', '/api/findings?status=all')).json(), []);
    assert.equal(((await call(app, techA, 'GET', `/api/findings?status=all&studyUid=${studyUid}`)).json() as FindingView[]).length, all.length);
    assert.deepEqual((await call(app, techA, 'GET', '/api/findings?status=all&studyUid=1.2.3')).json(), []);
    const openOnes = (await call(app, mgmt, 'GET', '/api/findings')).json() as FindingView[];
    assert.ok(openOnes.every((f) => f.status === 'open'));
    assert.equal((await call(app, mgmt, 'GET', '/api/findings?status=whatever')).statusCode, 400);
    assert.equal((await call(app, sysadmin, 'GET', '/api/findings')).statusCode, 403);

    const res = await call(app, mgmt, 'GET', '/api/findings/stats');
    assert.equal(res.statusCode, 200, res.body);
    const s = res.json() as FindingStats;
    const counted = all.filter((f) => f.status !== 'cancelled');
    assert.equal(s.open, counted.filter((f) => f.status === 'open').length);
    const a = s.byFacility.find((x) => x.facilityId === facilityA)!;
    assert.equal(a.facilityName, FACILITY_A);
    assert.equal(a.count, counted.length);
    assert.ok(a.medianAckMinutes !== null && a.medianAckMinutes >= 0);
    assert.ok(a.p90AckMinutes! >= a.medianAckMinutes!);
    assert.deepEqual(s.byReader.map((r) => [r.readerId, r.readerName, r.count]), [[reader.id, '読影 太郎', counted.length]], 'cancelled notices are not counted');
    assert.equal(s.followUps.completed, 1);
    assert.equal(s.followUps.pending, 1);
    assert.equal(s.followUps.overdue, 0);
    assert.equal((await call(app, sysadmin, 'GET', '/api/findings/stats')).statusCode, 200);
    for (const who of [attA1, reader, fadminA]) assert.equal((await call(app, who, 'GET', '/api/findings/stats')).statusCode, 403);
  });

  test('settings: the provider sets acknowledgement times, the facility its channels', async () => {
    const got = await call(app, fadminA, 'GET', `/api/findings/settings/${facilityA}`);
    assert.equal(got.statusCode, 200, got.body);
    const s0 = got.json() as FindingSettingsView;
    assert.equal(s0.webhookUrl, null);
    assert.equal(s0.effective.webhookUrl, webhook.url('/hook'));
    assert.deepEqual(s0.effective.transports, { webhook: true, email: true, sms: true });
    assert.equal((await call(app, fadminB, 'GET', `/api/findings/settings/${facilityA}`)).statusCode, 403);
    assert.equal((await call(app, attA1, 'GET', `/api/findings/settings/${facilityA}`)).statusCode, 403);
    assert.equal((await call(app, fadminA, 'PUT', `/api/findings/settings/${facilityA}`, { ackMinutes: { critical: 5 } })).statusCode, 403, 'acknowledgement times are the provider\'s');
    const ch = await call(app, fadminA, 'PUT', `/api/findings/settings/${facilityA}`, { webhookUrl: 'https://hooks.sakura.example/enkaku', emails: ['rad@sakura.example'], sms: false });
    assert.equal(ch.statusCode, 200, ch.body);
    assert.deepEqual((ch.json() as FindingSettingsView).effective.emails, ['rad@sakura.example']);
    assert.equal((await call(app, fadminA, 'PUT', `/api/findings/settings/${facilityA}`, { webhookUrl: 'ftp://x' })).statusCode, 400);
    assert.equal((await call(app, mgmt, 'PUT', `/api/findings/settings/${facilityA}`, { ackMinutes: { critical: 0 } })).statusCode, 400);
    const m = (await call(app, mgmt, 'PUT', `/api/findings/settings/${facilityA}`, { ackMinutes: { critical: 10 }, followUpDays: 90 })).json() as FindingSettingsView;
    assert.equal(m.effective.ackMinutes.critical, 10);
    assert.equal(m.effective.followUpDays, 90);
    const f = await raise({ category: 'critical' });
    assert.equal(Date.parse(f.deadlineAt!) - Date.parse(f.raisedAt), 10 * 60_000, 'a new notice takes the facility\'s minutes');
    const audit = (await rt.audit.search(OP, { action: 'finding.settings-change', limit: 10 })).records;
    assert.equal(audit.length, 2);
    assert.ok(!JSON.stringify(audit).includes('hooks.sakura.example'), 'the audit names the settings changed, not their values');
    const back = (await call(app, mgmt, 'PUT', `/api/findings/settings/${facilityA}`, { ackMinutes: { critical: null }, followUpDays: null, webhookUrl: null, emails: null, sms: null })).json() as FindingSettingsView;
    assert.equal(back.effective.webhookUrl, webhook.url('/hook'));
    assert.equal((await call(app, reader, 'POST', `/api/findings/${f.id}/cancel`, { reason: '設定の確認' })).statusCode, 200);
  });

  test('the report carries the communication record: who was told, when, how, and the acknowledgement', async () => {
    const page = (await call(app, reader, 'GET', '/api/worklist?status=all')).json() as WorklistPage;
    const item = page.items.find((i) => i.studyUid === studyUid)!;
    assert.ok(item, 'the study is on the worklist');
    assert.equal((await call(app, reader, 'POST', `/api/worklist/${item.id}/claim`)).statusCode, 200);
    const started = await call(app, reader, 'POST', `/api/studies/${studyUid}/report`, {});
    assert.equal(started.statusCode, 201, started.body);
    const reportId = (started.json() as { id: string }).id;
    assert.equal((await call(app, reader, 'POST', '/api/findings', { studyUid, category: 'critical', message: 'x', reportId: 'no-such-report' })).statusCode, 400);
    const f8 = await raise({ category: 'critical', reportId });
    assert.equal(f8.reportId, reportId);
    await call(app, reader, 'POST', `/api/findings/${f8.id}/phone`, { calledName: '佐藤 花子', calledRole: '主治医', phone: '03-1111-0000', readBack: '気胸、脱気する', outcome: 'reached' });
    assert.equal((await call(app, attA1, 'POST', `/api/findings/${f8.id}/acknowledge`)).statusCode, 200);
    const record = await rt.findings.communicationsOfReport(reportId);
    const ack = (await findingOf(f8.id)).acknowledgedAt;
    assert.equal(record.length, 2);
    assert.deepEqual(record[0], {
      category: 'critical',
      message: MESSAGE,
      recipient: '佐藤 花子（依頼医）、高橋 健（主治医）（確認: 佐藤 花子）',
      channel: 'Enkaku 通知',
      at: f8.raisedAt,
      acknowledgedAt: ack,
    });
    assert.equal(record[1]!.channel, '電話（応答あり、発信 読影 太郎）');
    assert.equal(record[1]!.recipient, '佐藤 花子（主治医）');
    assert.equal(record[1]!.message, `${MESSAGE}\n復唱: 気胸、脱気する`);
    assert.deepEqual(await rt.findings.communicationsOfReport('no-such-report'), []);
    assert.deepEqual(((await call(app, attA1, 'GET', `/api/findings?status=all&reportId=${reportId}`)).json() as FindingView[]).map((f) => f.id), [f8.id]);
  });

  test('the alert stream needs a session', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/api/findings/events' })).statusCode, 401);
    const once = await call(app, attB, 'GET', '/api/findings/events?lifetime=0');
    assert.equal(once.statusCode, 200);
    assert.match(once.headers['content-type'] as string, /text\/event-stream/);
    assert.match(once.body, /event: ready/);
  });
});
