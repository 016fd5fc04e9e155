/**
 * Re-encoding of a data set between the native transfer syntaxes: implicit VR little
 * endian, explicit VR little endian, explicit VR big endian (retired) and deflated
 * explicit VR little endian (PS3.5 §10.1, Annex A.1-A.3, A.5). Used when a retrieve
 * destination did not accept the stored transfer syntax but accepted another native one.
 *
 * Only element headers change; values are copied as they are, so text keeps its
 * Specific Character Set and its bytes (a round trip through a decoder would lose ISO
 * 2022 JIS designations). Between little and big endian the bytes of binary values are
 * swapped by VR (PS3.5 §7.3). Implicit VR gets its VRs from the data dictionary; unknown
 * (private) elements become UN (PS3.5 §6.2.2). Sequences and items are written with
 * undefined length, and group length elements (retired, PS3.5 §7.2) are dropped, since
 * header sizes differ between the syntaxes.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { TS } from '../dicom/uids.ts';

/** Transfer syntaxes this module converts between. */
export const NATIVE: ReadonlySet<string> = new Set([TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian]);

/** A data set that cannot be re-encoded (malformed, or compressed pixel data). */
export class NotConvertibleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotConvertibleError';
  }
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const SWAP2 = new Set(['US', 'SS', 'OW', 'AT']);
const SWAP4 = new Set(['UL', 'SL', 'FL', 'OF', 'OL']);
const SWAP8 = new Set(['FD', 'OD', 'SV', 'UV', 'OV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const SQ_DELIM = 0xfffee0dd;
const PIXEL_REPRESENTATION = 0x00280103;
/** Descriptors are unsigned whatever the Pixel Representation (PS3.3 C.7.6.3.1.5, C.11.1.1.1). */
const DESCRIPTORS = new Set([0x00281100, 0x00281101, 0x00281102, 0x00281103, 0x00281111, 0x00281112, 0x00281113, 0x00283002]);

// dcmjs's data dictionary (PS3.6), loaded without depending on type declarations.
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: { DicomMetaDictionary: { dictionary: Record<string, { vr: string } | undefined> } } };
const dictionary = dcmjs.data.DicomMetaDictionary.dictionary;

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** The VR of an element read in implicit VR (PS3.5 Annex A.1, PS3.6). */
function dictionaryVr(tag: number, length: number, pixelRepresentation: number): string {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return 'UL';
  if (group % 2 === 1) return element >= 0x0010 && element <= 0x00ff ? 'LO' : length === UNDEFINED ? 'SQ' : 'UN';
  const entry = dictionary[`(${hex4(group)},${hex4(element)})`] ?? ((group & 0xff00) === 0x6000 || (group & 0xff00) === 0x5000 ? dictionary[`(${hex4(group & 0xff00)},${hex4(element)})`] : undefined);
  if (!entry) return length === UNDEFINED ? 'SQ' : 'UN';
  switch (entry.vr) {
    case 'xs':
      return DESCRIPTORS.has(tag) || pixelRepresentation !== 1 ? 'US' : 'SS';
    case 'ox':
    case 'lt':
      return 'OW';
    case 'up':
      return 'UL';
    default:
      return /^[A-Z]{2}$/.test(entry.vr) ? entry.vr : 'UN';
  }
}

interface Layout {
  explicit: boolean;
  big: boolean;
}

function layoutOf(ts: string): Layout {
  if (ts === TS.ImplicitVRLittleEndian) return { explicit: false, big: false };
  if (ts === TS.ExplicitVRBigEndian) return { explicit: true, big: true };
  return { explicit: true, big: false };
}

function swapped(value: Buffer, vr: string): Buffer {
  const size = SWAP2.has(vr) ? 2 : SWAP4.has(vr) ? 4 : SWAP8.has(vr) ? 8 : 1;
  if (size === 1 || value.length % size !== 0) return value;
  const copy = Buffer.from(value);
  if (size === 2) copy.swap16();
  else if (size === 4) copy.swap32();
  else copy.swap64();
  return copy;
}

class Converter {
  private readonly out: Buffer[] = [];
  private pixelRepresentation = 0;

  constructor(
    private readonly src: Buffer,
    private readonly from: Layout,
    private readonly to: Layout,
  ) {}

  private u16(pos: number, big: boolean): number {
    if (pos + 2 > this.src.length) throw new NotConvertibleError('data set truncated');
    return big ? this.src.readUInt16BE(pos) : this.src.readUInt16LE(pos);
  }

  private u32(pos: number, big: boolean): number {
    if (pos + 4 > this.src.length) throw new NotConvertibleError('data set truncated');
    return big ? this.src.readUInt32BE(pos) : this.src.readUInt32LE(pos);
  }

  private writeHeader(tag: number, vr: string, length: number, to: Layout): void {
    const long = LONG_VRS.has(vr);
    const b = Buffer.alloc(tag >>> 16 === 0xfffe || !to.explicit ? 8 : long ? 12 : 8);
    const w16 = (v: number, o: number): number => (to.big ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
    const w32 = (v: number, o: number): number => (to.big ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
    w16(tag >>> 16, 0);
    w16(tag & 0xffff, 2);
    if (tag >>> 16 === 0xfffe || !to.explicit) w32(length, 4);
    else {
      b.write(vr, 4, 'latin1');
      if (long) w32(length, 8);
      else w16(length, 6);
    }
    this.out.push(b);
  }

  /** Converts the elements from `pos` to `end`, or up to an item delimiter when `end` is undefined. */
  dataset(pos: number, end: number | undefined, from: Layout, to: Layout, depth: number): number {
    if (depth > 32) throw new NotConvertibleError('sequences nested too deeply');
    while (end === undefined || pos < end) {
      const tag = ((this.u16(pos, from.big) << 16) | this.u16(pos + 2, from.big)) >>> 0;
      if (tag === ITEM_DELIM) {
        if (end !== undefined) throw new NotConvertibleError('item delimiter in a defined-length item');
        return pos + 8;
      }
      let vr: string;
      let length: number;
      if (!from.explicit) {
        length = this.u32(pos + 4, from.big);
        vr = dictionaryVr(tag, length, this.pixelRepresentation);
        pos += 8;
      } else {
        if (pos + 6 > this.src.length) throw new NotConvertibleError('data set truncated');
        vr = this.src.toString('latin1', pos + 4, pos + 6);
        if (!/^[A-Z]{2}$/.test(vr)) throw new NotConvertibleError('invalid VR');
        if (LONG_VRS.has(vr)) {
          length = this.u32(pos + 8, from.big);
          pos += 12;
        } else {
          length = this.u16(pos + 6, from.big);
          pos += 8;
        }
      }
      if (tag === 0x7fe00010 && length === UNDEFINED) throw new NotConvertibleError('encapsulated pixel data in a native transfer syntax');
      if (vr === 'SQ' || length === UNDEFINED) {
        // UN of undefined length holds implicit VR little endian items (PS3.5 §6.2.2).
        const inner: Layout = vr === 'UN' ? { explicit: false, big: false } : from;
        this.writeHeader(tag, 'SQ', UNDEFINED, to);
        pos = this.sequence(pos, length === UNDEFINED ? undefined : pos + length, inner, to, depth + 1);
        this.writeHeader(SQ_DELIM, '', 0, to);
        continue;
      }
      if (pos + length > this.src.length) throw new NotConvertibleError('data set truncated');
      const raw = this.src.subarray(pos, pos + length);
      pos += length;
      if ((tag & 0xffff) === 0) continue; // group length: dropped
      if (depth === 0 && tag === PIXEL_REPRESENTATION && length >= 2) this.pixelRepresentation = from.big ? raw.readUInt16BE(0) : raw.readUInt16LE(0);
      const value = from.big !== to.big ? swapped(raw, vr) : raw;
      // A short-VR value too long for a 16-bit length can only be written as UN.
      const outVr = to.explicit && !LONG_VRS.has(vr) && value.length > 0xffff ? 'UN' : vr;
      this.writeHeader(tag, outVr, value.length, to);
      this.out.push(value);
    }
    if (end !== undefined && pos !== end) throw new NotConvertibleError('item length does not match its content');
    return pos;
  }

  private sequence(pos: number, end: number | undefined, from: Layout, to: Layout, depth: number): number {
    while (end === undefined || pos < end) {
      const tag = ((this.u16(pos, from.big) << 16) | this.u16(pos + 2, from.big)) >>> 0;
      const length = this.u32(pos + 4, from.big);
      pos += 8;
      if (tag === SQ_DELIM) {
        if (end !== undefined) throw new NotConvertibleError('sequence delimiter in a defined-length sequence');
        return pos;
      }
      if (tag !== ITEM) throw new NotConvertibleError('malformed sequence');
      this.writeHeader(ITEM, '', UNDEFINED, to);
      pos = this.dataset(pos, length === UNDEFINED ? undefined : pos + length, from, to, depth);
      this.writeHeader(ITEM_DELIM, '', 0, to);
    }
    return pos;
  }

  result(): Buffer {
    return Buffer.concat(this.out);
  }
}

/**
 * Re-encodes a data set (the bytes after the file meta group) from one native transfer
 * syntax to another.
 * @throws NotConvertibleError when the data set is malformed or not native
 */
export function convertNative(dataset: Buffer, fromTs: string, toTs: string): Buffer {
  if (!NATIVE.has(fromTs) || !NATIVE.has(toTs)) throw new NotConvertibleError(`no conversion from ${fromTs} to ${toTs}`);
  if (fromTs === toTs) return dataset;
  const source = fromTs === TS.DeflatedExplicitVRLittleEndian ? zlib.inflateRawSync(dataset) : dataset;
  const from = layoutOf(fromTs);
  const to = layoutOf(toTs);
  let plain: Buffer;
  if (from.explicit === to.explicit && from.big === to.big) plain = source;
  else {
    const c = new Converter(source, from, to);
    c.dataset(0, source.length, from, to, 0);
    plain = c.result();
  }
  return toTs === TS.DeflatedExplicitVRLittleEndian ? zlib.deflateRawSync(plain) : plain;
}
