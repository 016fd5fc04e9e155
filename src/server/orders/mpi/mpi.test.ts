/**
 * Master patient index (W3) and opt-out (S1): demographics updates keep the search text in
 * step; links between facilities are explicit, audited and reversible with their history;
 * another facility's record is shown only where both contracts allow sharing and neither
 * patient has opted out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { FacilityContractTerms } from '../../../shared/api.ts';
import { nameSearchKeys, nameSearchText } from '../../archive/dicom/names.ts';
import { OPERATOR, auditOf, patient, user } from '../test-fixtures.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;
const mgmt = user('management-physician', null);

const terms = (onwardSharing: boolean): FacilityContractTerms => ({
  scope: { modalities: [], bodyParts: [] },
  dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
  retentionDays: 365,
  contactLadder: [{ name: '当直医', role: '当直', phone: '03-0000-0000', hours: '24時間' }],
  delivery: { route: 'hl7', transcriptionConfirmer: '' },
  onwardSharing,
  monitorCheckRequired: true,
  optOutNotice: '外部委託のお知らせ',
});

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: 'A病院', aets: ['AA'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: 'B病院', aets: ['BB'] })).id;
  await rt.contracts.set(OPERATOR, facilityA, terms(true));
  await rt.contracts.set(OPERATOR, facilityB, terms(true));
});
after(() => rt.cleanup());

test('demographics upsert: created, then updated field by field, name_search follows, audited', async () => {
  const { patientRef } = await rt.patients.update(OPERATOR, facilityA, patient('U-1', { name: { alphabetic: 'Suzuki^Hanako', ideographic: '', phonetic: '' }, sex: 'F', birthDate: '1978-11-03' }));
  const again = await rt.patients.update(OPERATOR, facilityA, patient('U-1', { name: { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' }, sex: 'F', birthDate: '' }));
  assert.equal(again.patientRef, patientRef, 'same (facility, patient ID, issuer) is the same record');
  const p = await rt.patients.get(mgmt, patientRef);
  assert.deepEqual(p.name, { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' });
  assert.equal(p.birthDate, '19781103', 'an empty birth date does not erase the known one; ISO dates become DICOM DA');
  const row = await rt.patients.row(patientRef);
  assert.equal(row!.name_search, nameSearchText(p.name));
  const keysOf = async (id: string) => (await rt.db.kysely.selectFrom('patient_name_keys').select('key').where('patient_id', '=', id).execute()).map((k) => k.key).sort();
  assert.deepEqual(await keysOf(patientRef), nameSearchKeys(row!.name_search).sort(), 'the fuzzy search keys follow the new name');
  assert.ok((await keysOf(patientRef)).includes('すずき^はなこ'), 'the reading is a key of its own');
  const audit = await auditOf(rt, 'patient.*', patientRef);
  assert.deepEqual(audit.filter((a) => a.action !== 'patient.view').map((a) => a.action), ['patient.create', 'patient.update']);
  assert.deepEqual(audit.find((a) => a.action === 'patient.update')!.details.changed, ['name_ideographic', 'name_phonetic']);

  await rt.patients.update(OPERATOR, facilityA, patient('U-1', { name: { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' }, sex: 'F', birthDate: '19781103' }));
  assert.equal((await auditOf(rt, 'patient.update', patientRef)).length, 1, 'nothing changed, nothing audited');

  await assert.rejects(rt.patients.update(OPERATOR, facilityA, patient('U-2', { sex: 'X' })), /patient.sex must be M, F, O/);
  await assert.rejects(rt.patients.update(OPERATOR, facilityA, patient('U-2', { birthDate: '19780230' })), /patient.birthDate must be a date/);
  await assert.rejects(rt.patients.update(OPERATOR, facilityA, patient('')), /patient.patientId is required/);
  await assert.rejects(rt.patients.update(user('technologist', facilityB), facilityA, patient('U-3')), { code: 'forbidden' });
  await assert.rejects(rt.patients.update({ kind: 'token', facilityId: facilityA, tokenId: 't', scopes: ['orders:read'], address: '' }, facilityA, patient('U-3')), { code: 'forbidden' }, 'a read token does not write');
  await rt.patients.update({ kind: 'token', facilityId: facilityA, tokenId: 't', scopes: ['orders:write'], address: '' }, facilityA, patient('U-3'));

  await rt.patients.update(OPERATOR, facilityA, patient('U-1', { name: { alphabetic: 'Sato^Hanako', ideographic: '佐藤^花子', phonetic: 'ｻﾄｳ^ﾊﾅｺ' }, sex: 'F', birthDate: '' }));
  const renamed = await keysOf(patientRef);
  assert.ok(renamed.includes('さとう^はなこ') && !renamed.some((k) => k.startsWith('すずき')), 'a new name replaces the old keys');
});

test('several updates in one transaction: applied in order, each audited; a bad one fails alone', async () => {
  const results = await rt.patients.updateMany(OPERATOR, facilityA, [
    patient('UM-1', { sex: '' }),
    patient('UM-2'),
    patient('', { sex: 'M' }),
    patient('UM-1', { sex: 'F', birthDate: '1980-02-03' }),
    patient('UM-3', { birthDate: '1990-13-40' }),
  ]);
  assert.deepEqual(results.map((r) => r.ok), [true, true, false, true, false]);
  const [a, b, , a2] = results as Array<{ ok: true; patientRef: string }>;
  assert.equal(a!.patientRef, a2!.patientRef, 'the same patient twice is one record');
  assert.notEqual(a!.patientRef, b!.patientRef);
  assert.match(String((results[2] as { error: Error }).error.message), /patientId is required/);
  assert.match(String((results[4] as { error: Error }).error.message), /birthDate must be a date/);
  const row = await rt.db.kysely.selectFrom('patients').selectAll().where('id', '=', a!.patientRef).executeTakeFirstOrThrow();
  assert.deepEqual([row.sex, row.birth_date], ['F', '19800203'], 'the later update wins, field by field');
  const audit = [...(await auditOf(rt, 'patient.create')), ...(await auditOf(rt, 'patient.update'))].filter((e) => e.objectId === a!.patientRef);
  assert.deepEqual(audit.map((e) => [e.action, e.details.changed]), [['patient.create', []], ['patient.update', ['sex', 'birth_date']]]);
  assert.equal((await rt.db.kysely.selectFrom('patients').select('id').where('patient_id', '=', 'UM-3').execute()).length, 0);
  await assert.rejects(rt.patients.updateMany(user('technologist', facilityB), facilityA, [patient('UM-4')]), { code: 'forbidden' });
  assert.equal((await rt.audit.verify()).ok, true);
});

test('links: explicit, audited for both records, reversible, with history; linkedPatients follows the sharing rules', async () => {
  const a = (await rt.patients.update(OPERATOR, facilityA, patient('L-A'))).patientRef;
  const b = (await rt.patients.update(OPERATOR, facilityB, patient('L-B'))).patientRef;
  const a2 = (await rt.patients.update(OPERATOR, facilityA, patient('L-A2'))).patientRef;

  await assert.rejects(rt.patients.link(user('radiologist', null), { patientA: a, patientB: b, reason: 'x' }), { code: 'forbidden' });
  await assert.rejects(rt.patients.link(user('facility-admin', facilityA), { patientA: a, patientB: b, reason: 'x' }), { code: 'forbidden' });
  await assert.rejects(rt.patients.link(mgmt, { patientA: a, patientB: b, reason: '' }), /reason/);
  await assert.rejects(rt.patients.link(mgmt, { patientA: a, patientB: a2, reason: 'x' }), /different facilities/);
  await assert.rejects(rt.patients.link(mgmt, { patientA: a, patientB: 'nobody', reason: 'x' }), { code: 'not_found' });

  const link = await rt.patients.link(mgmt, { patientA: a, patientB: b, reason: '保険証と生年月日が一致' });
  assert.equal(link.active, true);
  await assert.rejects(rt.patients.link(user('system-admin', null), { patientA: b, patientB: a, reason: 'again' }), { code: 'conflict' });

  const readerA = user('attending-physician', facilityA);
  assert.deepEqual((await rt.patients.linkedPatients(readerA, a)).map((p) => p.id), [b]);
  assert.deepEqual((await rt.patients.linkedPatients(user('radiologist', null), b)).map((p) => p.id), [a]);
  await assert.rejects(rt.patients.linkedPatients(user('attending-physician', facilityB), a), { code: 'not_found' }, 'another facility\'s reader cannot ask about this record');
  await assert.rejects(rt.patients.linkedPatients(user('facility-admin', facilityA), a), { code: 'forbidden' });

  const seen = await auditOf(rt, 'patient.link', link.id);
  assert.deepEqual(seen.map((e) => e.patientRef).sort(), [a, b].sort(), 'one entry per record');

  const ended = await rt.patients.unlink(mgmt, link.id, '別人と判明');
  assert.equal(ended.active, false);
  assert.equal(ended.unlinkReason, '別人と判明');
  await assert.rejects(rt.patients.unlink(mgmt, link.id), { code: 'conflict' });
  assert.deepEqual(await rt.patients.linkedPatients(readerA, a), [], 'unlinked: nothing shown');
  assert.equal((await auditOf(rt, 'patient.unlink', link.id)).length, 2);

  const relinked = await rt.patients.link(mgmt, { patientA: a, patientB: b, reason: '再確認で同一' });
  const detail = await rt.patients.get(readerA, a);
  assert.deepEqual(detail.links.map((l) => [l.id, l.active]), [[link.id, false], [relinked.id, true]], 'history kept');
  assert.equal(detail.links[1]!.other?.patientId, 'L-B', 'a shared link shows the other record');
});

test('sharing: a contract that disallows it, or an opt-out on either side, hides linked records; withdrawal restores', async () => {
  const a = (await rt.patients.update(OPERATOR, facilityA, patient('S-A'))).patientRef;
  const b = (await rt.patients.update(OPERATOR, facilityB, patient('S-B'))).patientRef;
  await rt.patients.link(mgmt, { patientA: a, patientB: b, reason: '同一人物' });
  const readerA = user('attending-physician', facilityA);
  const readerB = user('technologist', facilityB);
  assert.deepEqual((await rt.patients.linkedPatients(readerA, a)).map((p) => p.id), [b]);
  assert.equal(await rt.patients.sharingAllowed(b), true);

  // Facility B's contract stops onward sharing: B's record is no longer shown at A, nor A's at B.
  await rt.contracts.set(OPERATOR, facilityB, terms(false));
  assert.equal(await rt.patients.sharingAllowed(b), false);
  assert.deepEqual(await rt.patients.linkedPatients(readerA, a), []);
  assert.deepEqual(await rt.patients.linkedPatients(readerB, b), []);
  const hidden = (await rt.patients.get(readerA, a)).links[0]!;
  assert.equal(hidden.shared, false);
  assert.equal(hidden.other, null, 'the other facility\'s demographics are not shown');
  await rt.contracts.set(OPERATOR, facilityB, terms(true));
  assert.deepEqual((await rt.patients.linkedPatients(readerA, a)).map((p) => p.id), [b]);

  // The patient opts out at facility A: no cross-facility display in either direction.
  await assert.rejects(rt.patients.recordOptOut(user('technologist', facilityA), a, { date: '2026-01-05', source: '書面' }), { code: 'forbidden' });
  await assert.rejects(rt.patients.recordOptOut(user('attending-physician', facilityB), a, { date: '2026-01-05', source: '書面' }), { code: 'forbidden' });
  await assert.rejects(rt.patients.recordOptOut(readerA, a, { date: '2999-01-01', source: '書面' }), /must not be in the future/);
  await assert.rejects(rt.patients.recordOptOut(readerA, a, { date: '2026-01-05', source: '' }), /source/);
  const optOut = await rt.patients.recordOptOut(readerA, a, { date: '2026-01-05', source: '書面', note: '同意撤回書' });
  assert.equal(optOut.active, true);
  await assert.rejects(rt.patients.recordOptOut(mgmt, a, { date: '2026-01-06', source: '口頭' }), { code: 'conflict' });
  assert.equal(await rt.patients.sharingAllowed(a), false);
  assert.deepEqual(await rt.patients.linkedPatients(readerA, a), []);
  assert.deepEqual(await rt.patients.linkedPatients(readerB, b), [], 'the opted-out record is not shown at the other facility');
  const [entry] = await auditOf(rt, 'patient.opt-out', a);
  assert.deepEqual(entry!.details, { optOutId: optOut.id, declaredOn: '2026-01-05', source: '書面' });

  await assert.rejects(rt.patients.withdrawOptOut(readerA, a, { date: '2026-01-01' }), /must not be before the opt-out/);
  const withdrawn = await rt.patients.withdrawOptOut(user('facility-admin', facilityA), a, { date: '2026-02-01', source: '書面' });
  assert.equal(withdrawn.active, false);
  assert.equal(withdrawn.withdrawnOn, '2026-02-01');
  await assert.rejects(rt.patients.withdrawOptOut(readerA, a, { date: '2026-02-02' }), { code: 'conflict' });
  assert.deepEqual((await rt.patients.linkedPatients(readerB, b)).map((p) => p.id), [a]);
  const detail = await rt.patients.get(readerA, a);
  assert.equal(detail.optedOut, false);
  assert.equal(detail.optOuts.length, 1, 'the withdrawn opt-out stays in the history');
  assert.equal((await auditOf(rt, 'patient.opt-out-withdraw', a)).length, 1);
});
