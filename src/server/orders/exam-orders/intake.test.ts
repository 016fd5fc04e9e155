/**
 * Order intake as a group commit (receiveMany): several messages in one transaction, each
 * with its own outcome; a malformed or conflicting message fails alone and leaves nothing
 * of itself; a message's orders apply all or none; duplicates and several messages for one
 * order inside one batch follow the same rules as one message after another; matching to
 * queued studies; a batch that fails as a whole is taken again message by message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { SyntheticPatient } from '../../archive/dicom/synthetic.ts';
import { AppError } from '../../platform/errors.ts';
import type { OrderIntakeResult, OrderOutcome } from '../model.ts';
import { OPERATOR, auditOf, orderInput, patient, storeStudy, studyId, user } from '../test-fixtures.ts';
import { OrderService } from './service.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;
const radiologist = user('radiologist', null);
const one = (actor = OPERATOR) => (input: ReturnType<typeof orderInput>) => ({ actor, orders: [input] });

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: '一括病院', aets: ['IKKATSU'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: '別病院', aets: ['BETSU'] })).id;
});
after(() => rt.cleanup());

const ok = (r: OrderIntakeResult | undefined): OrderOutcome[] => {
  assert.ok(r?.ok, `expected success, got ${r && !r.ok ? String((r.error as Error).message) : 'nothing'}`);
  return r.outcomes;
};
const failed = (r: OrderIntakeResult | undefined): AppError => {
  assert.ok(r && !r.ok, 'expected a failure');
  assert.ok(r.error instanceof AppError, `an AppError, got ${String(r.error)}`);
  return r.error;
};
const orderRow = (facilityId: string, placer: string) => rt.db.kysely.selectFrom('orders').selectAll().where('facility_id', '=', facilityId).where('placer_order_number', '=', placer).executeTakeFirst();
const events = (orderId: string) => rt.db.kysely.selectFrom('order_events').select(['message_id', 'outcome', 'version']).where('order_id', '=', orderId).orderBy('received_at').orderBy('version').execute();

describe('receiveMany', { concurrency: false }, () => {
  test('each message has its own outcome; a malformed and a conflicting one fail alone and change nothing of their own', async () => {
    const cancelled = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'G-C', messageId: 'G-C1' }));
    await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'G-C', messageId: 'G-C2', control: 'cancel' }));
    const seqBefore = await rt.audit.lastSeq();
    const tokenB = { kind: 'token', facilityId: facilityB, tokenId: 'tb', scopes: ['orders:write'], address: '' } as const;

    const results = await rt.orders.receiveMany([
      one()(orderInput(facilityA, { placerOrderNumber: 'G-1', messageId: 'G-1', patient: patient('GP-1') })),
      one()(orderInput(facilityA, { placerOrderNumber: '', messageId: 'G-BAD' })),
      one()(orderInput(facilityA, { placerOrderNumber: 'G-C', messageId: 'G-C3', control: 'change', reason: 'too late' })),
      one(tokenB)(orderInput(facilityA, { placerOrderNumber: 'G-F', messageId: 'G-F' })),
      // One message with two orders: the second is refused, so the first is not taken either.
      { actor: OPERATOR, orders: [orderInput(facilityA, { placerOrderNumber: 'G-2', messageId: 'G-M#1', patient: patient('GP-2') }), orderInput(facilityA, { placerOrderNumber: 'G-C', messageId: 'G-M#2', control: 'change' })] },
      one()(orderInput(facilityB, { placerOrderNumber: 'G-3', messageId: 'G-3', patient: patient('GP-3') })),
    ]);

    assert.equal(results.length, 6);
    assert.equal(ok(results[0])[0]!.kind, 'created');
    assert.match(failed(results[1]).message, /placerOrderNumber is required/);
    assert.equal(failed(results[2]).code, 'conflict');
    assert.equal(failed(results[3]).code, 'forbidden');
    assert.equal(failed(results[4]).code, 'conflict');
    assert.equal(ok(results[5])[0]!.kind, 'created');

    assert.ok(await orderRow(facilityA, 'G-1'));
    assert.ok(await orderRow(facilityB, 'G-3'));
    assert.equal(await orderRow(facilityA, 'G-2'), undefined, 'nothing of a message that failed');
    assert.equal(await orderRow(facilityA, 'G-F'), undefined);
    assert.equal((await rt.db.kysely.selectFrom('patients').select('id').where('patient_id', '=', 'GP-2').execute()).length, 0, 'not even its patient');
    const c = (await orderRow(facilityA, 'G-C'))!;
    assert.equal(c.status, 'cancelled');
    assert.equal(c.reason, '咳嗽が続く。肺炎の評価', 'the refused change did not apply');
    assert.deepEqual((await events(cancelled.orderId)).map((e) => [e.message_id, e.outcome]), [
      ['G-C1', 'created'], ['G-C2', 'cancelled'], ['G-C3', 'refused-conflict'], ['G-M#2', 'refused-conflict'],
    ], 'refusals are noted in the order\'s history');

    // One audit entry per applied order and per refusal, chained without a gap.
    const added = (await rt.audit.entriesAfter(seqBefore, 100)).map((e) => [e.action, e.outcome]);
    assert.deepEqual(added, [['order.create', 'success'], ['order.update', 'failure'], ['order.update', 'failure'], ['order.create', 'success']]);
    assert.equal((await rt.audit.verify()).ok, true);
  });

  test('duplicates and several messages for one order inside one batch apply one after the other', async () => {
    const base = { placerOrderNumber: 'D-1', accessionNumber: 'DA-1' };
    const first = orderInput(facilityA, { ...base, messageId: 'D-1', messageTime: '2026-03-10T01:00:00Z' });
    const results = await rt.orders.receiveMany([
      one()(first),
      one()(first),
      one()(orderInput(facilityA, { ...base, messageId: 'D-2', control: 'change', priority: 'stat', messageTime: '2026-03-10T02:00:00Z' })),
      one()(orderInput(facilityA, { ...base, messageId: 'D-0', control: 'change', priority: 'urgent', messageTime: '2026-03-10T00:30:00Z' })),
      one()(first),
      // A cancel before its new, both in the batch: the placeholder holds.
      one()(orderInput(facilityA, { placerOrderNumber: 'D-2', messageId: 'D-2c', control: 'cancel', messageTime: '2026-03-10T02:00:00Z' })),
      one()(orderInput(facilityA, { placerOrderNumber: 'D-2', messageId: 'D-2n', messageTime: '2026-03-10T01:00:00Z' })),
    ]);
    const [created] = ok(results[0]);
    assert.equal(created!.kind, 'created');
    assert.deepEqual(ok(results[1]), [{ kind: 'duplicate', orderId: created!.orderId }]);
    assert.deepEqual(ok(results[2]), [{ kind: 'updated', orderId: created!.orderId }]);
    assert.deepEqual(ok(results[3]), [{ kind: 'updated', orderId: created!.orderId, note: 'stale' }]);
    assert.deepEqual(ok(results[4]), [{ kind: 'duplicate', orderId: created!.orderId }]);
    assert.equal(ok(results[5])[0]!.note, 'cancel-placeholder');
    assert.equal(ok(results[6])[0]!.note, 'already-cancelled');

    const d = await rt.orders.detail(radiologist, created!.orderId);
    assert.equal(d.priority, 'stat');
    assert.equal(d.version, 2);
    assert.deepEqual(d.history.map((h) => [h.control, h.outcome]), [['new', 'created'], ['change', 'updated'], ['change', 'stale']]);
    assert.equal((await orderRow(facilityA, 'D-2'))!.status, 'cancelled');
    assert.equal((await auditOf(rt, 'order.create', created!.orderId)).length, 1);

    // The same messages again, in another batch: every one is a duplicate.
    const again = await rt.orders.receiveMany([one()(first), one()(orderInput(facilityA, { ...base, messageId: 'D-2', control: 'change' }))]);
    assert.deepEqual(again.map((r) => ok(r)[0]!.kind), ['duplicate', 'duplicate']);
  });

  test('patients: created once for the batch, demographics filled by a later message of the batch', async () => {
    const results = await rt.orders.receiveMany([
      one()(orderInput(facilityA, { placerOrderNumber: 'P-1', messageId: 'P-1', patient: patient('PP-1', { sex: '', birthDate: '' }) })),
      one()(orderInput(facilityA, { placerOrderNumber: 'P-2', messageId: 'P-2', patient: patient('PP-1', { sex: 'F', birthDate: '19700101' }) })),
    ]);
    const [a, b] = results.map((r) => ok(r)[0]!);
    const rows = await rt.db.kysely.selectFrom('patients').selectAll().where('facility_id', '=', facilityA).where('patient_id', '=', 'PP-1').execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.sex, 'F');
    assert.equal(rows[0]!.birth_date, '19700101');
    const created = await auditOf(rt, 'order.create');
    assert.equal(created.find((e) => e.objectId === a!.orderId)?.details.patientCreated, true);
    assert.equal(created.find((e) => e.objectId === b!.orderId)?.details.patientCreated, undefined);
  });

  test('orders of a batch are matched to studies waiting in the queue', async () => {
    const dicomPatient: SyntheticPatient = { id: 'MP-1', name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' };
    const uid = await storeStudy(rt, facilityA, { patient: dicomPatient, accessionNumber: 'MA-1', studyDate: '20260310' });
    const sid = await studyId(rt, uid);
    const results = await rt.orders.receiveMany([
      one()(orderInput(facilityA, { placerOrderNumber: 'M-0', messageId: 'M-0', patient: patient('MP-0') })),
      one()(orderInput(facilityA, { placerOrderNumber: 'M-1', messageId: 'M-1', accessionNumber: 'MA-1', patient: patient('MP-1') })),
    ]);
    const linked = ok(results[1])[0]!;
    assert.equal((await rt.reconciliation.linkedStudy(linked.orderId))?.id, sid);
    assert.equal((await rt.reconciliation.linkedStudy(ok(results[0])[0]!.orderId)), null);
    const [link] = await auditOf(rt, 'order.study-link', linked.orderId);
    assert.equal(link!.details.method, 'accession');
    assert.equal((await rt.audit.verify()).ok, true);
  });

  test('a batch that fails as a whole is taken again message by message: only the message at fault fails', async () => {
    // An orders service whose matching fails for one order, as a database error would.
    const service = new OrderService({
      db: rt.db.kysely,
      dialect: rt.db.dialect,
      audit: rt.audit,
      log: rt.log,
      patients: rt.patients,
      contracts: rt.contracts,
      clinical: rt.clinical,
      reconciliation: Object.assign(Object.create(rt.reconciliation) as typeof rt.reconciliation, {
        anyQueued: async () => true,
        matchOrder: async (_trx: unknown, order: { placer_order_number: string }) => {
          if (order.placer_order_number === 'S-2') throw new Error('SQLITE_IOERR: disk I/O error');
        },
      }),
      facilityExists: (id: string) => rt.facilities.exists(id),
      thresholds: { warn: 45, contraindicate: 30 },
    });
    const results = await service.receiveMany(['S-1', 'S-2', 'S-3'].map((p) => one()(orderInput(facilityA, { placerOrderNumber: p, messageId: p }))));
    assert.equal(ok(results[0])[0]!.kind, 'created');
    assert.ok(results[1] && !results[1].ok && /disk I\/O/.test(String((results[1].error as Error).message)));
    assert.equal(ok(results[2])[0]!.kind, 'created');
    assert.ok(await orderRow(facilityA, 'S-1'));
    assert.equal(await orderRow(facilityA, 'S-2'), undefined);
    assert.ok(await orderRow(facilityA, 'S-3'));
    assert.equal((await rt.audit.verify()).ok, true);
  });

  test('receive is a batch of one: same outcomes and errors', async () => {
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'O-1', messageId: 'O-1' }));
    assert.equal(r.kind, 'created');
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'O-1', messageId: '' })), /messageId is required/);
    assert.deepEqual(await rt.orders.receiveMany([]), []);
  });
});
