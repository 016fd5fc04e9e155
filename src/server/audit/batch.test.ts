/**
 * Audit batches (group commit): the entries of one transaction are chained exactly as one
 * append after another would chain them, appends inside the transaction join the batch in
 * order, a rolled-back message leaves no gap, and a failed transaction leaves the head as it
 * was. On the test database (SQLite, or PostgreSQL with ENKAKU_TEST_DATABASE_URL).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { AuditService, GENESIS_HASH, chainHash, type AuditDatabase, type AuditEntryInput } from './index.ts';

const READER = { kind: 'user', id: 'u-7', name: 'Dr. Batch', role: 'radiologist', address: '192.0.2.7' };

function entry(n: number): AuditEntryInput {
  return { actor: READER, action: 'order.create', object: { type: 'order', id: `order-${n}` }, facilityId: 'fac-a', details: { n } };
}

describe('audit batches', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let db: Kysely<AuditDatabase>;
  let audit: AuditService;

  before(async () => {
    rt = await testRuntime();
    db = rt.db.kysely as unknown as Kysely<AuditDatabase>;
    audit = new AuditService(db, { dialect: rt.db.dialect });
  });
  after(async () => {
    await rt?.cleanup();
  });
  beforeEach(async () => {
    await db.deleteFrom('audit_events').execute();
    await db.deleteFrom('audit_head').execute();
    await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();
  });

  const rows = () => db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  const head = () => db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();

  test('entries of one transaction chain in order, with appends made meanwhile, and verify', async () => {
    await audit.record(entry(0));
    const added = await db.transaction().execute((trx) =>
      audit.withBatch(trx, async (batch) => {
        const a = batch.add(entry(1));
        const b = await audit.append(trx, entry(2)); // code called inside the transaction, e.g. reconciliation
        const c = batch.add(entry(3));
        assert.equal(batch.size, 3, 'nothing written before the end');
        return [a, b, c];
      }),
    );
    assert.deepEqual(added.map((r) => r.seq), [2, 3, 4]);
    const stored = await rows();
    assert.deepEqual(stored.map((r) => Number(r.seq)), [1, 2, 3, 4]);
    for (let i = 1; i < stored.length; i++) {
      assert.equal(stored[i]!.prev_hash, stored[i - 1]!.hash);
      assert.equal(stored[i]!.hash, chainHash(stored[i]!.prev_hash, { ...stored[i]!, seq: Number(stored[i]!.seq) }));
    }
    assert.deepEqual(added.map((r) => r.hash), stored.slice(1).map((r) => r.hash), 'the records returned are what was stored');
    const h = await head();
    assert.equal(Number(h.seq), 4);
    assert.equal(h.hash, stored[3]!.hash);
    assert.deepEqual(await audit.verify(), { ok: true, count: 4, headHash: stored[3]!.hash });
  });

  test('rolling back to a mark drops the entries of a message that did not apply, without a gap', async () => {
    await db.transaction().execute((trx) =>
      audit.withBatch(trx, async (batch) => {
        batch.add(entry(1));
        const mark = batch.mark();
        batch.add(entry(2));
        batch.add(entry(3));
        batch.rollbackTo(mark);
        batch.add(entry(4));
      }),
    );
    const stored = await rows();
    assert.deepEqual(stored.map((r) => [Number(r.seq), r.object_id]), [[1, 'order-1'], [2, 'order-4']]);
    assert.equal((await audit.verify()).ok, true);
  });

  test('a transaction that fails writes nothing and leaves the head; a batch cannot outlive it', async () => {
    let kept: { add: (e: AuditEntryInput) => unknown } | undefined;
    await assert.rejects(
      db.transaction().execute((trx) =>
        audit.withBatch(trx, async (batch) => {
          kept = batch;
          batch.add(entry(1));
          throw new Error('the change failed');
        }),
      ),
      /the change failed/,
    );
    assert.equal((await rows()).length, 0);
    assert.equal(Number((await head()).seq), 0);
    assert.throws(() => kept!.add(entry(2)), /after its transaction ended/);
    await audit.record(entry(3));
    assert.deepEqual(await audit.verify(), { ok: true, count: 1, headHash: (await rows())[0]!.hash });
  });

  test('a malformed entry is refused when added, and the batch goes on', async () => {
    await db.transaction().execute((trx) =>
      audit.withBatch(trx, async (batch) => {
        assert.throws(() => batch.add({ ...entry(1), details: { patientName: 'x' } }), /PHI/);
        batch.add(entry(2));
      }),
    );
    assert.deepEqual((await rows()).map((r) => r.object_id), ['order-2']);
  });

  test('concurrent batches and single appends stay one gap-free chain', async () => {
    await Promise.all([
      ...Array.from({ length: 4 }, (_, k) =>
        db.transaction().execute((trx) => audit.withBatch(trx, async (batch) => {
          for (let i = 0; i < 5; i++) batch.add(entry(100 * k + i));
        }))),
      ...Array.from({ length: 5 }, (_, i) => audit.record(entry(1000 + i))),
    ]);
    const stored = await rows();
    assert.deepEqual(stored.map((r) => Number(r.seq)), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal((await audit.verify()).ok, true);
  });
});
