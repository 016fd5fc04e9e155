import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Actor } from '../../platform/context.ts';
import type { ClinicalIntake, ClinicalItemInput, PatientInput, PatientUpdates } from '../../orders/index.ts';
import { encodeHl7, mapClinicalBytes } from '../hl7/index.ts';
import { importSsmix2, ssmix2StatePath, type Ssmix2ImportOptions } from './import.ts';
import { parseSsmix2FileName, ssmix2KeyPrefix, type Ssmix2FileName } from './layout.ts';
import { updateSyntheticSsmix2, writeSyntheticSsmix2, type SyntheticSsmix2 } from './synthetic.ts';

const ACTOR: Actor = { kind: 'system', name: 'test' };

/**
 * A stand-in for the orders module, keeping the contract of model.ts: record is idempotent on
 * (facility, source, sourceKey) and replaces changed content; update keeps the latest demographics.
 */
class FakeOrders implements ClinicalIntake, PatientUpdates {
  readonly items = new Map<string, ClinicalItemInput>();
  readonly patients = new Map<string, PatientInput>();
  calls = 0;
  failOn?: (i: ClinicalItemInput) => boolean;

  async record(_actor: Actor, items: ClinicalItemInput[]): Promise<{ added: number; unchanged: number; updated: number }> {
    this.calls++;
    if (this.failOn && items.some(this.failOn)) throw new Error('items[0].text is too long');
    const r = { added: 0, unchanged: 0, updated: 0 };
    for (const i of items) {
      const key = `${i.facilityId}|${i.source}|${i.sourceKey}`;
      const old = this.items.get(key);
      if (!old) r.added++;
      else if (JSON.stringify(old) === JSON.stringify(i)) r.unchanged++;
      else r.updated++;
      this.items.set(key, i);
    }
    return r;
  }

  async update(_actor: Actor, facilityId: string, patient: PatientInput): Promise<{ patientRef: string }> {
    this.patients.set(`${facilityId}|${patient.patientId}`, patient);
    return { patientRef: patient.patientId };
  }
}

function itemsOf(root: string, rels: readonly string[], facilityId: string): ClinicalItemInput[] {
  return rels.flatMap((rel) => {
    const name = parseSsmix2FileName(rel.split('/')[5]!) as Ssmix2FileName;
    return mapClinicalBytes(fs.readFileSync(path.join(root, rel)), { facilityId, source: 'ssmix2', keyPrefix: ssmix2KeyPrefix(name), dataType: name.dataType as 'OML-11' }).items;
  });
}

describe('SS-MIX2 import (orders services stood in for)', () => {
  let dir: string;
  let root: string;
  let tree: SyntheticSsmix2;
  const orders = new FakeOrders();
  let options: Ssmix2ImportOptions;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-ssmix2-import-'));
    root = path.join(dir, 'storage');
    tree = await writeSyntheticSsmix2(root, { patients: 10, seed: 5 });
    options = { facilityId: 'FAC-1', actor: ACTOR, stateFile: ssmix2StatePath(path.join(dir, 'data'), 'FAC-1'), batchItems: 50 };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('imports every file: patients from ADT-00, items of all data types with Japanese text intact', async () => {
    const progress: number[] = [];
    const s = await importSsmix2({ clinical: orders, patients: orders }, root, { ...options, onProgress: (done, total) => progress.push(done / total) });
    const expected = itemsOf(root, tree.files.map((f) => f.path), 'FAC-1');
    assert.equal(s.files, tree.files.length);
    assert.equal(s.imported, tree.files.length);
    assert.equal(s.patientsUpdated, tree.patients.length);
    assert.deepEqual(s.items, { added: expected.length, unchanged: 0, updated: 0 });
    assert.deepEqual(s.errors, []);
    assert.equal(s.errorCount, 0);
    assert.equal(progress.length, tree.files.length);
    assert.equal(progress.at(-1), 1);
    assert.ok(orders.calls > 1, 'recorded in batches');
    const p = tree.patients[0]!;
    assert.deepEqual(orders.patients.get(`FAC-1|${p.id}`)!.name, { alphabetic: '', ideographic: `${p.familyName}^${p.givenName}`, phonetic: `${p.familyNameKana}^${p.givenNameKana}` });
    const kinds = new Set([...orders.items.values()].map((i) => i.kind));
    assert.deepEqual([...kinds].sort(), ['allergy', 'diagnosis', 'injection', 'lab', 'prescription']);
    const lab = [...orders.items.values()].find((i) => i.patient.patientId === p.id && i.category === 'egfr' && i.observedAt.startsWith(`${p.latest.date.slice(0, 4)}-${p.latest.date.slice(4, 6)}`) && i.value === p.latest.egfr);
    assert.ok(lab, 'the latest eGFR is recorded with its value');
    for (const a of tree.patients.filter((x) => x.contrastAllergy)) {
      assert.ok([...orders.items.values()].some((i) => i.patient.patientId === a.id && i.kind === 'allergy' && i.category === `contrast-${a.contrastAllergy}`));
    }
    assert.ok(fs.existsSync(options.stateFile as string));
  });

  it('a second import reads nothing and adds nothing; without the state file it reads all and adds nothing', async () => {
    const calls = orders.calls;
    const s = await importSsmix2({ clinical: orders, patients: orders }, root, options);
    assert.equal(s.skipped.unchanged, tree.files.length);
    assert.equal(s.imported, 0);
    assert.equal(s.bytes, 0);
    assert.deepEqual(s.items, { added: 0, unchanged: 0, updated: 0 });
    assert.equal(orders.calls, calls);
    const full = await importSsmix2({ clinical: orders, patients: orders }, root, { ...options, useState: false });
    assert.equal(full.imported, tree.files.length);
    assert.equal(full.items.added, 0);
    assert.equal(full.items.updated, 0);
    assert.equal(full.items.unchanged, orders.items.size);
  });

  it('an updated tree adds the corrected and new results, skips superseded files, marks deleted orders', async () => {
    const before = orders.items.size;
    const u = await updateSyntheticSsmix2(root, tree);
    const s = await importSsmix2({ clinical: orders, patients: orders }, root, options);
    const added = itemsOf(root, u.written, 'FAC-1');
    const deleted = itemsOf(root, u.deleted, 'FAC-1');
    assert.equal(s.imported, u.written.length + u.deleted.length);
    assert.equal(s.deleted, u.deleted.length);
    assert.equal(s.skipped.superseded, u.superseded.length);
    assert.deepEqual(s.items, { added: added.length, unchanged: 0, updated: deleted.length });
    assert.equal(orders.items.size, before + added.length);
    for (const d of deleted) assert.equal(orders.items.get(`FAC-1|ssmix2|${d.sourceKey}`)!.status, 'entered-in-error');
    const corrected = [...orders.items.values()].filter((i) => i.status === 'corrected');
    assert.ok(corrected.some((i) => i.category === 'creatinine'));
    const again = await importSsmix2({ clinical: orders, patients: orders }, root, options);
    assert.deepEqual(again.items, { added: 0, unchanged: 0, updated: 0 });
  });

  it('reports malformed, misplaced, oversized and outside-root files by path, and imports the others', async () => {
    const bad = path.join(dir, 'bad');
    fs.cpSync(root, bad, { recursive: true });
    const lab = tree.files.find((f) => f.dataType === 'OML-11' && f.name.condition === '1')!;
    const labPath = path.join(bad, ...lab.path.split('/'));
    // A lab file whose PID was cut off, one in Shift_JIS, one in the wrong folder, one too large.
    fs.writeFileSync(labPath, encodeHl7(lab.text.replace(/PID\|[^\r]*\r/, ''), ['', 'ISO IR87']));
    const adt = tree.files.find((f) => f.dataType === 'ADT-00')!;
    const adtPath = path.join(bad, ...adt.path.split('/'));
    fs.writeFileSync(adtPath, Buffer.concat([Buffer.from(adt.text.slice(0, adt.text.indexOf('PID')), 'latin1'), Buffer.from('PID|0001||X|', 'latin1'), Buffer.from([0x8e, 0x52, 0x93, 0x63]), Buffer.from('\r', 'latin1')]));
    const elsewhere = lab.path.split('/');
    elsewhere[3] = '19990101';
    fs.mkdirSync(path.join(bad, ...elsewhere.slice(0, 5)), { recursive: true });
    fs.writeFileSync(path.join(bad, ...elsewhere), lab.bytes);
    const big = tree.files.find((f) => f.dataType === 'PPR-01')!;
    fs.appendFileSync(path.join(bad, ...big.path.split('/')), Buffer.alloc(70_000, 0x20));
    // Links: one leaving the root (refused), one to a file inside it (read), other data types and stray files.
    const outside = path.join(dir, 'secret.txt');
    fs.writeFileSync(outside, 'not for import');
    fs.symlinkSync(outside, path.join(bad, 'leak'));
    fs.mkdirSync(path.join(bad, '000', '000', '0000000001', '20240101', 'OMG-01'), { recursive: true });
    fs.writeFileSync(path.join(bad, '000', '000', '0000000001', '20240101', 'OMG-01', '0000000001_20240101_OMG-01_000000000000001_20240101090000000_01_1'), 'MSH|^~\\&|\r');
    fs.writeFileSync(path.join(bad, 'SSMIXIDX.csv'), 'index');

    const fresh = new FakeOrders();
    const s = await importSsmix2({ clinical: fresh, patients: fresh }, bad, { ...options, stateFile: false, maxFileBytes: 64 * 1024 });
    const byFile = new Map(s.errors.map((e) => [e.file, e.message]));
    assert.match(byFile.get(lab.path)!, /no PID segment/);
    assert.match(byFile.get(adt.path)!, /MSH-18: .*byte 0x8e at offset \d+/);
    assert.match(byFile.get(elsewhere.join('/'))!, /the file is in .*19990101\/OML-11\/ but its name calls for/);
    assert.match(byFile.get(big.path)!, /refused: \d+ bytes, larger than the limit of 65536/);
    assert.match(byFile.get('leak')!, /refused: a symbolic link to a path outside the storage root/);
    assert.equal(s.errorCount, 5);
    assert.equal(s.skipped.otherTypes, 1);
    assert.equal(s.skipped.notSsmix2, 1);
    const current = tree.files.filter((f) => f.name.condition !== '2');
    assert.equal(s.imported, current.length - 3);
    assert.ok(fresh.items.size > 0);
  });

  it('reports a file whose items the orders module refuses, and keeps the rest of its batch', async () => {
    const fresh = new FakeOrders();
    const target = tree.files.find((f) => f.dataType === 'PPR-01' && f.name.condition === '1')!;
    fresh.failOn = (i) => i.sourceKey.startsWith(ssmix2KeyPrefix(target.name));
    const s = await importSsmix2({ clinical: fresh, patients: fresh }, root, { ...options, stateFile: false });
    assert.deepEqual(s.errors, [{ file: target.path, message: 'not recorded: items[0].text is too long' }]);
    assert.equal(s.imported, tree.files.filter((f) => f.name.condition !== '2').length - 1);
  });

  it('refuses a root that is not a folder', async () => {
    await assert.rejects(importSsmix2({ clinical: orders, patients: orders }, path.join(dir, 'nope'), options), /is not a folder/);
  });
});
