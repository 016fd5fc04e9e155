/**
 * The order's status as the exam moves on (W1, W2): scheduled → in progress when its study is
 * linked (the images arrive, the order arrives after them, a user links them), back when the
 * link is ended, → completed when the report of the study is finalised (markReported). Each
 * change is in the order's history and the audit trail, written in the same transaction, and
 * the list filters and the FHIR ServiceRequest follow.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { SyntheticPatient } from '../../archive/dicom/synthetic.ts';
import { fhirViewOfOrder, orderToServiceRequest } from '../../interop/fhir/index.ts';
import { OPERATOR, auditOf, orderInput, patient, storeStudy, studyId, user } from '../test-fixtures.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facility: string;
const radiologist = user('radiologist', null);
const physician = user('radiologist', null, 'dr-final');

const dicomPatient = (id: string): SyntheticPatient => ({ id, name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' });
const detail = (orderId: string) => rt.orders.detail(radiologist, orderId);
const reported = (sid: string, actor = physician) => rt.db.kysely.transaction().execute((trx) => rt.orders.markReported(trx, sid, actor));
const listed = async (status: string) => (await rt.orders.list(radiologist, { status, limit: 500 })).orders.map((o) => o.id);

before(async () => {
  rt = await testRuntime();
  facility = (await rt.facilities.add(OPERATOR, { name: '状態病院', aets: ['JOTAI'] })).id;
});
after(() => rt.cleanup());

test('the images arrive: scheduled → in progress, in the history and the audit trail; the version stays', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-1', messageId: 'S-1', accessionNumber: 'SA-1', patient: patient('SP-1') }));
  assert.equal((await detail(o.orderId)).status, 'scheduled');
  assert.ok((await listed('scheduled')).includes(o.orderId));

  const uid = await storeStudy(rt, facility, { patient: dicomPatient('SP-1'), accessionNumber: 'SA-1', studyDate: '20260310' });
  const sid = await studyId(rt, uid);
  const d = await detail(o.orderId);
  assert.equal(d.status, 'in-progress');
  assert.equal(d.version, 1, 'in progress is Enkaku\'s view of the exam, not a new version of the facility\'s order');
  const last = d.history.at(-1)!;
  assert.deepEqual(
    { source: last.source, control: last.control, outcome: last.outcome, changed: last.changed, by: last.by, version: last.version },
    { source: 'enkaku', control: 'change', outcome: 'updated', changed: ['status=in-progress'], by: 'system:reconciliation', version: 1 },
  );
  assert.ok(last.receivedAt > d.history[0]!.receivedAt, 'listed after the order\'s own message');
  const [entry] = await auditOf(rt, 'order.status-change', o.orderId);
  assert.deepEqual(entry!.details, { from: 'scheduled', to: 'in-progress', why: 'study-linked', studyId: sid, studyUid: uid, version: 1 });
  assert.equal(entry!.patientRef, d.patient.id);

  assert.ok((await listed('in-progress')).includes(o.orderId));
  assert.ok(!(await listed('scheduled')).includes(o.orderId));
  assert.ok(!(await listed('completed')).includes(o.orderId));
  const view = fhirViewOfOrder(d);
  assert.equal(orderToServiceRequest(view).status, 'active', 'FHIR has no in-progress request status: still active');
  assert.equal(view.versionId, '1');
  assert.equal(view.lastUpdated, d.history[0]!.receivedAt, 'lastUpdated moves with the version only');
});

test('the report is final: in progress → completed with a new version, once; later messages keep it completed', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-2', messageId: 'S-2', accessionNumber: 'SA-2', patient: patient('SP-2') }));
  const sid = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-2'), accessionNumber: 'SA-2', studyDate: '20260310' }));

  assert.deepEqual(await reported(sid), { orderId: o.orderId, completed: true });
  const d = await detail(o.orderId);
  assert.equal(d.status, 'completed');
  assert.equal(d.version, 2);
  const last = d.history.at(-1)!;
  assert.deepEqual({ source: last.source, changed: last.changed, by: last.by, version: last.version }, { source: 'enkaku', changed: ['status=completed'], by: 'user:u-dr-final', version: 2 });
  const entries = await auditOf(rt, 'order.status-change', o.orderId);
  assert.deepEqual(entries.map((e) => [e.details.from, e.details.to, e.details.why]), [['scheduled', 'in-progress', 'study-linked'], ['in-progress', 'completed', 'report-final']]);
  const record = (await rt.audit.search(OPERATOR, { action: 'order.status-change', objectId: o.orderId, limit: 10 })).records.find((r) => r.details.to === 'completed')!;
  assert.equal(record.actor.id, 'u-dr-final', 'the physician who finalised is named');

  assert.deepEqual(await reported(sid), { orderId: o.orderId, completed: false }, 'a correction or addendum changes nothing');
  assert.equal((await detail(o.orderId)).history.length, d.history.length);
  assert.equal((await auditOf(rt, 'order.status-change', o.orderId)).length, 2);

  assert.ok((await listed('completed')).includes(o.orderId));
  assert.ok(!(await listed('in-progress')).includes(o.orderId));
  const sr = orderToServiceRequest(fhirViewOfOrder(await detail(o.orderId)));
  assert.equal(sr.status, 'completed');
  assert.equal(sr.meta?.versionId, '2');

  await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-2', messageId: 'S-2b', control: 'change', accessionNumber: 'SA-2', patient: patient('SP-2'), reason: '追記' }));
  const changed = await detail(o.orderId);
  assert.equal(changed.status, 'completed', 'a change from the facility does not undo the report');
  assert.equal(changed.version, 3);

  const lone = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-NONE'), accessionNumber: 'SA-NONE', studyDate: '20260310' }));
  assert.equal(await reported(lone), undefined, 'a study without an order: nothing to complete');
});

test('completion is part of the caller\'s transaction: rolled back with it', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-3', messageId: 'S-3', accessionNumber: 'SA-3', patient: patient('SP-3') }));
  const sid = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-3'), accessionNumber: 'SA-3', studyDate: '20260310' }));
  await assert.rejects(
    rt.db.kysely.transaction().execute(async (trx) => {
      await rt.orders.markReported(trx, sid, physician);
      throw new Error('the report could not be finalised');
    }),
    /could not be finalised/,
  );
  const d = await detail(o.orderId);
  assert.equal(d.status, 'in-progress');
  assert.equal(d.version, 1);
  assert.equal((await auditOf(rt, 'order.status-change', o.orderId)).length, 1, 'only the link');
});

test('an order arriving after its images goes to in progress in its own transaction', async () => {
  const uid = await storeStudy(rt, facility, { patient: dicomPatient('SP-4'), accessionNumber: 'SA-4', studyDate: '20260310' });
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-4', messageId: 'S-4', accessionNumber: 'SA-4', patient: patient('SP-4') }));
  const d = await detail(o.orderId);
  assert.equal(d.study?.studyUid, uid);
  assert.equal(d.status, 'in-progress');
  assert.deepEqual(d.history.map((h) => [h.source, h.outcome, h.changed]), [['hl7', 'created', []], ['enkaku', 'updated', ['status=in-progress']]]);
});

test('ending the link: back to scheduled; linking by hand: in progress again; a cancelled order is never completed', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-5', messageId: 'S-5', accessionNumber: 'SA-5', patient: patient('SP-5') }));
  const sid = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-5'), accessionNumber: 'SA-5', studyDate: '20260310' }));
  const admin = user('system-admin', null);
  await rt.reconciliation.unlink(admin, { studyId: sid, reason: '別の患者' });
  let d = await detail(o.orderId);
  assert.equal(d.status, 'scheduled');
  assert.deepEqual(d.history.at(-1)!.changed, ['status=scheduled']);
  assert.equal(d.history.at(-1)!.by, 'user:u-system-admin-provider');
  assert.deepEqual((await auditOf(rt, 'order.status-change', o.orderId)).at(-1)!.details.why, 'study-unlinked');

  await rt.reconciliation.link(admin, { studyId: sid, orderId: o.orderId });
  d = await detail(o.orderId);
  assert.equal(d.status, 'in-progress');
  assert.deepEqual(d.history.filter((h) => h.source === 'enkaku').map((h) => h.changed[0]), ['status=in-progress', 'status=scheduled', 'status=in-progress']);

  await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-5', messageId: 'S-5c', control: 'cancel', accessionNumber: 'SA-5', patient: patient('SP-5') }));
  assert.deepEqual(await reported(sid), { orderId: o.orderId, completed: false });
  assert.equal((await detail(o.orderId)).status, 'cancelled');
});

test('an order message and the report of its study at the same moment: both apply, nothing lost', async () => {
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-6', messageId: 'S-6', accessionNumber: 'SA-6', patient: patient('SP-6') }));
  const sid = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-6'), accessionNumber: 'SA-6', studyDate: '20260310' }));
  const [change, done] = await Promise.all([
    rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-6', messageId: 'S-6b', control: 'change', accessionNumber: 'SA-6', patient: patient('SP-6'), reason: '至急に変更', priority: 'urgent' })),
    reported(sid),
  ]);
  assert.equal(change.kind, 'updated');
  assert.equal(done?.completed, true);
  const d = await detail(o.orderId);
  assert.equal(d.status, 'completed');
  assert.equal(d.priority, 'urgent');
  assert.equal(d.version, 3, 'both changes, one version each');
});

/** Records the report of a study as final, as the reports module leaves it after finalising. */
async function finalReportOf(sid: string, username: string): Promise<void> {
  const physicianId = await rt.accounts.create(OPERATOR, { username, displayName: '読影 医師', password: 'Sekkei-Kanri-2026!x', grants: [{ role: 'radiologist', facilityId: null }], mustChangePassword: false });
  const s = (await rt.db.kysely.selectFrom('studies').selectAll().where('id', '=', sid).executeTakeFirst())!;
  const now = new Date().toISOString();
  await rt.db.kysely.insertInto('reports').values({
    id: `r-${username}`, study_id: sid, study_uid: s.study_uid, facility_id: s.facility_id, patient_ref: s.patient_ref, reading_role: 'single', physician_id: physicianId,
    status: 'final', sections: '{}', assessment: null, template_id: null, location: null, revision: 1, saved_by: null, saved_at: null, current_version: 1, created_by: physicianId, started_at: now, updated_at: now,
  }).execute();
}

test('a study read before its order came: the order is completed as soon as it is linked, by its arrival or by hand', async () => {
  const uid = await storeStudy(rt, facility, { patient: dicomPatient('SP-7'), accessionNumber: 'SA-7', studyDate: '20260310' });
  const sid = await studyId(rt, uid);
  await finalReportOf(sid, 'dr-early-7');
  const o = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-7', messageId: 'S-7', accessionNumber: 'SA-7', patient: patient('SP-7') }));
  const d = await detail(o.orderId);
  assert.equal(d.study?.studyUid, uid, 'linked on the order\'s arrival');
  assert.equal(d.status, 'completed', 'not left in progress for ever');
  assert.equal(d.version, 2);
  assert.deepEqual(d.history.map((h) => [h.source, h.changed]), [['hl7', []], ['enkaku', ['status=in-progress']], ['enkaku', ['status=completed']]]);
  assert.deepEqual((await auditOf(rt, 'order.status-change', o.orderId)).map((e) => [e.details.from, e.details.to, e.details.why]), [['scheduled', 'in-progress', 'study-linked'], ['in-progress', 'completed', 'report-final']]);
  assert.ok((await listed('completed')).includes(o.orderId));
  assert.deepEqual(await reported(sid), { orderId: o.orderId, completed: false }, 'finalising again changes nothing');

  // A study that matched nothing (another accession number), reported, then linked by hand.
  const other = await rt.orders.receive(OPERATOR, orderInput(facility, { placerOrderNumber: 'S-8', messageId: 'S-8', accessionNumber: 'SA-8', patient: patient('SP-8') }));
  const lone = await studyId(rt, await storeStudy(rt, facility, { patient: dicomPatient('SP-8'), accessionNumber: 'SA-8-X', studyDate: '20260311' }));
  await finalReportOf(lone, 'dr-early-8');
  assert.equal((await detail(other.orderId)).status, 'scheduled');
  await rt.reconciliation.link(user('system-admin', null), { studyId: lone, orderId: other.orderId });
  const linked = await detail(other.orderId);
  assert.equal(linked.status, 'completed');
  assert.equal(linked.history.at(-1)!.by, 'user:u-system-admin-provider');
});
