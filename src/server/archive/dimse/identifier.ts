/**
 * Query/Retrieve identifiers (PS3.4 C.4.1.1.3, C.4.2.1.3, C.4.3.1.3): the data set of a
 * C-FIND, C-GET or C-MOVE request read from its bytes in implicit or explicit VR little
 * endian, with text decoded under its own Specific Character Set (PS3.5 §6.1, Annex H),
 * and response identifiers written in the presentation context's transfer syntax.
 */
import { decodeText, parseSpecificCharacterSet } from '../dicom/charsets.ts';
import { TS } from '../dicom/uids.ts';

/** A malformed identifier: the request is answered with a failure status. */
export class IdentifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentifierError';
  }
}

/** One top-level element of an identifier as received. */
export interface IdentifierElement {
  tag: number;
  /** The explicit VR, or for implicit VR the VR of a known key, else `UN`. */
  vr: string;
  /** The value bytes (empty for a sequence). */
  value: Buffer;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const SQ_DELIM = 0xfffee0dd;

/** A received identifier: its keys and their decoded values. */
export class Identifier {
  private readonly charsets: string[];

  constructor(readonly elements: ReadonlyMap<number, IdentifierElement>) {
    const cs = elements.get(0x00080005);
    this.charsets = parseSpecificCharacterSet(cs ? cs.value.toString('latin1') : undefined);
  }

  /** Whether the key is present (with or without a value). */
  has(tag: number): boolean {
    return this.elements.has(tag);
  }

  /** The decoded value of a key without padding; '' when absent or empty. */
  text(tag: number): string {
    const e = this.elements.get(tag);
    if (!e || e.value.length === 0 || e.vr === 'SQ') return '';
    return decodeText(e.value, this.charsets, e.vr).replace(/\0+$/, '').trim();
  }
}

function readTag(b: Buffer, pos: number): number {
  if (pos + 4 > b.length) throw new IdentifierError('identifier truncated');
  return ((b.readUInt16LE(pos) << 16) | b.readUInt16LE(pos + 2)) >>> 0;
}

/** Reads an element header at `pos`; returns the VR, the value length and where the value starts. */
function header(b: Buffer, pos: number, explicit: boolean, knownVr: (tag: number) => string | undefined): { tag: number; vr: string; length: number; start: number } {
  const tag = readTag(b, pos);
  if (tag >>> 16 === 0xfffe || !explicit) {
    if (pos + 8 > b.length) throw new IdentifierError('identifier truncated');
    return { tag, vr: knownVr(tag) ?? 'UN', length: b.readUInt32LE(pos + 4), start: pos + 8 };
  }
  if (pos + 8 > b.length) throw new IdentifierError('identifier truncated');
  const vr = b.toString('latin1', pos + 4, pos + 6);
  if (!/^[A-Z]{2}$/.test(vr)) throw new IdentifierError(`invalid VR in identifier element ${tag.toString(16).padStart(8, '0')}`);
  if (LONG_VRS.has(vr)) {
    if (pos + 12 > b.length) throw new IdentifierError('identifier truncated');
    return { tag, vr, length: b.readUInt32LE(pos + 8), start: pos + 12 };
  }
  return { tag, vr, length: b.readUInt16LE(pos + 6), start: pos + 8 };
}

/** Skips a sequence of undefined length whose items start at `pos`; returns the position after its delimiter. */
function skipSequence(b: Buffer, pos: number, explicit: boolean, depth: number): number {
  if (depth > 16) throw new IdentifierError('sequences nested too deeply');
  for (;;) {
    const tag = readTag(b, pos);
    if (pos + 8 > b.length) throw new IdentifierError('identifier truncated');
    const length = b.readUInt32LE(pos + 4);
    pos += 8;
    if (tag === SQ_DELIM) return pos;
    if (tag !== ITEM) throw new IdentifierError('malformed sequence in identifier');
    if (length !== UNDEFINED) {
      pos += length;
      continue;
    }
    // An item of undefined length: its elements, up to the item delimiter.
    for (;;) {
      const h = header(b, pos, explicit, () => undefined);
      if (h.tag === ITEM_DELIM) {
        pos = h.start;
        break;
      }
      pos = h.length === UNDEFINED ? skipSequence(b, h.start, explicit && h.vr !== 'UN', depth + 1) : h.start + h.length;
    }
  }
}

/**
 * Reads the top-level elements of an identifier encoded in implicit or explicit VR
 * little endian; sequences are skipped (Enkaku supports no sequence keys).
 * @param knownVr - the VR of keys Enkaku knows, needed for implicit VR
 * @throws IdentifierError when the bytes are not a well-formed data set
 */
export function readIdentifier(bytes: Buffer, ts: string, knownVr: (tag: number) => string | undefined): Identifier {
  if (ts !== TS.ImplicitVRLittleEndian && ts !== TS.ExplicitVRLittleEndian) throw new IdentifierError(`identifier transfer syntax ${ts} not supported`);
  const explicit = ts === TS.ExplicitVRLittleEndian;
  const elements = new Map<number, IdentifierElement>();
  let pos = 0;
  while (pos < bytes.length) {
    const h = header(bytes, pos, explicit, knownVr);
    const vr = explicit ? h.vr : (knownVr(h.tag) ?? (h.length === UNDEFINED ? 'SQ' : 'UN'));
    if (h.length === UNDEFINED) {
      pos = skipSequence(bytes, h.start, explicit && vr !== 'UN', 0);
      elements.set(h.tag, { tag: h.tag, vr: vr === 'UN' ? 'SQ' : vr, value: Buffer.alloc(0) });
      continue;
    }
    if (h.start + h.length > bytes.length) throw new IdentifierError('identifier truncated');
    elements.set(h.tag, { tag: h.tag, vr, value: vr === 'SQ' ? Buffer.alloc(0) : bytes.subarray(h.start, h.start + h.length) });
    pos = h.start + h.length;
  }
  return new Identifier(elements);
}

/** A value to write: text (one value or several), numbers (US), or nothing (zero length). */
export type OutValue = string | readonly string[] | number | null | undefined;

/** One element of a response identifier. */
export interface OutElement {
  tag: number;
  vr: string;
  value: OutValue;
}

/** Whether any text value needs more than ASCII. */
export function hasNonAscii(elements: readonly OutElement[]): boolean {
  return elements.some((e) => {
    const v = e.value;
    const texts = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
    return texts.some((t) => /[^\x00-\x7f]/.test(t));
  });
}

function encodeValue(e: OutElement): Buffer {
  const v = e.value;
  if (v === null || v === undefined || e.vr === 'SQ') return Buffer.alloc(0);
  if (e.vr === 'US') {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(Number(v) & 0xffff, 0);
    return b;
  }
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : v.join('\\');
  // Text is written in UTF-8; the caller declares ISO_IR 192 whenever it is not ASCII.
  const b = Buffer.from(text, 'utf8');
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from([e.vr === 'UI' ? 0x00 : 0x20])]);
}

/**
 * Writes a response identifier in implicit or explicit VR little endian, elements in
 * ascending tag order with even value lengths (PS3.5 §7.1).
 */
export function writeIdentifier(elements: readonly OutElement[], ts: string): Buffer {
  const explicit = ts !== TS.ImplicitVRLittleEndian;
  const parts: Buffer[] = [];
  for (const e of [...elements].sort((a, b) => a.tag - b.tag)) {
    const value = encodeValue(e);
    const long = LONG_VRS.has(e.vr);
    const head = Buffer.alloc(!explicit ? 8 : long ? 12 : 8);
    head.writeUInt16LE(e.tag >>> 16, 0);
    head.writeUInt16LE(e.tag & 0xffff, 2);
    if (!explicit) head.writeUInt32LE(value.length, 4);
    else {
      head.write(e.vr, 4, 'latin1');
      if (long) head.writeUInt32LE(value.length, 8);
      else head.writeUInt16LE(value.length, 6);
    }
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}
