/**
 * Escalation timers survive `kill -9` and fire exactly once (SQLite, or PostgreSQL with
 * ENKAKU_TEST_DATABASE_URL). Four critical notices with 2-second ladder steps are raised; a
 * child process with the real queue and worker escalates them once and is killed with
 * SIGKILL; while no process runs, the next deadlines pass; then two processes (a cluster of
 * two workers on one database) start together, fire the overdue timers and the following
 * ones until the notices are acknowledged. Every escalation number appears exactly once per
 * notice, in the history, in the audit trail and as a done job; none fired before its
 * deadline; the timers that came due while nothing ran fired after the restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testConfig } from '../../../test/helpers.ts';
import { loadConfig, type EnkakuConfig } from '../config.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { createLogger } from '../platform/log.ts';
import { storeStudy } from '../orders/test-fixtures.ts';
import type { Actor } from '../platform/context.ts';
import type { FindingView } from '../../shared/findings.ts';
import { OP, contractWithLadder, eventually, sleep } from './test-support.ts';

const CHILD = path.join(import.meta.dirname, 'crash-child.ts');
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const STEP_MS = 2000;

let config: EnkakuConfig;
let cleanup: () => Promise<void>;
let rt: Runtime;
const children: ChildProcess[] = [];

function startChild(name: string): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, ENKAKU_DATA_DIR: config.dataDir, FINDINGS_LEASE_MS: '1000', FINDINGS_WORKER: name, ENKAKU_LOG_LEVEL: 'silent' };
  delete env.ENKAKU_DATABASE_URL;
  delete env.ENKAKU_DATABASE_SCHEMA;
  if (config.databaseUrl) env.ENKAKU_DATABASE_URL = config.databaseUrl;
  if (config.databaseSchema) env.ENKAKU_DATABASE_SCHEMA = config.databaseSchema;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code, signal) => reject(new Error(`the escalating child exited early (${code ?? signal}): ${err.slice(0, 2000)}`)));
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

before(async () => {
  const defaults = loadConfig({}).findings;
  ({ config, cleanup } = testConfig({ findings: { ...defaults, ackMinutes: { ...defaults.ackMinutes, critical: STEP_MS / 60_000 } } }));
  rt = await createRuntime(config, createLogger('silent'));
});
after(async () => {
  for (const c of children) await kill(c, 'SIGKILL');
  await rt?.close();
  await cleanup?.();
});

test('kill -9 between escalations: timers survive the restart and each escalation happens exactly once', { timeout: 120_000 }, async () => {
  const facilityId = (await rt.facilities.add(OP, { name: '耐障害病院', aets: ['CRASH'] })).id;
  await rt.contracts.set(OP, facilityId, contractWithLadder([
    { name: '放射線科 部長', role: '部長', phone: '090-0000-0001', hours: '平日' },
    { name: '当直医', role: '当直', phone: '03-0000-0002', hours: '24時間' },
  ]));
  const create = (username: string, role: string, facility: string | null) =>
    rt.accounts.create(OP, { username, displayName: username, password: 'Correct-Horse-9-Battery', grants: [{ role, facilityId: facility }], mustChangePassword: false });
  const readerId = await create('crash-reader', 'radiologist', null);
  await create('crash-attending', 'attending-physician', facilityId);
  const mgmtId = await create('crash-mgmt', 'management-physician', null);
  const actor = (userId: string, role: string): Extract<Actor, { kind: 'user' }> => ({ kind: 'user', userId, username: userId, grants: [{ role, facilityId: null }], address: '127.0.0.1', sessionId: 'crash' });
  const studyUid = await storeStudy(rt, facilityId, { patient: { id: 'CR-1', name: { alphabetic: 'Test^Crash' }, sex: 'O', birthDate: '19800101' } });
  const findings: FindingView[] = [];
  for (let i = 0; i < 4; i++) findings.push(await rt.findings.raise(actor(readerId, 'radiologist'), { studyUid, category: 'critical', message: `所見 ${i + 1}` }));
  assert.ok(findings.every((f) => f.recipients.at(-1)!.step === 3), 'four steps: attending, two contacts, management');
  const rows = async () => Promise.all(findings.map(async (f) => (await rt.findings.repo.finding(rt.db.kysely, f.id))!));

  // A first process escalates each notice once and is killed.
  const first = await startChild('first');
  await eventually(async () => (await rows()).every((r) => r.escalations >= 1), 30_000, 'a first escalation of every notice');
  await kill(first, 'SIGKILL');
  const killedAt = Date.now();
  const atKill = await rows();

  // Nothing runs: the next deadlines pass, the timers wait in the queue.
  await sleep(STEP_MS + 1000);
  const during = await rows();
  assert.deepEqual(during.map((r) => r.escalations), atKill.map((r) => r.escalations), 'no escalation while no process runs');
  for (const r of during) {
    const timer = await rt.jobs.byKey('finding.escalate', `${r.id}:${r.escalations + 1}`);
    assert.ok(timer && timer.state !== 'done', 'the next timer is still pending');
    assert.ok(Date.parse(timer.run_after) < Date.now(), 'and its deadline has passed');
  }

  // Two processes start together (a cluster): the overdue timers fire, then the next ones.
  const restartedAt = Date.now();
  const [b, c] = await Promise.all([startChild('second'), startChild('third')]);
  await eventually(async () => (await rows()).every((r) => r.escalations >= 3), 30_000, 'every notice at the management physicians');
  for (const f of findings) await rt.findings.acknowledge(actor(mgmtId, 'management-physician'), f.id);
  await sleep(STEP_MS + 1000);
  await Promise.all([kill(b, 'SIGTERM'), kill(c, 'SIGTERM')]);

  for (const f of findings) {
    const row = (await rt.findings.repo.finding(rt.db.kysely, f.id))!;
    assert.equal(row.status, 'acknowledged');
    const n = row.escalations;
    const events = (await rt.findings.repo.events(rt.db.kysely, [f.id])).filter((e) => e.kind === 'escalated');
    assert.equal(events.length, n, `${f.id}: one history entry per escalation`);
    const audited = (await rt.audit.search(OP, { action: 'finding.escalate', objectId: f.id, limit: 100 })).records.map((e) => Number(e.details.escalation)).sort((x, y) => x - y);
    assert.deepEqual(audited, Array.from({ length: n }, (_, i) => i + 1), `${f.id}: each escalation audited once`);
    // Never before its deadline: the first at raise + step, each next one a step after the previous.
    let deadline = Date.parse(f.raisedAt) + STEP_MS;
    for (const e of events) {
      assert.ok(Date.parse(e.at) >= deadline, `${f.id}: escalation at ${e.at} not before its deadline ${new Date(deadline).toISOString()}`);
      deadline = Date.parse(e.at) + STEP_MS;
    }
    const second = events[atKill.find((r) => r.id === f.id)!.escalations]!;
    assert.ok(Date.parse(second.at) >= restartedAt, 'the timer that came due while nothing ran fired after the restart');
    assert.ok(Date.parse(second.at) > killedAt + STEP_MS, 'late, not lost');
    for (let i = 1; i <= n; i++) {
      const job = (await rt.jobs.byKey('finding.escalate', `${f.id}:${i}`))!;
      assert.equal(job.state, 'done', `${f.id}: timer ${i} done`);
      if (i > atKill.find((r) => r.id === f.id)!.escalations + 1) assert.equal(job.attempts, 1, `${f.id}: timer ${i} claimed by one of the two processes only`);
    }
    const last = await rt.jobs.byKey('finding.escalate', `${f.id}:${n + 1}`);
    assert.ok(last && last.state !== 'failed', 'the timer after the acknowledgement changed nothing');
  }
  assert.deepEqual((await rt.jobs.list({ kind: 'finding.escalate', state: 'failed' })).map((j) => j.key), []);
});
