/**
 * Clinical context (W4): idempotent intake, the summary (active diagnoses and allergies,
 * creatinine and eGFR trends, current medication), linked records only where shared, and
 * the protocol checks of orders with contrast (low eGFR, contrast allergy, metformin) with
 * their evidence.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { ClinicalSummaryView, FacilityContractTerms } from '../../../shared/api.ts';
import type { ClinicalItemInput } from '../model.ts';
import { OPERATOR, auditOf, orderInput, patient, user } from '../test-fixtures.ts';
import { agentOf, isMetformin, protocolWarnings } from './checks.ts';
import { ageOn } from '../time.ts';
import { isCreatinine, isEgfr, japaneseEgfr } from './summary.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;
const radiologist = user('radiologist', null);
const days = (n: number) => new Date(Date.now() - n * 86400_000).toISOString();

const item = (facilityId: string, patientId: string, x: Partial<ClinicalItemInput> & Pick<ClinicalItemInput, 'kind' | 'sourceKey'>): ClinicalItemInput => ({
  facilityId,
  patient: patient(patientId),
  code: '',
  codeSystem: '',
  text: '',
  observedAt: days(1),
  status: '',
  source: 'ssmix2',
  ...x,
});

const shareAll: FacilityContractTerms = {
  scope: { modalities: [], bodyParts: [] },
  dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
  retentionDays: 365,
  contactLadder: [{ name: '当直', role: '当直', phone: '03-1111-2222', hours: '24時間' }],
  delivery: { route: 'hl7', transcriptionConfirmer: '' },
  onwardSharing: true,
  monitorCheckRequired: true,
  optOutNotice: 'お知らせ',
};

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: '森病院', aets: ['MORI'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: '林病院', aets: ['HAYASHI'] })).id;
});
after(() => rt.cleanup());

describe('intake and summary', { concurrency: false }, () => {
  test('recording is idempotent on (facility, source, source key); corrections replace; audited per patient', async () => {
    const items = [
      item(facilityA, 'C-1', { kind: 'diagnosis', code: 'E119', codeSystem: 'ICD10', text: '2型糖尿病', status: 'active', sourceKey: 'C-1/PPR-01/1' }),
      item(facilityA, 'C-1', { kind: 'lab', code: '3C015000002327101', codeSystem: 'JLAC10', text: 'クレアチニン', value: 1.1, unit: 'mg/dL', sourceKey: 'C-1/OML-11/1' }),
    ];
    assert.deepEqual(await rt.clinical.record(OPERATOR, items), { added: 2, unchanged: 0, updated: 0 });
    assert.deepEqual(await rt.clinical.record(OPERATOR, items), { added: 0, unchanged: 2, updated: 0 });
    const corrected = [{ ...items[1]!, value: 1.3 }];
    assert.deepEqual(await rt.clinical.record(OPERATOR, corrected), { added: 0, unchanged: 0, updated: 1 });
    const audit = await auditOf(rt, 'clinical.record');
    assert.deepEqual(audit.map((a) => [a.details.added, a.details.updated]), [[2, 0], [0, 1]], 'nothing new, nothing audited');

    await assert.rejects(rt.clinical.record(OPERATOR, [item(facilityA, 'C-1', { kind: 'lab', sourceKey: 'k', text: 'x', observedAt: 'soon' })]), /items\[0\].observedAt is not a date/);
    await assert.rejects(rt.clinical.record(OPERATOR, [item(facilityA, 'C-1', { kind: 'vital' as never, sourceKey: 'k', text: 'x' })]), /items\[0\].kind must be one of/);
    await assert.rejects(rt.clinical.record(OPERATOR, [item(facilityA, 'C-1', { kind: 'lab', sourceKey: '', text: 'x' })]), /sourceKey is required/);
    await assert.rejects(rt.clinical.record(user('technologist', facilityA), items), { code: 'forbidden' }, 'users do not import clinical data');
    await assert.rejects(rt.clinical.record({ kind: 'token', facilityId: facilityB, tokenId: 't', scopes: ['orders:write'], address: '' }, items), { code: 'forbidden' });
  });

  test('one call with many patients and a key twice: counted and stored as one item after another; patients created once', async () => {
    const observedAt = days(2);
    const items = [
      item(facilityA, 'CB-1', { kind: 'lab', code: '3C015000002327101', text: 'クレアチニン', value: 0.9, unit: 'mg/dL', observedAt, sourceKey: 'CB/1' }),
      item(facilityA, 'CB-2', { kind: 'diagnosis', code: 'I10', text: '高血圧症', status: 'active', observedAt, sourceKey: 'CB/2' }),
      item(facilityA, 'CB-1', { kind: 'lab', code: '3C015000002327101', text: 'クレアチニン', value: 1.4, unit: 'mg/dL', observedAt, sourceKey: 'CB/1' }),
      item(facilityA, 'CB-1', { kind: 'allergy', text: 'ヨード造影剤', category: 'contrast-iodine', observedAt, sourceKey: 'CB/3' }),
      item(facilityA, 'CB-2', { kind: 'diagnosis', code: 'I10', text: '高血圧症', status: 'active', observedAt, sourceKey: 'CB/2' }),
    ];
    assert.deepEqual(await rt.clinical.record(OPERATOR, items), { added: 3, unchanged: 1, updated: 1 });
    const rows = await rt.db.kysely.selectFrom('clinical_items').select(['source_key', 'value']).where('facility_id', '=', facilityA).where('source_key', 'like', 'CB/%').orderBy('source_key').execute();
    assert.deepEqual(rows.map((r) => [r.source_key, r.value]), [['CB/1', '1.4'], ['CB/2', null], ['CB/3', null]], 'the later content of a key wins');
    const patients = await rt.db.kysely.selectFrom('patients').select('patient_id').where('facility_id', '=', facilityA).where('patient_id', 'in', ['CB-1', 'CB-2']).execute();
    assert.equal(patients.length, 2);
    const audit = (await auditOf(rt, 'clinical.record')).slice(-2);
    assert.deepEqual(audit.map((a) => [a.details.added, a.details.updated, a.details.patientCreated]), [[2, 1, true], [1, 0, true]], 'one entry per patient, in the order first met');
    assert.equal((await rt.audit.verify()).ok, true);
    assert.deepEqual(await rt.clinical.record(OPERATOR, items.slice(2)), { added: 0, unchanged: 3, updated: 0 });
  });

  test('summary: active items, lab trends newest first, eGFR calculated from creatinine when missing, current medication', async () => {
    const pid = 'C-2';
    await rt.clinical.record(OPERATOR, [
      item(facilityA, pid, { kind: 'diagnosis', code: 'N18', text: '慢性腎臓病', status: 'active', sourceKey: `${pid}/d1` }),
      item(facilityA, pid, { kind: 'diagnosis', code: 'J189', text: '肺炎', status: '治癒', sourceKey: `${pid}/d2` }),
      item(facilityA, pid, { kind: 'allergy', text: 'ペニシリン', category: 'drug', status: 'active', sourceKey: `${pid}/a1` }),
      item(facilityA, pid, { kind: 'lab', code: '3C015000002327101', text: 'Cre', value: 1.0, unit: 'mg/dL', observedAt: days(30), sourceKey: `${pid}/l1` }),
      item(facilityA, pid, { kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 60.2, unit: 'mL/min/1.73m2', observedAt: days(30), sourceKey: `${pid}/l2` }),
      item(facilityA, pid, { kind: 'lab', code: '3C015000002327101', text: 'Cre', value: 1.6, unit: 'mg/dL', observedAt: days(2), sourceKey: `${pid}/l3` }),
      item(facilityA, pid, { kind: 'lab', code: '3C015000000127101', text: '尿中クレアチニン', value: 80, unit: 'mg/dL', observedAt: days(2), sourceKey: `${pid}/l4` }),
      item(facilityA, pid, { kind: 'prescription', code: '396210', codeSystem: 'YJ', text: 'メトグルコ錠250mg', status: 'active', observedAt: days(10), sourceKey: `${pid}/p1` }),
      item(facilityA, pid, { kind: 'prescription', text: 'ロキソニン錠', status: 'active', observedAt: days(200), sourceKey: `${pid}/p2` }),
      item(facilityA, pid, { kind: 'injection', text: '生理食塩液', status: '中止', observedAt: days(3), sourceKey: `${pid}/i1` }),
    ]);
    const ref = (await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'CS-1', messageId: 'CS-1', patient: patient(pid) }))).orderId;
    const s = (await rt.orders.detail(radiologist, ref)).clinical;
    assert.deepEqual(s.diagnoses.map((d) => d.text), ['慢性腎臓病'], 'resolved diagnoses are left out');
    assert.deepEqual(s.allergies.map((a) => a.text), ['ペニシリン']);
    assert.deepEqual(s.creatinine.points.map((p) => p.value), [1.6, 1.0], 'urine creatinine is not serum creatinine');
    assert.equal(s.creatinine.change, 0.6);
    assert.equal(s.egfr.points.length, 2);
    assert.equal(s.egfr.latest!.derived, true, 'the newest day had only a creatinine: eGFR calculated');
    assert.equal(s.egfr.latest!.value, japaneseEgfr(1.6, ageOn('19650412', s.egfr.latest!.observedAt)!, 'M'));
    assert.equal(s.egfr.points[1]!.value, 60.2);
    assert.deepEqual(s.prescriptions.map((p) => p.text), ['メトグルコ錠250mg'], 'old prescriptions are not current');
    assert.deepEqual(s.injections, [], 'stopped injections are not current');

    const patientRef = (await rt.orders.detail(radiologist, ref)).patient.id;
    const summary = await rt.clinical.clinicalSummary(user('attending-physician', facilityA), patientRef);
    assert.deepEqual(summary.diagnoses.map((d) => d.text), ['慢性腎臓病']);
    assert.equal((await auditOf(rt, 'patient.clinical-view', patientRef)).length, 1, 'reading it is audited');
    await assert.rejects(rt.clinical.clinicalSummary(user('attending-physician', facilityB), patientRef), { code: 'not_found' });
    await assert.rejects(rt.clinical.clinicalSummary(user('facility-admin', facilityA), patientRef), { code: 'forbidden' });
  });

  test('a linked record\'s clinical data shows only while both facilities share and no opt-out is active', async () => {
    await rt.contracts.set(OPERATOR, facilityA, shareAll);
    await rt.contracts.set(OPERATOR, facilityB, shareAll);
    await rt.clinical.record(OPERATOR, [item(facilityB, 'LB-1', { kind: 'allergy', text: 'ヨード造影剤', category: 'contrast-iodine', status: 'active', sourceKey: 'LB-1/a1' })]);
    const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'CL-1', messageId: 'CL-1', patient: patient('LA-1'), contrast: true }));
    const pa = (await rt.orders.detail(radiologist, o.orderId)).patient.id;
    const pb = (await rt.patients.update(OPERATOR, facilityB, patient('LB-1'))).patientRef;
    const techA = user('technologist', facilityA);
    assert.deepEqual((await rt.orders.detail(techA, o.orderId)).clinical.allergies, [], 'not linked yet');
    await rt.patients.link(OPERATOR, { patientA: pa, patientB: pb, reason: '同一人物' });
    const shared = await rt.orders.detail(techA, o.orderId);
    assert.deepEqual(shared.clinical.allergies.map((a) => [a.text, a.linked, a.facilityId]), [['ヨード造影剤', true, facilityB]]);
    assert.ok(shared.warnings.some((w) => w.code === 'contrast-allergy'), 'the other facility\'s allergy protects this exam');

    await rt.contracts.set(OPERATOR, facilityB, { ...shareAll, onwardSharing: false });
    assert.deepEqual((await rt.orders.detail(techA, o.orderId)).clinical.allergies, [], 'the contract no longer allows sharing');
    await rt.contracts.set(OPERATOR, facilityB, shareAll);
    await rt.patients.recordOptOut(user('attending-physician', facilityB), pb, { date: '2026-01-01', source: '書面' });
    assert.deepEqual((await rt.orders.detail(techA, o.orderId)).clinical.allergies, [], 'the opt-out blocks it');
  });
});

describe('protocol checks', { concurrency: false }, () => {
  const check = async (pid: string, modality: string, items: Array<Partial<ClinicalItemInput> & Pick<ClinicalItemInput, 'kind' | 'sourceKey'>>, contrast = true) => {
    await rt.clinical.record(OPERATOR, items.map((x) => item(facilityA, pid, x)));
    const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: `PC-${pid}-${modality}`, messageId: `PC-${pid}-${modality}`, patient: patient(pid), modality, contrast }));
    return (await rt.orders.detail(user('technologist', facilityA), o.orderId)).warnings;
  };

  test('eGFR below the thresholds (45 warn, 30 contraindicate) with the value and date as evidence', async () => {
    const when = days(5);
    const low = await check('K-1', 'CT', [{ kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 38, unit: 'mL/min/1.73m2', observedAt: when, sourceKey: 'K-1/1' }]);
    assert.deepEqual(low.map((w) => [w.code, w.severity]), [['egfr-low', 'warning']]);
    assert.deepEqual([low[0]!.evidence[0]!.value, low[0]!.evidence[0]!.observedAt], [38, when]);
    const bad = await check('K-2', 'MR', [{ kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 24.5, unit: 'mL/min/1.73m2', sourceKey: 'K-2/1' }]);
    assert.deepEqual(bad.map((w) => [w.code, w.severity]), [['egfr-contraindicated', 'danger']]);
    assert.match(bad[0]!.message.ja, /ガドリニウム造影剤/);
    const fine = await check('K-3', 'CT', [{ kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 75, unit: 'mL/min/1.73m2', sourceKey: 'K-3/1' }]);
    assert.deepEqual(fine, []);
    const none = await check('K-4', 'CT', []);
    assert.deepEqual(none.map((w) => w.code), ['egfr-unknown']);
    const old = await check('K-5', 'CT', [{ kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 70, unit: 'mL/min/1.73m2', observedAt: days(200), sourceKey: 'K-5/1' }]);
    assert.deepEqual(old.map((w) => w.code), ['egfr-unknown'], 'an eGFR of 200 days ago is not current');
    assert.deepEqual(await check('K-6', 'CT', [{ kind: 'lab', code: '8A065000002391901', text: 'eGFR', value: 20, sourceKey: 'K-6/1' }], false), [], 'no contrast, no checks');
  });

  test('contrast allergy by agent class, and metformin with iodinated contrast', async () => {
    const egfr = (pid: string) => ({ kind: 'lab' as const, code: '8A065000002391901', text: 'eGFR', value: 80, unit: 'mL/min/1.73m2', sourceKey: `${pid}/egfr` });
    const iodine = { kind: 'allergy' as const, text: 'ヨード造影剤で蕁麻疹', status: 'active', sourceKey: 'M-1/a' };
    const ct = await check('M-1', 'CT', [egfr('M-1'), iodine, { kind: 'prescription', code: '3962002F1020', codeSystem: 'YJ', text: 'メトホルミン塩酸塩錠250mg', status: 'active', sourceKey: 'M-1/p' }]);
    assert.deepEqual(ct.map((w) => [w.code, w.severity]), [['contrast-allergy', 'danger'], ['metformin', 'warning']]);
    assert.equal(ct[1]!.evidence[0]!.text, 'メトホルミン塩酸塩錠250mg');
    const mr = await check('M-1', 'MR', []);
    assert.deepEqual(mr.map((w) => [w.code, w.severity]), [['contrast-allergy', 'info']], 'an iodine allergy is information for gadolinium; metformin does not matter for MR');
    const gd = await check('M-2', 'MR', [egfr('M-2'), { kind: 'allergy', text: 'ガドリニウム造影剤', status: 'active', sourceKey: 'M-2/a' }]);
    assert.deepEqual(gd.map((w) => [w.code, w.severity]), [['contrast-allergy', 'danger']]);
    const resolved = await check('M-3', 'CT', [egfr('M-3'), { kind: 'allergy', text: '造影剤', status: 'resolved', sourceKey: 'M-3/a' }]);
    assert.deepEqual(resolved, []);
  });
});

test('recognisers and the Japanese eGFR equation', () => {
  assert.ok(isCreatinine({ code: '3C015000002327101', text: '' }));
  assert.ok(!isCreatinine({ code: '3C015000000127101', text: '' }), 'urine');
  assert.ok(isCreatinine({ code: 'L123', text: 'クレアチニン' }));
  assert.ok(!isCreatinine({ code: 'L124', text: 'クレアチニンクリアランス' }));
  assert.ok(isEgfr({ code: '', text: 'eGFRcreat' }));
  // 194 × 1.0^-1.094 × 50^-0.287 = 63.12 (男性); × 0.739 = 46.65 (女性).
  assert.equal(japaneseEgfr(1.0, 50, 'M'), 63.1);
  assert.equal(japaneseEgfr(1.0, 50, 'F'), 46.6);
  // 2.0 mg/dL at 70: 194 × 2^-1.094 × 70^-0.287 = 26.85.
  assert.equal(japaneseEgfr(2.0, 70, 'M'), 26.8);
  assert.equal(japaneseEgfr(1.0, 15, 'M'), undefined, 'adults only');
  assert.equal(agentOf('CT'), 'iodine');
  assert.equal(agentOf('MR'), 'gadolinium');
  assert.equal(agentOf('US'), 'other');
  const med = (text: string, code = '', codeSystem = '') => ({ id: '', facilityId: '', linked: false, kind: 'prescription' as const, code, codeSystem, text, category: '', status: '', observedAt: '', value: null, unit: '' });
  assert.ok(isMetformin(med('エクメット配合錠LD')));
  assert.ok(isMetformin(med('', '3962002F1020')));
  assert.ok(!isMetformin(med('アムロジピン', '2171022F1020')));
  const empty: ClinicalSummaryView = { diagnoses: [], allergies: [], creatinine: { latest: null, points: [], change: null }, egfr: { latest: null, points: [], change: null }, prescriptions: [], injections: [] };
  assert.deepEqual(protocolWarnings({ modality: 'US', contrast: true }, empty, { warn: 45, contraindicate: 30 }, new Date()), [], 'ultrasound agents are not checked');
});
