/**
 * Jobs as users see them: facility staff see their facility's jobs, the provider's readers
 * and system administrators all of them, others none; only system administrators retry,
 * and each retry is in the audit trail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import type { Actor } from '../context.ts';

const OP = { kind: 'system', name: 'test' } as const;
const user = (role: string, facilityId: string | null): Actor => ({ kind: 'user', userId: `u-${role}-${facilityId ?? 'p'}`, username: role, grants: [{ role, facilityId }], address: '127.0.0.1', sessionId: 's' });

describe('job service', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let a: string;
  let b: string;
  let jobA: string;
  let jobB: string;

  before(async () => {
    rt = await testRuntime();
    a = (await rt.facilities.add(OP, { name: 'Job Hospital A', aets: ['JA'] })).id;
    b = (await rt.facilities.add(OP, { name: 'Job Hospital B', aets: ['JB'] })).id;
    jobA = (await rt.jobs.enqueue(rt.db.kysely, { kind: 'priors.fetch', key: '1.2.3.1', facilityId: a, payload: { studyUid: '1.2.3.1' }, runAfter: new Date(Date.now() + 3_600_000) })).job.id;
    jobB = (await rt.jobs.enqueue(rt.db.kysely, { kind: 'priors.fetch', key: '1.2.3.2', facilityId: b, payload: { studyUid: '1.2.3.2' }, runAfter: new Date(Date.now() + 3_600_000) })).job.id;
    await rt.jobs.enqueue(rt.db.kysely, { kind: 'system.task', key: 'x', facilityId: null, payload: {} });
  });
  after(async () => {
    await rt?.cleanup();
  });

  test('each role sees the jobs of the facilities whose studies it reads', async () => {
    const keys = async (actor: Actor, kind?: string): Promise<string[]> => (await rt.jobViews.list(actor, { kind })).map((j) => j.key).sort();
    assert.deepEqual(await keys(user('attending-physician', a), 'priors.fetch'), ['1.2.3.1']);
    assert.deepEqual(await keys(user('technologist', b)), ['1.2.3.2'], 'no job of another facility, none without a facility');
    assert.deepEqual(await keys(user('radiologist', null), 'priors.fetch'), ['1.2.3.1', '1.2.3.2']);
    assert.deepEqual(await keys(user('system-admin', null)), ['1.2.3.1', '1.2.3.2', 'x']);
    for (const role of ['facility-admin', 'auditor']) await assert.rejects(rt.jobViews.list(user(role, a)), /roles do not include/);
    assert.equal((await rt.jobViews.get(user('attending-physician', a), jobA)).payload.studyUid, '1.2.3.1');
    await assert.rejects(rt.jobViews.get(user('attending-physician', a), jobB), /no such job/);
    await assert.rejects(rt.jobViews.list(user('radiologist', null), { state: 'bogus' }), /state must be/);
  });

  test('only system administrators retry, and the retry is audited', async () => {
    await assert.rejects(rt.jobViews.retry(user('radiologist', null), jobA), /only system administrators/);
    await assert.rejects(rt.jobViews.retry(user('attending-physician', a), jobA), /only system administrators/);
    const admin = user('system-admin', null);
    const view = await rt.jobViews.retry(admin, jobA);
    assert.equal(view.state, 'queued');
    assert.ok(Date.parse(view.runAfter) <= Date.now(), 'due now');
    const audit = await rt.audit.search(OP, { action: 'job.retry', limit: 10, offset: 0 });
    assert.equal(audit.records.length, 1);
    assert.equal(audit.records[0]!.object.id, jobA);
    assert.equal(audit.records[0]!.facilityId, a);
    assert.equal(audit.records[0]!.actor.id, 'u-system-admin-p');
    await assert.rejects(rt.jobViews.retry(admin, 'missing'), /no such job/);
  });
});
