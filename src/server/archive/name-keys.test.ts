/**
 * Fuzzy name search keys: every component start of every name group is a key, and a
 * database upgraded from before the keys existed gets the keys of the patients it holds and
 * the name text of each study's patient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testConfig } from '../../../test/helpers.ts';
import { createLogger } from '../platform/log.ts';
import { openDatabase } from '../platform/db/index.ts';
import { createRuntime } from '../runtime.ts';
import { OPERATOR, patient } from '../orders/test-fixtures.ts';
import { nameSearchKeys, nameSearchText } from './dicom/names.ts';
import { generateSeries, SAMPLE_PATIENTS } from './dicom/synthetic.ts';
import { nameCondition } from './dicomweb/qido-match.ts';
import { Intake } from './intake.ts';
import { QueryRepository } from './repository.ts';

test('a name has one key per component start of each group, so a fuzzy search is a prefix search', () => {
  const text = nameSearchText({ alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ' });
  assert.deepEqual(nameSearchKeys(text), [
    'yamada^tarou\n山田^太郎\nやまだ^たろう',
    'tarou\n山田^太郎\nやまだ^たろう',
    '山田^太郎\nやまだ^たろう',
    '太郎\nやまだ^たろう',
    'やまだ^たろう',
    'たろう',
  ]);
  // Each LIKE of the fuzzy match ('x%', '%\nx%', '%^x%') holds exactly when a key starts with x.
  for (const x of ['yam', 'tar', '山田', '太', 'やまだ^た', 'たろう']) assert.ok(nameSearchKeys(text).some((k) => k.startsWith(x)), x);
  for (const x of ['amada', '田', 'まだ', 'ou']) assert.ok(!nameSearchKeys(text).some((k) => k.startsWith(x)), x);
  assert.deepEqual(nameSearchKeys(nameSearchText({ alphabetic: 'Sato', ideographic: '', phonetic: '' })), ['sato\n\n', '\n'], 'empty groups add no searchable key');
  assert.deepEqual(nameSearchKeys(''), [], 'no name, no keys');
});

test('upgrading a database that holds patients gives each of them its keys, and each study its patient\'s name text', async () => {
  const { config, cleanup } = testConfig();
  try {
    const rt = await createRuntime(config, createLogger('silent'));
    const facility = (await rt.facilities.add(OPERATOR, { name: 'K病院', aets: ['KK'] })).id;
    const { patientRef } = await rt.patients.update(OPERATOR, facility, patient('K-1', { name: { alphabetic: 'Kato^Yui', ideographic: '加藤^結衣', phonetic: 'かとう^ゆい' } }));
    const sample = SAMPLE_PATIENTS[2]!;
    const [inst] = [...generateSeries({ modality: 'CT', count: 1, rows: 8, columns: 8, patient: sample, charset: 'ISO_IR 192', seed: 5 })];
    const intake = await Intake.start(rt.blobs, 1e9);
    await intake.write(inst!.bytes);
    assert.ok((await rt.intake.ingestPart10(await intake.finish(), { actor: { kind: 'system', name: 'test' }, facilityId: facility, callingAet: 'KK', source: 'import' })).ok);
    await rt.close();

    // The database as it was before migrations 021 and 022: no keys table, no name text on
    // the studies and their date indexes without it, the migrations not run.
    const before = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
    const k = before.kysely;
    await k.schema.dropTable('patient_name_keys').execute();
    await k.schema.dropIndex('studies_facility_date').execute();
    await k.schema.dropIndex('studies_date_order').execute();
    await k.schema.alterTable('studies').dropColumn('patient_name_search').execute();
    await k.schema.createIndex('studies_facility_date').on('studies').columns(['facility_id', 'study_date', 'study_time', 'id', 'patient_ref']).execute();
    await k.schema.createIndex('studies_date_order').on('studies').columns(['study_date', 'study_time', 'id', 'patient_ref']).execute();
    await sql`delete from kysely_migration where name in ('021_patient_name_keys', '022_study_patient_names')`.execute(k);
    await before.close();

    const after = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
    try {
      const keys = await after.kysely.selectFrom('patient_name_keys').selectAll().where('patient_id', '=', patientRef).execute();
      assert.deepEqual(keys.map((x) => x.key).sort(), nameSearchKeys(nameSearchText({ alphabetic: 'Kato^Yui', ideographic: '加藤^結衣', phonetic: 'かとう^ゆい' })).sort());
      assert.ok(keys.every((x) => x.facility_id === facility));
      const study = await after.kysely.selectFrom('studies').select('patient_name_search').where('study_uid', '=', inst!.studyInstanceUid).executeTakeFirstOrThrow();
      assert.equal(study.patient_name_search, nameSearchText({ alphabetic: sample.name.alphabetic, ideographic: sample.name.ideographic ?? '', phonetic: sample.name.phonetic ?? '' }));
      // The searches that walk the studies find it by its patient's name.
      const walking = new QueryRepository(after.kysely, { patientList: 0 });
      const found = await walking.studies({ scope: [facility], limit: 10, offset: 0, patientName: nameCondition('はまだ', true) });
      assert.deepEqual(found.map((x) => x.study_uid), [inst!.studyInstanceUid]);
    } finally {
      await after.close();
    }
  } finally {
    await cleanup();
  }
});
