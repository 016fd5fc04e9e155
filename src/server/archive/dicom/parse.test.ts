import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { BufferSource, DicomParseError, readFileMeta, scanDataset } from './parse.ts';
import { INDEX_TAGS, extractAttributes } from './attributes.ts';
import { buildFileMeta } from './filemeta.ts';
import { generateSeries, initSyntheticCodecs } from './synthetic.ts';
import { TS } from './uids.ts';

function parse(bytes: Buffer) {
  const src = new BufferSource(bytes);
  const meta = readFileMeta(src);
  return extractAttributes(scanDataset(src, meta.datasetOffset, meta.transferSyntaxUid, INDEX_TAGS));
}

const UIDS = { studyInstanceUid: '1.2.392.200036.9116.2.1.1', seriesInstanceUid: '1.2.392.200036.9116.2.1.1.1' };
const one = (ts: string = TS.ExplicitVRLittleEndian) => [...generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16, transferSyntax: ts, seed: 1, ...UIDS })][0]!;

test('a file cut anywhere is refused as truncated, never half-read', () => {
  const bytes = one().bytes;
  for (const cut of [200, 400, 700, bytes.length - 100, bytes.length - 1]) {
    assert.throws(() => parse(bytes.subarray(0, cut)), DicomParseError, `cut at ${cut}`);
  }
});

test('encapsulated pixel data without its sequence delimiter is refused', async () => {
  await initSyntheticCodecs();
  const bytes = one(TS.RleLossless).bytes;
  assert.equal(parse(bytes).rows, 16);
  assert.throws(() => parse(bytes.subarray(0, bytes.length - 8)), /truncated|end of data|malformed/);
});

test('an invalid VR and elements out of order are named in the error', () => {
  const bytes = Buffer.from(one().bytes);
  const at = bytes.indexOf(Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e])); // (0010,0010) PN
  const badVr = Buffer.from(bytes);
  badVr.write('ZZ', at + 4, 'latin1');
  assert.throws(() => parse(badVr), /invalid VR "ZZ" in element \(0010,0010\)/);
  const disordered = Buffer.from(bytes);
  disordered.writeUInt16LE(0x0011, at); // (0011,0010) before (0010,0020)
  assert.throws(() => parse(disordered), /out of order/);
});

test('missing "DICM" or file meta transfer syntax is refused', () => {
  const bytes = Buffer.from(one().bytes);
  bytes.write('XXXX', 128, 'latin1');
  assert.throws(() => parse(bytes), /DICM/);
  assert.throws(() => parse(Buffer.alloc(50)), /too short/);
});

test('a deflated data set that inflates beyond the limit is refused, not inflated into memory', () => {
  const meta = buildFileMeta('1.2.840.10008.5.1.4.1.1.7', '1.2.3', TS.DeflatedExplicitVRLittleEndian);
  const bomb = zlib.deflateRawSync(Buffer.alloc(300 * 1024 * 1024));
  assert.throws(() => parse(Buffer.concat([meta, bomb])), /inflates beyond/);
});

test('native transfer syntaxes give the same attributes', () => {
  const expected = parse(one().bytes);
  for (const ts of [TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian]) {
    const a = parse(one(ts).bytes);
    assert.deepEqual(a, expected, ts);
  }
});
