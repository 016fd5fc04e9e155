/**
 * The DICOM JSON Model (PS3.18 Annex F) of a stored data set, for WADO-RS metadata.
 * Text is decoded with the object's own Specific Character Set (ISO 2022 IR 87 and the
 * other Japanese sets included, PS3.5 Annex H), person names are split into their three
 * component groups, numbers become JSON numbers, and large binary values are replaced by
 * a BulkDataURI (F.2.6) so that metadata stays small.
 */
import zlib from 'node:zlib';
import dcmjs from 'dcmjs';
import { decodeText, parseSpecificCharacterSet, personNameGroups } from './charsets.ts';
import { DicomParseError, readFileMeta, tagString, BufferSource } from './parse.ts';
import { TS, isBigEndian, isExplicitVr } from './uids.ts';

/** One attribute in the DICOM JSON Model. */
export interface JsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

/** A data set in the DICOM JSON Model: attributes keyed by 8-digit upper-case hex tag. */
export type JsonDataset = Record<string, JsonAttribute>;

/** How binary values are written. */
export interface JsonOptions {
  /**
   * The URI of a top-level binary attribute's bulk data (PS3.18 §8.7.4), given its tag as
   * 8 hex digits; binary values longer than `inlineLimit` at the top level get one.
   */
  bulkDataUri(tag: string): string;
  /** Binary values up to this many bytes are inlined as Base64 (default 1024). */
  inlineLimit?: number;
}

const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const SQ_DELIM = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;
const CHARSET = 0x00080005;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
/** Text VRs whose value is never split on backslash (PS3.5 §6.2). */
const SINGLE_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);
const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

const dictionary = dcmjs.data.DicomMetaDictionary.dictionary;
const vrCache = new Map<number, string>();

/** The VR of a tag for implicit VR data sets, from the DICOM data dictionary. */
function dictionaryVr(tag: number): string {
  const cached = vrCache.get(tag);
  if (cached) return cached;
  const group = tag >>> 16;
  let vr: string;
  if ((tag & 0xffff) === 0) vr = 'UL'; // group length
  else if (group % 2 === 1) vr = 'UN'; // private
  else {
    const key = tagString(tag);
    let entry = dictionary[key];
    // Repeating groups (overlays 60xx, curves 50xx) are listed with "xx" in the dictionary.
    if (!entry && ((group & 0xff00) === 0x6000 || (group & 0xff00) === 0x5000)) entry = dictionary[`(${key.slice(1, 3)}xx,${key.slice(6, 10)})`];
    vr = entry?.vr?.split('|')[0]?.split(' or ')[0] ?? 'UN';
    if (vr === 'ox' || vr === 'xs') vr = 'UN';
  }
  vrCache.set(tag, vr);
  return vr;
}

interface Ctx {
  buf: Buffer;
  charsets: string[];
  opts: JsonOptions;
}

function hexTag(tag: number): string {
  return (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** Decodes numbers of a binary numeric VR (PS3.18 F.2.3: JSON numbers; 64-bit beyond 2^53 as strings). */
function numbers(v: Buffer, vr: string, big: boolean): unknown[] {
  const out: unknown[] = [];
  const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8 }[vr] ?? 1;
  for (let o = 0; o + size <= v.length; o += size) {
    switch (vr) {
      case 'US': out.push(big ? v.readUInt16BE(o) : v.readUInt16LE(o)); break;
      case 'SS': out.push(big ? v.readInt16BE(o) : v.readInt16LE(o)); break;
      case 'UL': out.push(big ? v.readUInt32BE(o) : v.readUInt32LE(o)); break;
      case 'SL': out.push(big ? v.readInt32BE(o) : v.readInt32LE(o)); break;
      case 'FL': out.push(big ? v.readFloatBE(o) : v.readFloatLE(o)); break;
      case 'FD': out.push(big ? v.readDoubleBE(o) : v.readDoubleLE(o)); break;
      case 'SV':
      case 'UV': {
        const n = vr === 'SV' ? (big ? v.readBigInt64BE(o) : v.readBigInt64LE(o)) : big ? v.readBigUInt64BE(o) : v.readBigUInt64LE(o);
        out.push(n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString());
        break;
      }
    }
  }
  return out;
}

/** Converts one element's value. */
function attribute(ctx: Ctx, tag: number, vr: string, value: Buffer, depth: number, big: boolean): JsonAttribute {
  const a: JsonAttribute = { vr };
  if (value.length === 0) return a;
  if (BINARY_VRS.has(vr)) {
    const limit = ctx.opts.inlineLimit ?? 1024;
    if (depth === 0 && (tag === PIXEL_DATA || value.length > limit)) a.BulkDataURI = ctx.opts.bulkDataUri(hexTag(tag));
    else a.InlineBinary = value.toString('base64');
    return a;
  }
  if (vr === 'AT') {
    const v: string[] = [];
    for (let o = 0; o + 4 <= value.length; o += 4) {
      const g = big ? value.readUInt16BE(o) : value.readUInt16LE(o);
      const e = big ? value.readUInt16BE(o + 2) : value.readUInt16LE(o + 2);
      v.push(hexTag(((g << 16) | e) >>> 0));
    }
    a.Value = v;
    return a;
  }
  if (['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV'].includes(vr)) {
    a.Value = numbers(value, vr, big);
    return a;
  }
  const text = decodeText(value, ctx.charsets, vr);
  if (vr === 'PN') {
    a.Value = text.split('\\').map((one) => {
      const g = personNameGroups(one.trim());
      const pn: Record<string, string> = {};
      if (g.alphabetic) pn.Alphabetic = g.alphabetic.trim();
      if (g.ideographic) pn.Ideographic = g.ideographic.trim();
      if (g.phonetic) pn.Phonetic = g.phonetic.trim();
      return Object.keys(pn).length ? pn : null;
    });
    return a;
  }
  if (vr === 'DS' || vr === 'IS') {
    a.Value = text.split('\\').map((s) => {
      const t = s.trim();
      if (!t) return null;
      const n = Number(t);
      return Number.isFinite(n) ? n : t;
    });
    return a;
  }
  if (SINGLE_TEXT.has(vr)) {
    a.Value = [text];
    return a;
  }
  if (TEXT_VRS.has(vr)) {
    a.Value = text.split('\\').map((s) => {
      const t = vr === 'UI' ? s.replace(/\0+$/, '').trim() : s.trim();
      return t === '' ? null : t;
    });
    return a;
  }
  a.InlineBinary = value.toString('base64');
  return a;
}

interface Cursor {
  pos: number;
}

function header(ctx: Ctx, c: Cursor, explicit: boolean, big: boolean): { tag: number; vr: string; length: number } {
  const b = ctx.buf;
  if (c.pos + 8 > b.length) throw new DicomParseError('unexpected end of data (truncated object)');
  const group = big ? b.readUInt16BE(c.pos) : b.readUInt16LE(c.pos);
  const elem = big ? b.readUInt16BE(c.pos + 2) : b.readUInt16LE(c.pos + 2);
  const tag = ((group << 16) | elem) >>> 0;
  if (group === 0xfffe || !explicit) {
    const length = big ? b.readUInt32BE(c.pos + 4) : b.readUInt32LE(c.pos + 4);
    c.pos += 8;
    return { tag, vr: group === 0xfffe ? '' : tag === PIXEL_DATA ? 'OW' : dictionaryVr(tag), length };
  }
  const vr = b.toString('latin1', c.pos + 4, c.pos + 6);
  if (LONG_VRS.has(vr)) {
    if (c.pos + 12 > b.length) throw new DicomParseError('unexpected end of data (truncated object)');
    const length = big ? b.readUInt32BE(c.pos + 8) : b.readUInt32LE(c.pos + 8);
    c.pos += 12;
    return { tag, vr, length };
  }
  const length = big ? b.readUInt16BE(c.pos + 6) : b.readUInt16LE(c.pos + 6);
  c.pos += 8;
  return { tag, vr, length };
}

/** Skips an undefined-length value made of items (encapsulated pixel data, or a sequence to ignore). */
function skipItems(ctx: Ctx, c: Cursor, big: boolean): void {
  for (;;) {
    const { tag, length } = header(ctx, c, false, big);
    if (tag === SQ_DELIM) return;
    if (tag !== ITEM || length === UNDEFINED) throw new DicomParseError('malformed encapsulated pixel data');
    c.pos += length;
  }
}

function dataset(ctx: Ctx, c: Cursor, end: number | undefined, explicit: boolean, big: boolean, depth: number): JsonDataset {
  if (depth > 32) throw new DicomParseError('sequences nested too deeply');
  const out: JsonDataset = {};
  const savedCharsets = ctx.charsets;
  while (end === undefined ? c.pos < ctx.buf.length : c.pos < end) {
    const { tag, vr, length } = header(ctx, c, explicit, big);
    if (tag === ITEM_DELIM) break;
    if (tag === ITEM || tag === SQ_DELIM) throw new DicomParseError('unexpected item tag');
    if (length === UNDEFINED) {
      if (tag === PIXEL_DATA && depth === 0) {
        skipItems(ctx, c, big);
        out[hexTag(tag)] = { vr: 'OB', BulkDataURI: ctx.opts.bulkDataUri(hexTag(tag)) };
      } else {
        const innerExplicit = vr === 'UN' ? false : explicit;
        out[hexTag(tag)] = { vr: 'SQ', Value: sequence(ctx, c, undefined, innerExplicit, vr === 'UN' ? false : big, depth + 1) };
      }
      continue;
    }
    const valueEnd = c.pos + length;
    if (valueEnd > ctx.buf.length) throw new DicomParseError(`element ${tagString(tag)} runs past the end of the data (truncated object)`);
    if (vr === 'SQ') {
      out[hexTag(tag)] = { vr, Value: sequence(ctx, c, valueEnd, explicit, big, depth + 1) };
      c.pos = valueEnd;
      continue;
    }
    const value = ctx.buf.subarray(c.pos, valueEnd);
    // A Specific Character Set inside a sequence item applies to that item (PS3.5 §6.1.2.5.4).
    if (tag === CHARSET) ctx.charsets = parseSpecificCharacterSet(value.toString('latin1'));
    if ((tag & 0xffff) !== 0) out[hexTag(tag)] = attribute(ctx, tag, vr, value, depth, big);
    c.pos = valueEnd;
  }
  if (depth > 0) ctx.charsets = savedCharsets;
  return out;
}

function sequence(ctx: Ctx, c: Cursor, end: number | undefined, explicit: boolean, big: boolean, depth: number): JsonDataset[] {
  const items: JsonDataset[] = [];
  while (end === undefined ? true : c.pos < end) {
    const { tag, length } = header(ctx, c, explicit, big);
    if (tag === SQ_DELIM) break;
    if (tag !== ITEM) throw new DicomParseError(`expected an item in a sequence, found ${tagString(tag)}`);
    items.push(dataset(ctx, c, length === UNDEFINED ? undefined : c.pos + length, explicit, big, depth));
  }
  return items;
}

/**
 * The DICOM JSON Model of a stored Part 10 file's data set (the file meta group is not
 * part of it, PS3.18 F.2). Pixel Data and other large binary values become BulkDataURIs.
 * @throws DicomParseError when the stored object cannot be walked
 */
export function datasetToJson(file: Buffer, opts: JsonOptions): JsonDataset {
  const meta = readFileMeta(new BufferSource(file));
  const ts = meta.transferSyntaxUid;
  let buf = file;
  let start = meta.datasetOffset;
  if (ts === TS.DeflatedExplicitVRLittleEndian) {
    buf = zlib.inflateRawSync(file.subarray(start));
    start = 0;
  }
  const ctx: Ctx = { buf, charsets: [], opts };
  return dataset(ctx, { pos: start }, undefined, isExplicitVr(ts), isBigEndian(ts), 0);
}
