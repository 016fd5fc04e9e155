/**
 * The job queue on the database under test (SQLite, or PostgreSQL with
 * ENKAKU_TEST_DATABASE_URL): idempotent enqueue inside and outside transactions, claims
 * that never hand one job to two workers, backoff and final failure, reclaiming the job of
 * a crashed worker, progress, and the operator's retry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { TEST_DATABASE_URL, testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { JobQueue, PermanentJobError, backoffDelay, jobJson } from './index.ts';

describe('job queue', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let clock = new Date('2026-04-01T00:00:00.000Z');
  let q: JobQueue;
  const tick = (ms: number): void => {
    clock = new Date(clock.getTime() + ms);
  };

  before(async () => {
    rt = await testRuntime();
    q = new JobQueue(rt.db.kysely, rt.db.dialect, { now: () => clock, backoff: { baseMs: 30_000, maxMs: 120_000 } });
  });
  after(async () => {
    await rt?.cleanup();
  });

  test('enqueue is idempotent on (kind, key), also between concurrent callers', async () => {
    const a = await q.enqueue(rt.db.kysely, { kind: 'test.idem', key: 'k1', facilityId: null, payload: { n: 1 } });
    const b = await q.enqueue(rt.db.kysely, { kind: 'test.idem', key: 'k1', facilityId: null, payload: { n: 2 } });
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(b.job.id, a.job.id);
    assert.deepEqual(jobJson(b.job.payload), { n: 1 }, 'the first payload is kept');
    const same = await Promise.all([1, 2, 3, 4].map((n) => q.enqueue(rt.db.kysely, { kind: 'test.idem', key: 'k2', facilityId: null, payload: { n } })));
    assert.equal(new Set(same.map((r) => r.job.id)).size, 1);
    assert.equal(same.filter((r) => r.created).length, 1);
    const other = await q.enqueue(rt.db.kysely, { kind: 'test.idem2', key: 'k1', facilityId: null, payload: {} });
    assert.notEqual(other.job.id, a.job.id, 'the same key under another kind is another job');
  });

  test('enqueue inside the caller\'s transaction commits and rolls back with it', async () => {
    await rt.db.kysely.transaction().execute(async (trx) => {
      await q.enqueue(trx, { kind: 'test.trx', key: 'kept', facilityId: null, payload: {} });
    });
    await assert.rejects(
      rt.db.kysely.transaction().execute(async (trx) => {
        await q.enqueue(trx, { kind: 'test.trx', key: 'dropped', facilityId: null, payload: {} });
        throw new Error('roll back');
      }),
    );
    assert.ok(await q.byKey('test.trx', 'kept'));
    assert.equal(await q.byKey('test.trx', 'dropped'), undefined);
  });

  test('payloads with PHI fields are refused', async () => {
    await assert.rejects(q.enqueue(rt.db.kysely, { kind: 'test.phi', key: 'x', facilityId: null, payload: { patientName: 'Yamada^Tarou' } }), /PHI/);
    await assert.rejects(q.enqueue(rt.db.kysely, { kind: 'test.phi', key: 'y', facilityId: null, payload: { nested: [{ PatientID: '123' }] } }), /PHI/);
  });

  test('concurrent claimers never get the same job', async () => {
    const kind = 'test.race';
    for (let i = 0; i < 30; i++) await q.enqueue(rt.db.kysely, { kind, key: `r${i}`, facilityId: null, payload: { i } });
    const claimed: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (;;) {
          const job = await q.claim(`worker-${w}`, [kind], 60_000);
          if (!job) return;
          assert.equal(job.state, 'running');
          assert.equal(job.locked_by, `worker-${w}`);
          claimed.push(job.id);
        }
      }),
    );
    assert.equal(claimed.length, 30);
    assert.equal(new Set(claimed).size, 30, 'no job claimed twice');
  });

  // SQLite has a single writer, so there is no locked row to skip: this runs on PostgreSQL.
  if (TEST_DATABASE_URL) test('PostgreSQL: a claimer skips a row another transaction holds instead of waiting for it', async () => {
    const kind = 'test.skip-locked';
    const first = (await q.enqueue(rt.db.kysely, { kind, key: 'a', facilityId: null, payload: {} })).job;
    tick(1);
    const second = (await q.enqueue(rt.db.kysely, { kind, key: 'b', facilityId: null, payload: {} })).job;
    await rt.db.kysely.transaction().execute(async (trx) => {
      await sql`select id from jobs where id = ${first.id} for update`.execute(trx);
      const started = Date.now();
      const got = await q.claim('other', [kind], 60_000);
      assert.equal(got?.id, second.id, 'the locked row is skipped');
      assert.ok(Date.now() - started < 2000, 'without waiting for the lock');
      assert.equal(await q.claim('other', [kind], 60_000), undefined);
    });
    assert.equal((await q.claim('other', [kind], 60_000))?.id, first.id, 'claimable once the lock is gone');
  });

  test('a failed attempt is retried after an exponential backoff, and the job fails after its last attempt', async () => {
    const kind = 'test.backoff';
    const { job } = await q.enqueue(rt.db.kysely, { kind, key: 'b1', facilityId: null, payload: {}, maxAttempts: 4 });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = await q.claim('w', [kind], 60_000);
      assert.equal(claimed?.id, job.id);
      assert.equal(claimed?.attempts, attempt);
      const outcome = await q.fail(job.id, new Error(`connection refused (${attempt})`), 'w');
      assert.equal(outcome?.state, 'queued');
      const delay = Date.parse((outcome as { runAfter: string }).runAfter) - clock.getTime();
      delays.push(delay);
      const row = (await q.get(job.id))!;
      assert.equal(row.state, 'queued');
      assert.equal(row.last_error, `connection refused (${attempt})`);
      assert.equal(await q.claim('w', [kind], 60_000), undefined, 'not before the backoff is over');
      tick(delay);
    }
    assert.deepEqual(delays, [30_000, 60_000, 120_000]);
    assert.equal(backoffDelay(10, { baseMs: 30_000, maxMs: 120_000 }), 120_000, 'capped');
    await q.claim('w', [kind], 60_000);
    assert.deepEqual(await q.fail(job.id, new Error('still refused'), 'w'), { state: 'failed' });
    const failed = (await q.get(job.id))!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 4);
    assert.ok(failed.finished_at);
    assert.equal(await q.claim('w', [kind], 60_000), undefined);
  });

  test('a permanent error fails the job at once', async () => {
    const { job } = await q.enqueue(rt.db.kysely, { kind: 'test.permanent', key: 'p', facilityId: null, payload: {} });
    await q.claim('w', ['test.permanent'], 60_000);
    assert.deepEqual(await q.fail(job.id, new PermanentJobError('no PACS registered'), 'w'), { state: 'failed' });
    assert.equal((await q.get(job.id))!.attempts, 1);
  });

  test('the job of a crashed worker is reclaimed when its lease expires; the old owner can no longer touch it', async () => {
    const kind = 'test.lease';
    const { job } = await q.enqueue(rt.db.kysely, { kind, key: 'l1', facilityId: null, payload: {} });
    assert.equal((await q.claim('crashed', [kind], 10_000))?.id, job.id);
    assert.equal(await q.claim('other', [kind], 10_000), undefined, 'not while the lease holds');
    tick(5_000);
    assert.equal(await q.renew(job.id, 'crashed', 10_000), true, 'a live worker renews');
    tick(9_000);
    assert.equal(await q.claim('other', [kind], 10_000), undefined, 'the renewed lease still holds');
    tick(2_000);
    const again = await q.claim('other', [kind], 10_000);
    assert.equal(again?.id, job.id);
    assert.equal(again?.attempts, 2);
    assert.equal(await q.renew(job.id, 'crashed', 10_000), false);
    assert.equal(await q.progress(job.id, { step: 'late' }, 'crashed'), false);
    assert.equal(await q.complete(job.id, { done: true }, 'crashed'), false);
    assert.equal(await q.fail(job.id, new Error('late'), 'crashed'), undefined);
    assert.equal(await q.complete(job.id, { done: true }, 'other'), true);
    const row = (await q.get(job.id))!;
    assert.equal(row.state, 'done');
    assert.deepEqual(jobJson(row.progress), { done: true });
    assert.equal(row.locked_by, null);

    const last = (await q.enqueue(rt.db.kysely, { kind, key: 'l2', facilityId: null, payload: {}, maxAttempts: 1 })).job;
    await q.claim('crashed', [kind], 10_000);
    tick(11_000);
    assert.equal(await q.claim('other', [kind], 10_000), undefined);
    const exhausted = (await q.get(last.id))!;
    assert.equal(exhausted.state, 'failed', 'no attempt left: failed instead of reclaimed');
    assert.match(exhausted.last_error ?? '', /lease expired/);
  });

  test('progress is stored while the job runs and kept when it fails', async () => {
    const kind = 'test.progress';
    const { job } = await q.enqueue(rt.db.kysely, { kind, key: 'g', facilityId: null, payload: {} });
    await q.claim('w', [kind], 60_000);
    assert.equal(await q.progress(job.id, { studiesFound: 3, studiesDone: 1 }, 'w'), true);
    assert.deepEqual(jobJson((await q.get(job.id))!.progress), { studiesFound: 3, studiesDone: 1 });
    await q.fail(job.id, new Error('network'), 'w');
    assert.deepEqual(jobJson((await q.get(job.id))!.progress), { studiesFound: 3, studiesDone: 1 });
    await assert.rejects(q.progress(job.id, { patientName: 'x' }), /PHI/);
  });

  test('an operator retries a failed job with fresh attempts; a running one is refused; a released one keeps its count', async () => {
    const kind = 'test.retry';
    const { job } = await q.enqueue(rt.db.kysely, { kind, key: 'x', facilityId: null, payload: {}, maxAttempts: 1 });
    await q.claim('w', [kind], 60_000);
    await q.fail(job.id, new Error('down'), 'w');
    assert.equal((await q.get(job.id))!.state, 'failed');
    const woken: string[] = [];
    const off = q.onEnqueue((j) => woken.push(j.id));
    const queued = await q.retry(job.id);
    off();
    assert.equal(queued.state, 'queued');
    assert.equal(queued.attempts, 0);
    assert.equal(queued.finished_at, null);
    assert.deepEqual(woken, [job.id], 'workers are woken');
    await q.claim('w', [kind], 60_000);
    await assert.rejects(q.retry(job.id), /running/);
    await assert.rejects(q.retry('no-such-job'), /no such job/);
    assert.equal(await q.release(job.id, 'w'), true);
    const released = (await q.get(job.id))!;
    assert.equal(released.state, 'queued');
    assert.equal(released.attempts, 0, 'a release does not use up an attempt');
  });

  test('recordDone marks work that must not run; a later enqueue of the key changes nothing', async () => {
    const done = await q.recordDone(rt.db.kysely, { kind: 'test.marker', key: 'm', facilityId: null, payload: { why: 'x' }, progress: { skipped: 'not needed' } });
    assert.equal(done.job.state, 'done');
    const again = await q.enqueue(rt.db.kysely, { kind: 'test.marker', key: 'm', facilityId: null, payload: {} });
    assert.equal(again.created, false);
    assert.equal(again.job.state, 'done');
    assert.equal(await q.claim('w', ['test.marker'], 60_000), undefined);
  });

  test('list filters by kind, state and facility, newest first', async () => {
    const f1 = (await rt.facilities.add({ kind: 'system', name: 'test' }, { name: 'Queue Hospital 1', aets: ['QH1'] })).id;
    const f2 = (await rt.facilities.add({ kind: 'system', name: 'test' }, { name: 'Queue Hospital 2', aets: ['QH2'] })).id;
    for (const [i, f] of [f1, f2, f1].entries()) {
      tick(1000);
      await q.enqueue(rt.db.kysely, { kind: 'test.list', key: `L${i}`, facilityId: f, payload: {} });
    }
    const all = await q.list({ kind: 'test.list' });
    assert.deepEqual(all.map((j) => j.key), ['L2', 'L1', 'L0']);
    assert.deepEqual((await q.list({ kind: 'test.list', facilities: [f1] })).map((j) => j.key), ['L2', 'L0']);
    assert.deepEqual(await q.list({ kind: 'test.list', facilities: [] }), []);
    assert.deepEqual((await q.list({ kind: 'test.list', state: 'done' })).length, 0);
    assert.equal((await q.list({ kind: 'test.list', limit: 1, offset: 1 }))[0]?.key, 'L1');
  });
});
