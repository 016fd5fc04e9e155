/**
 * Character sets of HL7 v2 messages from Japanese systems: bytes to text (receiving) and text to
 * bytes (replies), per MSH-18 (HL7 v2.5 §2.15.9.18, table 0211) and MSH-20 (table 0356).
 *
 * Design:
 * 1. MSH-18 is read from the raw bytes first ({@link sniffHeader}). The scan follows ISO 2022
 *    escape sequences, so a kanji before MSH-18 (e.g. a facility name) cannot fake a "|".
 * 2. The whole message is then decoded to Unicode ({@link decodeHl7}) and only the text is split
 *    on delimiters. In ISO-2022-JP (JAHIS: MSH-18 `~ISO IR87`, MSH-20 `ISO 2022-1994`) the bytes of
 *    a kanji are in 21..7E, so they may equal `| ^ ~ \ &`: 日 is 46 7C ("F|"), 本 4B 5C ("K\"),
 *    ま 24 5E ("$^"), う 24 26 ("$&"). Splitting bytes first would cut such names apart.
 * 3. The ISO 2022 state returns to the initial designation at every CR and LF: JIS two-byte codes
 *    never contain them, and a sender that forgets ESC ( B at the end of a segment should not turn
 *    the next segment into kanji.
 *
 * Terms understood in MSH-18 (spelling variants such as `ISO_IR 87` are accepted):
 * - empty, `ASCII`, `ISO IR6`: ASCII (the default when MSH-18 is empty, table 0211);
 * - `ISO IR87`: JIS X 0208, designated with ESC $ B (also ESC $ @) and left with ESC ( B;
 * - `ISO IR159`: JIS X 0212, designated with ESC $ ( D;
 * - `ISO IR14`: JIS X 0201 one-byte code (table 0211): Roman in G0, half-width katakana in G1 as
 *   bytes A1..DF; `ISO IR13` (JIS X 0201 katakana, ISO-IR 13, the DICOM term) is read the same way.
 *   As a later repetition, katakana are written with ESC ( I (7-bit); ESC ) I with 8-bit bytes is read too;
 * - `UNICODE UTF-8`: UTF-8;
 * - `SHIFT_JIS` / `SJIS` / `CP932` / `MS932`: not in table 0211, but sent by some Windows systems;
 *   read and written as Windows-31J so a facility can be configured to it.
 * With MSH-20 `2.3`, the HL7 escapes `\C2842\`, `\C284A\`, `\C2949\`, `\M2442\`, `\M242844\`
 * switch sets instead of ESC (HL7 v2.5 §2.7.2); they are honoured whatever MSH-20 says.
 * JIS X 0201 Roman is read as ASCII (its ¥ and ‾ at 5C and 7E are the HL7 escape and repetition
 * characters in practice).
 */
import Encoding from 'encoding-japanese';
import { jisTable } from './jis.ts';

const ESC = 0x1b;
const CR = 0x0d;
const LF = 0x0a;

/** How a message's bytes are encoded, derived from MSH-18. */
export interface Hl7CharsetModel {
  /** The MSH-18 repetitions as declared (trimmed); `[]` when MSH-18 is empty. */
  readonly terms: readonly string[];
  readonly encoding: 'ascii' | 'iso-2022' | 'utf-8' | 'shift_jis';
  /** Repertoires available through ISO 2022 designations. */
  readonly jisx0208: boolean;
  readonly jisx0212: boolean;
  readonly katakana: boolean;
  /** Half-width katakana are the default G1 set (first term ISO IR13 / ISO IR14): bytes A1..DF without escape. */
  readonly katakanaInG1: boolean;
  /** Terms this codec does not know. */
  readonly unsupported: readonly string[];
}

/** A character set problem; `location` is the HL7 path to report (usually MSH-18). */
export class Hl7CharsetError extends Error {
  override readonly name = 'Hl7CharsetError';
  constructor(
    readonly reason: 'not-hl7' | 'unsupported-charset' | 'unencodable',
    message: string,
    readonly location = 'MSH-18',
    /** For `unencodable`: index of the character in the text. */
    readonly index?: number,
  ) {
    super(message);
  }
}

/** Normalised spelling of one MSH-18 term: upper case, `_` and runs of spaces as one space. */
function normaliseTerm(term: string): string {
  return term.trim().toUpperCase().replace(/[_\s]+/g, ' ');
}

/** ISO-IR registration number of a term such as `ISO IR87`, `ISO IR 87`, `ISO-IR 87`, `ISO 2022 IR 87`. */
function registration(term: string): number | undefined {
  const m = /^ISO(?: 2022)?[ -]?IR ?(\d+)$/.exec(normaliseTerm(term));
  return m ? Number(m[1]) : undefined;
}

const SHIFT_JIS_TERMS = new Set(['SHIFT JIS', 'SHIFT-JIS', 'SJIS', 'CP932', 'MS932', 'WINDOWS-31J']);
const UTF8_TERMS = new Set(['UNICODE UTF-8', 'UTF-8', 'UTF8', 'UNICODE UTF8']);

/**
 * Interpret MSH-18 repetitions (e.g. `['', 'ISO IR87']`). UTF-8 and Shift_JIS take the whole
 * message; ISO 2022 sets combine, in any order (JAHIS writes the ASCII default first).
 */
export function charsetModel(terms: readonly string[]): Hl7CharsetModel {
  const trimmed = terms.map((t) => t.trim());
  let jisx0208 = false;
  let jisx0212 = false;
  let katakana = false;
  let katakanaInG1 = false;
  let utf8 = false;
  let sjis = false;
  const unsupported: string[] = [];
  trimmed.forEach((term, index) => {
    const norm = normaliseTerm(term);
    if (norm === '' || norm === 'ASCII') return;
    if (UTF8_TERMS.has(norm)) { utf8 = true; return; }
    if (SHIFT_JIS_TERMS.has(norm)) { sjis = true; return; }
    switch (registration(norm)) {
      case 6: return;
      case 87: jisx0208 = true; return;
      case 159: jisx0212 = true; return;
      case 13: case 14:
        katakana = true;
        if (index === 0) katakanaInG1 = true;
        return;
      default: unsupported.push(term);
    }
  });
  const iso2022 = jisx0208 || jisx0212 || katakana;
  if ((utf8 || sjis) && iso2022) unsupported.push(...trimmed.filter((t) => UTF8_TERMS.has(normaliseTerm(t)) || SHIFT_JIS_TERMS.has(normaliseTerm(t))));
  const encoding = utf8 && !iso2022 ? 'utf-8' : sjis && !iso2022 ? 'shift_jis' : iso2022 ? 'iso-2022' : 'ascii';
  return { terms: trimmed, encoding, jisx0208, jisx0212, katakana, katakanaInG1, unsupported };
}

/** What {@link sniffHeader} reads from the raw bytes of MSH. */
export interface SniffedHeader {
  fieldSeparator: string;
  encodingCharacters: string;
  /** MSH-18 repetitions, trimmed. */
  characterSet: string[];
  /** MSH-20. */
  alternateCharacterSetHandling: string;
  /** Offset of the MSH segment in the bytes (after a byte order mark or leading whitespace). */
  offset: number;
}

/**
 * Read MSH-1, MSH-2, MSH-18 and MSH-20 from the raw bytes, before anything is decoded. Field
 * separators are counted only outside ISO 2022 two-byte mode (and, with `shiftJis`, outside
 * Shift_JIS pairs, for a facility configured to Shift_JIS).
 *
 * @throws Hl7CharsetError (`not-hl7`) when the bytes do not start with an MSH segment.
 */
export function sniffHeader(bytes: Uint8Array, options: { shiftJis?: boolean } = {}): SniffedHeader {
  let offset = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) offset = 3;
  while (offset < bytes.length && (bytes[offset] === CR || bytes[offset] === LF || bytes[offset] === 0x20 || bytes[offset] === 0x09)) offset++;
  if (bytes[offset] !== 0x4d || bytes[offset + 1] !== 0x53 || bytes[offset + 2] !== 0x48 || bytes[offset + 3] === undefined) {
    throw new Hl7CharsetError('not-hl7', 'The message does not start with an MSH segment', 'MSH');
  }
  const fieldSep = bytes[offset + 3]!;
  const fields: number[][] = [[]]; // fields[0] = MSH-2, fields[k] = MSH-(k+2)
  let twoByte = false;
  for (let i = offset + 4; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === CR || b === LF) break;
    if (b === ESC) {
      // ESC $ B / ESC $ @ / ESC $ ( D: two-byte set; ESC ( B / J / I: one-byte set.
      const b1 = bytes[i + 1];
      if (b1 === 0x24) twoByte = true;
      else if (b1 === 0x28) twoByte = false;
      continue;
    }
    if (options.shiftJis && ((b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc)) && i + 1 < bytes.length) {
      // A Shift_JIS pair: its second byte may be 40..7E, "|" and "\\" included (ポ is 83 7C).
      fields[fields.length - 1]!.push(b, bytes[++i]!);
      continue;
    }
    if (!twoByte && b === fieldSep) { fields.push([]); continue; }
    fields[fields.length - 1]!.push(b);
  }
  const text = (k: number): string => Buffer.from(fields[k] ?? []).toString('latin1');
  const enc = text(0);
  const repetition = enc[1];
  const msh18 = text(16);
  return {
    fieldSeparator: String.fromCharCode(fieldSep),
    encodingCharacters: enc,
    characterSet: msh18 === '' ? [] : (repetition ? msh18.split(repetition) : [msh18]).map((t) => t.trim()),
    alternateCharacterSetHandling: text(18).trim(),
    offset,
  };
}

/** The result of {@link decodeHl7}. */
export interface DecodedHl7 {
  /** The message as Unicode text, ready for `Hl7Message.parse`. */
  text: string;
  /** The MSH-18 terms the bytes were decoded with (the declared ones, or the override). */
  characterSet: string[];
  model: Hl7CharsetModel;
  /** Problems that did not stop decoding (no message content is quoted). */
  warnings: string[];
}

/** Options for {@link decodeHl7}. */
export interface DecodeOptions {
  /**
   * MSH-18 terms to use instead of the declared ones, for a facility known to declare the wrong
   * character set (e.g. `['SHIFT_JIS']`).
   */
  assumeCharacterSet?: readonly string[];
}

/**
 * Decode the bytes of one message to text according to its MSH-18 (read leniently: ISO 2022
 * escapes are honoured even when MSH-18 does not announce them, and undecodable bytes become
 * U+FFFD with a warning).
 *
 * @throws Hl7CharsetError `not-hl7` when there is no MSH, `unsupported-charset` for an MSH-18 term
 *   this codec cannot read.
 */
export function decodeHl7(bytes: Uint8Array, options: DecodeOptions = {}): DecodedHl7 {
  const assumed = options.assumeCharacterSet ? charsetModel(options.assumeCharacterSet) : undefined;
  const sniffed = sniffHeader(bytes, { shiftJis: assumed?.encoding === 'shift_jis' });
  const characterSet = options.assumeCharacterSet ? [...options.assumeCharacterSet] : sniffed.characterSet;
  const model = charsetModel(characterSet);
  if (model.unsupported.length > 0) {
    throw new Hl7CharsetError('unsupported-charset', `Unsupported MSH-18 character set: ${model.unsupported.map((t) => `"${t}"`).join(', ')}`);
  }
  const body = sniffed.offset > 0 ? bytes.subarray(sniffed.offset) : bytes;
  const warnings: string[] = [];
  let text: string;
  if (model.encoding === 'utf-8') {
    text = decodeWith('utf-8', body, warnings);
  } else if (model.encoding === 'shift_jis') {
    text = decodeWith('shift_jis', body, warnings);
  } else {
    const hl7Escapes = sniffed.alternateCharacterSetHandling === '2.3';
    text = decodeIso2022(body, model, sniffed.encodingCharacters[2], hl7Escapes, warnings);
  }
  return { text, characterSet, model, warnings };
}

function decodeWith(label: 'utf-8' | 'shift_jis', bytes: Uint8Array, warnings: string[]): string {
  try {
    return new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    warnings.push(`Invalid ${label === 'utf-8' ? 'UTF-8' : 'Shift_JIS'} byte sequences were replaced with U+FFFD`);
    return new TextDecoder(label, { ignoreBOM: true }).decode(bytes);
  }
}

type G0 = 'ascii' | 'jisx0208' | 'jisx0212' | 'katakana' | 'unknown';

const utf16 = new TextDecoder('utf-16le');
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
type G1 = 'none' | 'katakana' | 'unknown';

/** HL7 character set escapes (HL7 v2.5 §2.7.2) and the designation each one makes. */
const HL7_CHARSET_ESCAPES: Record<string, { g0?: G0; g1?: G1 }> = {
  C2842: { g0: 'ascii' }, // ISO-IR 6
  C284A: { g0: 'ascii' }, // ISO-IR 14, JIS X 0201 Roman (read as ASCII)
  C2849: { g0: 'katakana' }, // ISO-IR 13 in G0
  C2949: { g1: 'katakana' }, // ISO-IR 13 in G1
  M2442: { g0: 'jisx0208' }, // ISO-IR 87
  M2440: { g0: 'jisx0208' }, // JIS C 6226-1978, read as JIS X 0208
  M242844: { g0: 'jisx0212' }, // ISO-IR 159
};

/**
 * ISO 2022 decoder. HL7 `\C..\`/`\M..\` escapes are recognised in single-byte mode; inside a
 * two-byte set they are recognised at a character boundary only when MSH-20 is `2.3` (there the
 * escape character may otherwise be the first byte of a kanji).
 */
function decodeIso2022(bytes: Uint8Array, model: Hl7CharsetModel, escapeChar: string | undefined, hl7Escapes: boolean, warnings: string[]): string {
  // Fast path: plain 7-bit text without escapes decodes byte for byte.
  let plain = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80 || b === ESC) { plain = false; break; }
  }
  const hl7Esc = escapeChar ? escapeChar.charCodeAt(0) : -1;
  if (plain && (hl7Esc < 0 || !hasHl7CharsetEscape(bytes, hl7Esc))) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

  const initialG1: G1 = model.katakanaInG1 ? 'katakana' : 'none';
  let g0: G0 = 'ascii';
  let g1: G1 = initialG1;
  let table = jisTable('jisx0208').decode;
  // Never more characters than bytes: a pair gives one character, an escape sequence at most one.
  const out = new Uint16Array(bytes.length);
  let k = 0;
  let replaced = 0;
  let unknownEscapes = 0;
  let undeclared = false;
  let openAtLineEnd = 0;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    if (b === ESC) {
      const b1 = bytes[i + 1];
      const b2 = bytes[i + 2];
      const b3 = bytes[i + 3];
      if (b1 === 0x28 && (b2 === 0x42 || b2 === 0x4a)) { g0 = 'ascii'; i += 3; continue; } // ESC ( B, ESC ( J
      if (b1 === 0x24 && (b2 === 0x42 || b2 === 0x40)) { // ESC $ B, ESC $ @ (JIS C 6226-1978, read as 0208)
        g0 = 'jisx0208'; table = jisTable('jisx0208').decode; undeclared ||= !model.jisx0208; i += 3; continue;
      }
      if (b1 === 0x24 && b2 === 0x28 && (b3 === 0x44 || b3 === 0x42)) { // ESC $ ( D, ESC $ ( B
        g0 = b3 === 0x44 ? 'jisx0212' : 'jisx0208';
        table = jisTable(g0).decode;
        undeclared ||= b3 === 0x44 ? !model.jisx0212 : !model.jisx0208;
        i += 4;
        continue;
      }
      if ((b1 === 0x28 || b1 === 0x29) && b2 === 0x49) { // ESC ( I (G0), ESC ) I (G1)
        if (b1 === 0x28) g0 = 'katakana'; else g1 = 'katakana';
        undeclared ||= !model.katakana;
        i += 3;
        continue;
      }
      // Another ISO 2022 sequence: ESC, intermediates 20..2F, final 30..7E. Its set is unreadable.
      let j = i + 1;
      while (j < bytes.length && bytes[j]! >= 0x20 && bytes[j]! <= 0x2f) j++;
      const hasFinal = j < bytes.length && bytes[j]! >= 0x30 && bytes[j]! <= 0x7e;
      if (hasFinal && (b1 === 0x28 || b1 === 0x24)) g0 = 'unknown';
      else if (hasFinal && (b1 === 0x29 || (b1 === 0x24 && b2 === 0x29))) g1 = 'unknown';
      unknownEscapes++;
      out[k++] = 0xfffd;
      i = hasFinal ? j + 1 : j;
      continue;
    }
    if (b === CR || b === LF) {
      if (g0 !== 'ascii' || g1 !== initialG1) openAtLineEnd++;
      g0 = 'ascii';
      g1 = initialG1;
      out[k++] = b;
      i++;
      continue;
    }
    if (b >= 0x80) {
      if (b >= 0xa1 && b <= 0xdf && (g1 === 'katakana' || model.katakana)) out[k++] = 0xff61 + b - 0xa1;
      else { out[k++] = 0xfffd; replaced++; }
      i++;
      continue;
    }
    if (b === hl7Esc && (g0 === 'ascii' || (hl7Escapes && (g0 === 'jisx0208' || g0 === 'jisx0212')))) {
      const switched = hl7CharsetEscapeAt(bytes, i, hl7Esc);
      if (switched) {
        if (switched.set.g0) { g0 = switched.set.g0; if (g0 === 'jisx0208' || g0 === 'jisx0212') table = jisTable(g0).decode; }
        if (switched.set.g1) g1 = switched.set.g1;
        i = switched.next;
        continue;
      }
    }
    if (b < 0x21 || b === 0x7f || g0 === 'ascii') { out[k++] = b; i++; continue; }
    if (g0 === 'katakana') {
      if (b <= 0x5f) out[k++] = 0xff61 + b - 0x21;
      else { out[k++] = 0xfffd; replaced++; }
      i++;
      continue;
    }
    if (g0 === 'unknown') { out[k++] = 0xfffd; replaced++; i++; continue; }
    const c2 = bytes[i + 1];
    if (c2 === undefined || c2 < 0x21 || c2 > 0x7e) { out[k++] = 0xfffd; replaced++; i++; continue; }
    const unit = table[(b - 0x21) * 94 + (c2 - 0x21)]!;
    if (unit === 0) { out[k++] = 0xfffd; replaced++; } else out[k++] = unit;
    i += 2;
  }
  if (undeclared) warnings.push('ISO 2022 escape sequences designate a character set that MSH-18 does not declare; decoded anyway');
  if (unknownEscapes) warnings.push(`${unknownEscapes} unknown ISO 2022 escape sequence(s) replaced with U+FFFD`);
  if (replaced) warnings.push(`${replaced} undecodable byte(s) replaced with U+FFFD`);
  if (openAtLineEnd) warnings.push(`${openAtLineEnd} segment(s) ended without returning to ASCII (ESC ( B); the state was reset at the segment end`);
  return fromUtf16(out.subarray(0, k));
}

/** UTF-16 code units to a string (TextDecoder on little-endian hosts, String.fromCharCode otherwise). */
function fromUtf16(units: Uint16Array): string {
  if (LITTLE_ENDIAN) return utf16.decode(units);
  let s = '';
  for (let i = 0; i < units.length; i += 8192) s += String.fromCharCode(...units.subarray(i, i + 8192));
  return s;
}

function hasHl7CharsetEscape(bytes: Uint8Array, esc: number): boolean {
  for (let i = bytes.indexOf(esc); i >= 0; i = bytes.indexOf(esc, i + 1)) {
    if (hl7CharsetEscapeAt(bytes, i, esc)) return true;
  }
  return false;
}

/** An HL7 `\Cxxyy\` / `\Mxxyy[zz]\` escape at offset i, if it is one this codec knows. */
function hl7CharsetEscapeAt(bytes: Uint8Array, i: number, esc: number): { set: { g0?: G0; g1?: G1 }; next: number } | undefined {
  const kind = bytes[i + 1];
  if (kind !== 0x43 && kind !== 0x4d) return undefined; // C, M
  for (const len of kind === 0x43 ? [4] : [6, 4]) {
    if (bytes[i + 2 + len] !== esc) continue;
    const body = Buffer.from(bytes.subarray(i + 1, i + 2 + len)).toString('latin1').toUpperCase();
    const set = HL7_CHARSET_ESCAPES[body];
    if (set) return { set, next: i + 3 + len };
  }
  return undefined;
}

/** Options for {@link encodeHl7}. */
export interface EncodeOptions {
  /**
   * What to do with half-width katakana when MSH-18 has no JIS X 0201 term: `error` (default) or
   * `fullwidth` (write the full-width katakana of JIS X 0208, as JAHIS messages use).
   */
  halfwidthKatakana?: 'error' | 'fullwidth';
}

/**
 * Encode message text to bytes for the given MSH-18 terms (the writer side, used for replies in
 * the sender's own character set). ISO 2022: every character uses the first set that has it
 * (ASCII, JIS X 0201 katakana, JIS X 0208, JIS X 0212); the set is designated only when it
 * changes, and ASCII is designated again (ESC ( B) before any ASCII character, so before every
 * delimiter and segment terminator, and at the end.
 *
 * @throws Hl7CharsetError `unencodable` naming the character and its index, or
 *   `unsupported-charset` for an unknown term.
 */
export function encodeHl7(text: string, terms: readonly string[], options: EncodeOptions = {}): Buffer {
  const model = charsetModel(terms);
  if (model.unsupported.length > 0) {
    throw new Hl7CharsetError('unsupported-charset', `Unsupported MSH-18 character set: ${model.unsupported.map((t) => `"${t}"`).join(', ')}`);
  }
  const fail = (ch: string, index: number, why: string): never => {
    const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new Hl7CharsetError('unencodable', `Cannot encode "${ch}" (U+${cp}) at index ${index} with MSH-18 "${terms.join('~')}": ${why}`, 'MSH-18', index);
  };
  if (model.encoding === 'utf-8') {
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(text);
    if (lone) fail(lone[0], lone.index, 'lone surrogate');
    return Buffer.from(text, 'utf8');
  }
  if (model.encoding === 'shift_jis') {
    const codes = Encoding.stringToCode(text);
    try {
      return Buffer.from(Encoding.convert(codes, { to: 'SJIS', from: 'UNICODE', fallback: 'error' }) as number[]);
    } catch {
      const bad = [...text].findIndex((ch) => !canShiftJis(ch));
      return fail([...text][bad] ?? '?', bad, 'not in Windows-31J');
    }
  }
  const out: number[] = [];
  let g0: G0 = 'ascii';
  const designate = (set: G0, escape: readonly number[]): void => {
    if (g0 !== set) { out.push(...escape); g0 = set; }
  };
  const j0208 = model.jisx0208 ? jisTable('jisx0208') : undefined;
  const j0212 = model.jisx0212 ? jisTable('jisx0212') : undefined;
  // Full-width conversion composes ｶﾞ into ガ, so it is done on the whole text first.
  const source = options.halfwidthKatakana === 'fullwidth' && !model.katakana ? Encoding.toZenkanaCase(text) : text;
  let index = 0;
  for (const ch of source) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      if (cp === ESC) fail(ch, index, 'ESC is reserved for code extension');
      designate('ascii', [ESC, 0x28, 0x42]);
      out.push(cp);
    } else if (cp >= 0xff61 && cp <= 0xff9f && model.katakana) {
      if (model.katakanaInG1) out.push(cp - 0xff61 + 0xa1);
      else { designate('katakana', [ESC, 0x28, 0x49]); out.push(cp - 0xff61 + 0x21); }
    } else {
      let code = j0208?.encode.get(cp);
      if (code !== undefined) {
        designate('jisx0208', [ESC, 0x24, 0x42]);
        out.push(code >> 8, code & 0xff);
      } else if (j0212 && (code = j0212.encode.get(cp)) !== undefined) {
        designate('jisx0212', [ESC, 0x24, 0x28, 0x44]);
        out.push(code >> 8, code & 0xff);
      } else {
        fail(ch, index, cp >= 0xff61 && cp <= 0xff9f ? 'half-width katakana need ISO IR13/ISO IR14 in MSH-18' : 'not in the declared repertoires');
      }
    }
    index += ch.length;
  }
  designate('ascii', [ESC, 0x28, 0x42]);
  return Buffer.from(out);
}

function canShiftJis(ch: string): boolean {
  try {
    Encoding.convert(Encoding.stringToCode(ch), { to: 'SJIS', from: 'UNICODE', fallback: 'error' });
    return true;
  } catch {
    return false;
  }
}
