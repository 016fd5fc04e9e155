/**
 * Facility contracts (L5, A5): validation with messages that name the field, who may change
 * which terms, versions kept, and every change audited.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import type { FacilityContractTerms } from '../../../shared/api.ts';
import { OPERATOR, auditOf, user } from '../test-fixtures.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;

const terms = (): FacilityContractTerms => ({
  scope: { modalities: ['ct', 'MR'], bodyParts: ['胸部', '腹部'] },
  dueMinutes: { stat: 30, urgent: 120, routine: 1440 },
  retentionDays: 365,
  contactLadder: [
    { name: '山田 一郎', role: '依頼医', phone: '03-1234-5678 内線 210', hours: '平日 8:30-17:15' },
    { name: '当直医', role: '当直', phone: '03-1234-5679', hours: '24時間' },
  ],
  delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
  onwardSharing: true,
  monitorCheckRequired: true,
  optOutNotice: '当院は画像診断を外部の遠隔画像診断事業者に委託しています。',
});

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: '北病院', aets: ['KITA'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: '南病院', aets: ['MINAMI'] })).id;
});
after(() => rt.cleanup());

test('a facility without a contract gets the defaults: no onward sharing, monitor check warns but does not block', async () => {
  const c = await rt.contracts.get(user('system-admin', null), facilityA);
  assert.equal(c.configured, false);
  assert.equal(c.onwardSharing, false);
  assert.equal(c.monitorCheckRequired, false);
  assert.deepEqual(c.dueMinutes, { stat: 60, urgent: 240, routine: 2880 });
  await assert.rejects(rt.contracts.get(user('system-admin', null), 'no-such-facility'), { code: 'not_found' });
});

test('validation refuses bad terms with a message naming the field', async () => {
  const mgmt = user('management-physician', null);
  const cases: Array<[string, (t: any) => void, RegExp]> = [
    ['missing field', (t) => delete t.retentionDays, /retentionDays is required/],
    ['unknown field', (t) => (t.billing = 'x'), /unknown field billing/],
    ['bad modality', (t) => (t.scope.modalities = ['C T']), /scope.modalities.*not a DICOM modality/],
    ['due times out of order', (t) => (t.dueMinutes.urgent = 10), /stat \(30\) ≤ urgent \(10\)/],
    ['due time not a whole number', (t) => (t.dueMinutes.stat = 1.5), /dueMinutes.stat must be a whole number/],
    ['retention zero', (t) => (t.retentionDays = 0), /retentionDays must be a whole number from 1/],
    ['empty ladder', (t) => (t.contactLadder = []), /contactLadder needs at least one contact/],
    ['bad phone', (t) => (t.contactLadder[0].phone = 'call me'), /contactLadder\[0\].phone "call me" is not a telephone number/],
    ['ladder name missing', (t) => (t.contactLadder[1].name = ' '), /contactLadder\[1\].name is required/],
    ['unknown route', (t) => (t.delivery.route = 'fax'), /delivery.route must be one of hl7, fhir, manual/],
    ['manual without confirmer', (t) => (t.delivery.transcriptionConfirmer = ''), /delivery.transcriptionConfirmer/],
    ['confirmer with hl7', (t) => (t.delivery = { route: 'hl7', transcriptionConfirmer: '事務' }), /applies to manual delivery only/],
    ['sharing not boolean', (t) => (t.onwardSharing = 'yes'), /onwardSharing must be true or false/],
    ['no opt-out notice', (t) => (t.optOutNotice = ''), /optOutNotice/],
  ];
  for (const [what, spoil, message] of cases) {
    const t = terms();
    spoil(t);
    await assert.rejects(rt.contracts.set(mgmt, facilityA, t), (err: any) => err.code === 'bad_request' && message.test(err.message), what);
  }
  assert.equal((await rt.contracts.get(mgmt, facilityA)).configured, false, 'nothing was stored');
});

test('the provider sets the terms; each change is a version, audited with the fields changed', async () => {
  const mgmt = user('management-physician', null);
  const c1 = await rt.contracts.set(mgmt, facilityA, terms());
  assert.equal(c1.version, 1);
  assert.deepEqual(c1.scope.modalities, ['CT', 'MR'], 'modalities normalised');
  assert.equal(c1.contactLadder[0]!.phone, '03-1234-5678 内線 210');
  const same = await rt.contracts.set(mgmt, facilityA, terms());
  assert.equal(same.version, 1, 'the same terms again change nothing');

  const t = terms();
  t.retentionDays = 730;
  t.onwardSharing = false;
  const c2 = await rt.contracts.set(user('system-admin', null), facilityA, t);
  assert.equal(c2.version, 2);
  const history = await rt.contracts.history(mgmt, facilityA);
  assert.deepEqual(history.map((h) => h.version), [2, 1]);
  assert.equal(history[1]!.terms.retentionDays, 365, 'earlier versions are kept');

  const audit = await auditOf(rt, 'facility.contract-change', facilityA);
  assert.equal(audit.length, 2);
  assert.deepEqual(audit[1]!.details.changed, ['retentionDays', 'onwardSharing']);
  assert.equal(audit[1]!.details.version, 2);
});

test('a facility administrator changes the contact ladder of its own facility only; others read or nothing', async () => {
  const mgmt = user('management-physician', null);
  await rt.contracts.set(mgmt, facilityB, terms());
  const fadminB = user('facility-admin', facilityB);

  const ladder = terms();
  ladder.contactLadder = [{ name: '佐藤 花子', role: '放射線科部長', phone: '06-9876-5432', hours: '平日' }];
  const c = await rt.contracts.set(fadminB, facilityB, ladder);
  assert.equal(c.contactLadder[0]!.name, '佐藤 花子');

  const provider = { ...ladder, retentionDays: 500 };
  await assert.rejects(rt.contracts.set(fadminB, facilityB, provider), (err: any) => err.code === 'forbidden' && /retentionDays are terms of the reading provider/.test(err.message));
  await assert.rejects(rt.contracts.set(fadminB, facilityA, terms()), { code: 'forbidden' }, 'not another facility');
  await assert.rejects(rt.contracts.get(fadminB, facilityA), { code: 'forbidden' }, 'nor reads it');
  assert.equal((await rt.contracts.get(fadminB, facilityB)).retentionDays, 365);
  assert.equal((await rt.contracts.get(user('radiologist', null), facilityB)).version, 2, 'provider radiologists read contracts');
  for (const who of [user('radiologist', null), user('technologist', facilityB), user('attending-physician', facilityB), user('auditor', null)]) {
    await assert.rejects(rt.contracts.set(who, facilityB, terms()), { code: 'forbidden' });
  }
  await assert.rejects(rt.contracts.get(user('technologist', facilityB), facilityB), { code: 'forbidden' });
});
