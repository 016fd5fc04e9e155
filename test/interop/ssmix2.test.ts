/**
 * SS-MIX2 standardized storage import through the real runtime (orders module, SQLite or
 * PostgreSQL): a synthetic tree in ISO-2022-JP is imported, the clinical summary shows its
 * Japanese text exactly, a second import adds nothing, an updated tree adds just the change,
 * and `enkaku import-ssmix2` reports a malformed file (exit status 1) while importing the rest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENKAKU_BIN, childEnv, testRuntime } from '../helpers.ts';
import type { Runtime } from '../../src/server/runtime.ts';
import { encodeHl7, mapClinicalBytes } from '../../src/server/interop/hl7/index.ts';
import {
  importSsmix2, parseSsmix2FileName, ssmix2KeyPrefix, ssmix2StatePath, updateSyntheticSsmix2, writeSyntheticSsmix2,
  type Ssmix2FileName, type SyntheticSsmix2, type SyntheticSsmix2Patient,
} from '../../src/server/interop/ssmix2/index.ts';

const OP = { kind: 'system', name: 'test' } as const;

function itemCount(root: string, rels: readonly string[]): number {
  return rels.reduce((n, rel) => {
    const name = parseSsmix2FileName(rel.split('/')[5]!) as Ssmix2FileName;
    return n + mapClinicalBytes(fs.readFileSync(path.join(root, rel)), { facilityId: 'x', source: 'ssmix2', keyPrefix: ssmix2KeyPrefix(name), dataType: name.dataType as 'ADT-00' }).items.length;
  }, 0);
}

describe('SS-MIX2 import into the orders module', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let dir: string;
  let root: string;
  let tree: SyntheticSsmix2;
  let facilityId: string;
  const deps = (): { clinical: Runtime['clinical']; patients: Runtime['patients'] } => ({ clinical: rt.clinical, patients: rt.patients });
  const options = () => ({ facilityId, actor: OP, stateFile: ssmix2StatePath(rt.config.dataDir, facilityId) });
  const refOf = async (p: SyntheticSsmix2Patient): Promise<string> => (await rt.patients.update(OP, facilityId, {
    patientId: p.id, issuer: '', name: { alphabetic: '', ideographic: `${p.familyName}^${p.givenName}`, phonetic: `${p.familyNameKana}^${p.givenNameKana}` }, sex: p.sex, birthDate: p.birthDate,
  })).patientRef;

  before(async () => {
    rt = await testRuntime();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-ssmix2-rt-'));
    root = path.join(dir, 'storage');
    // Histories end today, so the latest prescriptions are current medication.
    tree = await writeSyntheticSsmix2(root, { patients: 16, seed: 21, until: new Date() });
    facilityId = (await rt.facilities.add(OP, { name: 'SS-MIX2テスト病院', aets: [] })).id;
  });
  after(async () => {
    await rt?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports the tree; the clinical summary shows diagnoses, allergies, labs and medication with Japanese text intact', async () => {
    const s = await importSsmix2(deps(), root, options());
    assert.deepEqual(s.errors, []);
    assert.equal(s.imported, tree.files.length);
    assert.equal(s.patientsUpdated, tree.patients.length);
    assert.deepEqual(s.items, { added: itemCount(root, tree.files.map((f) => f.path)), unchanged: 0, updated: 0 });

    for (const p of tree.patients) {
      const ref = await refOf(p);
      const detail = await rt.patients.get(OP, ref);
      assert.equal(JSON.stringify(detail).includes(`${p.familyName}^${p.givenName}`), true, 'kanji name stored');
      const summary = await rt.clinical.clinicalSummary(OP, ref);
      assert.equal(summary.egfr.latest?.value, p.latest.egfr, `latest eGFR of patient ${p.id}`);
      assert.equal(summary.creatinine.latest?.value, p.latest.creatinine);
      assert.ok(summary.egfr.points.length >= 3, 'an eGFR trend');
      const ppr = tree.files.find((f) => f.patient === tree.patients.indexOf(p) && f.dataType === 'PPR-01')!;
      const names = [...ppr.text.matchAll(/^PRB\|AD\|\d+\|[^^]*\^([^^|]+)\^/gm)].map((m) => m[1]!);
      assert.ok(names.length > 0);
      for (const name of names) {
        if (/肺炎/.test(name)) continue; // resolved: not an active diagnosis
        assert.ok(summary.diagnoses.some((d) => d.text === name), `diagnosis ${name}`);
      }
      if (p.contrastAllergy) {
        const a = summary.allergies.find((x) => x.category === `contrast-${p.contrastAllergy}`);
        assert.ok(a, `contrast allergy of patient ${p.id}`);
        assert.match(a.text, p.contrastAllergy === 'iodine' ? /^(ヨード造影剤|イオパミロン注３００)$/ : /^ガドリニウム造影剤$/);
      }
      if (p.metformin) assert.ok(summary.prescriptions.some((m) => m.category === 'metformin' && /^(メトグルコ錠２５０ｍｇ|メトホルミン塩酸塩錠５００ｍｇＭＴ)$/.test(m.text)));
    }
    const contrast = tree.files.find((f) => f.dataType === 'OMP-02' && f.text.includes('イオパミロン注３００シリンジ１００ｍＬ'));
    if (contrast) {
      const summary = await rt.clinical.summaryFor(await refOf(tree.patients[contrast.patient]!), new Date(Date.parse(tree.until.toISOString()) + 86_400_000));
      assert.ok(summary.injections.some((i) => i.text === 'イオパミロン注３００シリンジ１００ｍＬ' && i.category === 'contrast-iodine'));
    }
  });

  it('a second import adds nothing, with or without the state file', async () => {
    const s = await importSsmix2(deps(), root, options());
    assert.equal(s.skipped.unchanged, tree.files.length);
    assert.deepEqual(s.items, { added: 0, unchanged: 0, updated: 0 });
    const full = await importSsmix2(deps(), root, { ...options(), useState: false });
    assert.deepEqual(full.errors, []);
    assert.equal(full.items.added, 0);
    assert.equal(full.items.updated, 0);
  });

  it('an updated tree adds the corrected results and the new visit, and withdraws deleted prescriptions', async () => {
    const u = await updateSyntheticSsmix2(root, tree, { at: new Date() });
    const s = await importSsmix2(deps(), root, options());
    assert.deepEqual(s.errors, []);
    assert.equal(s.skipped.superseded, u.superseded.length);
    assert.deepEqual(s.items, { added: itemCount(root, u.written), unchanged: 0, updated: itemCount(root, u.deleted) });
    const p = tree.patients[0]!;
    const summary = await rt.clinical.clinicalSummary(OP, await refOf(p));
    assert.equal(summary.creatinine.latest?.value, p.latest.creatinine, 'the new visit is the latest creatinine');
    const again = await importSsmix2(deps(), root, options());
    assert.deepEqual(again.items, { added: 0, unchanged: 0, updated: 0 });
  });

  it('`enkaku import-ssmix2` reports a malformed file by path, imports the others and exits with status 1', async () => {
    const other = path.join(dir, 'other');
    const small = await writeSyntheticSsmix2(other, { patients: 3, seed: 99, until: new Date() });
    const broken = small.files.find((f) => f.dataType === 'OML-11')!;
    fs.writeFileSync(path.join(other, ...broken.path.split('/')), encodeHl7(broken.text.replace(/\|OUL\^R22\^OUL_R22\|/, '|ORM^O01^ORM_O01|'), ['', 'ISO IR87']));
    const r = spawnSync(process.execPath, [ENKAKU_BIN, 'import-ssmix2', other, '--facility', 'SS-MIX2テスト病院'], { env: childEnv(rt.config), encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`^imported ${small.files.length - 1} file\\(s\\)`, 'm'));
    assert.match(r.stdout, /^1 file\(s\) failed:$/m);
    assert.ok(r.stdout.includes(`  error: ${broken.path}: segment 1 (MSH), MSH-9: a file of data type OML-11 (検体検査結果通知) holds ORM^O01; expected OUL^R22`), r.stdout);
    const state = JSON.parse(fs.readFileSync(ssmix2StatePath(rt.config.dataDir, facilityId), 'utf8')) as { roots: Record<string, Record<string, unknown>> };
    const files = state.roots[fs.realpathSync(other)]!;
    assert.equal(Object.keys(files).length, small.files.length - 1, 'the failed file is read again next time');
    assert.equal(files[broken.path], undefined);
  });
});
