/**
 * Query/Retrieve building blocks: identifiers read in both little endian syntaxes (with
 * sequences skipped and ISO 2022 text decoded), response identifiers, person-name
 * matching, P-DATA framing and native re-encoding that keeps every value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TS } from '../dicom/uids.ts';
import { generateSeries, SAMPLE_PATIENTS } from '../dicom/synthetic.ts';
import { BufferSource, readFileMeta, scanDataset } from '../dicom/parse.ts';
import { readIdentifier, writeIdentifier, IdentifierError } from './identifier.ts';
import { knownVr } from './find.ts';
import { personNameCondition, conditionFor, conditionMatches, QrFailure } from './qr.ts';
import { encodePData } from './internals.ts';
import { convertNative } from './native.ts';

function element(tag: number, vr: string, value: Buffer, explicit: boolean): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = Buffer.alloc(!explicit ? 8 : long ? 12 : 8);
  head.writeUInt16LE(tag >>> 16, 0);
  head.writeUInt16LE(tag & 0xffff, 2);
  if (!explicit) head.writeUInt32LE(value.length === 0 && vr === 'SQ' ? 0xffffffff : value.length, 4);
  else {
    head.write(vr, 4, 'latin1');
    if (long) head.writeUInt32LE(vr === 'SQ' ? 0xffffffff : value.length, 8);
    else head.writeUInt16LE(value.length, 6);
  }
  return Buffer.concat([head, value]);
}

/** An undefined-length sequence with one undefined-length item holding one element. */
function sequence(tag: number, explicit: boolean): Buffer {
  const inner = element(0x00080100, 'SH', Buffer.from('CODE'), explicit);
  const item = Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]), inner, Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0])]);
  return Buffer.concat([element(tag, 'SQ', Buffer.alloc(0), explicit), item, Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])]);
}

test('identifiers are read in explicit and implicit VR, sequences skipped, ISO 2022 IR 87 names decoded', () => {
  // 山田* under \ISO 2022 IR 87: ESC $ B, JIS X 0208 bytes, ESC ( B, '*'.
  const name = Buffer.concat([Buffer.from([0x1b, 0x24, 0x42, 0x3b, 0x33, 0x45, 0x44, 0x1b, 0x28, 0x42]), Buffer.from('*')]);
  for (const explicit of [true, false]) {
    const bytes = Buffer.concat([
      element(0x00080005, 'CS', Buffer.from('\\ISO 2022 IR 87'), explicit),
      element(0x00080052, 'CS', Buffer.from('STUDY '), explicit),
      sequence(0x00081032, explicit),
      element(0x00100010, 'PN', name.length % 2 ? Buffer.concat([name, Buffer.from(' ')]) : name, explicit),
      element(0x0020000d, 'UI', Buffer.from('1.2.3\0'), explicit),
    ]);
    const id = readIdentifier(bytes, explicit ? TS.ExplicitVRLittleEndian : TS.ImplicitVRLittleEndian, knownVr);
    assert.equal(id.text(0x00080052), 'STUDY');
    assert.equal(id.text(0x00100010), '山田*');
    assert.equal(id.text(0x0020000d), '1.2.3');
    assert.equal(id.elements.get(0x00081032)?.vr, 'SQ', 'the sequence key is known, its content skipped');
  }
  assert.throws(() => readIdentifier(Buffer.from([0x08, 0x00, 0x52, 0x00, 0x43, 0x53, 0x10]), TS.ExplicitVRLittleEndian, knownVr), IdentifierError);
});

test('response identifiers are written in tag order with even lengths, UTF-8 text and unsigned shorts', () => {
  const bytes = writeIdentifier(
    [
      { tag: 0x00100010, vr: 'PN', value: 'Yamada^Tarou=山田^太郎' },
      { tag: 0x00080052, vr: 'CS', value: 'IMAGE' },
      { tag: 0x00280010, vr: 'US', value: 512 },
      { tag: 0x0020000d, vr: 'UI', value: '1.2.3' },
      { tag: 0x00080061, vr: 'CS', value: ['CT', 'MR'] },
      { tag: 0x00081032, vr: 'SQ', value: null },
    ],
    TS.ExplicitVRLittleEndian,
  );
  const scan = scanDataset(new BufferSource(bytes), 0, TS.ExplicitVRLittleEndian, new Set([0x00080052, 0x00080061, 0x00100010, 0x0020000d, 0x00280010]));
  assert.equal(scan.elements.get(0x00080052)!.value.toString(), 'IMAGE ');
  assert.equal(scan.elements.get(0x00080061)!.value.toString(), 'CT\\MR ');
  assert.equal(scan.elements.get(0x00100010)!.value.toString('utf8').trim(), 'Yamada^Tarou=山田^太郎');
  assert.equal(scan.elements.get(0x0020000d)!.value.toString('latin1'), '1.2.3\0');
  assert.equal(scan.elements.get(0x00280010)!.value.readUInt16LE(0), 512);
});

test('person names: fuzzy across groups unless wildcards are inside; multi-group values use the first group', () => {
  assert.deepEqual(personNameCondition('山田*'), { kind: 'name', fuzzy: true, value: '山田' });
  assert.deepEqual(personNameCondition('ﾔﾏﾀﾞ'), { kind: 'name', fuzzy: true, value: 'やまだ' });
  assert.deepEqual(personNameCondition('Y*a'), { kind: 'name', fuzzy: false, value: 'Y*a' });
  assert.deepEqual(personNameCondition('=山田*'), { kind: 'name', fuzzy: true, value: '山田' });
  assert.equal(personNameCondition('*'), undefined);
  assert.equal(personNameCondition(''), undefined);
});

test('time ranges and wildcards match in memory; invalid values are refused with C000', () => {
  const range = conditionFor('time', 'StudyTime', '0800-1200')!;
  assert.ok(conditionMatches(range, '093000'));
  assert.ok(!conditionMatches(range, '130000'));
  assert.ok(!conditionMatches(range, ''), 'an empty value does not match a range');
  const like = conditionFor('text', 'SeriesDescription', 'Ax?al*')!;
  assert.ok(conditionMatches(like, 'Axial 5mm'));
  assert.ok(!conditionMatches(like, 'Coronal'));
  assert.throws(() => conditionFor('uid', 'StudyInstanceUID', 'abc'), (e: unknown) => e instanceof QrFailure && e.status === 0xc000);
  assert.throws(() => conditionFor('int', 'SeriesNumber', 'one'), (e: unknown) => e instanceof QrFailure && e.status === 0xc000);
});

test('P-DATA framing respects the peer maximum and marks command, data set and last fragments', () => {
  const command = Buffer.alloc(100, 1);
  const dataset = Buffer.alloc(10_000, 2);
  const out = Buffer.concat([...encodePData(5, command, dataset, 4096)]);
  const pdvs: Array<{ length: number; control: number }> = [];
  for (let o = 0; o < out.length; ) {
    assert.equal(out[o], 0x04);
    const pduLength = out.readUInt32BE(o + 2);
    assert.ok(pduLength <= 4096);
    assert.equal(out[o + 10], 5);
    pdvs.push({ length: out.readUInt32BE(o + 6) - 2, control: out[o + 11]! });
    o += 6 + pduLength;
  }
  assert.deepEqual(pdvs[0], { length: 100, control: 0x03 });
  assert.deepEqual(pdvs.slice(1).map((p) => p.control), [0x00, 0x00, 0x02]);
  assert.equal(pdvs.slice(1).reduce((a, p) => a + p.length, 0), 10_000);
});

test('native re-encoding keeps every value: explicit, implicit, big endian and deflated round trips', () => {
  const [inst] = [...generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16, patient: SAMPLE_PATIENTS[2]!, charset: 'ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159', seed: 5 })];
  const meta = readFileMeta(new BufferSource(inst!.bytes));
  assert.equal(meta.transferSyntaxUid, TS.ExplicitVRLittleEndian);
  const original = inst!.bytes.subarray(meta.datasetOffset);
  for (const via of [TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian]) {
    const there = convertNative(original, TS.ExplicitVRLittleEndian, via);
    assert.ok(!there.equals(original), `${via} differs on the wire`);
    const back = convertNative(there, via, TS.ExplicitVRLittleEndian);
    assert.ok(back.equals(original), `explicit → ${via} → explicit is lossless`);
  }
  const implicit = convertNative(original, TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian);
  const big = convertNative(implicit, TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian);
  assert.ok(convertNative(big, TS.ExplicitVRBigEndian, TS.ExplicitVRLittleEndian).equals(original), 'implicit → big endian uses the dictionary VRs');
  assert.throws(() => convertNative(original, TS.ExplicitVRLittleEndian, TS.JpegLsLossless));
  // Sequences (written with undefined lengths) survive the trip through implicit VR.
  const withSequence = Buffer.concat([element(0x00080052, 'CS', Buffer.from('STUDY '), true), sequence(0x00081032, true), element(0x0020000d, 'UI', Buffer.from('1.2.3\0'), true)]);
  const viaImplicit = convertNative(withSequence, TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian);
  assert.ok(viaImplicit.equals(Buffer.concat([element(0x00080052, 'CS', Buffer.from('STUDY '), false), sequence(0x00081032, false), element(0x0020000d, 'UI', Buffer.from('1.2.3\0'), false)])));
  assert.ok(convertNative(viaImplicit, TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian).equals(withSequence));
});
