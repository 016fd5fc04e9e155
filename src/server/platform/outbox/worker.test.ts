/**
 * The job worker on the database under test: runs registered handlers, at most N at a
 * time, wakes as soon as a job is enqueued in its process, retries failed attempts after
 * the backoff, keeps leases alive for long handlers, and stops cleanly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { JobQueue, JobWorker, jobJson, PermanentJobError } from './index.ts';

/** Polls until `check` returns a value (or fails after `ms`). */
async function until<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('job worker', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let q: JobQueue;
  const workers: JobWorker[] = [];
  const worker = (opts: Partial<ConstructorParameters<typeof JobWorker>[1]> = {}): JobWorker => {
    const w = new JobWorker(q, { log: rt.log, pollMs: 50, ...opts });
    workers.push(w);
    return w;
  };

  before(async () => {
    rt = await testRuntime();
    q = new JobQueue(rt.db.kysely, rt.db.dialect, { backoff: { baseMs: 100, maxMs: 400 } });
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await rt?.cleanup();
  });

  test('runs the handler of each kind and stores its result as the final progress', async () => {
    const seen: unknown[] = [];
    const w = worker().register('w.echo', async (ctx) => {
      seen.push(ctx.payload);
      await ctx.report({ half: true });
      return { echoed: ctx.payload.value, attempt: ctx.attempt };
    });
    w.start();
    const { job } = await q.enqueue(rt.db.kysely, { kind: 'w.echo', key: 'e1', facilityId: null, payload: { value: 42 } });
    const done = await until(async () => {
      const j = await q.get(job.id);
      return j?.state === 'done' && j;
    });
    assert.deepEqual(jobJson(done.progress), { echoed: 42, attempt: 1 });
    assert.deepEqual(seen, [{ value: 42 }]);
    await w.stop();
  });

  test('wakes when a job is enqueued in its process instead of waiting for the next poll', async () => {
    const w = worker({ pollMs: 60_000 }).register('w.wake', async () => ({ ok: true }));
    w.start();
    await new Promise((r) => setTimeout(r, 100)); // the first look found nothing
    const started = Date.now();
    const { job } = await q.enqueue(rt.db.kysely, { kind: 'w.wake', key: 'k', facilityId: null, payload: {} });
    await until(async () => (await q.get(job.id))?.state === 'done', 5000);
    assert.ok(Date.now() - started < 2000, `done after ${Date.now() - started} ms`);
    const delayed = await q.enqueue(rt.db.kysely, { kind: 'w.wake', key: 'later', facilityId: null, payload: {}, runAfter: new Date(Date.now() + 300) });
    await until(async () => (await q.get(delayed.job.id))?.state === 'done', 5000);
    await w.stop();
  });

  test('wakes once a job enqueued inside a transaction has committed, and not for a rolled-back one', async () => {
    const ran: unknown[] = [];
    const w = worker({ pollMs: 60_000 }).register('w.trx', async (ctx) => {
      ran.push(ctx.payload.n);
    });
    w.start();
    await new Promise((r) => setTimeout(r, 100)); // the first look found nothing
    const id = await rt.db.kysely.transaction().execute(async (trx) => {
      const { job } = await q.enqueue(trx, { kind: 'w.trx', key: 'committed', facilityId: null, payload: { n: 1 } });
      await new Promise((r) => setTimeout(r, 150)); // the transaction is still open when a look would come
      return job.id;
    });
    await until(async () => (await q.get(id))?.state === 'done', 5000);
    await assert.rejects(
      rt.db.kysely.transaction().execute(async (trx) => {
        await q.enqueue(trx, { kind: 'w.trx', key: 'rolled-back', facilityId: null, payload: { n: 2 } });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(ran, [1]);
    assert.equal(await q.byKey('w.trx', 'rolled-back'), undefined);
    await w.stop();
  });

  test('wakes when the next queued job is due, also one queued by another node', async () => {
    // Another node's queue: its enqueue wakes nobody in this process.
    const other = new JobQueue(rt.db.kysely, rt.db.dialect);
    const { job } = await other.enqueue(rt.db.kysely, { kind: 'w.timer', key: 'due-soon', facilityId: null, payload: {}, runAfter: new Date(Date.now() + 400) });
    let ranAt = 0;
    const w = worker({ pollMs: 60_000 }).register('w.timer', async () => {
      ranAt = Date.now();
    });
    w.start();
    await until(async () => (await q.get(job.id))?.state === 'done', 10_000);
    assert.ok(ranAt >= Date.parse(job.run_after), 'not before it was due');
    await w.stop();
  });

  test('runs at most `concurrency` handlers at once', async () => {
    let running = 0;
    let peak = 0;
    const w = worker({ concurrency: 3 }).register('w.busy', async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 60));
      running--;
    });
    for (let i = 0; i < 10; i++) await q.enqueue(rt.db.kysely, { kind: 'w.busy', key: `b${i}`, facilityId: null, payload: {} });
    w.start();
    await until(async () => (await q.list({ kind: 'w.busy', state: 'done' })).length === 10);
    assert.equal(peak, 3);
    await w.stop();
  });

  test('a failing handler is retried after the backoff until it succeeds; a permanent error fails at once', async () => {
    let calls = 0;
    const w = worker()
      .register('w.flaky', async (ctx) => {
        calls++;
        if (ctx.attempt < 3) throw new Error(`PACS unreachable (attempt ${ctx.attempt})`);
        return { ok: ctx.attempt };
      })
      .register('w.hopeless', async () => {
        throw new PermanentJobError('nothing to do');
      });
    w.start();
    const started = Date.now();
    const { job } = await q.enqueue(rt.db.kysely, { kind: 'w.flaky', key: 'f', facilityId: null, payload: {} });
    const done = await until(async () => {
      const j = await q.get(job.id);
      return j?.state === 'done' && j;
    });
    assert.equal(calls, 3);
    assert.equal(done.attempts, 3);
    assert.deepEqual(jobJson(done.progress), { ok: 3 });
    assert.ok(Date.now() - started >= 300, 'waited 100 + 200 ms of backoff');
    const hopeless = (await q.enqueue(rt.db.kysely, { kind: 'w.hopeless', key: 'h', facilityId: null, payload: {} })).job;
    const failed = await until(async () => {
      const j = await q.get(hopeless.id);
      return j?.state === 'failed' && j;
    });
    assert.equal(failed.attempts, 1);
    assert.equal(failed.last_error, 'nothing to do');
    await w.stop();
  });

  test('a long handler keeps its lease: another worker does not take the job over', async () => {
    let runs = 0;
    const handler = async (): Promise<void> => {
      runs++;
      await new Promise((r) => setTimeout(r, 900));
    };
    const a = worker({ leaseMs: 200, id: 'A' }).register('w.long', handler);
    const b = worker({ leaseMs: 200, id: 'B' }).register('w.long', handler);
    const { job } = await q.enqueue(rt.db.kysely, { kind: 'w.long', key: 'l', facilityId: null, payload: {} });
    a.start();
    await until(async () => (await q.get(job.id))?.state === 'running');
    b.start();
    const done = await until(async () => {
      const j = await q.get(job.id);
      return j?.state === 'done' && j;
    });
    assert.equal(runs, 1);
    assert.equal(done.attempts, 1);
    await Promise.all([a.stop(), b.stop()]);
  });

  test('stop waits for running handlers; past the grace time they are aborted and their job given back', async () => {
    let finished = false;
    const w = worker({ stopGraceMs: 5000 }).register('w.finish', async () => {
      await new Promise((r) => setTimeout(r, 200));
      finished = true;
    });
    const a = (await q.enqueue(rt.db.kysely, { kind: 'w.finish', key: 's', facilityId: null, payload: {} })).job;
    w.start();
    await until(async () => (await q.get(a.id))?.state === 'running');
    await w.stop();
    assert.equal(finished, true, 'stop returned after the handler finished');
    assert.equal((await q.get(a.id))!.state, 'done');

    const v = worker({ stopGraceMs: 50 }).register('w.abortable', (ctx) =>
      new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
    );
    const b = (await q.enqueue(rt.db.kysely, { kind: 'w.abortable', key: 's', facilityId: null, payload: {} })).job;
    v.start();
    await until(async () => (await q.get(b.id))?.state === 'running');
    await v.stop();
    const released = (await q.get(b.id))!;
    assert.equal(released.state, 'queued', 'given back to the queue');
    assert.equal(released.attempts, 0, 'the interrupted attempt does not count');
    assert.equal(released.last_error, null);
  });
});
