import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { extractAttributes, INDEX_TAGS, type InstanceAttributes } from './attributes.ts';
import { decodeText, parseSpecificCharacterSet } from './charsets.ts';
import { BufferSource, readFileMeta, scanDataset, type DatasetScan, type FileMeta } from './parse.ts';
import {
  SAMPLE_PATIENTS,
  SYNTHETIC_TRANSFER_SYNTAXES,
  generateSeries,
  initSyntheticCodecs,
  newUid,
  writeSeries,
  type SyntheticCharset,
  type SyntheticInstance,
  type SyntheticSeriesOptions,
} from './synthetic.ts';
import { TS, isValidUid } from './uids.ts';

const STRICT = process.env.ENKAKU_TEST_STRICT === '1';
const DCMDUMP = '/usr/bin/dcmdump';
const CLI = path.join(path.dirname(new URL(import.meta.url).pathname), 'synthetic-cli.ts');

/** Extra tags read through our parser, beyond the index tags. */
const X = {
  ImageType: 0x00080008,
  SliceThickness: 0x00180050,
  EchoTime: 0x00180081,
  MagneticFieldStrength: 0x00180087,
  ImagePositionPatient: 0x00200032,
  FrameOfReferenceUID: 0x00200052,
  SliceLocation: 0x00201041,
  PhotometricInterpretation: 0x00280004,
  PixelSpacing: 0x00280030,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  RescaleIntercept: 0x00281052,
  RescaleSlope: 0x00281053,
} as const;
const WANTED: ReadonlySet<number> = new Set([...INDEX_TAGS, ...Object.values(X)]);

interface Parsed {
  meta: FileMeta;
  scan: DatasetScan;
  attrs: InstanceAttributes;
  /** An extra element as text (ASCII VRs) or unsigned 16-bit number (US). */
  str(tag: number): string;
  us(tag: number): number;
  /** The raw bytes of the native or encapsulated pixel data element value. */
  pixelBytes(): Buffer;
}

/** Reads a file the way the archive does: meta, strict walk, index attributes. */
function parse(bytes: Buffer): Parsed {
  const src = new BufferSource(bytes);
  const meta = readFileMeta(src);
  const scan = scanDataset(src, meta.datasetOffset, meta.transferSyntaxUid, WANTED);
  const attrs = extractAttributes(scan);
  const dataset = meta.transferSyntaxUid === TS.DeflatedExplicitVRLittleEndian
    ? zlib.inflateRawSync(bytes.subarray(meta.datasetOffset))
    : bytes;
  return {
    meta,
    scan,
    attrs,
    str: (tag) => scan.elements.get(tag)?.value.toString('latin1').replace(/[\0 ]+$/, '') ?? '',
    us: (tag) => {
      const v = scan.elements.get(tag)?.value;
      assert.ok(v, `element ${tag.toString(16)} missing`);
      return scan.bigEndian ? v.readUInt16BE(0) : v.readUInt16LE(0);
    },
    pixelBytes: () => {
      assert.ok(scan.pixel, 'no pixel data');
      return dataset.subarray(scan.pixel.offset, scan.pixel.offset + scan.pixel.length);
    },
  };
}

/** Native 16-bit pixel values, in host order, whatever the byte order of the file. */
function pixelWords(p: Parsed): Uint16Array {
  const raw = Buffer.from(p.pixelBytes());
  if (p.scan.bigEndian !== (os.endianness() === 'BE')) raw.swap16();
  return new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
}

/** The fragments of encapsulated pixel data (after the Basic Offset Table item). */
function fragments(p: Parsed): Buffer[] {
  const b = p.pixelBytes();
  const out: Buffer[] = [];
  let pos = 0;
  let first = true;
  while (pos < b.length) {
    const tag = b.readUInt32LE(pos) >>> 0;
    const len = b.readUInt32LE(pos + 4);
    pos += 8;
    if (tag === 0xe0ddfffe) break;
    if (!first) out.push(b.subarray(pos, pos + len));
    first = false;
    pos += len;
  }
  return out;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

/** Walks the top-level elements itself and returns [tag, value length] in file order (fragments too). */
function layout(bytes: Buffer): { tags: number[]; lengths: number[] } {
  const meta = readFileMeta(new BufferSource(bytes));
  const ts = meta.transferSyntaxUid;
  const ds = ts === TS.DeflatedExplicitVRLittleEndian ? zlib.inflateRawSync(bytes.subarray(meta.datasetOffset)) : bytes.subarray(meta.datasetOffset);
  const big = ts === TS.ExplicitVRBigEndian;
  const explicit = ts !== TS.ImplicitVRLittleEndian;
  const u16 = (o: number): number => (big ? ds.readUInt16BE(o) : ds.readUInt16LE(o));
  const u32 = (o: number): number => (big ? ds.readUInt32BE(o) : ds.readUInt32LE(o));
  const tags: number[] = [];
  const lengths: number[] = [];
  let pos = 0;
  while (pos < ds.length) {
    const tag = ((u16(pos) << 16) | u16(pos + 2)) >>> 0;
    let length: number;
    if (!explicit) {
      length = u32(pos + 4);
      pos += 8;
    } else {
      const vr = ds.toString('latin1', pos + 4, pos + 6);
      if (LONG_VRS.has(vr)) {
        length = u32(pos + 8);
        pos += 12;
      } else {
        length = u16(pos + 6);
        pos += 8;
      }
    }
    tags.push(tag);
    if (length === 0xffffffff) {
      for (;;) {
        const itemTag = ds.readUInt32LE(pos) >>> 0;
        const itemLength = ds.readUInt32LE(pos + 4);
        pos += 8 + itemLength;
        lengths.push(itemLength);
        if (itemTag === 0xe0ddfffe) break;
      }
    } else {
      lengths.push(length);
      pos += length;
    }
  }
  return { tags, lengths };
}

const STUDY = '2.25.111111111111111111111111111111111';
const SERIES = '2.25.222222222222222222222222222222222';

function series(opts: Partial<SyntheticSeriesOptions> = {}): SyntheticInstance[] {
  return [...generateSeries({ modality: 'CT', count: 3, rows: 48, columns: 64, seed: 42, studyInstanceUid: STUDY, seriesInstanceUid: SERIES, ...opts })];
}

const COMPRESSED = SYNTHETIC_TRANSFER_SYNTAXES.filter(
  (ts) => ![TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian].includes(ts as never),
);

describe('synthetic series: before the codecs are initialised', () => {
  it('refuses a compressed transfer syntax with a clear message', () => {
    assert.throws(() => series({ transferSyntax: TS.RleLossless }), /needs the dcmjs-codecs WebAssembly codecs: await initSyntheticCodecs\(\)/);
  });
});

describe('synthetic series', () => {
  before(async () => {
    await initSyntheticCodecs();
  });

  it('newUid makes distinct valid 2.25 UIDs', () => {
    const a = newUid();
    assert.match(a, /^2\.25\.[1-9]\d*$/);
    assert.ok(isValidUid(a));
    assert.notEqual(a, newUid());
  });

  for (const ts of SYNTHETIC_TRANSFER_SYNTAXES) {
    it(`every file in ${ts} passes our parser with the right UIDs and dimensions`, () => {
      const instances = series({ transferSyntax: ts });
      assert.equal(instances.length, 3);
      assert.equal(new Set(instances.map((i) => i.sopInstanceUid)).size, 3);
      instances.forEach((inst, i) => {
        const p = parse(inst.bytes);
        assert.equal(p.meta.transferSyntaxUid, ts);
        assert.equal(p.meta.mediaStorageSopClassUid, '1.2.840.10008.5.1.4.1.1.2');
        assert.equal(p.meta.mediaStorageSopInstanceUid, inst.sopInstanceUid);
        assert.ok(isValidUid(inst.sopInstanceUid));
        assert.equal(p.attrs.sopClassUid, '1.2.840.10008.5.1.4.1.1.2');
        assert.equal(p.attrs.sopInstanceUid, inst.sopInstanceUid);
        assert.equal(p.attrs.studyInstanceUid, STUDY);
        assert.equal(p.attrs.seriesInstanceUid, SERIES);
        assert.equal(p.attrs.modality, 'CT');
        assert.equal(p.attrs.rows, 48);
        assert.equal(p.attrs.columns, 64);
        assert.equal(p.attrs.instanceNumber, i + 1);
        assert.equal(p.attrs.seriesNumber, 1);
        assert.equal(p.attrs.patientId, SAMPLE_PATIENTS[0]!.id);
        assert.equal(p.scan.pixel?.encapsulated, COMPRESSED.includes(ts));
        const baseline = ts === TS.JpegBaseline;
        assert.equal(p.us(X.BitsAllocated), baseline ? 8 : 16);
        assert.equal(p.us(X.BitsStored), baseline ? 8 : 12);
        if (!p.scan.pixel?.encapsulated) assert.equal(p.scan.pixel?.length, 48 * 64 * 2);
        else assert.equal(p.scan.pixel.fragments, 1);

        const { tags, lengths } = layout(inst.bytes);
        for (let k = 1; k < tags.length; k++) assert.ok(tags[k]! > tags[k - 1]!, `ascending order at ${tags[k]!.toString(16)}`);
        assert.equal(tags.at(-1), 0x7fe00010);
        for (const len of lengths) assert.equal(len % 2, 0, 'even value length');
        assert.equal(inst.bytes.length % 2, 0);
      });
    });
  }

  it('writes realistic modality attributes', () => {
    const ct = parse(series()[1]!.bytes);
    assert.equal(ct.str(X.RescaleIntercept), '-1024');
    assert.equal(ct.str(X.RescaleSlope), '1');
    assert.equal(ct.str(X.PhotometricInterpretation), 'MONOCHROME2');
    assert.equal(ct.str(X.ImageType), 'ORIGINAL\\PRIMARY\\AXIAL');
    assert.equal(ct.attrs.bodyPartExamined, 'CHEST');
    assert.ok(isValidUid(ct.str(X.FrameOfReferenceUID)));
    assert.equal(ct.str(X.ImagePositionPatient).split('\\').length, 3);
    assert.equal(ct.str(X.SliceLocation), ct.str(X.ImagePositionPatient).split('\\')[2]);

    const mr = parse([...generateSeries({ modality: 'MR', count: 2, rows: 32, columns: 32, seed: 1 })][0]!.bytes);
    assert.equal(mr.attrs.sopClassUid, '1.2.840.10008.5.1.4.1.1.4');
    assert.equal(mr.attrs.modality, 'MR');
    assert.equal(mr.str(X.MagneticFieldStrength), '1.5');
    assert.ok(Number(mr.str(X.EchoTime)) > 0);

    const cr = parse([...generateSeries({ modality: 'CR', count: 1, rows: 64, columns: 52, seed: 1 })][0]!.bytes);
    assert.equal(cr.attrs.sopClassUid, '1.2.840.10008.5.1.4.1.1.1');
    assert.equal(cr.str(X.PhotometricInterpretation), 'MONOCHROME1');
    assert.equal(cr.str(X.FrameOfReferenceUID), '');
    assert.deepEqual([cr.attrs.rows, cr.attrs.columns], [64, 52]);
  });

  // Expected decoded names: the groups a charset can hold, kana converted to a form it has.
  const NAME_CASES: [SyntheticCharset, number, { alphabetic: string; ideographic: string; phonetic: string }, string][] = [
    ['', 0, { alphabetic: 'Yamada^Tarou', ideographic: '', phonetic: '' }, 'Tokyo Enkaku General Hospital'],
    ['ISO_IR 13', 0, { alphabetic: 'Yamada^Tarou', ideographic: '', phonetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ' }, 'ﾄｳｷｮｳｴﾝｶｸｿｳｺﾞｳﾋﾞｮｳｲﾝ'],
    ['ISO_IR 192', 2, { alphabetic: 'Hamada^Kenji', ideographic: '濵田^健二', phonetic: 'はまだ^けんじ' }, '東京遠隔総合病院'],
    ['\\ISO 2022 IR 87', 0, { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, '東京遠隔総合病院'],
    ['\\ISO 2022 IR 87', 1, { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'スズキ^ハナコ' }, '東京遠隔総合病院'],
    ['ISO 2022 IR 13\\ISO 2022 IR 87', 1, { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' }, '東京遠隔総合病院'],
    ['ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159', 2, { alphabetic: 'Hamada^Kenji', ideographic: '濵田^健二', phonetic: 'はまだ^けんじ' }, '東京遠隔総合病院'],
    ['\\ISO 2022 IR 87', 3, { alphabetic: 'Smith^John', ideographic: '', phonetic: '' }, '東京遠隔総合病院'],
    ['\\ISO 2022 IR 87', 4, { alphabetic: 'Satou^Yuki', ideographic: '佐藤^由紀', phonetic: 'サトウ^ユキ' }, '東京遠隔総合病院'],
  ];
  for (const [charset, index, name, institution] of NAME_CASES) {
    it(`decodes patient ${index} under "${charset}" to the expected name groups`, () => {
      for (const ts of [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian]) {
        const p = parse(series({ charset, patient: SAMPLE_PATIENTS[index]!, transferSyntax: ts, count: 1 })[0]!.bytes);
        assert.equal(p.attrs.specificCharacterSet, charset);
        assert.equal(p.scan.elements.has(0x00080005), charset !== '');
        assert.deepEqual(p.attrs.patientName, name);
        assert.equal(p.attrs.institutionName, institution);
        assert.equal(p.attrs.patientBirthDate, SAMPLE_PATIENTS[index]!.birthDate);
        assert.equal(p.attrs.patientSex, SAMPLE_PATIENTS[index]!.sex);
        assert.doesNotMatch(JSON.stringify(p.attrs), /\ufffd/);
      }
    });
  }

  it('writes the PS3.5 H.3.1 bytes for Yamada^Tarou=山田^太郎=やまだ^たろう under \\ISO 2022 IR 87', () => {
    const p = parse(series({ charset: '\\ISO 2022 IR 87', count: 1 })[0]!.bytes);
    const raw = p.scan.elements.get(0x00100010)!.value;
    const h31 = Buffer.from(`59616d6164615e546172 6f753d1b24423b334544 1b28425e1b2442424 04f3a1b2842
      3d1b2442246424 5e24401b28425e1b2442243f246d24261b2842`.replace(/\s+/g, ''), 'hex');
    assert.deepEqual(raw, h31);
    assert.equal(decodeText(raw, parseSpecificCharacterSet('\\ISO 2022 IR 87'), 'PN'), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
    assert.equal(p.attrs.studyDescription, '胸腹部単純CT');
    assert.deepEqual(p.attrs.referringPhysician, { alphabetic: 'Suzuki^Ichirou', ideographic: '鈴木^一郎', phonetic: 'すずき^いちろう' });
  });

  it('refuses a JIS X 0212 name without ISO 2022 IR 159, naming the character', () => {
    assert.throws(() => series({ charset: '\\ISO 2022 IR 87', patient: SAMPLE_PATIENTS[2]! }), /濵.*U\+6FF5.*ISO 2022 IR 159/s);
  });

  it('refuses transfer syntaxes it cannot write', () => {
    assert.throws(() => series({ transferSyntax: TS.Jpeg2000 }), /1\.2\.840\.10008\.1\.2\.4\.91 cannot be generated/);
  });

  it('paints a phantom: pixel data varies within an image and between slices', () => {
    const [first, middle] = series({ count: 5, rows: 128, columns: 128 }).map((i) => pixelWords(parse(i.bytes)));
    const values = new Set(middle);
    assert.ok(values.size > 100, `only ${values.size} distinct values`);
    const corner = middle![0]!;
    const centre = middle![64 * 128 + 64]!;
    assert.ok(corner < 200, `air corner ${corner}`); // about -1000 HU + 1024
    assert.ok(centre > 800, `body centre ${centre}`);
    let differing = 0;
    for (let k = 0; k < first!.length; k++) if (Math.abs(first![k]! - middle![k]!) > 100) differing++;
    assert.ok(differing > first!.length / 50, 'anatomy changes with slice position');
  });

  it('big endian and implicit VR files hold the same pixel values as explicit VR little endian', () => {
    const le = pixelWords(parse(series()[0]!.bytes));
    assert.deepEqual(pixelWords(parse(series({ transferSyntax: TS.ExplicitVRBigEndian })[0]!.bytes)), le);
    assert.deepEqual(pixelWords(parse(series({ transferSyntax: TS.ImplicitVRLittleEndian })[0]!.bytes)), le);
    assert.deepEqual(pixelWords(parse(series({ transferSyntax: TS.DeflatedExplicitVRLittleEndian })[0]!.bytes)), le);
  });

  it('lossless compressed pixel data decodes back to exactly the native pixels', () => {
    const codecs = createRequire(import.meta.url)('dcmjs-codecs') as typeof import('dcmjs-codecs');
    const native = Buffer.from(parse(series()[1]!.bytes).pixelBytes());
    const decoders: Record<string, 'decodeRle' | 'decodeJpeg' | 'decodeJpegLs' | 'decodeJpeg2000' | 'decodeHtJpeg2000'> = {
      [TS.RleLossless]: 'decodeRle',
      [TS.JpegLosslessSV1]: 'decodeJpeg',
      [TS.JpegLsLossless]: 'decodeJpegLs',
      [TS.Jpeg2000Lossless]: 'decodeJpeg2000',
      [TS.HtJpeg2000Lossless]: 'decodeHtJpeg2000',
    };
    const context = (encodedBuffer: Uint8Array, bits: number) => new codecs.Context({
      width: 64, height: 48, bitsAllocated: bits, bitsStored: bits === 8 ? 8 : 12, samplesPerPixel: 1,
      pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2', encodedBuffer,
    });
    for (const [ts, fn] of Object.entries(decoders)) {
      const [frame] = fragments(parse(series({ transferSyntax: ts })[1]!.bytes));
      const decoded = codecs.NativeCodecs[fn](context(frame!, 16), {}).getDecodedBuffer();
      assert.ok(decoded, ts);
      assert.deepEqual(Buffer.from(decoded.buffer, decoded.byteOffset, native.length), native, `${ts} round trip`);
    }
    // JPEG Baseline is lossy 8-bit (CT: value = (HU + 1024) / 8): close to the native pixels.
    const [frame] = fragments(parse(series({ transferSyntax: TS.JpegBaseline })[1]!.bytes));
    const decoded = codecs.NativeCodecs.decodeJpeg(context(frame!, 8), {}).getDecodedBuffer()!;
    const words = new Uint16Array(native.buffer, native.byteOffset, native.length / 2);
    let error = 0;
    for (let k = 0; k < words.length; k++) error += Math.abs(decoded[k]! - Math.min(255, (words[k]! + 4) >> 3));
    assert.ok(error / words.length < 3, `mean error ${error / words.length}`);
  });

  it('is deterministic for a given seed and UIDs, and random otherwise', () => {
    for (const ts of [TS.ExplicitVRLittleEndian, TS.DeflatedExplicitVRLittleEndian, TS.RleLossless]) {
      const a = series({ transferSyntax: ts });
      const b = series({ transferSyntax: ts });
      a.forEach((inst, k) => assert.ok(inst.bytes.equals(b[k]!.bytes), `${ts} instance ${k + 1} identical`));
    }
    const other = series({ seed: 43 });
    assert.ok(!pixelWords(parse(other[0]!.bytes)).every((v, k) => v === pixelWords(parse(series()[0]!.bytes))[k]), 'another seed, other noise');
    const [x] = [...generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16 })];
    const [y] = [...generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16 })];
    assert.notEqual(x!.studyInstanceUid, y!.studyInstanceUid);
    assert.notEqual(x!.sopInstanceUid, y!.sopInstanceUid);
  });

  describe('files on disk', () => {
    let dir = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-synthetic-'));
    });
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writeSeries writes one readable file per instance', async () => {
      const r = await writeSeries(path.join(dir, 'mr'), { modality: 'MR', count: 4, rows: 32, columns: 32, seed: 5, transferSyntax: TS.JpegLsLossless });
      assert.equal(r.files.length, 4);
      assert.equal(r.bytes, r.files.reduce((n, f) => n + fs.statSync(f).size, 0));
      for (const f of r.files) assert.equal(parse(fs.readFileSync(f)).attrs.studyInstanceUid, r.studyInstanceUid);
    });

    it('dcmdump reads CT, big endian, deflated and RLE files without error', async (t: TestContext) => {
      if (!fs.existsSync(DCMDUMP)) {
        if (STRICT) assert.fail('strict mode: dcmdump not installed (apt-get install dcmtk)');
        t.skip('dcmdump not installed');
        return;
      }
      const cases: [string, string, RegExp][] = [
        [TS.ExplicitVRLittleEndian, 'ct', /Used TransferSyntax: Little Endian Explicit/],
        [TS.ExplicitVRBigEndian, 'be', /Used TransferSyntax: Big Endian Explicit/],
        [TS.DeflatedExplicitVRLittleEndian, 'deflated', /Used TransferSyntax: Deflated Explicit VR Little Endian/],
        [TS.RleLossless, 'rle', /Used TransferSyntax: RLE Lossless/],
      ];
      for (const [ts, name, used] of cases) {
        const r = await writeSeries(path.join(dir, name), { modality: 'CT', count: 2, rows: 64, columns: 64, seed: 9, transferSyntax: ts });
        for (const file of r.files) {
          const run = spawnSync(DCMDUMP, ['-dc', file], { encoding: 'latin1' });
          assert.equal(run.status, 0, `dcmdump ${name}: ${run.stderr}`);
          assert.equal(run.stderr, '', `dcmdump ${name} warnings`);
          assert.match(run.stdout, used);
          assert.match(run.stdout, /\(0010,0020\) LO \[00012345\]/);
          // -dc shows values uncorrected, so an odd-length UID keeps its NUL pad.
          assert.match(run.stdout, new RegExp(`\\(0020,000d\\) UI \\[${r.studyInstanceUid.replace(/\./g, '\\.')}\\x00?\\]`));
          assert.match(run.stdout, /\(7fe0,0010\) O[BW]/);
        }
      }
    });

    it('the CLI prints the files written, the size and the Study Instance UID', () => {
      const out = path.join(dir, 'cli');
      const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--out', out, '--modality', 'MR', '--count', '2', '--size', '32', '--charset', 'ISO 2022 IR 13\\ISO 2022 IR 87', '--patient', '1'], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /Wrote 2 MR files/);
      assert.match(run.stdout, /Total: [\d.]+ MB/);
      const uid = /Study Instance UID: (\S+)/.exec(run.stdout)?.[1];
      assert.ok(uid && isValidUid(uid));
      const files = fs.readdirSync(out);
      assert.equal(files.length, 2);
      const p = parse(fs.readFileSync(path.join(out, files[0]!)));
      assert.equal(p.attrs.studyInstanceUid, uid);
      assert.equal(p.attrs.patientName.phonetic, 'ｽｽﾞｷ^ﾊﾅｺ');
    });
  });
});
