/**
 * Study searches by fuzzy name read the same studies whichever way the search goes: through
 * the ids of the matching patients (a rare name) or by walking the newest studies and testing
 * each one's copy of its patient's name text (a common name), also after the name changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { Intake } from './intake.ts';
import { generateSeries, SAMPLE_PATIENTS, type SyntheticPatient } from './dicom/synthetic.ts';
import { nameCondition, stringCondition } from './dicomweb/qido-match.ts';
import { QueryRepository, type StudyQuery } from './repository.ts';

const OP = { kind: 'system', name: 'test' } as const;

describe('fuzzy name searches over many patients', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let facility: string;
  /** Reads every matching patient's studies through their ids. */
  let byIds: QueryRepository;
  /** Walks the newest studies for any name (as for a name shared by thousands of patients). */
  let walking: QueryRepository;
  const studyOf = new Map<string, string>();

  const store = async (patient: SyntheticPatient, studyDate: string): Promise<string> => {
    let uid = '';
    for (const inst of generateSeries({ modality: 'CT', count: 1, rows: 8, columns: 8, patient, charset: 'ISO_IR 192', studyDate, seed: Number(studyDate.slice(-3)) })) {
      const intake = await Intake.start(rt.blobs, 1e9);
      await intake.write(inst.bytes);
      const r = await rt.intake.ingestPart10(await intake.finish(), { actor: OP, facilityId: facility, callingAet: 'TEST', source: 'import' });
      assert.ok(r.ok);
      uid = inst.studyInstanceUid;
    }
    return uid;
  };

  before(async () => {
    rt = await testRuntime();
    facility = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    byIds = new QueryRepository(rt.db.kysely);
    walking = new QueryRepository(rt.db.kysely, { patientList: 0 });
    const [yamada, suzuki, hamada, smith, satou] = SAMPLE_PATIENTS as [SyntheticPatient, SyntheticPatient, SyntheticPatient, SyntheticPatient, SyntheticPatient];
    const yamadaHanako: SyntheticPatient = { id: '00099999', issuer: 'ENKAKU', name: { alphabetic: 'Yamada^Hanako', ideographic: '山田^花子', phonetic: 'ﾔﾏﾀﾞ^ﾊﾅｺ' }, sex: 'F', birthDate: '19900101' };
    const patients: Array<[string, SyntheticPatient, string]> = [
      ['yamada-1', yamada, '20240101'],
      ['yamada-2', yamada, '20250601'],
      ['suzuki', suzuki, '20250301'],
      ['hamada', hamada, '20230515'],
      ['smith', smith, '20260102'],
      ['satou', satou, '20220808'],
      ['yamada-hanako', yamadaHanako, '20251111'],
    ];
    for (const [key, p, date] of patients) studyOf.set(key, await store(p, date));
  });
  after(async () => {
    await rt?.cleanup();
  });

  const search = async (repo: QueryRepository, name: string, extra: Partial<StudyQuery> = {}): Promise<string[]> =>
    (await repo.studies({ scope: [facility], limit: 100, offset: 0, patientName: nameCondition(name, true), ...extra })).map((s) => s.study_uid);
  const keysOf = (uids: string[]): string[] => uids.map((u) => [...studyOf].find(([, v]) => v === u)?.[0] ?? u);

  test('both ways find the same studies, newest first, through any name group and kana form', async () => {
    const cases: Array<[string, string[]]> = [
      ['やまだ', ['yamada-hanako', 'yamada-2', 'yamada-1']],
      ['ヤマダ', ['yamada-hanako', 'yamada-2', 'yamada-1']],
      ['山田', ['yamada-hanako', 'yamada-2', 'yamada-1']],
      ['yamada', ['yamada-hanako', 'yamada-2', 'yamada-1']],
      ['はなこ', ['yamada-hanako', 'suzuki']],
      ['ﾊﾏﾀﾞ', ['hamada']],
      ['john', ['smith']],
      ['ゆき', ['satou']],
      ['たなか', []],
    ];
    for (const [name, expected] of cases) {
      assert.deepEqual(keysOf(await search(byIds, name)), expected, `${name} through the patients' ids`);
      assert.deepEqual(keysOf(await search(walking, name)), expected, `${name} walking the studies`);
    }
    // With a Patient ID as well.
    const withId = { patientId: stringCondition(SAMPLE_PATIENTS[0]!.id) };
    assert.deepEqual(keysOf(await search(walking, 'やまだ', withId)), ['yamada-2', 'yamada-1']);
    assert.deepEqual(keysOf(await search(byIds, 'やまだ', withId)), ['yamada-2', 'yamada-1']);
  });

  test('after a patient\'s name changes, both ways find the studies under the new name only', async () => {
    const p = SAMPLE_PATIENTS[0]!;
    await rt.patients.update(OP, facility, { patientId: p.id, issuer: p.issuer ?? '', name: { alphabetic: 'Tanaka^Tarou', ideographic: '田中^太郎', phonetic: 'たなか^たろう' }, sex: 'M', birthDate: '19650412' });
    for (const repo of [byIds, walking]) {
      assert.deepEqual(keysOf(await search(repo, 'たなか')), ['yamada-2', 'yamada-1']);
      assert.deepEqual(keysOf(await search(repo, 'タナカ')), ['yamada-2', 'yamada-1']);
      assert.deepEqual(keysOf(await search(repo, 'やまだ')), ['yamada-hanako']);
    }
  });
});
