import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeHl7, Hl7Message, mapClinicalBytes } from '../hl7/index.ts';
import { checkSsmix2Folders, parseSsmix2FileName, ssmix2KeyPrefix, type Ssmix2FileName } from './layout.ts';
import { egfrCreat, runSyntheticSsmix2Cli, syntheticSsmix2, updateSyntheticSsmix2, writeSyntheticSsmix2 } from './synthetic.ts';

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/')).sort();
}

describe('synthetic SS-MIX2 storage', () => {
  it('lays out every file as the guideline prescribes, in ISO-2022-JP that decodes back exactly', () => {
    const tree = syntheticSsmix2({ patients: 12, seed: 7 });
    assert.equal(new Set(tree.files.map((f) => f.path)).size, tree.files.length);
    for (const f of tree.files) {
      const parts = f.path.split('/');
      assert.equal(parts.length, 6, f.path);
      const name = parseSsmix2FileName(parts[5]!) as Ssmix2FileName;
      assert.ok(!('error' in name), f.path);
      assert.equal(checkSsmix2Folders(parts.slice(0, 5), name), undefined);
      assert.equal(name.condition, '1');
      assert.equal(name.dataType, f.dataType);
      if (['ADT-00', 'ADT-61', 'PPR-01'].includes(f.dataType)) assert.equal(name.date, '-');
      else assert.match(name.date, /^\d{8}$/);
      assert.ok(f.bytes.every((b) => b < 0x80), `${f.path} is 7-bit`);
      const decoded = decodeHl7(f.bytes);
      assert.equal(decoded.text, f.text);
      assert.deepEqual(decoded.warnings, []);
      const m = Hl7Message.parse(decoded.text);
      assert.deepEqual(m.header.characterSet, ['', 'ISO IR87']);
      assert.equal(m.header.alternateCharacterSetHandling, 'ISO 2022-1994');
      assert.equal(m.segment('MSH')!.get(21, 2), 'SS-MIX2');
      assert.equal(m.get('PID-3'), name.patientId);
      const mapped = mapClinicalBytes(f.bytes, { facilityId: 'F', source: 'ssmix2', keyPrefix: ssmix2KeyPrefix(name), dataType: f.dataType });
      assert.deepEqual(mapped.issues, [], f.path);
    }
    const p = tree.patients[0]!;
    const adt = tree.files.find((f) => f.dataType === 'ADT-00' && f.patient === 0)!;
    assert.ok(adt.text.includes(`PID|0001||${p.id}^^^^PI||${p.familyName}^${p.givenName}^^^^^L^I~${p.familyNameKana}^${p.givenNameKana}^^^^^L^P||${p.birthDate}|${p.sex}`));
  });

  it('is reproducible for a seed and holds the cases the protocol checks need', () => {
    const a = syntheticSsmix2({ patients: 60, seed: 3 });
    const b = syntheticSsmix2({ patients: 60, seed: 3 });
    assert.deepEqual(a.files.map((f) => [f.path, f.bytes.toString('hex')]), b.files.map((f) => [f.path, f.bytes.toString('hex')]));
    assert.notDeepEqual(syntheticSsmix2({ patients: 5, seed: 4 }).files.map((f) => f.path), syntheticSsmix2({ patients: 5, seed: 5 }).files.map((f) => f.path));
    assert.ok(a.patients.some((p) => p.contrastAllergy === 'iodine'));
    assert.ok(a.patients.some((p) => p.contrastAllergy === 'gadolinium'));
    assert.ok(a.patients.some((p) => p.metformin));
    assert.ok(a.patients.some((p) => p.latest.egfr < 30), 'some patients have a low eGFR');
    assert.ok(a.patients.some((p) => p.latest.egfr >= 60));
    const types = new Set(a.files.map((f) => f.dataType));
    assert.deepEqual([...types].sort(), ['ADT-00', 'ADT-61', 'OML-11', 'OMP-01', 'OMP-02', 'OMP-11', 'OMP-12', 'PPR-01']);
    // The eGFR written is the JSN equation on the creatinine written.
    assert.equal(egfrCreat(1.0, 60, 'M'), 59.9);
    assert.equal(egfrCreat(1.0, 60, 'F'), 44.3);
  });

  it('writes the tree, then updates it with SS-MIX2 condition flags (superseded *_2, deleted *_0)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-ssmix2-'));
    try {
      const tree = await writeSyntheticSsmix2(root, { patients: 8, seed: 11 });
      assert.deepEqual(listFiles(root), tree.files.map((f) => f.path).sort());
      assert.deepEqual(fs.readFileSync(path.join(root, tree.files[0]!.path)), tree.files[0]!.bytes);
      const u = await updateSyntheticSsmix2(root, tree);
      assert.ok(u.written.length >= 2 && u.superseded.length >= 1 && u.deleted.length >= 1);
      for (const s of u.superseded) assert.match(s, /_2$/);
      for (const d of u.deleted) assert.match(d, /OMP-01.*_0$/);
      for (const w of u.written) assert.match(w, /OML-11.*_1$/);
      assert.deepEqual(listFiles(root), tree.files.map((f) => f.path).sort());
      // A corrected file keeps patient, date, data type and order number, with a later timestamp.
      const old = parseSsmix2FileName(u.superseded[0]!.split('/')[5]!) as Ssmix2FileName;
      const corrected = tree.files.find((f) => f.name.condition === '1' && f.name.orderNumber === old.orderNumber && f.name.patientId === old.patientId)!;
      assert.ok(corrected.name.timestamp > old.timestamp);
      assert.match(corrected.text, /\|C\|/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('has a command line', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-ssmix2-'));
    const lines: string[] = [];
    try {
      assert.equal(await runSyntheticSsmix2Cli(['--out', root, '--patients', '3', '--seed', '2'], (l) => lines.push(l)), 0);
      assert.match(lines[0]!, /^wrote \d+ file\(s\) for 3 patient\(s\)/);
      assert.equal(await runSyntheticSsmix2Cli(['--out', root, '--patients', '3', '--seed', '2', '--update'], (l) => lines.push(l)), 0);
      assert.match(lines[1]!, /^updated .*: \d+ new file\(s\), \d+ superseded \(\*_2\), \d+ deleted \(\*_0\)/);
      assert.equal(await runSyntheticSsmix2Cli(['--patients', 'x'], (l) => lines.push(l)), 2);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
