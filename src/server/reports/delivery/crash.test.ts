/**
 * Nothing is lost and nothing is delivered twice when the delivering process is killed with
 * SIGKILL in the middle of its work (SQLite, or PostgreSQL with ENKAKU_TEST_DATABASE_URL): a
 * child process with the real queue delivers to a real MLLP receiver that holds two
 * acknowledgments back; the child is killed; a new child reclaims the jobs when their leases
 * run out and finishes. Every report version is then recorded delivered once, its job done,
 * the attempts cut short are marked interrupted, and the receiver applied each message once
 * (a repeat carries the same MSH-10, so the receiver can drop it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testConfig } from '../../../../test/helpers.ts';
import type { EnkakuConfig } from '../../config.ts';
import { createRuntime, type Runtime } from '../../runtime.ts';
import { createLogger } from '../../platform/log.ts';
import { JobQueue } from '../../platform/outbox/index.ts';
import { SecretBox } from '../../platform/secrets.ts';
import { DeliveryService } from './service.ts';
import { contractTerms, eventually, MllpTestReceiver, user } from './test-support.ts';

const CHILD = path.join(import.meta.dirname, 'crash-child.ts');
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');

let config: EnkakuConfig;
let cleanup: () => Promise<void>;
let rt: Runtime;
const receiver = new MllpTestReceiver();
const children: ChildProcess[] = [];

function startChild(): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, ENKAKU_DATA_DIR: config.dataDir, DELIVERY_LEASE_MS: '1500', ENKAKU_LOG_LEVEL: 'silent' };
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
    child.once('exit', (code, signal) => reject(new Error(`the delivering child exited early (${code ?? signal}): ${err.slice(0, 2000)}`)));
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
  ({ config, cleanup } = testConfig());
  rt = await createRuntime(config, createLogger('silent'));
  await receiver.start();
});
after(async () => {
  for (const c of children) await kill(c, 'SIGKILL');
  await receiver.stop();
  await rt?.close();
  await cleanup?.();
});

test('kill -9 while delivering: after a restart every version is delivered exactly once, nothing lost', { timeout: 120_000 }, async () => {
  const admin = user('system-admin', null, 'admin');
  const facilityId = (await rt.facilities.add({ kind: 'system', name: 'test' }, { name: '山田記念病院', aets: [] })).id;
  await rt.contracts.set(admin, facilityId, contractTerms('hl7'));
  const service = new DeliveryService({
    db: rt.db.kysely, queue: new JobQueue(rt.db.kysely, rt.db.dialect), audit: rt.audit, secrets: SecretBox.open(config.dataDir), log: rt.log, facilityExists: (id) => rt.facilities.exists(id),
  });
  const endpoint = await service.addEndpoint(admin, facilityId, { kind: 'hl7', name: '電子カルテ', host: '127.0.0.1', port: receiver.port, timeoutSeconds: 30 });
  const versions = Array.from({ length: 6 }, (_, i) => `rv-crash-${i + 1}`);
  for (const versionId of versions) {
    await rt.db.kysely.transaction().execute((trx) => service.enqueueDeliveries(trx, { facilityId, versionId }));
  }

  // The first two messages are acknowledged; the next two are held (the child waits for their ACKs).
  receiver.answer = (_m, n) => (n <= 2 ? 'AA' : 'none');
  const first = await startChild();
  await eventually(async () => (receiver.received.length >= 4 ? true : undefined), 30_000, 'four messages at the receiver');
  const held = receiver.received.filter((r) => r.answered === 'none').map((r) => r.controlId);
  assert.equal(held.length, 2);
  await kill(first, 'SIGKILL');

  const mid = await Promise.all(versions.map(async (v) => (await service.deliveriesOfVersion(admin, v))[0]!));
  assert.equal(mid.filter((d) => d.status === 'delivered').length, 2, 'two delivered before the kill');
  const running = mid.filter((d) => d.attemptLog!.some((a) => a.outcome === 'running'));
  assert.deepEqual(running.map((d) => d.controlId).sort(), [...held].sort(), 'the held ones were mid-attempt when killed');

  // The receiver acknowledges everything from now on; a new process takes over.
  receiver.answer = () => 'AA';
  const second = await startChild();
  const done = await eventually(async () => {
    const all = await Promise.all(versions.map(async (v) => (await service.deliveriesOfVersion(admin, v))[0]!));
    return all.every((d) => d.status === 'delivered') ? all : undefined;
  }, 60_000, 'every version delivered after the restart');
  await kill(second, 'SIGTERM');

  for (const d of done) {
    assert.equal(d.attemptLog!.filter((a) => a.outcome === 'delivered').length, 1, `${d.versionId} recorded delivered once`);
    assert.equal(d.attemptLog!.filter((a) => a.outcome === 'running').length, 0);
    const job = await rt.jobs.byKey('report.deliver', `${d.versionId}:${endpoint.id}`);
    assert.equal(job?.state, 'done', `${d.versionId}: job done`);
    assert.equal(receiver.applied.get(d.controlId!), 1, `${d.versionId}: applied once by the receiver`);
  }
  const interrupted = done.filter((d) => d.attemptLog!.some((a) => a.outcome === 'interrupted'));
  assert.deepEqual(interrupted.map((d) => d.controlId).sort(), [...held].sort(), 'the attempts cut short are marked interrupted');
  assert.equal(new Set(receiver.received.map((r) => r.controlId)).size, versions.length, 'no other message than the six');
  const repeats = receiver.received.length - versions.length;
  assert.equal(repeats, 2, 'only the two held messages were sent again, with their MSH-10');
  const audited = (await rt.audit.search({ kind: 'system', name: 'test' }, { action: 'report.delivery.delivered', limit: 100 })).records;
  assert.equal(audited.length, versions.length, 'one audit entry per delivery');
});
