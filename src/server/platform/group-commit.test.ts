/**
 * The group-commit queue: items that arrive while a batch runs go together in the next one,
 * each submitter gets its own result, a lone item runs at once, batches respect their size
 * and the number in flight, and a failing batch fails only its own items.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitQueue } from './group-commit.ts';

/** A runner whose batches end when the test says so. */
function controlledRunner<T>() {
  const batches: T[][] = [];
  const release: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const run = async (items: T[]): Promise<string[]> => {
    batches.push(items);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((r) => release.push(r));
    inFlight--;
    return items.map((i) => `done ${String(i)}`);
  };
  return { run, batches, release, maxInFlight: () => maxInFlight };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lets the event loop turn until `cond` holds (at most 50 turns). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !cond(); i++) await turn();
  assert.ok(cond(), 'the queue did not get there');
}

describe('GroupCommitQueue', () => {
  it('runs a lone item at once, and gives each submitter its own result', async () => {
    const q = new GroupCommitQueue<number, string>(async (items) => items.map((i) => `r${i}`));
    assert.equal(await q.submit(1), 'r1');
    const [a, b] = await Promise.all([q.submit(2), q.submit(3)]);
    assert.deepEqual([a, b], ['r2', 'r3']);
  });

  it('takes everything that arrived during a batch into the next one, up to maxBatch', async () => {
    const r = controlledRunner<number>();
    const q = new GroupCommitQueue<number, string>(r.run, { maxBatch: 4 });
    const first = q.submit(0);
    await turn();
    assert.deepEqual(r.batches, [[0]], 'the first item did not wait for company');
    const rest = [1, 2, 3, 4, 5, 6].map((i) => q.submit(i));
    await turn();
    assert.equal(r.batches.length, 1, 'nothing else starts while the batch runs');
    assert.equal(q.pending, 6);
    r.release.shift()!();
    assert.equal(await first, 'done 0');
    await until(() => r.batches.length === 2);
    assert.deepEqual(r.batches[1], [1, 2, 3, 4]);
    r.release.shift()!();
    await until(() => r.batches.length === 3);
    assert.deepEqual(r.batches[2], [5, 6]);
    r.release.shift()!();
    assert.deepEqual(await Promise.all(rest), ['done 1', 'done 2', 'done 3', 'done 4', 'done 5', 'done 6']);
  });

  it('runs up to `concurrency` batches at once', async () => {
    const r = controlledRunner<number>();
    const q = new GroupCommitQueue<number, string>(r.run, { maxBatch: 2, concurrency: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => q.submit(i));
    await until(() => r.batches.length === 2);
    for (let i = 0; i < 5; i++) await turn();
    assert.deepEqual(r.batches, [[1, 2], [3, 4]], 'no third batch while two run');
    r.release.shift()!();
    await until(() => r.batches.length === 3);
    assert.deepEqual(r.batches[2], [5, 6]);
    while (r.release.length) r.release.shift()!();
    assert.equal((await Promise.all(all)).length, 6);
    assert.equal(r.maxInFlight(), 2);
  });

  it('fails every item of a batch that throws, and only those; later batches still run', async () => {
    let calls = 0;
    const q = new GroupCommitQueue<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error('database gone');
      return items;
    });
    await assert.rejects(q.submit(1), /database gone/);
    assert.equal(await q.submit(2), 2);
  });

  it('refuses a runner answer that does not match the batch', async () => {
    const q = new GroupCommitQueue<number, number>(async () => []);
    await assert.rejects(q.submit(1), /returned 0 results for 1 items/);
  });
});
