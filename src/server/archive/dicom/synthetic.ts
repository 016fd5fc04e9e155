/**
 * Synthetic DICOM test data: realistic CT, MR and CR series of a phantom, with Japanese patient
 * names written under the Japanese Specific Character Sets (PS3.3 C.12.1.1.2, PS3.5 Annex H).
 *
 * The data set writer is local and small: explicit or implicit VR little endian, explicit VR big
 * endian, deflated explicit VR little endian (PS3.5 A.5) and encapsulated pixel data (PS3.5 A.4)
 * compressed with the dcmjs-codecs WebAssembly codecs. Elements are written in ascending tag order
 * with even value lengths and the padding of their VR (PS3.5 §6.2, §7.1).
 *
 * Output is deterministic when `seed` and the Study/Series Instance UIDs are given: the SOP
 * Instance UIDs and Frame of Reference UID are then derived from them.
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Encoding from 'encoding-japanese';
import { encodeText, parseSpecificCharacterSet } from './charsets.ts';
import { buildFileMeta } from './filemeta.ts';
import { TS, isValidUid } from './uids.ts';

/** Modalities the generator can produce. */
export type SyntheticModality = 'CT' | 'MR' | 'CR';

/**
 * Values of Specific Character Set (0008,0005) the generator writes. `''` is the default
 * repertoire (the attribute is then omitted); `\ISO 2022 IR 87` is PS3.5 H.3.1 (ASCII + JIS X 0208);
 * `ISO 2022 IR 13\ISO 2022 IR 87` is H.3.2 (half-width katakana + JIS X 0208); the last adds
 * JIS X 0212 supplementary kanji.
 */
export type SyntheticCharset =
  | ''
  | 'ISO_IR 192'
  | 'ISO_IR 13'
  | '\\ISO 2022 IR 87'
  | 'ISO 2022 IR 13\\ISO 2022 IR 87'
  | 'ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159';

/** Every {@link SyntheticCharset}, for validating input. */
export const SYNTHETIC_CHARSETS: readonly SyntheticCharset[] = [
  '', 'ISO_IR 192', 'ISO_IR 13', '\\ISO 2022 IR 87', 'ISO 2022 IR 13\\ISO 2022 IR 87', 'ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159',
];

/** A synthetic patient; the name groups are written as Patient's Name (0010,0010) "alphabetic=ideographic=phonetic". */
export interface SyntheticPatient {
  /** Patient ID (0010,0020). */
  id: string;
  /** Issuer of Patient ID (0010,0021). */
  issuer?: string;
  /** Person name component groups (PS3.5 §6.2.1); components separated by "^". */
  name: { alphabetic: string; ideographic?: string; phonetic?: string };
  sex: 'M' | 'F' | 'O';
  /** YYYYMMDD. */
  birthDate: string;
}

/** What to generate; only `modality` and `count` are required. */
export interface SyntheticSeriesOptions {
  modality: SyntheticModality;
  /** Number of instances (slices for CT/MR, images for CR). */
  count: number;
  /** Image size; defaults CT 512x512, MR 256x256, CR 2140x1760. */
  rows?: number;
  columns?: number;
  /** Defaults to {@link SAMPLE_PATIENTS}[0] (Yamada^Tarou=山田^太郎=やまだ^たろう). */
  patient?: SyntheticPatient;
  /** Defaults to `\ISO 2022 IR 87`. */
  charset?: SyntheticCharset;
  /** Transfer syntax UID (see {@link SYNTHETIC_TRANSFER_SYNTAXES}); defaults to explicit VR little endian. */
  transferSyntax?: string;
  /** Defaults to a new random UID. */
  studyInstanceUid?: string;
  /** Defaults to a new random UID. */
  seriesInstanceUid?: string;
  /** Defaults to a value derived from the seed. */
  accessionNumber?: string;
  /** YYYYMMDD; defaults to a date derived from `seed` when given, otherwise today. */
  studyDate?: string;
  studyDescription?: string;
  /** Defaults to 1. */
  seriesNumber?: number;
  /** Defaults to a Japanese hospital name, in the most Japanese form the charset can encode. */
  institutionName?: string;
  /** Person name in DICOM form ("Alphabetic=Ideographic=Phonetic"). */
  referringPhysician?: string;
  /** Seed of the pixel noise, times and derived UIDs (32-bit); random when omitted. */
  seed?: number;
}

/** One generated instance. */
export interface SyntheticInstance {
  sopInstanceUid: string;
  sopClassUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** A complete Part 10 file (preamble, "DICM", meta group, data set). */
  bytes: Buffer;
}

/** SOP classes by modality (PS3.4 B.5). */
const SOP_CLASS: Record<SyntheticModality, string> = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CR: '1.2.840.10008.5.1.4.1.1.1',
};

/**
 * Sample patients: Annex H's Yamada^Tarou; one with a half-width katakana phonetic group (needs
 * ISO 2022 IR 13 to be written as such); one whose ideographic group has the JIS X 0212 kanji 濵
 * (only valid with ISO 2022 IR 159, or UTF-8); a Latin-only name; one with a full-width katakana
 * phonetic group.
 */
export const SAMPLE_PATIENTS: SyntheticPatient[] = [
  { id: '00012345', issuer: 'ENKAKU', name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' },
  { id: '00023456', issuer: 'ENKAKU', name: { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' }, sex: 'F', birthDate: '19781103' },
  { id: '00034567', issuer: 'ENKAKU', name: { alphabetic: 'Hamada^Kenji', ideographic: '濵田^健二', phonetic: 'はまだ^けんじ' }, sex: 'M', birthDate: '19520920' },
  { id: '00045678', name: { alphabetic: 'Smith^John' }, sex: 'M', birthDate: '19800115' },
  { id: '00056789', issuer: 'ENKAKU', name: { alphabetic: 'Satou^Yuki', ideographic: '佐藤^由紀', phonetic: 'サトウ^ユキ' }, sex: 'F', birthDate: '20150607' },
];

/** A new UID under the UUID-derived root: "2.25." and the decimal value of a random UUID (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** A deterministic 2.25 UID from a string (the first 128 bits of its SHA-256). */
function derivedUid(key: string): string {
  return `2.25.${BigInt(`0x${createHash('sha256').update(key).digest('hex').slice(0, 32)}`).toString()}`;
}

// ---------------------------------------------------------------------------
// Transfer syntaxes

type CodecFn = 'encodeRle' | 'encodeJpeg' | 'encodeJpegLs' | 'encodeJpeg2000' | 'encodeHtJpeg2000';

interface TsInfo {
  name: string;
  layout: 'implicit' | 'explicitLE' | 'explicitBE' | 'deflated' | 'encapsulated';
  codec?: { fn: CodecFn; params: Record<string, unknown>; lossyMethod?: string; bits8?: boolean };
}

const TS_INFO: ReadonlyMap<string, TsInfo> = new Map<string, TsInfo>([
  [TS.ImplicitVRLittleEndian, { name: 'Implicit VR Little Endian', layout: 'implicit' }],
  [TS.ExplicitVRLittleEndian, { name: 'Explicit VR Little Endian', layout: 'explicitLE' }],
  [TS.ExplicitVRBigEndian, { name: 'Explicit VR Big Endian', layout: 'explicitBE' }],
  [TS.DeflatedExplicitVRLittleEndian, { name: 'Deflated Explicit VR Little Endian', layout: 'deflated' }],
  [TS.RleLossless, { name: 'RLE Lossless', layout: 'encapsulated', codec: { fn: 'encodeRle', params: {} } }],
  [TS.JpegBaseline, {
    name: 'JPEG Baseline (8-bit)', layout: 'encapsulated',
    codec: { fn: 'encodeJpeg', params: { lossy: true, quality: 90, predictor: 0, pointTransform: 0 }, lossyMethod: 'ISO_10918_1', bits8: true },
  }],
  [TS.JpegLosslessSV1, {
    name: 'JPEG Lossless SV1', layout: 'encapsulated',
    codec: { fn: 'encodeJpeg', params: { lossy: false, predictor: 1, pointTransform: 0 } },
  }],
  [TS.JpegLsLossless, { name: 'JPEG-LS Lossless', layout: 'encapsulated', codec: { fn: 'encodeJpegLs', params: { lossy: false } } }],
  [TS.Jpeg2000Lossless, { name: 'JPEG 2000 Lossless', layout: 'encapsulated', codec: { fn: 'encodeJpeg2000', params: { lossy: false } } }],
  [TS.HtJpeg2000Lossless, { name: 'HTJ2K Lossless', layout: 'encapsulated', codec: { fn: 'encodeHtJpeg2000', params: { lossy: false } } }],
]);

/** Transfer syntax UIDs {@link generateSeries} can write: the four native ones, then the compressed ones. */
export const SYNTHETIC_TRANSFER_SYNTAXES: readonly string[] = [...TS_INFO.keys()];

/** Whether the transfer syntax needs the WebAssembly codecs ({@link initSyntheticCodecs}). */
export function isCompressedSyntheticTransferSyntax(uid: string): boolean {
  return TS_INFO.get(uid)?.layout === 'encapsulated';
}

function tsInfo(uid: string): TsInfo {
  const info = TS_INFO.get(uid);
  if (!info) {
    const list = [...TS_INFO].map(([u, i]) => `${u} (${i.name})`).join(', ');
    throw new Error(`Transfer syntax ${uid} cannot be generated; supported: ${list}`);
  }
  return info;
}

type CodecsModule = typeof import('dcmjs-codecs');
let codecs: CodecsModule | undefined;

/**
 * Loads and initialises the dcmjs-codecs WebAssembly codecs, needed before {@link generateSeries}
 * can write a compressed transfer syntax ({@link writeSeries} calls this itself). Idempotent.
 * @throws Error explaining that the codecs could not be loaded or initialised
 */
export async function initSyntheticCodecs(): Promise<void> {
  if (codecs?.NativeCodecs.isInitialized()) return;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('dcmjs-codecs') as CodecsModule;
    const wasm = path.join(path.dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm');
    await mod.NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
    if (!mod.NativeCodecs.isInitialized()) throw new Error('NativeCodecs.isInitialized() is false after initialisation');
    codecs = mod;
  } catch (err) {
    throw new Error(`Cannot initialise the dcmjs-codecs WebAssembly codecs needed for compressed transfer syntaxes: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// Character sets and text

/** Whether the charset has a kanji repertoire at all. */
function hasKanji(charset: SyntheticCharset): boolean {
  return charset !== '' && charset !== 'ISO_IR 13';
}

function encodable(text: string, sets: string[], vr: string): boolean {
  try {
    encodeText(text, sets, vr);
    return true;
  } catch {
    return false;
  }
}

/** A kana group in the forms a charset may accept: as given, half-width katakana, full-width katakana. */
function kanaForms(text: string): string[] {
  return [text, Encoding.toHankanaCase(Encoding.toKatakanaCase(text)), Encoding.toZenkanaCase(text)];
}

/**
 * The Patient's Name value written for a name under a charset. Each component group is written as
 * given when the charset can encode it. Otherwise: the phonetic group is converted between
 * hiragana, full-width and half-width katakana to a form the charset has (e.g. ｽｽﾞｷ becomes スズキ
 * without ISO 2022 IR 13, やまだ becomes ﾔﾏﾀﾞ under ISO_IR 13); under charsets without kanji
 * (`''`, `ISO_IR 13`) the ideographic group, and a phonetic group that still does not fit, are
 * left out. Empty trailing groups are dropped.
 * @throws Error if the alphabetic group cannot be encoded, or a group cannot be encoded by a
 *   charset that has kanji (e.g. a JIS X 0212 kanji without ISO 2022 IR 159)
 */
export function adaptPersonName(name: SyntheticPatient['name'], charset: SyntheticCharset, what = 'person name'): string {
  const sets = parseSpecificCharacterSet(charset);
  const groups = [name.alphabetic, name.ideographic ?? '', name.phonetic ?? ''];
  const labels = ['alphabetic', 'ideographic', 'phonetic'];
  const out = groups.map((group, i) => {
    if (group === '') return '';
    const forms = i === 0 ? [group] : kanaForms(group);
    const fit = forms.find((form) => encodable(form, sets, 'PN'));
    if (fit !== undefined) return fit;
    if (i > 0 && !hasKanji(charset)) return '';
    let reason = '';
    try {
      encodeText(group, sets, 'PN');
    } catch (err) {
      reason = (err as Error).message;
    }
    const hint = encodable(group, ['', 'ISO 2022 IR 87', 'ISO 2022 IR 159'], 'PN')
      ? '; JIS X 0212 kanji need "ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159" or "ISO_IR 192"'
      : '';
    throw new Error(`The ${labels[i]} group "${group}" of the ${what} cannot be written: ${reason}${hint}`);
  });
  return out.join('=').replace(/=+$/, '');
}

/** The first of several forms of a text that the charset can encode. */
function firstEncodable(forms: string[], sets: string[], vr: string): string {
  const fit = forms.find((form) => encodable(form, sets, vr));
  if (fit === undefined) throw new Error(`None of ${JSON.stringify(forms)} can be encoded`);
  return fit;
}

/** Maximum value length in characters of text VRs (PS3.5 Table 6.2-1). */
const MAX_CHARS: Readonly<Record<string, number>> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, IS: 12, LO: 64, SH: 16, ST: 1024, LT: 10240, TM: 16, UI: 64, PN: 64,
};
const CHARSET_VRS = new Set(['PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC']);

// ---------------------------------------------------------------------------
// Data set writer

interface Element {
  tag: number;
  vr: string;
  /** Value bytes, already padded to even length (text, OB). */
  bytes?: Buffer;
  /** Numeric values for US, SS, UL, SL, FL, FD (written in the data set's byte order). */
  nums?: readonly number[];
}

const NUM_SIZE: Readonly<Record<string, number>> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

/** Pixel data to append as (7FE0,0010). */
type PixelPayload =
  | { kind: 'native'; data: Uint16Array | Uint8Array }
  | { kind: 'encapsulated'; fragments: Uint8Array[] };

const HOST_BE = os.endianness() === 'BE';

function valueLength(el: Element): number {
  return el.bytes ? el.bytes.length : (el.nums?.length ?? 0) * (NUM_SIZE[el.vr] ?? 0);
}

/**
 * Writes a data set (elements must be sorted, without pixel data) followed by the pixel data.
 * `explicit` false = implicit VR little endian; `big` = explicit VR big endian.
 */
function writeDataset(elements: readonly Element[], pixel: PixelPayload, explicit: boolean, big: boolean): Buffer {
  const headerLength = (vr: string): number => (explicit && LONG_VRS.has(vr) ? 12 : 8);
  const pixelVr = pixel.kind === 'encapsulated' || pixel.data.BYTES_PER_ELEMENT === 1 ? 'OB' : 'OW';
  let pixelLength: number;
  if (pixel.kind === 'native') pixelLength = pixel.data.byteLength + (pixel.data.byteLength % 2);
  else pixelLength = 8 + pixel.fragments.reduce((n, f) => n + 8 + f.length + (f.length % 2), 0) + 8;

  let total = headerLength(pixelVr) + pixelLength;
  for (const el of elements) total += headerLength(el.vr) + valueLength(el);
  const out = Buffer.alloc(total);
  let pos = 0;

  const u16 = (v: number): void => { pos = big ? out.writeUInt16BE(v, pos) : out.writeUInt16LE(v, pos); };
  const u32 = (v: number): void => { pos = big ? out.writeUInt32BE(v, pos) : out.writeUInt32LE(v, pos); };
  const header = (tag: number, vr: string, length: number): void => {
    u16(tag >>> 16);
    u16(tag & 0xffff);
    if (!explicit) { u32(length); return; }
    pos += out.write(vr, pos, 'latin1');
    if (LONG_VRS.has(vr)) { u16(0); u32(length); return; }
    if (length > 0xffff) throw new Error(`value of (${(tag >>> 0).toString(16)}) too long for VR ${vr}`);
    u16(length);
  };

  for (const el of elements) {
    header(el.tag, el.vr, valueLength(el));
    if (el.bytes) {
      pos += el.bytes.copy(out, pos);
    } else {
      for (const n of el.nums ?? []) {
        switch (el.vr) {
          case 'US': pos = big ? out.writeUInt16BE(n, pos) : out.writeUInt16LE(n, pos); break;
          case 'SS': pos = big ? out.writeInt16BE(n, pos) : out.writeInt16LE(n, pos); break;
          case 'UL': pos = big ? out.writeUInt32BE(n, pos) : out.writeUInt32LE(n, pos); break;
          case 'SL': pos = big ? out.writeInt32BE(n, pos) : out.writeInt32LE(n, pos); break;
          case 'FL': pos = big ? out.writeFloatBE(n, pos) : out.writeFloatLE(n, pos); break;
          case 'FD': pos = big ? out.writeDoubleBE(n, pos) : out.writeDoubleLE(n, pos); break;
          default: throw new Error(`no numeric writer for VR ${el.vr}`);
        }
      }
    }
  }

  if (pixel.kind === 'native') {
    header(0x7fe00010, pixelVr, pixelLength);
    const src = Buffer.from(pixel.data.buffer, pixel.data.byteOffset, pixel.data.byteLength);
    const start = pos;
    pos += src.copy(out, pos);
    // 16-bit words follow the data set's byte order (OW); bytes (OB) never swap.
    if (pixelVr === 'OW' && big !== HOST_BE) out.subarray(start, pos).swap16();
    pos = start + pixelLength; // odd 8-bit data keeps the zeroed pad byte
  } else {
    // Encapsulated (PS3.5 A.4): undefined length, empty Basic Offset Table, one fragment per frame.
    header(0x7fe00010, 'OB', 0xffffffff);
    u16(0xfffe); u16(0xe000); u32(0);
    for (const f of pixel.fragments) {
      u16(0xfffe); u16(0xe000); u32(f.length + (f.length % 2));
      pos += Buffer.from(f.buffer, f.byteOffset, f.length).copy(out, pos);
      pos += f.length % 2; // trailing NUL pad
    }
    u16(0xfffe); u16(0xe0dd); u32(0);
  }
  if (pos !== total) throw new Error(`internal error: wrote ${pos} of ${total} bytes`);
  return out;
}

// ---------------------------------------------------------------------------
// Phantom images

/** mulberry32: a small fast seeded PRNG returning [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Raster {
  readonly px: Uint16Array;
  constructor(readonly w: number, readonly h: number) {
    this.px = new Uint16Array(w * h);
  }

  /** Calls `cb(row, x0, x1)` for each row span [x0, x1) whose pixel centres lie in the ellipse. */
  private spans(cx: number, cy: number, rx: number, ry: number, cb: (y: number, x0: number, x1: number) => void): void {
    if (rx <= 0 || ry <= 0) return;
    const y0 = Math.max(0, Math.ceil(cy - ry - 0.5));
    const y1 = Math.min(this.h - 1, Math.floor(cy + ry - 0.5));
    for (let y = y0; y <= y1; y++) {
      const dy = (y + 0.5 - cy) / ry;
      const q = 1 - dy * dy;
      if (q <= 0) continue;
      const half = rx * Math.sqrt(q);
      const x0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const x1 = Math.min(this.w, Math.floor(cx + half - 0.5) + 1);
      if (x1 > x0) cb(y, x0, x1);
    }
  }

  fill(value: number): void {
    this.px.fill(value);
  }

  /** Sets an ellipse given in fractions of the width/height. */
  ellipse(fx: number, fy: number, frx: number, fry: number, value: number): void {
    this.spans(fx * this.w, fy * this.h, frx * this.w, fry * this.h, (y, x0, x1) => {
      this.px.fill(value, y * this.w + x0, y * this.w + x1);
    });
  }

  /** Adds `delta` inside an ellipse given in fractions of the width/height (values stay >= 0). */
  addEllipse(fx: number, fy: number, frx: number, fry: number, delta: number): void {
    this.spans(fx * this.w, fy * this.h, frx * this.w, fry * this.h, (y, x0, x1) => {
      const base = y * this.w;
      for (let x = x0; x < x1; x++) this.px[base + x] = Math.max(0, this.px[base + x]! + delta);
    });
  }

  /** Adds `delta` on the upper half of an elliptic ring `thick` pixels wide, away from the midline by `gap` (fractions). */
  addArc(fx: number, fy: number, frx: number, fry: number, thick: number, gap: number, delta: number): void {
    const cx = fx * this.w;
    const cy = fy * this.h;
    const rx = frx * this.w;
    const ry = fry * this.h;
    const inner = new Map<number, number>();
    this.spans(cx, cy, rx - thick, ry - thick, (y, x0, x1) => inner.set(y, (x1 - x0) / 2));
    const g = gap * this.w;
    this.spans(cx, cy, rx, ry, (y, x0, x1) => {
      if (y + 0.5 >= cy) return;
      const hi = inner.get(y) ?? 0;
      const base = y * this.w;
      for (let x = x0; x < x1; x++) {
        const d = Math.abs(x + 0.5 - cx);
        if (d >= hi && d >= g) this.px[base + x] = Math.max(0, this.px[base + x]! + delta);
      }
    });
  }

  rect(fx0: number, fy0: number, fx1: number, fy1: number, value: number): void {
    const x0 = Math.max(0, Math.round(fx0 * this.w));
    const x1 = Math.min(this.w, Math.round(fx1 * this.w));
    const y0 = Math.max(0, Math.round(fy0 * this.h));
    const y1 = Math.min(this.h, Math.round(fy1 * this.h));
    for (let y = y0; y < y1; y++) this.px.fill(value, y * this.w + x0, y * this.w + x1);
  }
}

/** 0 outside [a, b], rising to 1 in the middle (a half sine). */
function bump(t: number, a: number, b: number): number {
  return t <= a || t >= b ? 0 : Math.sin((Math.PI * (t - a)) / (b - a));
}

/** CT chest-abdomen phantom, stored value = HU + 1024. `t` runs 0 (top slice) to 1 (bottom). */
function paintCt(r: Raster, t: number): void {
  const hu = (v: number): number => v + 1024;
  r.fill(hu(-1000));
  r.rect(0.15, 0.83, 0.85, 0.855, hu(150)); // table top
  const body = 1 + 0.04 * Math.sin(Math.PI * t);
  r.ellipse(0.5, 0.52, 0.4 * body, 0.28 * body, hu(-100)); // subcutaneous fat
  r.ellipse(0.5, 0.52, 0.37 * body, 0.255 * body, hu(45)); // muscle and viscera
  // Ribs around the thorax (upper 60 %), turning slightly with z; none at the sternum and spine.
  if (bump(t, -0.1, 0.65) > 0.2) {
    for (let k = 0; k < 16; k++) {
      const a = (2 * Math.PI * k) / 16 + 0.12 * Math.sin(12 * t);
      const fromVertical = Math.abs(Math.sin(a));
      if (fromVertical > 0.93) continue; // straight up (sternum) or down (spine)
      r.ellipse(0.5 + 0.34 * body * Math.cos(a), 0.52 + 0.235 * body * Math.sin(a), 0.012, 0.009, hu(700));
    }
  }
  const mediastinum = bump(t, 0.05, 0.55);
  r.ellipse(0.5, 0.48, 0.09 * mediastinum, 0.12 * mediastinum, hu(-90)); // mediastinal fat
  const liver = bump(t, 0.35, 0.9);
  r.ellipse(0.36, 0.52, 0.17 * liver, 0.16 * liver, hu(62));
  const spleen = bump(t, 0.4, 0.72);
  r.ellipse(0.7, 0.6, 0.055 * spleen, 0.09 * spleen, hu(48));
  const stomach = bump(t, 0.38, 0.68);
  r.ellipse(0.62, 0.44, 0.07 * stomach, 0.06 * stomach, hu(22));
  r.ellipse(0.62, 0.41, 0.04 * stomach, 0.025 * stomach, hu(-1000)); // gas
  const kidneys = bump(t, 0.6, 0.92);
  r.ellipse(0.36, 0.66, 0.04 * kidneys, 0.06 * kidneys, hu(32));
  r.ellipse(0.64, 0.66, 0.04 * kidneys, 0.06 * kidneys, hu(32));
  const bowel = bump(t, 0.75, 1.3);
  for (let k = 0; k < 6; k++) {
    r.ellipse(0.38 + 0.05 * k, 0.4 + 0.03 * (k % 3), 0.025 * bowel, 0.025 * bowel, hu(k % 2 ? -1000 : 15));
  }
  const lungs = bump(t, -0.15, 0.58);
  r.ellipse(0.33, 0.5, 0.13 * Math.sqrt(lungs), 0.19 * Math.sqrt(lungs), hu(-850));
  r.ellipse(0.67, 0.5, 0.125 * Math.sqrt(lungs), 0.185 * Math.sqrt(lungs), hu(-860));
  const heart = bump(t, 0.18, 0.52);
  r.ellipse(0.55, 0.44, 0.11 * heart, 0.1 * heart, hu(40));
  r.ellipse(0.57, 0.45, 0.05 * heart, 0.05 * heart, hu(48)); // left ventricle blood pool
  r.ellipse(0.54, 0.61, 0.022, 0.022, hu(45)); // descending aorta
  r.ellipse(0.5, 0.63, 0.025, 0.022, hu(38)); // ... inferior vena cava / oesophagus
  // Vertebra: cortical shell, cancellous body, spinal canal, spinous process.
  r.ellipse(0.5, 0.7, 0.045, 0.04, hu(900));
  r.ellipse(0.5, 0.7, 0.037, 0.032, hu(250));
  r.ellipse(0.5, 0.765, 0.016, 0.014, hu(15));
  r.ellipse(0.5, 0.8, 0.01, 0.025, hu(700));
}

/** MR T1 head phantom (12-bit). `t` runs 0 (vertex) to 1 (skull base). */
function paintMr(r: Raster, t: number): void {
  r.fill(0);
  const s = Math.sqrt(Math.max(0, 1 - ((t - 0.6) / 0.63) ** 2));
  const rx = 0.36 * s;
  const ry = 0.44 * s;
  if (rx <= 0) return;
  r.ellipse(0.5, 0.5, rx, ry, 1500); // scalp fat (bright on T1)
  r.ellipse(0.5, 0.5, rx - 0.02, ry - 0.02, 120); // skull
  r.ellipse(0.5, 0.5, rx - 0.035, ry - 0.035, 350); // CSF
  r.ellipse(0.5, 0.5, rx - 0.045, ry - 0.045, 900); // grey matter
  r.ellipse(0.5, 0.5, (rx - 0.045) * 0.78, (ry - 0.045) * 0.8, 1250); // white matter
  const ventricles = bump(t, 0.3, 0.62);
  r.ellipse(0.465, 0.46, 0.022 * ventricles, 0.11 * ventricles, 320);
  r.ellipse(0.535, 0.46, 0.022 * ventricles, 0.11 * ventricles, 320);
  const basal = bump(t, 0.45, 0.7);
  r.ellipse(0.43, 0.5, 0.03 * basal, 0.05 * basal, 1000); // thalami / basal ganglia
  r.ellipse(0.57, 0.5, 0.03 * basal, 0.05 * basal, 1000);
  const eyes = bump(t, 0.72, 1.0);
  r.ellipse(0.4, 0.12, 0.055 * eyes, 0.055 * eyes, 250);
  r.ellipse(0.6, 0.12, 0.055 * eyes, 0.055 * eyes, 250);
  r.ellipse(0.4, 0.075, 0.02 * eyes, 0.01 * eyes, 1100); // lenses
  r.ellipse(0.6, 0.075, 0.02 * eyes, 0.01 * eyes, 1100);
  const cerebellum = bump(t, 0.7, 1.15);
  r.ellipse(0.5, 0.78, 0.2 * cerebellum, 0.1 * cerebellum, 1050);
  r.ellipse(0.5, 0.66, 0.045 * cerebellum, 0.04 * cerebellum, 1150); // brainstem
}

/** CR chest PA phantom, MONOCHROME1 (high values display dark). `v` varies slightly per image. */
function paintCr(r: Raster, v: number): void {
  r.fill(3600); // direct exposure
  r.rect(0.41, 0, 0.59, 0.2, 1900); // neck
  r.ellipse(0.5, 0.24, 0.5, 0.12, 1900); // shoulders
  r.ellipse(0.5, 0.62, 0.44, 0.6, 1850); // torso
  const breath = 1 + 0.03 * v;
  r.ellipse(0.325, 0.45, 0.14, 0.27 * breath, 2900); // right lung (image left)
  r.ellipse(0.675, 0.46, 0.135, 0.26 * breath, 2950);
  r.rect(0.445, 0.12, 0.555, 0.62, 1350); // mediastinum
  r.ellipse(0.56, 0.6, 0.15, 0.11, 1300); // heart
  r.ellipse(0.5, 0.88, 0.44, 0.16, 1450); // upper abdomen below the diaphragm
  for (let k = 0; k < 10; k++) r.addArc(0.5, 0.3 + 0.048 * k, 0.36, 0.12, Math.max(2, r.h * 0.012), 0.04, -320); // ribs
  r.addEllipse(0.37, 0.17, 0.13, 0.012, -450); // clavicles
  r.addEllipse(0.63, 0.17, 0.13, 0.012, -450);
  r.addEllipse(0.5, 0.5, 0.028, 0.55, -180); // spine behind the mediastinum
}

/** Gaussian-like noise table (sum of four uniforms), standard deviation `sigma`. */
function noiseTable(rand: () => number, sigma: number): Int16Array {
  const n = 65521; // prime, so the pattern does not line up with the rows
  const table = new Int16Array(n);
  const k = sigma / Math.sqrt(4 / 12);
  for (let i = 0; i < n; i++) table[i] = Math.round((rand() + rand() + rand() + rand() - 2) * k);
  return table;
}

/** Adds noise from `table` starting at `offset`, clamps to [0, max], and returns the raster. */
function addNoise(px: Uint16Array, table: Int16Array, offset: number, max: number): void {
  const n = table.length;
  let j = offset % n;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! + table[j]!;
    if (++j === n) j = 0;
    px[i] = v < 0 ? 0 : v > max ? max : v;
  }
}

// ---------------------------------------------------------------------------
// Series generation

interface ModalityProfile {
  rows: number;
  columns: number;
  bodyPart: string;
  study: string[];
  series: (thickness: number) => string[];
  protocol: string;
  model: string;
  station: string;
  imageType: string;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** Field of view in mm (rows, columns); the pixel spacing is this divided by the image size. */
  fov: [number, number] | number;
  noise: number;
  window: { centers: number[]; widths: number[] };
  paint: (r: Raster, t: number, index: number) => void;
}

const PROFILES: Record<SyntheticModality, ModalityProfile> = {
  CT: {
    rows: 512, columns: 512, bodyPart: 'CHEST', protocol: 'CHEST-ABDOMEN ROUTINE', model: 'Synthetic CT', station: 'CT01',
    study: ['胸腹部単純CT', 'ｷｮｳﾌｸﾌﾞ CT', 'CT CHEST ABDOMEN'],
    series: (th) => [`体軸断 ${th}mm`, `AXIAL ${th}mm`],
    imageType: 'ORIGINAL\\PRIMARY\\AXIAL', photometric: 'MONOCHROME2', fov: 350, noise: 8,
    window: { centers: [40, -600], widths: [400, 1500] },
    paint: (r, t) => paintCt(r, t),
  },
  MR: {
    rows: 256, columns: 256, bodyPart: 'HEAD', protocol: 'BRAIN T1 AXIAL', model: 'Synthetic MR 1.5T', station: 'MR01',
    study: ['頭部MRI', 'ﾄｳﾌﾞ MRI', 'MR HEAD'],
    series: () => ['T1強調 体軸断', 'T1 SE AXIAL'],
    imageType: 'ORIGINAL\\PRIMARY\\OTHER', photometric: 'MONOCHROME2', fov: 230, noise: 15,
    window: { centers: [700], widths: [1400] },
    paint: (r, t) => paintMr(r, t),
  },
  CR: {
    rows: 2140, columns: 1760, bodyPart: 'CHEST', protocol: 'CHEST PA', model: 'Synthetic CR', station: 'CR01',
    study: ['胸部単純X線', 'ｷｮｳﾌﾞ XP', 'CHEST X-RAY'],
    series: () => ['胸部 正面 PA', 'CHEST PA'],
    imageType: 'ORIGINAL\\PRIMARY', photometric: 'MONOCHROME1', fov: [428, 352], noise: 25,
    window: { centers: [2000], widths: [3600] },
    paint: (r, _t, i) => paintCr(r, Math.sin(i)),
  },
};

const INSTITUTION = ['東京遠隔総合病院', 'ﾄｳｷｮｳｴﾝｶｸｿｳｺﾞｳﾋﾞｮｳｲﾝ', 'Tokyo Enkaku General Hospital'];
const REFERRING = { alphabetic: 'Suzuki^Ichirou', ideographic: '鈴木^一郎', phonetic: 'すずき^いちろう' };

/** Formats a DS value in at most 16 characters. */
function ds(n: number): string {
  let s = Number(n.toFixed(6)).toString();
  if (s.length > 16) s = n.toPrecision(10);
  return s === '-0' ? '0' : s;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A DICOM TM value from seconds since midnight (with milliseconds). */
function tm(seconds: number): string {
  const s = ((seconds % 86400) + 86400) % 86400;
  const whole = Math.floor(s);
  const ms = Math.round((s - whole) * 1000) % 1000;
  return `${pad2(Math.floor(whole / 3600))}${pad2(Math.floor(whole / 60) % 60)}${pad2(whole % 60)}.${String(ms).padStart(3, '0')}`;
}

function isDate(s: string): boolean {
  if (!/^\d{8}$/.test(s)) return false;
  const d = new Date(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8)));
  return d.getUTCFullYear() === +s.slice(0, 4) && d.getUTCMonth() === +s.slice(4, 6) - 1 && d.getUTCDate() === +s.slice(6, 8);
}

/** Patient's Age (AS) at the study date, e.g. "059Y" (or months/weeks/days for infants). */
function age(birth: string, study: string): string {
  const b = new Date(Date.UTC(+birth.slice(0, 4), +birth.slice(4, 6) - 1, +birth.slice(6, 8)));
  const s = new Date(Date.UTC(+study.slice(0, 4), +study.slice(4, 6) - 1, +study.slice(6, 8)));
  let years = s.getUTCFullYear() - b.getUTCFullYear();
  if (s.getUTCMonth() < b.getUTCMonth() || (s.getUTCMonth() === b.getUTCMonth() && s.getUTCDate() < b.getUTCDate())) years--;
  if (years >= 2) return `${String(Math.min(years, 999)).padStart(3, '0')}Y`;
  const days = Math.max(0, Math.round((s.getTime() - b.getTime()) / 86400000));
  if (days >= 60) return `${String(Math.floor(days / 30.4375)).padStart(3, '0')}M`;
  return `${String(days).padStart(3, '0')}D`;
}

/** Builds the element list of one instance; values are encoded under `sets`. */
class ElementList {
  readonly list: Element[] = [];
  constructor(private readonly sets: string[]) {}

  text(tag: number, vr: string, value: string): void {
    const max = MAX_CHARS[vr];
    if (max !== undefined) {
      for (const v of vr === 'PN' ? value.split(/[=\\]/) : vr === 'LT' || vr === 'ST' ? [value] : value.split('\\')) {
        if ([...v].length > max) throw new Error(`value "${v}" of (${tagHex(tag)}) is longer than ${max} characters allowed for VR ${vr}`);
      }
    }
    let bytes: Buffer;
    if (CHARSET_VRS.has(vr)) {
      try {
        bytes = encodeText(value, this.sets, vr);
      } catch (err) {
        throw new Error(`(${tagHex(tag)}) ${(err as Error).message}`);
      }
    } else {
      if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`value "${value}" of (${tagHex(tag)}) is not ASCII as VR ${vr} requires`);
      bytes = Buffer.from(value.length % 2 ? value + (vr === 'UI' ? '\0' : ' ') : value, 'latin1');
    }
    this.list.push({ tag, vr, bytes });
  }

  num(tag: number, vr: string, ...nums: number[]): void {
    this.list.push({ tag, vr, nums });
  }

  sorted(): Element[] {
    const out = [...this.list].sort((a, b) => a.tag - b.tag);
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.tag === out[i - 1]!.tag) throw new Error(`internal error: duplicate element (${tagHex(out[i]!.tag)})`);
    }
    return out;
  }
}

function tagHex(tag: number): string {
  const h = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)},${h.slice(4)}`;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${v}`);
}

/**
 * Generates the instances of one synthetic series, one complete Part 10 file at a time.
 *
 * CT is a chest-abdomen phantom in Hounsfield units (stored = HU + 1024, 12 bits, Rescale
 * Intercept -1024), MR a T1 head phantom, CR a PA chest radiograph in MONOCHROME1; the organs
 * change with slice position and every image has seeded noise. For JPEG Baseline the pixels are
 * 8-bit (CT: Rescale Slope 8, so HU = 8 * value - 1024). Compressed transfer syntaxes need
 * {@link initSyntheticCodecs} to have been awaited first.
 *
 * @throws Error on invalid options, a transfer syntax that cannot be generated, text that the
 *   charset cannot encode (see {@link adaptPersonName}), or codecs that are not initialised
 */
export function* generateSeries(opts: SyntheticSeriesOptions): Generator<SyntheticInstance> {
  const profile = PROFILES[opts.modality];
  if (!profile) throw new Error(`modality must be one of ${Object.keys(PROFILES).join(', ')}, got ${String(opts.modality)}`);
  checkInt('count', opts.count, 1, 100000);
  const rows = opts.rows ?? profile.rows;
  const columns = opts.columns ?? profile.columns;
  checkInt('rows', rows, 8, 65535);
  checkInt('columns', columns, 8, 65535);
  const seriesNumber = opts.seriesNumber ?? 1;
  checkInt('seriesNumber', seriesNumber, 0, 2147483647);
  const charset: SyntheticCharset = opts.charset ?? '\\ISO 2022 IR 87';
  if (!SYNTHETIC_CHARSETS.includes(charset)) {
    throw new Error(`charset must be one of ${SYNTHETIC_CHARSETS.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(charset)}`);
  }
  const sets = parseSpecificCharacterSet(charset);
  const tsUid = opts.transferSyntax ?? TS.ExplicitVRLittleEndian;
  const ts = tsInfo(tsUid);
  if (ts.codec && !codecs?.NativeCodecs.isInitialized()) {
    throw new Error(`Transfer syntax ${tsUid} (${ts.name}) needs the dcmjs-codecs WebAssembly codecs: ` +
      'await initSyntheticCodecs() before generateSeries() (writeSeries() does this itself)');
  }
  const patient = opts.patient ?? SAMPLE_PATIENTS[0]!;
  if (!isDate(patient.birthDate)) throw new Error(`patient birthDate must be a valid YYYYMMDD date, got "${patient.birthDate}"`);
  for (const [name, uid] of [['studyInstanceUid', opts.studyInstanceUid], ['seriesInstanceUid', opts.seriesInstanceUid]] as const) {
    if (uid !== undefined && !isValidUid(uid)) throw new Error(`${name} "${uid}" is not a valid UID`);
  }

  const seed = opts.seed === undefined ? randomInt(0, 2 ** 32 - 1) : Math.floor(opts.seed) >>> 0;
  const rand = prng(seed);
  const studyUid = opts.studyInstanceUid ?? newUid();
  const seriesUid = opts.seriesInstanceUid ?? newUid();
  const frameOfReferenceUid = derivedUid(`${studyUid}|${seed}|frame-of-reference`);

  let studyDate = opts.studyDate;
  if (studyDate === undefined) {
    if (opts.seed !== undefined) {
      const d = new Date(Date.UTC(2023, 0, 1) + Math.floor(rand() * 730) * 86400000);
      studyDate = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
    } else {
      const d = new Date();
      studyDate = `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}`;
    }
  }
  if (!isDate(studyDate)) throw new Error(`studyDate must be a valid YYYYMMDD date, got "${studyDate}"`);
  const studySeconds = 8.5 * 3600 + Math.floor(rand() * 9 * 3600);
  const seriesSeconds = studySeconds + 60 + (seriesNumber % 100) * 180;
  const accession = opts.accessionNumber ?? `${opts.modality}${studyDate.slice(2)}${String(Math.floor(rand() * 10000)).padStart(4, '0')}`;
  const studyId = String(1 + Math.floor(rand() * 99999));

  // Texts: the most Japanese form the charset can encode.
  const patientName = adaptPersonName(patient.name, charset, 'patient name');
  const referring = opts.referringPhysician ?? adaptPersonName(REFERRING, charset, 'referring physician name');
  const institution = opts.institutionName ?? firstEncodable(INSTITUTION, sets, 'LO');
  const studyDescription = opts.studyDescription ?? firstEncodable(profile.study, sets, 'LO');

  // Geometry.
  const [fovRows, fovCols] = Array.isArray(profile.fov) ? profile.fov : [profile.fov, profile.fov];
  const rowSpacing = fovRows / rows;
  const colSpacing = fovCols / columns;
  const thickness = opts.modality === 'MR' ? 5 : opts.count > 100 ? 1 : opts.count > 40 ? 2.5 : 5;
  const spacing = opts.modality === 'MR' ? 6 : thickness;
  const seriesDescription = firstEncodable(profile.series(thickness), sets, 'LO');
  const zTop = ((opts.count - 1) * spacing) / 2;

  // Pixels.
  const bits8 = ts.codec?.bits8 === true;
  const noise = noiseTable(rand, profile.noise);
  const raster = new Raster(columns, rows);
  const windowScale = bits8 && opts.modality !== 'CT' ? 16 : 1;

  for (let i = 0; i < opts.count; i++) {
    const sopInstanceUid = derivedUid(`${seriesUid}|${seed}|${i}`);
    const t = opts.count > 1 ? i / (opts.count - 1) : 0.5;
    profile.paint(raster, t, i);
    addNoise(raster.px, noise, Math.floor(rand() * noise.length), 4095);
    let pixels: Uint16Array | Uint8Array = raster.px;
    if (bits8) {
      const px8 = new Uint8Array(raster.px.length);
      const shift = opts.modality === 'CT' ? 3 : 4;
      const round = 1 << (shift - 1);
      for (let p = 0; p < px8.length; p++) {
        const v = (raster.px[p]! + round) >> shift;
        px8[p] = v > 255 ? 255 : v;
      }
      pixels = px8;
    }

    const e = new ElementList(sets);
    const contentSeconds = seriesSeconds + 30 + i * (opts.modality === 'CR' ? 45 : 0.4);
    if (charset !== '') e.text(0x00080005, 'CS', charset);
    e.text(0x00080008, 'CS', profile.imageType);
    e.text(0x00080012, 'DA', studyDate);
    e.text(0x00080013, 'TM', tm(contentSeconds + 2));
    e.text(0x00080016, 'UI', SOP_CLASS[opts.modality]);
    e.text(0x00080018, 'UI', sopInstanceUid);
    e.text(0x00080020, 'DA', studyDate);
    e.text(0x00080021, 'DA', studyDate);
    e.text(0x00080022, 'DA', studyDate);
    e.text(0x00080023, 'DA', studyDate);
    e.text(0x00080030, 'TM', tm(studySeconds).slice(0, 6));
    e.text(0x00080031, 'TM', tm(seriesSeconds).slice(0, 6));
    e.text(0x00080032, 'TM', tm(contentSeconds));
    e.text(0x00080033, 'TM', tm(contentSeconds));
    e.text(0x00080050, 'SH', accession);
    e.text(0x00080060, 'CS', opts.modality);
    e.text(0x00080070, 'LO', 'Enkaku Synthetic');
    e.text(0x00080080, 'LO', institution);
    e.text(0x00080090, 'PN', referring);
    e.text(0x00080201, 'SH', '+0900');
    e.text(0x00081010, 'SH', profile.station);
    e.text(0x00081030, 'LO', studyDescription);
    e.text(0x0008103e, 'LO', seriesDescription);
    e.text(0x00081090, 'LO', profile.model);
    e.text(0x00100010, 'PN', patientName);
    e.text(0x00100020, 'LO', patient.id);
    if (patient.issuer !== undefined) e.text(0x00100021, 'LO', patient.issuer);
    e.text(0x00100030, 'DA', patient.birthDate);
    e.text(0x00100040, 'CS', patient.sex);
    e.text(0x00101010, 'AS', age(patient.birthDate, studyDate));
    e.text(0x00180015, 'CS', profile.bodyPart);
    e.text(0x00181020, 'LO', 'enkaku-synthetic 1');
    e.text(0x00181030, 'LO', profile.protocol);
    if (opts.modality === 'CT') {
      e.text(0x00180022, 'CS', 'HELICAL MODE');
      e.text(0x00180050, 'DS', ds(thickness));
      e.text(0x00180060, 'DS', '120');
      e.text(0x00180090, 'DS', '500');
      e.text(0x00181100, 'DS', ds(fovCols));
      e.text(0x00181120, 'DS', '0');
      e.text(0x00181130, 'DS', '150');
      e.text(0x00181140, 'CS', 'CW');
      e.text(0x00181150, 'IS', '500');
      e.text(0x00181151, 'IS', String(180 + Math.round(60 * Math.sin(Math.PI * t))));
      e.text(0x00181152, 'IS', '100');
      e.text(0x00181160, 'SH', 'BODY');
      e.text(0x00181210, 'SH', 'STANDARD');
      e.text(0x00185100, 'CS', 'HFS');
    } else if (opts.modality === 'MR') {
      e.text(0x00180020, 'CS', 'SE');
      e.text(0x00180021, 'CS', 'NONE');
      e.text(0x00180022, 'CS', '');
      e.text(0x00180023, 'CS', '2D');
      e.text(0x00180050, 'DS', ds(thickness));
      e.text(0x00180080, 'DS', '500');
      e.text(0x00180081, 'DS', '12');
      e.text(0x00180083, 'DS', '1');
      e.text(0x00180084, 'DS', '63.87');
      e.text(0x00180085, 'SH', '1H');
      e.text(0x00180086, 'IS', '1');
      e.text(0x00180087, 'DS', '1.5');
      e.text(0x00180088, 'DS', ds(spacing));
      e.text(0x00180091, 'IS', '1');
      e.text(0x00180095, 'DS', '130');
      e.text(0x00181314, 'DS', '90');
      e.text(0x00185100, 'CS', 'HFS');
    } else {
      e.text(0x00180060, 'DS', '110');
      e.text(0x00181110, 'DS', '1800');
      e.text(0x00181150, 'IS', '10');
      e.text(0x00181151, 'IS', '250');
      e.text(0x00181152, 'IS', '3');
      e.text(0x00181164, 'DS', `${ds(rowSpacing)}\\${ds(colSpacing)}`);
      e.text(0x00185101, 'CS', 'PA');
    }
    e.text(0x0020000d, 'UI', studyUid);
    e.text(0x0020000e, 'UI', seriesUid);
    e.text(0x00200010, 'SH', studyId);
    e.text(0x00200011, 'IS', String(seriesNumber));
    e.text(0x00200012, 'IS', '1');
    e.text(0x00200013, 'IS', String(i + 1));
    if (opts.modality === 'CR') {
      e.text(0x00200020, 'CS', 'L\\F');
    } else {
      const z = zTop - i * spacing;
      const x0 = -(columns * colSpacing) / 2 + colSpacing / 2;
      const y0 = -(rows * rowSpacing) / 2 + rowSpacing / 2;
      e.text(0x00200032, 'DS', `${ds(x0)}\\${ds(y0)}\\${ds(z)}`);
      e.text(0x00200037, 'DS', '1\\0\\0\\0\\1\\0');
      e.text(0x00200052, 'UI', frameOfReferenceUid);
      e.text(0x00201040, 'LO', '');
      e.text(0x00201041, 'DS', ds(z));
    }
    e.num(0x00280002, 'US', 1);
    e.text(0x00280004, 'CS', profile.photometric);
    e.num(0x00280010, 'US', rows);
    e.num(0x00280011, 'US', columns);
    e.text(0x00280030, 'DS', `${ds(rowSpacing)}\\${ds(colSpacing)}`);
    e.num(0x00280100, 'US', bits8 ? 8 : 16);
    e.num(0x00280101, 'US', bits8 ? 8 : 12);
    e.num(0x00280102, 'US', bits8 ? 7 : 11);
    e.num(0x00280103, 'US', 0);
    e.text(0x00280301, 'CS', 'NO');
    e.text(0x00281050, 'DS', profile.window.centers.map((c) => ds(c / windowScale)).join('\\'));
    e.text(0x00281051, 'DS', profile.window.widths.map((w) => ds(w / windowScale)).join('\\'));
    if (opts.modality === 'CT') {
      e.text(0x00281052, 'DS', '-1024');
      e.text(0x00281053, 'DS', bits8 ? '8' : '1');
      e.text(0x00281054, 'LO', 'HU');
    }

    let pixel: PixelPayload;
    if (ts.codec) {
      const frame = encodeFrame(ts, tsUid, pixels, rows, columns, profile.photometric, i);
      pixel = { kind: 'encapsulated', fragments: [frame] };
      if (ts.codec.lossyMethod) {
        e.text(0x00282110, 'CS', '01');
        e.text(0x00282112, 'DS', ds(Number((pixels.byteLength / frame.length).toFixed(2))));
        e.text(0x00282114, 'CS', ts.codec.lossyMethod);
      } else {
        e.text(0x00282110, 'CS', '00');
      }
    } else {
      pixel = { kind: 'native', data: pixels };
      e.text(0x00282110, 'CS', '00');
    }

    const elements = e.sorted();
    let dataset: Buffer;
    switch (ts.layout) {
      case 'implicit': dataset = writeDataset(elements, pixel, false, false); break;
      case 'explicitBE': dataset = writeDataset(elements, pixel, true, true); break;
      case 'deflated': {
        const deflated = zlib.deflateRawSync(writeDataset(elements, pixel, true, false));
        // Keep the file even-length: a NUL pad after the end of the deflate stream.
        dataset = deflated.length % 2 ? Buffer.concat([deflated, Buffer.alloc(1)]) : deflated;
        break;
      }
      default: dataset = writeDataset(elements, pixel, true, false);
    }
    const sopClassUid = SOP_CLASS[opts.modality];
    yield {
      sopInstanceUid,
      sopClassUid,
      studyInstanceUid: studyUid,
      seriesInstanceUid: seriesUid,
      bytes: Buffer.concat([buildFileMeta(sopClassUid, sopInstanceUid, tsUid), dataset]),
    };
  }
}

/** Compresses one frame with the WebAssembly codec of the transfer syntax. */
function encodeFrame(
  ts: TsInfo, tsUid: string, pixels: Uint16Array | Uint8Array, rows: number, columns: number, photometric: string, index: number,
): Uint8Array {
  const c = codecs;
  const spec = ts.codec;
  if (!c || !spec) throw new Error(`internal error: no codec for ${tsUid}`);
  const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const context = new c.Context({
    width: columns,
    height: rows,
    bitsAllocated: spec.bits8 ? 8 : 16,
    bitsStored: spec.bits8 ? 8 : 12,
    samplesPerPixel: 1,
    pixelRepresentation: 0,
    planarConfiguration: 0,
    photometricInterpretation: photometric,
    decodedBuffer: HOST_BE && !spec.bits8 ? Buffer.from(bytes).swap16() : bytes,
  });
  let encoded: Uint8Array | undefined;
  try {
    encoded = c.NativeCodecs[spec.fn](context, spec.params).getEncodedBuffer();
  } catch (err) {
    throw new Error(`${ts.name} (${tsUid}) encoding failed for instance ${index + 1}: ${(err as Error).message}`);
  }
  if (!encoded || encoded.length === 0) throw new Error(`${ts.name} (${tsUid}) encoder returned no data for instance ${index + 1}`);
  return Uint8Array.from(encoded);
}

/**
 * Generates a series (see {@link generateSeries}) and writes one file per instance into `dir`
 * (created if missing), named `<modality>_<last 8 digits of the series UID>_<instance>.dcm`.
 * Initialises the WebAssembly codecs when the transfer syntax is compressed.
 * @returns the paths written, their total size in bytes and the Study Instance UID
 */
export async function writeSeries(dir: string, opts: SyntheticSeriesOptions): Promise<{ files: string[]; bytes: number; studyInstanceUid: string }> {
  if (isCompressedSyntheticTransferSyntax(opts.transferSyntax ?? '')) await initSyntheticCodecs();
  const instances = generateSeries(opts);
  let next = instances.next(); // validates the options before anything is written
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  let bytes = 0;
  let studyInstanceUid = opts.studyInstanceUid ?? '';
  const width = Math.max(4, String(opts.count).length);
  for (let i = 1; !next.done; i++, next = instances.next()) {
    const inst = next.value;
    studyInstanceUid = inst.studyInstanceUid;
    const file = path.join(dir, `${opts.modality}_${inst.seriesInstanceUid.slice(-8)}_${String(i).padStart(width, '0')}.dcm`);
    await fs.writeFile(file, inst.bytes);
    files.push(file);
    bytes += inst.bytes.length;
  }
  return { files, bytes, studyInstanceUid };
}
