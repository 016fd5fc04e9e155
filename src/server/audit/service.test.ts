/**
 * The audit trail on the test database (SQLite, or PostgreSQL with
 * ENKAKU_TEST_DATABASE_URL): appends chain correctly inside callers' transactions,
 * verify() names each kind of tampering and its first bad seq, concurrent appends stay
 * gap-free, search filters and is itself audited.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { AppError } from '../platform/errors.ts';
import { AuditForwarder, AuditService, GENESIS_HASH, type AuditDatabase, type AuditEntryInput, type AuditRecord } from './index.ts';

const OPERATOR = { kind: 'system', name: 'test' } as const;
const READER = { kind: 'user', id: 'u-42', name: 'Dr. Reader', role: 'radiologist', address: '192.0.2.10' };

function entry(n: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return { actor: READER, action: 'study.view', object: { type: 'study', id: `study-${n}` }, facilityId: 'fac-a', patientRef: `pat-${n}`, details: { n }, ...extra };
}

describe('audit trail', { concurrency: false }, () => {
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

  // Each test starts from an empty trail (tampering tests break the chain on purpose).
  beforeEach(async () => {
    await db.deleteFrom('audit_events').execute();
    await db.deleteFrom('audit_head').execute();
    await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();
  });

  async function appendN(n: number): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for (let i = 1; i <= n; i++) out.push(await audit.record(entry(i)));
    return out;
  }

  const rows = () => db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  const hex64 = () => randomBytes(32).toString('hex');

  test('appends chain from the genesis hash with the documented canonical form', async () => {
    const recs = await appendN(3);
    assert.deepEqual(
      recs.map((r) => r.seq),
      [1, 2, 3],
    );
    const stored = await rows();
    assert.equal(stored.length, 3);
    let prev = GENESIS_HASH;
    for (const r of stored) {
      assert.equal(r.prev_hash, prev);
      // Recomputed here independently of canonical.ts, from the documented form.
      const canonical =
        `{"seq":${Number(r.seq)},"id":${JSON.stringify(r.id)},"recorded_at":${JSON.stringify(r.recorded_at)},` +
        `"actor_kind":"user","actor_id":"u-42","actor_name":"Dr. Reader","actor_role":"radiologist","action":"study.view",` +
        `"object_type":"study","object_id":${JSON.stringify(r.object_id)},"facility_id":"fac-a","patient_ref":${JSON.stringify(r.patient_ref)},` +
        `"outcome":"success","client_address":"192.0.2.10","details":${JSON.stringify(r.details)}}`;
      assert.equal(r.hash, createHash('sha256').update(prev + canonical).digest('hex'));
      prev = r.hash;
    }
    assert.match(stored[0]!.recorded_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const head = await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    assert.equal(Number(head.seq), 3);
    assert.equal(head.hash, prev);
    assert.deepEqual(await audit.verify(), { ok: true, count: 3, headHash: prev });
  });

  test('an empty trail verifies', async () => {
    assert.deepEqual(await audit.verify(), { ok: true, count: 0, headHash: GENESIS_HASH });
  });

  test('append joins the caller transaction: a rollback leaves neither the entry nor a gap', async () => {
    await appendN(1);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        const r = await audit.append(trx, entry(2));
        assert.equal(r.seq, 2);
        // Visible inside the transaction...
        assert.equal((await trx.selectFrom('audit_events').select('seq').where('seq', '=', 2).execute()).length, 1);
        throw new Error('the audited change failed');
      }),
      /the audited change failed/,
    );
    assert.equal((await rows()).length, 1);
    // ...and the next append takes seq 2: no gap.
    const r = await db.transaction().execute((trx) => audit.append(trx, entry(3)));
    assert.equal(r.seq, 2);
    // Given the plain database, append opens its own transaction.
    assert.equal((await audit.append(db, entry(4))).seq, 3);
    assert.deepEqual((await audit.verify()).ok, true);
  });

  test('verify detects an edited field and names its seq', async () => {
    await appendN(5);
    await db.updateTable('audit_events').set({ details: '{"n":99}' }).where('seq', '=', 3).execute();
    const v = await audit.verify();
    assert.equal(v.ok, false);
    assert.deepEqual(v.ok ? undefined : [v.firstBadSeq, v.problem], [3, 'edited']);
  });

  test('verify detects an edited entry whose hash was recomputed (the next link breaks)', async () => {
    const recs = await appendN(5);
    const r3 = (await rows())[2]!;
    const forged = { ...r3, seq: Number(r3.seq), actor_id: 'someone-else' };
    const { chainHash } = await import('./canonical.ts');
    await db.updateTable('audit_events').set({ actor_id: 'someone-else', hash: chainHash(r3.prev_hash, forged) }).where('seq', '=', 3).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'edited']);
    assert.equal(recs.length, 5);
  });

  test('verify detects a deleted middle entry', async () => {
    await appendN(5);
    await db.deleteFrom('audit_events').where('seq', '=', 3).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'deleted']);
  });

  test('verify detects a deleted entry even when later seqs were renumbered to hide the gap', async () => {
    await appendN(5);
    await db.deleteFrom('audit_events').where('seq', '=', 3).execute();
    await db.updateTable('audit_events').set({ seq: sql`seq - 1` }).where('seq', '>', 3).execute();
    await db.updateTable('audit_head').set({ seq: 4 }).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'deleted']);
  });

  test('verify detects a deleted last entry (truncation) through the head', async () => {
    await appendN(5);
    await db.deleteFrom('audit_events').where('seq', '=', 5).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [5, 'truncated']);
  });

  test('verify detects a wiped trail and a deleted head row', async () => {
    await appendN(2);
    await db.deleteFrom('audit_events').execute();
    let v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [1, 'truncated']);
    await db.deleteFrom('audit_head').execute();
    v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [1, 'truncated']);
    await assert.rejects(audit.record(entry(1)), (e: unknown) => e instanceof AppError && /head row is missing/.test(e.message));
  });

  test('verify detects an entry inserted at the end with a plausible but wrong hash', async () => {
    const recs = await appendN(5);
    const last = (await rows())[4]!;
    await db
      .insertInto('audit_events')
      .values({ ...last, seq: 6, id: 'forged-1', details: '{"n":6}', prev_hash: recs[4]!.hash, hash: hex64() })
      .execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [6, 'inserted']);
    // Appending on top of a forged row is refused by the primary key, not silently chained.
    await assert.rejects(audit.record(entry(7)));
  });

  test('verify detects an entry inserted in the middle (later seqs shifted, head advanced)', async () => {
    const recs = await appendN(5);
    const template = (await rows())[2]!;
    await db.updateTable('audit_events').set({ seq: sql`seq + 1000` }).where('seq', '>=', 3).execute();
    await db.updateTable('audit_events').set({ seq: sql`seq - 999` }).where('seq', '>=', 1000).execute();
    await db
      .insertInto('audit_events')
      .values({ ...template, seq: 3, id: 'forged-2', actor_id: 'intruder', prev_hash: recs[1]!.hash, hash: hex64() })
      .execute();
    await db.updateTable('audit_head').set({ seq: 6 }).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'inserted']);
  });

  test('verify detects reordered entries', async () => {
    await appendN(5);
    await db.updateTable('audit_events').set({ seq: -3 }).where('seq', '=', 3).execute();
    await db.updateTable('audit_events').set({ seq: 3 }).where('seq', '=', 4).execute();
    await db.updateTable('audit_events').set({ seq: 4 }).where('seq', '=', -3).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'reordered']);
  });

  test('verify detects a last entry rewritten with a fresh hash through the head hash', async () => {
    await appendN(3);
    const r3 = (await rows())[2]!;
    const { chainHash } = await import('./canonical.ts');
    const forged = { ...r3, seq: 3, outcome: 'failure' as const };
    await db.updateTable('audit_events').set({ outcome: 'failure', hash: chainHash(r3.prev_hash, forged) }).where('seq', '=', 3).execute();
    const v = await audit.verify();
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [3, 'edited']);
  });

  test('verify walks in pages and finds damage across a page boundary', async () => {
    await appendN(7);
    const seen: number[] = [];
    assert.deepEqual((await audit.verify({ pageSize: 2, onProgress: (s) => seen.push(s) })).ok, true);
    assert.deepEqual(seen, [2, 4, 6, 7]);
    await db.updateTable('audit_events').set({ object_id: 'study-x' }).where('seq', '=', 5).execute();
    const v = await audit.verify({ pageSize: 2 });
    assert.deepEqual(v.ok ? v : [v.firstBadSeq, v.problem], [5, 'edited']);
    await db.deleteFrom('audit_events').where('seq', '=', 3).execute();
    const w = await audit.verify({ pageSize: 2 });
    assert.deepEqual(w.ok ? w : [w.firstBadSeq, w.problem], [3, 'deleted']);
  });

  test(`concurrent appends from many transactions give a gap-free valid chain (${process.env.ENKAKU_TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'})`, async () => {
    const recs = await Promise.all(Array.from({ length: 20 }, (_, i) => audit.record(entry(i + 1))));
    assert.deepEqual(
      recs.map((r) => r.seq).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const v = await audit.verify();
    assert.equal(v.ok, true);
    assert.equal(v.ok && v.count, 20);
  });

  test('parallel caller transactions that partly roll back leave no gap', async () => {
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          await pause((i % 5) * 5);
          const r = await audit.append(trx, entry(i + 1));
          await pause(5); // hold the head lock a little
          if (i % 2 === 1) throw new Error('rolled back');
          return r;
        }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
    const seqs = (await rows()).map((r) => Number(r.seq));
    assert.deepEqual(seqs, Array.from({ length: 10 }, (_, i) => i + 1));
    assert.deepEqual(await audit.verify().then((v) => v.ok && v.count), 10);
  });

  test('odd text is stored exactly as hashed; PHI-like details and bad actions are refused', async () => {
    await audit.record(entry(1, { actor: { ...READER, name: 'A\u0000B \uD800 読影' }, details: { note: 'x\u0000y' } }));
    const [r] = await rows();
    assert.equal(r!.actor_name, 'A\uFFFDB \uFFFD 読影');
    assert.equal((await audit.verify()).ok, true);
    for (const details of [{ patientName: 'YAMADA^TARO' }, { nested: [{ PatientID: '123' }] }, { password: 'x' }]) {
      await assert.rejects(audit.record(entry(2, { details })), (e: unknown) => e instanceof AppError && /PHI or secrets/.test(e.message));
    }
    await assert.rejects(audit.record(entry(2, { action: 'View Study' })), AppError);
    await assert.rejects(audit.record(entry(2, { object: { type: 'study', id: '' } })), AppError);
    assert.equal((await rows()).length, 1);
  });

  test('service-call actors are mapped with their address', async () => {
    const r = await audit.record({ actor: { kind: 'device', facilityId: 'fac-a', aet: 'CT01', address: '198.51.100.7' }, action: 'instance.store', object: { type: 'instance', id: '1.2.3' } });
    assert.deepEqual(r.actor, { kind: 'device', id: 'CT01', name: 'CT01', role: 'modality' });
    assert.equal(r.clientAddress, '198.51.100.7');
    assert.equal(r.outcome, 'success');
  });

  test('search filters, pages newest first, and is itself audited; only auditors may search', async () => {
    let clock = Date.parse('2025-04-01T00:00:00Z');
    const timed = new AuditService(db, { dialect: rt.db.dialect, now: () => new Date((clock += 60_000)) });
    for (let i = 1; i <= 6; i++) {
      await timed.record(
        entry(i, {
          actor: i % 2 ? READER : { ...READER, id: 'u-7', name: 'Dr. Other' },
          action: i === 6 ? 'auth.login' : 'study.view',
          facilityId: i <= 3 ? 'fac-a' : 'fac-b',
          outcome: i === 5 ? 'failure' : 'success',
        }),
      );
    }
    const all = await audit.search(OPERATOR, { limit: 100 });
    assert.equal(all.total, 6);
    assert.deepEqual(
      all.records.map((r) => r.seq),
      [6, 5, 4, 3, 2, 1],
    );
    assert.deepEqual((await audit.search(OPERATOR, { actorId: 'u-7', limit: 10 })).records.map((r) => r.seq), [6, 4, 2]);
    assert.deepEqual((await audit.search(OPERATOR, { action: 'auth.*', limit: 10 })).records.map((r) => r.seq), [6]);
    assert.deepEqual((await audit.search(OPERATOR, { facilityIds: ['fac-b'], outcome: 'success', limit: 10 })).records.map((r) => r.seq), [6, 4]);
    assert.deepEqual((await audit.search(OPERATOR, { facilityIds: [], limit: 10 })).total, 0);
    assert.deepEqual((await audit.search(OPERATOR, { patientRef: 'pat-2', limit: 10 })).records.map((r) => r.seq), [2]);
    const window = await audit.search(OPERATOR, { from: '2025-04-01T00:02:00Z', to: '2025-04-01T00:04:00Z', action: 'study.view', limit: 10 });
    assert.deepEqual(
      window.records.map((r) => r.seq),
      [3, 2],
    );
    const page = await audit.search(OPERATOR, { action: 'study.view', limit: 2, offset: 1 });
    assert.deepEqual([page.total, page.records.map((r) => r.seq)], [5, [4, 3]]);
    // Every search above was recorded as Audit Log Used.
    const used = await audit.search(OPERATOR, { action: 'audit.search', limit: 100 });
    assert.ok(used.total >= 8);
    assert.equal(used.records[0]!.object.type, 'audit');
    await assert.rejects(
      audit.search({ kind: 'token', facilityId: 'fac-a', tokenId: 't1', scopes: ['dicomweb:read'], address: '' }, { limit: 10 }),
      (e: unknown) => e instanceof AppError && e.code === 'forbidden',
    );
    const user = (grants: Array<{ role: string; facilityId: string | null }>) =>
      ({ kind: 'user', userId: 'u-9', username: 'kansa', grants, address: '192.0.2.99', sessionId: 's-1' }) as const;
    await assert.rejects(
      audit.search(user([{ role: 'radiologist', facilityId: null }]), { limit: 10 }),
      (e: unknown) => e instanceof AppError && e.code === 'forbidden',
    );
    // A facility's auditor sees that facility's entries only, whatever is asked for.
    const facilityAuditor = user([{ role: 'auditor', facilityId: 'fac-a' }]);
    assert.deepEqual((await audit.search(facilityAuditor, { action: 'study.view', limit: 10 })).records.map((r) => r.seq), [3, 2, 1]);
    assert.equal((await audit.search(facilityAuditor, { facilityIds: ['fac-b'], limit: 10 })).total, 0);
    const providerAuditor = user([{ role: 'auditor', facilityId: null }]);
    assert.equal((await audit.search(providerAuditor, { action: 'study.view', limit: 10 })).total, 5);
    const lastUse = (await audit.search(OPERATOR, { action: 'audit.search', actorId: 'u-9', limit: 1 })).records[0]!;
    assert.deepEqual([lastUse.actor, lastUse.clientAddress], [{ kind: 'user', id: 'u-9', name: 'kansa', role: 'auditor' }, '192.0.2.99']);
    await assert.rejects(audit.search(OPERATOR, { limit: 0 }), (e: unknown) => e instanceof AppError && e.code === 'bad_request');
    assert.equal((await audit.verify()).ok, true);
  });

  test('the forwarder hands over committed entries only, in seq order', async () => {
    await appendN(2);
    const sent: number[] = [];
    const fwd = new AuditForwarder(audit, { send: (r) => (sent.push(r.seq), true) });
    await fwd.start();
    await fwd.stop();
    assert.equal(fwd.lastForwardedSeq, 2); // starts at the end of the trail
    await audit.record(entry(3));
    await db.transaction().execute(async (trx) => {
      await audit.append(trx, entry(4));
      // Not committed yet, so not visible to the forwarder. (SQLite: Kysely's single
      // connection belongs to this transaction, a poll would wait for it.)
      if (rt.db.dialect === 'postgres') assert.deepEqual([await fwd.poll(), sent], [1, [3]]);
    });
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await audit.append(trx, entry(5));
        throw new Error('rollback');
      }),
    );
    await fwd.poll();
    assert.deepEqual(sent, [3, 4]);
    assert.equal(fwd.lastForwardedSeq, 4);
  });
});
