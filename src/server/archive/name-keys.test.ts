/**
 * Fuzzy name search keys: every component start of every name group is a key, and a
 * database upgraded from before the keys existed gets the keys of the patients it holds.
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

test('upgrading a database that holds patients gives each of them its keys', async () => {
  const { config, cleanup } = testConfig();
  try {
    const rt = await createRuntime(config, createLogger('silent'));
    const facility = (await rt.facilities.add(OPERATOR, { name: 'K病院', aets: ['KK'] })).id;
    const { patientRef } = await rt.patients.update(OPERATOR, facility, patient('K-1', { name: { alphabetic: 'Kato^Yui', ideographic: '加藤^結衣', phonetic: 'かとう^ゆい' } }));
    await rt.close();

    // The database as it was before migration 021: no keys table, the migration not run.
    const before = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
    await before.kysely.schema.dropTable('patient_name_keys').execute();
    await sql`delete from kysely_migration where name = '021_patient_name_keys'`.execute(before.kysely);
    await before.close();

    const after = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
    try {
      const keys = await after.kysely.selectFrom('patient_name_keys').selectAll().execute();
      assert.deepEqual(keys.map((k) => k.key).sort(), nameSearchKeys(nameSearchText({ alphabetic: 'Kato^Yui', ideographic: '加藤^結衣', phonetic: 'かとう^ゆい' })).sort());
      assert.ok(keys.every((k) => k.patient_id === patientRef && k.facility_id === facility));
    } finally {
      await after.close();
    }
  } finally {
    await cleanup();
  }
});
