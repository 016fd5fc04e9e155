/**
 * Reconciliation of studies and orders (W2): by accession number, by patient + date +
 * modality, ambiguous and unmatched studies in the queue, manual link and unlink audited,
 * and orders that arrive after their study.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { SyntheticPatient } from '../../archive/dicom/synthetic.ts';
import { OPERATOR, auditOf, orderInput, patient, storeStudy, studyId, user } from '../test-fixtures.ts';
import { modalityMatches } from './service.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;
const radiologist = user('radiologist', null);

/** The same person as the orders' `patient(id)`. */
const dicomPatient = (id: string): SyntheticPatient => ({ id, name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' });

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: '川病院', aets: ['KAWA'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: '山病院', aets: ['YAMA'] })).id;
});
after(() => rt.cleanup());

test('modalities match within the study\'s list; CR and DX count as one', () => {
  assert.ok(modalityMatches('CT', 'CT'));
  assert.ok(modalityMatches('ct', 'CT\\SR'));
  assert.ok(modalityMatches('CR', 'DX'));
  assert.ok(!modalityMatches('MR', 'CT'));
});

test('a study links to its order by accession number, and the order shows it as in progress', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-1', messageId: 'R-1', accessionNumber: 'A-100', patient: patient('RP-1') }));
  const uid = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-1'), accessionNumber: 'A-100', studyDate: '20260401' });
  const d = await rt.orders.detail(radiologist, o.orderId);
  assert.equal(d.study?.studyUid, uid);
  assert.equal(d.study?.method, 'accession', 'the accession number wins over a different date');
  assert.equal(d.status, 'in-progress', 'the images arrived: the exam is under way, not yet reported');
  const [entry] = await auditOf(rt, 'order.study-link', o.orderId);
  assert.equal(entry!.details.method, 'accession');
  assert.equal(entry!.details.studyUid, uid);
});

test('without an accession match: patient + study date + modality with exactly one candidate', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-2', messageId: 'R-2', patient: patient('RP-2'), scheduledAt: '2026-03-12T01:00:00Z' }));
  await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-2mr', messageId: 'R-2mr', patient: patient('RP-2'), modality: 'MR', scheduledAt: '2026-03-12T01:00:00Z' }));
  await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-2x', messageId: 'R-2x', patient: patient('RP-2'), scheduledAt: '2026-03-13T01:00:00Z' }));
  const uid = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-2'), accessionNumber: '', studyDate: '20260312' });
  const d = await rt.orders.detail(radiologist, o.orderId);
  assert.equal(d.study?.studyUid, uid);
  assert.equal(d.study?.method, 'demographics');
});

test('several candidates: the study waits in the queue, marked ambiguous; a user links it, audited', async () => {
  const o1 = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-3a', messageId: 'R-3a', patient: patient('RP-3') }));
  await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-3b', messageId: 'R-3b', patient: patient('RP-3') }));
  const uid = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-3'), accessionNumber: '', studyDate: '20260310' });
  const sid = await studyId(rt, uid);
  const techA = user('technologist', facilityA);
  const q = await rt.reconciliation.queue(techA);
  const queued = q.studies.find((s) => s.studyId === sid);
  assert.equal(queued?.reason, 'ambiguous');
  assert.equal(queued?.candidates, 2);
  assert.ok(q.orders.some((x) => x.id === o1.orderId), 'the orders without a study are listed too');
  assert.ok(q.studies.every((s) => s.facilityId === facilityA) && q.orders.every((x) => x.facilityId === facilityA));

  await assert.rejects(rt.reconciliation.link(user('technologist', facilityB), { studyId: sid, orderId: o1.orderId }), { code: 'forbidden' });
  await assert.rejects(rt.reconciliation.link(radiologist, { studyId: sid, orderId: o1.orderId }), { code: 'forbidden' }, 'the provider\'s readers do not work the queue');
  await assert.rejects(rt.reconciliation.link(techA, { studyId: sid, orderId: 'nope' }), { code: 'not_found' });
  const linked = await rt.reconciliation.link(techA, { studyId: sid, orderId: o1.orderId });
  assert.equal(linked.method, 'manual');
  assert.ok(!(await rt.reconciliation.queue(techA)).studies.some((s) => s.studyId === sid), 'gone from the queue');
  await assert.rejects(rt.reconciliation.link(techA, { studyId: sid, orderId: o1.orderId }), { code: 'conflict' });
  const [entry] = (await auditOf(rt, 'order.study-link', o1.orderId)).filter((e) => e.details.method === 'manual');
  assert.equal(entry!.details.studyId, sid);
  assert.equal((await auditOf(rt, 'reconciliation.view')).length >= 2, true, 'viewing the queue is audited');

  const unlinked = await rt.reconciliation.unlink(user('system-admin', null), { studyId: sid, reason: '別の検査' });
  assert.deepEqual(unlinked, { ok: true });
  assert.equal((await rt.reconciliation.queue(techA)).studies.find((s) => s.studyId === sid)?.reason, 'unlinked');
  assert.equal((await rt.orders.detail(radiologist, o1.orderId)).status, 'scheduled');
  assert.equal((await auditOf(rt, 'order.study-unlink', o1.orderId)).length, 1);
  await assert.rejects(rt.reconciliation.unlink(techA, { studyId: sid }), { code: 'conflict' });
});

test('manual links refuse what cannot be the same exam', async () => {
  const other = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-4', messageId: 'R-4', patient: patient('RP-4-OTHER') }));
  const cancelled = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-4c', messageId: 'R-4c', patient: patient('RP-4'), control: 'cancel' }));
  const inB = await rt.orders.receive(OPERATOR, orderInput(facilityB, { placerOrderNumber: 'R-4b', messageId: 'R-4b', patient: patient('RP-4') }));
  const sid = await studyId(rt, await storeStudy(rt, facilityA, { patient: dicomPatient('RP-4'), accessionNumber: '', studyDate: '20250101' }));
  const sysadmin = user('system-admin', null);
  await assert.rejects(rt.reconciliation.link(sysadmin, { studyId: sid, orderId: other.orderId }), /not the order's patient/);
  await assert.rejects(rt.reconciliation.link(sysadmin, { studyId: sid, orderId: cancelled.orderId }), /cancelled/);
  await assert.rejects(rt.reconciliation.link(sysadmin, { studyId: sid, orderId: inB.orderId }), /different facilities/);
  await assert.rejects(rt.reconciliation.link(user('facility-admin', facilityA), { studyId: sid, orderId: inB.orderId }), { code: 'forbidden' });
});

test('an order arriving after its study links it, by accession or by patient + date + modality', async () => {
  const uid1 = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-5'), accessionNumber: 'A-500', studyDate: '20260315' });
  const sid1 = await studyId(rt, uid1);
  assert.equal((await rt.reconciliation.queue(OPERATOR)).studies.find((s) => s.studyId === sid1)?.reason, 'no-order');
  const o1 = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-5', messageId: 'R-5', accessionNumber: 'A-500', patient: patient('RP-5') }));
  assert.equal((await rt.orders.detail(radiologist, o1.orderId)).study?.studyUid, uid1);

  const uid2 = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-6'), accessionNumber: '', studyDate: '20260316' });
  const o2 = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-6', messageId: 'R-6', patient: patient('RP-6'), scheduledAt: '2026-03-16T05:00:00Z' }));
  const d2 = await rt.orders.detail(radiologist, o2.orderId);
  assert.equal(d2.study?.studyUid, uid2);
  assert.equal(d2.study?.method, 'demographics');
  const queue = await rt.reconciliation.queue(OPERATOR);
  assert.ok(![sid1, await studyId(rt, uid2)].some((id) => queue.studies.some((s) => s.studyId === id)), 'both left the queue');

  // A cancelled order does not take a study; its accession number says why the study waits.
  await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-7', messageId: 'R-7', accessionNumber: 'A-700', patient: patient('RP-7'), control: 'cancel' }));
  const sid7 = await studyId(rt, await storeStudy(rt, facilityA, { patient: dicomPatient('RP-7'), accessionNumber: 'A-700', studyDate: '20260310' }));
  assert.equal((await rt.reconciliation.queue(OPERATOR)).studies.find((s) => s.studyId === sid7)?.reason, 'order-cancelled');

  // Accession numbers that contradict are different exams, even for the same patient, day and modality.
  const sid8 = await studyId(rt, await storeStudy(rt, facilityA, { patient: dicomPatient('RP-8'), accessionNumber: 'A-801', studyDate: '20260310' }));
  await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-8', messageId: 'R-8', accessionNumber: 'A-802', patient: patient('RP-8') }));
  assert.equal((await rt.reconciliation.queue(OPERATOR)).studies.find((s) => s.studyId === sid8)?.reason, 'no-order');
});

test('a failure while matching never loses the image: the study is stored, the failure undone', async () => {
  const original = rt.reconciliation.matchStudy;
  rt.reconciliation.matchStudy = async (trx, id) => {
    await original.call(rt.reconciliation, trx, id);
    throw new Error('matching failed after writing');
  };
  try {
    const uid = await storeStudy(rt, facilityA, { patient: dicomPatient('RP-9'), accessionNumber: 'A-900', studyDate: '20260310' });
    const sid = await studyId(rt, uid);
    assert.ok(!(await rt.reconciliation.queue(OPERATOR)).studies.some((s) => s.studyId === sid), 'what matching wrote was rolled back to the savepoint');
  } finally {
    rt.reconciliation.matchStudy = original;
  }
  // The order that comes next finds nothing queued; the study is linked from the queue screen or by hand.
  const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'R-9', messageId: 'R-9', accessionNumber: 'A-900', patient: patient('RP-9') }));
  assert.equal((await rt.orders.detail(radiologist, o.orderId)).study, null);
});

test('the queue is worked per facility', async () => {
  await assert.rejects(rt.reconciliation.queue(radiologist), { code: 'forbidden' });
  await assert.rejects(rt.reconciliation.queue(user('technologist', facilityA), { facilityId: facilityB }), { code: 'forbidden' });
  const b = await rt.reconciliation.queue(user('facility-admin', facilityB));
  assert.ok(b.studies.every((s) => s.facilityId === facilityB) && b.orders.every((o) => o.facilityId === facilityB));
  assert.ok(b.orders.length >= 1);
});
