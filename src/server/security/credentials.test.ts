import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { AccountRepository, CredentialService } from './index.ts';

const OP = { kind: 'system', name: 'test' } as const;
const PW = 'Correct-Horse-9-Battery';

describe('physician credentials decide who may read and sign', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let creds: CredentialService;
  let facility: string;
  let other: string;
  const now = new Date('2026-11-25T03:00:00Z'); // 12:00 in Tokyo

  before(async () => {
    rt = await testRuntime();
    creds = new CredentialService(new AccountRepository(rt.db.kysely), rt.audit, () => now);
    facility = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    other = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
  });
  after(async () => rt?.cleanup());

  const physician = async (username: string, facilityId: string | null = null, role = 'radiologist'): Promise<string> =>
    rt.accounts.create(OP, { username, displayName: username, password: PW, grants: [{ role, facilityId }] });

  test('a verified Japanese licence and a valid specialist certification allow reading and signing', async () => {
    const id = await physician('dr-ok');
    await creds.recordLicence(OP, id, { kind: 'jp-medical', number: '512345', country: 'JP', evidence: '医師等資格確認検索 2026-11-20; 免許証写し' });
    await creds.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: 'R-1234', issuedOn: '2022-04-01', expiresOn: '2027-03-31', evidence: '認定証写し' });
    const q = await creds.maySign(id, { modality: 'CT', facilityId: facility });
    assert.deepEqual(q, { allowed: true, problems: [], warnings: [] });
    const recorded = await creds.credentials(OP, id);
    assert.equal(recorded.licences[0]!.verified_by, 'system:test');
    assert.match(recorded.licences[0]!.evidence, /医師等資格確認検索/);
  });

  test('a foreign licence alone never qualifies', async () => {
    const id = await physician('dr-foreign');
    await creds.recordLicence(OP, id, { kind: 'foreign-medical', number: 'GMC-7654321', country: 'GB', evidence: 'GMC register' });
    await creds.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: 'R-9', issuedOn: '2022-04-01', expiresOn: '2030-03-31', evidence: 'x' });
    const q = await creds.maySign(id, { modality: 'CT', facilityId: facility });
    assert.equal(q.allowed, false);
    assert.match(q.problems.join(), /foreign medical licence alone does not permit diagnosis/);
  });

  test('an unverified or revoked licence, an expired certification or a missing domain refuse', async () => {
    const id = await physician('dr-expired');
    assert.match((await creds.mayRead(id, { modality: 'CT', facilityId: facility })).problems.join(), /no verified Japanese medical licence/);
    const lic = await creds.recordLicence(OP, id, { kind: 'jp-medical', number: '400001', country: 'JP', evidence: 'checked' });
    await creds.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: 'R-2', issuedOn: '2020-04-01', expiresOn: '2026-11-24', evidence: 'x' });
    const expired = await creds.mayRead(id, { modality: 'CT', facilityId: facility });
    assert.deepEqual(expired.problems, ['certification for CT expired on 2026-11-24']);
    await creds.recordCertification(OP, id, { kind: 'mammography-reader', number: 'M-1', issuedOn: '2025-01-01', expiresOn: '2029-12-31', evidence: 'x' });
    assert.equal((await creds.mayRead(id, { modality: 'MG', facilityId: facility })).allowed, true, 'mammography reader certification covers MG');
    assert.equal((await creds.mayRead(id, { modality: 'NM', facilityId: facility })).allowed, false, 'but not nuclear medicine');
    await creds.revokeLicence(OP, lic);
    assert.match((await creds.mayRead(id, { modality: 'MG', facilityId: facility })).problems.join(), /no verified Japanese medical licence/);
  });

  test('the reading role must cover the facility; transcriptionists never qualify; overdue training warns', async () => {
    const local = await physician('dr-local', facility);
    const scribe = await physician('scribe', null, 'transcriptionist');
    for (const id of [local, scribe]) {
      await creds.recordLicence(OP, id, { kind: 'jp-medical', number: '300003', country: 'JP', evidence: 'checked' });
      await creds.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: 'R-3', issuedOn: '2022-04-01', expiresOn: '2030-03-31', evidence: 'x' });
    }
    assert.equal((await creds.mayRead(local, { modality: 'MR', facilityId: facility })).allowed, true);
    assert.deepEqual((await creds.mayRead(local, { modality: 'MR', facilityId: other })).problems, ['no reading role for this facility']);
    assert.deepEqual((await creds.maySign(scribe, { modality: 'MR', facilityId: facility })).problems, ['no reading role for this facility']);
    await creds.recordTraining(OP, local, { course: '情報セキュリティ研修 2026', dueOn: '2026-10-31' });
    const q = await creds.mayRead(local, { modality: 'MR', facilityId: facility });
    assert.equal(q.allowed, true);
    assert.deepEqual(q.warnings, ['training "情報セキュリティ研修 2026" overdue since 2026-10-31']);
  });

  test('only administrators and the management physician record credentials; malformed numbers are refused', async () => {
    const id = await physician('dr-x');
    const tech = { kind: 'user', userId: 't', username: 't', grants: [{ role: 'technologist', facilityId: facility }], address: '127.0.0.1', sessionId: 's' } as const;
    await assert.rejects(creds.recordLicence(tech, id, { kind: 'jp-medical', number: '1', country: 'JP', evidence: 'x' }), /only system administrators/);
    await assert.rejects(creds.recordLicence(OP, id, { kind: 'jp-medical', number: 'ABC', country: 'JP', evidence: 'x' }), /医籍登録番号/);
    await assert.rejects(creds.recordLicence(OP, id, { kind: 'jp-medical', number: '1234', country: 'JP', evidence: ' ' }), /evidence/);
  });
});
