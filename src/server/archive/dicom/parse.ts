/**
 * A strict, allocation-light reader of DICOM Part 10 files and data sets (PS3.5 §7,
 * PS3.10 §7). It walks every element of the data set to prove the structure is whole
 * (a truncated or malformed object is refused) and returns the raw bytes of the
 * top-level elements the index needs. Text is decoded later with the object's
 * Specific Character Set. Pixel data are never copied.
 */
import zlib from 'node:zlib';
import { TS, isBigEndian, isExplicitVr } from './uids.ts';

/** Refusal of an object whose bytes are not valid DICOM; the message names the problem. */
export class DicomParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DicomParseError';
  }
}

/** Random access to the bytes being parsed (a buffer, or a file too large to hold). */
export interface ByteSource {
  readonly length: number;
  /** Returns exactly `len` bytes at `offset` (throws DicomParseError past the end). */
  read(offset: number, len: number): Buffer;
}

/** A {@link ByteSource} over a buffer. */
export class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get length(): number {
    return this.buf.length;
  }
  read(offset: number, len: number): Buffer {
    if (offset < 0 || offset + len > this.buf.length) throw new DicomParseError('unexpected end of data (truncated object)');
    return this.buf.subarray(offset, offset + len);
  }
}

/** One element's raw value as found in the data set. */
export interface RawElement {
  vr: string;
  value: Buffer;
}

/** Where the pixel data lies in the source. */
export interface PixelDataInfo {
  offset: number;
  length: number;
  encapsulated: boolean;
  fragments: number;
}

/** The file meta information group (PS3.10 §7.1). */
export interface FileMeta {
  transferSyntaxUid: string;
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  implementationClassUid: string;
  sourceAet: string;
  /** Offset of the data set that follows the meta group. */
  datasetOffset: number;
}

/** Deflated data sets (reports, SR, small images in practice) may not inflate beyond this. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

const SQ_DELIM = 0xfffee0dd;
const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const ALL_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN',
  'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);

/**
 * Implicit VR needs a dictionary; only the elements Enkaku reads need theirs here.
 * Everything else is skipped by length, which implicit VR always gives in 4 bytes.
 */
export const KNOWN_VR: ReadonlyMap<number, string> = new Map([
  [0x00080005, 'CS'], [0x00080016, 'UI'], [0x00080018, 'UI'], [0x00080020, 'DA'], [0x00080030, 'TM'],
  [0x00080050, 'SH'], [0x00080060, 'CS'], [0x00080061, 'CS'], [0x00080080, 'LO'], [0x00080090, 'PN'], [0x00081030, 'LO'],
  [0x0008103e, 'LO'], [0x00100010, 'PN'], [0x00100020, 'LO'], [0x00100021, 'LO'], [0x00100030, 'DA'],
  [0x00100040, 'CS'], [0x00180015, 'CS'], [0x0020000d, 'UI'], [0x0020000e, 'UI'], [0x00200010, 'SH'],
  [0x00200011, 'IS'], [0x00200013, 'IS'], [0x00280008, 'IS'], [0x00280010, 'US'], [0x00280011, 'US'],
  [0x00280002, 'US'], [0x00280004, 'CS'], [0x00280100, 'US'], [0x00280101, 'US'], [0x00280103, 'US'],
]);

interface Cursor {
  pos: number;
}

class Walker {
  readonly explicit: boolean;
  readonly big: boolean;
  readonly wanted: ReadonlySet<number>;
  readonly found = new Map<number, RawElement>();
  pixel: PixelDataInfo | undefined;

  constructor(
    readonly src: ByteSource,
    ts: string,
    wanted: ReadonlySet<number>,
  ) {
    this.explicit = isExplicitVr(ts);
    this.big = isBigEndian(ts);
    this.wanted = wanted;
  }

  private u16(b: Buffer, o: number, big: boolean): number {
    return big ? b.readUInt16BE(o) : b.readUInt16LE(o);
  }
  private u32(b: Buffer, o: number, big: boolean): number {
    return big ? b.readUInt32BE(o) : b.readUInt32LE(o);
  }

  /** Reads an element header; item tags are always 8 bytes (tag + 4-byte length). */
  header(c: Cursor, explicit: boolean, big: boolean): { tag: number; vr: string; length: number } {
    const h = this.src.read(c.pos, 8);
    const group = this.u16(h, 0, big);
    const elem = this.u16(h, 2, big);
    const tag = ((group << 16) | elem) >>> 0;
    if (group === 0xfffe) {
      c.pos += 8;
      return { tag, vr: '', length: this.u32(h, 4, big) };
    }
    if (!explicit) {
      c.pos += 8;
      return { tag, vr: KNOWN_VR.get(tag) ?? (tag === PIXEL_DATA ? 'OW' : 'UN'), length: this.u32(h, 4, big) };
    }
    const vr = h.toString('latin1', 4, 6);
    if (!ALL_VRS.has(vr)) {
      throw new DicomParseError(`invalid VR "${vr.replace(/[^\x20-\x7e]/g, '?')}" in element ${tagString(tag)}`);
    }
    if (LONG_VRS.has(vr)) {
      const l = this.src.read(c.pos + 8, 4);
      c.pos += 12;
      return { tag, vr, length: this.u32(l, 0, big) };
    }
    c.pos += 8;
    return { tag, vr, length: this.u16(h, 6, big) };
  }

  /** Walks a data set until `end` (defined length) or an item delimiter (undefined length). */
  dataset(c: Cursor, end: number | undefined, explicit: boolean, big: boolean, depth: number): void {
    if (depth > 32) throw new DicomParseError('sequences nested too deeply');
    let lastTag = -1;
    while (end === undefined ? true : c.pos < end) {
      if (end === undefined && c.pos >= this.src.length) throw new DicomParseError('unexpected end of data inside an item');
      const start = c.pos;
      const { tag, vr, length } = this.header(c, explicit, big);
      if (tag === ITEM_DELIM) {
        if (end !== undefined) throw new DicomParseError('item delimiter inside a defined-length item');
        return;
      }
      if (tag === ITEM || tag === SQ_DELIM) throw new DicomParseError(`unexpected item tag at offset ${start}`);
      if (depth === 0 && tag <= lastTag) throw new DicomParseError(`elements out of order at ${tagString(tag)}`);
      lastTag = tag;
      if (length === UNDEFINED) {
        if (tag === PIXEL_DATA && depth === 0) {
          this.encapsulated(c, big);
        } else if (vr === 'SQ' || vr === 'UN' || !explicit) {
          // UN with undefined length holds implicit VR little endian (PS3.5 §6.2.2).
          const innerExplicit = vr === 'UN' ? false : explicit;
          this.sequence(c, undefined, innerExplicit, vr === 'UN' ? false : big, depth + 1);
        } else {
          throw new DicomParseError(`undefined length not allowed for VR ${vr} in ${tagString(tag)}`);
        }
        continue;
      }
      const valueEnd = c.pos + length;
      if (valueEnd > this.src.length || (end !== undefined && valueEnd > end)) {
        throw new DicomParseError(`element ${tagString(tag)} runs past the end of the data (truncated object)`);
      }
      if (vr === 'SQ') {
        this.sequence(c, valueEnd, explicit, big, depth + 1);
        c.pos = valueEnd;
        continue;
      }
      if (depth === 0 && tag === PIXEL_DATA) {
        this.pixel = { offset: c.pos, length, encapsulated: false, fragments: 0 };
      } else if (depth === 0 && this.wanted.has(tag)) {
        this.found.set(tag, { vr, value: this.src.read(c.pos, length) });
      }
      c.pos = valueEnd;
    }
    if (end !== undefined && c.pos !== end) throw new DicomParseError('item length does not match its content');
  }

  sequence(c: Cursor, end: number | undefined, explicit: boolean, big: boolean, depth: number): void {
    while (end === undefined ? true : c.pos < end) {
      const { tag, length } = this.header(c, explicit, big);
      if (tag === SQ_DELIM) {
        if (end !== undefined) throw new DicomParseError('sequence delimiter inside a defined-length sequence');
        return;
      }
      if (tag !== ITEM) throw new DicomParseError(`expected an item in a sequence, found ${tagString(tag)}`);
      if (length === UNDEFINED) {
        this.dataset(c, undefined, explicit, big, depth);
      } else {
        const itemEnd = c.pos + length;
        if (itemEnd > this.src.length) throw new DicomParseError('sequence item runs past the end of the data (truncated object)');
        this.dataset(c, itemEnd, explicit, big, depth);
      }
    }
  }

  /** Encapsulated pixel data: a basic offset table item, fragments, a sequence delimiter (PS3.5 A.4). */
  encapsulated(c: Cursor, big: boolean): void {
    const offset = c.pos;
    let fragments = -1;
    for (;;) {
      const { tag, length } = this.header(c, false, big);
      if (tag === SQ_DELIM) break;
      if (tag !== ITEM || length === UNDEFINED) throw new DicomParseError('malformed encapsulated pixel data');
      if (c.pos + length > this.src.length) throw new DicomParseError('pixel data fragment runs past the end of the data (truncated object)');
      c.pos += length;
      fragments++;
    }
    if (fragments < 1) throw new DicomParseError('encapsulated pixel data has no fragments');
    this.pixel = { offset, length: c.pos - offset, encapsulated: true, fragments };
  }
}

/** Formats a tag as `(GGGG,EEEE)`. */
export function tagString(tag: number): string {
  const h = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}

/**
 * Reads the file meta information of a Part 10 file (128-byte preamble, "DICM", group
 * 0002 in explicit VR little endian).
 */
export function readFileMeta(src: ByteSource): FileMeta {
  if (src.length < 132 + 12) throw new DicomParseError('too short to be a DICOM file');
  if (src.read(128, 4).toString('latin1') !== 'DICM') throw new DicomParseError('missing "DICM" prefix: not a DICOM Part 10 file');
  const walker = new Walker(src, TS.ExplicitVRLittleEndian, new Set());
  const c: Cursor = { pos: 132 };
  const found = new Map<number, Buffer>();
  while (c.pos + 8 <= src.length) {
    const group = src.read(c.pos, 2).readUInt16LE(0);
    if (group !== 0x0002) break;
    const { tag, vr, length } = walker.header(c, true, false);
    if (length === UNDEFINED || vr === 'SQ') throw new DicomParseError('malformed file meta information');
    found.set(tag, src.read(c.pos, length));
    c.pos += length;
  }
  const text = (tag: number): string => (found.get(tag)?.toString('latin1') ?? '').replace(/[\0 ]+$/, '').trim();
  const ts = text(0x00020010);
  if (!ts) throw new DicomParseError('file meta information has no Transfer Syntax UID (0002,0010)');
  return {
    transferSyntaxUid: ts,
    mediaStorageSopClassUid: text(0x00020002),
    mediaStorageSopInstanceUid: text(0x00020003),
    implementationClassUid: text(0x00020012),
    sourceAet: text(0x00020016),
    datasetOffset: c.pos,
  };
}

/** Result of walking a data set. */
export interface DatasetScan {
  elements: Map<number, RawElement>;
  pixel: PixelDataInfo | undefined;
  /** True when the data set was big endian (numbers in `elements` are big endian). */
  bigEndian: boolean;
}

/**
 * Walks a whole data set (from `offset` to the end of `src`) in the given transfer
 * syntax, validating its structure and collecting the wanted top-level elements.
 * Deflated data sets are inflated first (PS3.5 A.5).
 */
export function scanDataset(src: ByteSource, offset: number, ts: string, wanted: ReadonlySet<number>): DatasetScan {
  let source = src;
  let start = offset;
  if (ts === TS.DeflatedExplicitVRLittleEndian) {
    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(src.read(offset, src.length - offset), { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new DicomParseError(`deflated data set inflates beyond ${MAX_INFLATED_BYTES} bytes`);
      }
      throw new DicomParseError('deflated data set cannot be inflated');
    }
    source = new BufferSource(inflated);
    start = 0;
  }
  const walker = new Walker(source, ts, wanted);
  const c: Cursor = { pos: start };
  walker.dataset(c, source.length, walker.explicit, walker.big, 0);
  return { elements: walker.found, pixel: walker.pixel, bigEndian: walker.big };
}
