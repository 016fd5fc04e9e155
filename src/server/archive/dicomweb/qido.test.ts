/**
 * QIDO-RS: PS3.18 matching and DICOM JSON, Japanese names in all three PN groups,
 * facility scoping for tokens and users, and auditing of every search.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { Intake } from '../intake.ts';
import { SAMPLE_PATIENTS, generateSeries, type SyntheticSeriesOptions } from '../dicom/synthetic.ts';

const OP = { kind: 'system', name: 'test' } as const;
const PW = 'Correct-Horse-9-Battery';
type Json = Array<Record<string, { vr: string; Value?: any[] }>>;

describe('QIDO-RS', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let tokenA: string;
  let writeOnlyA: string;
  const studyA1 = '2.25.1001';
  const studyA2 = '2.25.1002';
  const studyB1 = '2.25.2001';

  const load = async (facilityId: string, opts: SyntheticSeriesOptions): Promise<void> => {
    for (const inst of generateSeries(opts)) {
      const intake = await Intake.start(rt.blobs, 1e9);
      await intake.write(inst.bytes);
      const r = await rt.intake.ingestPart10(await intake.finish(), { actor: OP, facilityId, callingAet: 'TEST', source: 'import' });
      assert.ok(r.ok);
    }
  };

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    await load(a, { modality: 'CT', count: 3, rows: 16, columns: 16, patient: SAMPLE_PATIENTS[0]!, charset: '\\ISO 2022 IR 87', studyInstanceUid: studyA1, seriesInstanceUid: '2.25.10011', studyDate: '20260310', accessionNumber: 'ACC-A1', seed: 1 });
    await load(a, { modality: 'MR', count: 2, rows: 16, columns: 16, patient: SAMPLE_PATIENTS[1]!, charset: 'ISO 2022 IR 13\\ISO 2022 IR 87', studyInstanceUid: studyA2, seriesInstanceUid: '2.25.10021', studyDate: '20251201', accessionNumber: 'ACC-A2', seed: 2 });
    await load(b, { modality: 'CT', count: 1, rows: 16, columns: 16, patient: SAMPLE_PATIENTS[0]!, charset: 'ISO_IR 192', studyInstanceUid: studyB1, seriesInstanceUid: '2.25.20011', studyDate: '20260311', accessionNumber: 'ACC-B1', seed: 3 });
    tokenA = (await rt.tokens.create(OP, { facilityId: a, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    writeOnlyA = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    await rt.accounts.create(OP, { username: 'tech-b', displayName: 'x', password: PW, grants: [{ role: 'technologist', facilityId: b }], mustChangePassword: false });
    await rt.accounts.create(OP, { username: 'admin', displayName: 'x', password: PW, grants: [{ role: 'system-admin', facilityId: null }], mustChangePassword: false });
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const qido = (url: string, token = tokenA) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  const uids = (body: Json) => body.map((s) => s['0020000D']!.Value![0]).sort();

  test('studies answer in DICOM JSON with the PS3.18 attributes, names in three groups, counts and retrieve URLs', async () => {
    const res = await qido('/dicomweb/studies?StudyInstanceUID=' + studyA1);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/dicom\+json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const [s] = res.json() as Json;
    assert.deepEqual(s!['00100010']!.Value, [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }]);
    assert.deepEqual(s!['00080061']!.Value, ['CT']);
    assert.deepEqual(s!['00201208']!.Value, [3]);
    assert.deepEqual(s!['00201206']!.Value, [1]);
    assert.equal(s!['00080050']!.Value![0], 'ACC-A1');
    assert.match(s!['00081190']!.Value![0], new RegExp(`/dicomweb/studies/${studyA1}$`));
  });

  test('a Japanese name is found through any of its groups with fuzzy matching', async () => {
    for (const q of ['山田', 'やまだ', 'ヤマダ', 'ﾔﾏﾀﾞ', 'Yamada', 'yamada', 'たろう']) {
      const res = await qido(`/dicomweb/studies?PatientName=${encodeURIComponent(q)}&fuzzymatching=true`);
      assert.deepEqual(uids(res.json()), [studyA1], q);
    }
    const suzuki = await qido(`/dicomweb/studies?PatientName=${encodeURIComponent('すずき')}&fuzzymatching=true`);
    assert.deepEqual(uids(suzuki.json()), [studyA2], 'half-width katakana phonetic group found by hiragana');
    // Without fuzzy matching: exact value or wildcards against a whole group.
    assert.deepEqual(uids((await qido(`/dicomweb/studies?PatientName=${encodeURIComponent('山田^太郎')}`)).json()), [studyA1]);
    assert.deepEqual(uids((await qido('/dicomweb/studies?PatientName=Yama*')).json()), [studyA1]);
    assert.equal((await qido('/dicomweb/studies?PatientName=Yamada')).statusCode, 204, 'no partial match without wildcard or fuzzy');
  });

  test('dates, modalities, accession numbers, UID lists, tags as keys, limit and offset', async () => {
    assert.deepEqual(uids((await qido('/dicomweb/studies?StudyDate=20260101-')).json()), [studyA1]);
    assert.deepEqual(uids((await qido('/dicomweb/studies?StudyDate=-20251231')).json()), [studyA2]);
    assert.deepEqual(uids((await qido('/dicomweb/studies?ModalitiesInStudy=MR')).json()), [studyA2]);
    assert.deepEqual(uids((await qido('/dicomweb/studies?00080050=ACC-A*')).json()), [studyA1, studyA2]);
    assert.deepEqual(uids((await qido(`/dicomweb/studies?StudyInstanceUID=${studyA1},${studyA2}`)).json()), [studyA1, studyA2]);
    const page1 = (await qido('/dicomweb/studies?limit=1')).json() as Json;
    const page2 = (await qido('/dicomweb/studies?limit=1&offset=1')).json() as Json;
    assert.deepEqual([...uids(page1), ...uids(page2)].sort(), [studyA1, studyA2], 'newest first, one per page');
    assert.equal((await qido('/dicomweb/studies?StudyDate=2026-13')).statusCode, 400);
  });

  test('series and instances', async () => {
    const series = (await qido(`/dicomweb/studies/${studyA1}/series`)).json() as Json;
    assert.equal(series.length, 1);
    assert.equal(series[0]!['00080060']!.Value![0], 'CT');
    assert.deepEqual(series[0]!['00201209']!.Value, [3]);
    const instances = (await qido(`/dicomweb/studies/${studyA1}/series/2.25.10011/instances`)).json() as Json;
    assert.deepEqual(instances.map((i) => i['00200013']!.Value![0]), [1, 2, 3]);
    assert.deepEqual(instances[0]!['00280010']!.Value, [16]);
    assert.equal((await qido('/dicomweb/series?Modality=MR')).json()[0]['0020000D'].Value[0], studyA2);
    assert.equal(((await qido(`/dicomweb/studies/${studyA2}/instances`)).json() as Json).length, 2);
  });

  test('a facility sees only its own studies; readers by role; others are refused', async () => {
    assert.deepEqual(uids((await qido('/dicomweb/studies')).json()), [studyA1, studyA2], 'facility A token sees A only');
    assert.equal((await qido(`/dicomweb/studies?StudyInstanceUID=${studyB1}`)).statusCode, 204, "B's study is invisible to A");
    assert.equal((await qido(`/dicomweb/studies/${studyB1}/series`)).statusCode, 204);
    assert.equal((await qido('/dicomweb/studies', writeOnlyA)).statusCode, 403, 'a write-only token cannot search');
    assert.equal((await app.inject({ method: 'GET', url: '/dicomweb/studies' })).statusCode, 401);
    const login = async (username: string) => {
      const { cookie } = await rt.auth.login(username, PW, { address: '127.0.0.1', userAgent: 't' });
      await rt.accounts.repo.updateUser((await rt.accounts.repo.byUsername(username))!.id, { agreement_accepted_at: new Date().toISOString() });
      return cookie;
    };
    const techB = await login('tech-b');
    const asTechB = await app.inject({ method: 'GET', url: '/dicomweb/studies', headers: { cookie: `enkaku_session=${techB}` } });
    assert.deepEqual(uids(asTechB.json()), [studyB1]);
    const admin = await login('admin');
    assert.equal((await app.inject({ method: 'GET', url: '/dicomweb/studies', headers: { cookie: `enkaku_session=${admin}` } })).statusCode, 403, 'administrators do not read medical data');
  });

  test('every search is audited without the values searched for', async () => {
    const entries = (await rt.audit.search(OP, { action: 'study.search', limit: 1000 })).records;
    assert.ok(entries.length >= 10);
    const withName = entries.find((e) => (e.details.keys as string[]).includes('PatientName'));
    assert.ok(withName, 'the key is recorded');
    assert.ok(!JSON.stringify(entries.map((e) => e.details)).includes('山田'), 'no name in the audit details');
  });
});
