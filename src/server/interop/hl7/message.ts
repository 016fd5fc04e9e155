/**
 * HL7 v2 message model: parsing text into segments and fields (HL7 v2.5 §2.5 message
 * construction rules, §2.6 message construction, §2.15.9 MSH), path accessors and the header.
 *
 * The message is parsed from Unicode text: byte input is decoded first by `charset.ts`, because in
 * ISO-2022-JP the second byte of a kanji may equal a delimiter (日 is 46 7C, i.e. "F|").
 * Fields are kept escaped; components, repetitions and subcomponents are split on demand and
 * unescaped last, so `\S\` inside a component never splits it (HL7 v2.5 §2.7).
 */
import { type Hl7Delimiters, type UnescapeOptions, unescapeHl7 } from './escape.ts';

export { DEFAULT_DELIMITERS, encodingCharacters, escapeHl7, unescapeHl7, type Hl7Delimiters } from './escape.ts';
export { Hl7Builder, formatHl7DateTime, raw, repeat, type Hl7Field, type Hl7HeaderInit } from './builder.ts';

/**
 * HL7 table 0357 (message error condition codes, HL7 v2.5 §2.15.5.3 ERR-3) as used by this
 * module's errors and by `ack.ts`.
 */
export type Hl7ErrorCode = 0 | 100 | 101 | 102 | 103 | 200 | 201 | 202 | 203 | 204 | 205 | 206 | 207;

/** Why a message could not be parsed. */
export type Hl7ParseReason =
  | 'empty'
  | 'no-msh'
  | 'bad-field-separator'
  | 'bad-encoding-characters'
  | 'bad-segment-name'
  | 'bad-path';

/**
 * A structural error in a message, naming where it is (segment, its line, field) and why.
 * `errorCode` is the HL7 table 0357 code to report in ERR-3 of the reply.
 */
export class Hl7ParseError extends Error {
  override readonly name = 'Hl7ParseError';
  constructor(
    readonly reason: Hl7ParseReason,
    message: string,
    readonly location: { segment?: string; segmentIndex?: number; field?: number } = {},
    readonly errorCode: Hl7ErrorCode = 100,
  ) {
    super(message);
  }
}

/** A parsed path such as `PID-5-1`, `OBR[2]-4`, `PID-3[2]-1` (all numbers 1-based). */
export interface Hl7Path {
  segment: string;
  /** Which occurrence of the segment (`OBR[2]`), default 1. */
  occurrence: number;
  field: number;
  /** Which repetition of the field (`PID-3[2]`); undefined means "first" for get, "all" for getAll. */
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)(?:\[(\d+)\])?(?:-(\d+)(?:-(\d+))?)?$/;

/**
 * Parse a path: `SEG[occurrence]-field[repetition]-component-subcomponent`, where the bracketed
 * parts and the trailing numbers are optional and all numbers are 1-based, as HL7 numbers fields
 * and components (e.g. `PID-5-1` family name, `OBR[2]-4-1`, `PID-3[2]-1`).
 *
 * @throws Hl7ParseError (reason `bad-path`) for anything else.
 */
export function parsePath(path: string): Hl7Path {
  const cached = pathCache.get(path);
  if (cached) return { ...cached };
  const m = PATH.exec(path.trim());
  const positive = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  if (!m || [m[2], m[3], m[4], m[5], m[6]].some((s) => s !== undefined && Number(s) < 1)) {
    throw new Hl7ParseError('bad-path', `Invalid HL7 path "${path}" (expected e.g. PID-5-1, OBR[2]-4, PID-3[2]-1; numbers start at 1)`);
  }
  const parsed: Hl7Path = {
    segment: m[1]!,
    occurrence: positive(m[2]) ?? 1,
    field: Number(m[3]),
    repetition: positive(m[4]),
    component: positive(m[5]),
    subcomponent: positive(m[6]),
  };
  // Code reads the same few dozen paths over and over.
  if (pathCache.size < 1000) pathCache.set(path, parsed);
  return { ...parsed };
}

const pathCache = new Map<string, Hl7Path>();

/** One segment: its name and its fields, kept escaped (index = HL7 field number). */
export class Hl7Segment {
  /**
   * @param name segment ID (`PID`)
   * @param fields `fields[n]` is field n as written (escaped); `fields[0]` is the name. For MSH,
   *   `fields[1]` is the field separator and `fields[2]` the encoding characters (HL7 v2.5 §2.15.9).
   * @param delimiters the message's delimiters
   * @param index 1-based position of the segment in the message
   */
  constructor(
    readonly name: string,
    private readonly fields: readonly string[],
    readonly delimiters: Hl7Delimiters,
    readonly index: number,
    private readonly unescapeOptions: UnescapeOptions = {},
  ) {}

  /** The highest field number present. */
  get fieldCount(): number {
    return this.fields.length - 1;
  }

  /** Field `n` exactly as written (escaped); '' when absent. */
  raw(n: number): string {
    return this.fields[n] ?? '';
  }

  /** The raw text of each repetition of field `n` ([] when the field is empty). */
  private rawRepetitions(n: number): string[] {
    const value = this.raw(n);
    if (value === '') return [];
    if (this.isLiteralField(n)) return [value];
    return this.delimiters.repetition ? value.split(this.delimiters.repetition) : [value];
  }

  /** MSH-1 and MSH-2 are taken literally: they define the delimiters themselves. */
  private isLiteralField(n: number): boolean {
    return (this.name === 'MSH' || this.name === 'BHS' || this.name === 'FHS') && (n === 1 || n === 2);
  }

  private leaf(rep: string, component: number, subcomponent: number): string | undefined {
    const d = this.delimiters;
    const comps = d.component ? rep.split(d.component) : [rep];
    const comp = comps[component - 1];
    if (comp === undefined) return undefined;
    const subs = d.subcomponent ? comp.split(d.subcomponent) : [comp];
    const sub = subs[subcomponent - 1];
    if (sub === undefined || sub === '') return undefined;
    return unescapeHl7(sub, d, this.unescapeOptions);
  }

  /**
   * The unescaped value at field `n`, repetition, component and subcomponent (1-based). A missing
   * or empty value is `undefined`; the HL7 null `""` (delete the value, HL7 v2.5 §2.5.3) is
   * returned as the two characters `""`.
   */
  get(n: number, component = 1, subcomponent = 1, repetition = 1): string | undefined {
    if (this.isLiteralField(n)) return component === 1 && subcomponent === 1 && repetition === 1 ? this.raw(n) || undefined : undefined;
    const rep = this.rawRepetitions(n)[repetition - 1];
    return rep === undefined ? undefined : this.leaf(rep, component, subcomponent);
  }

  /** The value at component/subcomponent of every repetition of field `n` (empty ones as ''). */
  getAll(n: number, component = 1, subcomponent = 1): string[] {
    if (this.isLiteralField(n)) return this.raw(n) ? [this.raw(n)] : [];
    return this.rawRepetitions(n).map((rep) => this.leaf(rep, component, subcomponent) ?? '');
  }

  /** The unescaped components of one repetition of field `n` (subcomponents joined back unescaped per part). */
  components(n: number, repetition = 1): string[][] {
    const rep = this.rawRepetitions(n)[repetition - 1];
    if (rep === undefined) return [];
    const d = this.delimiters;
    return (d.component ? rep.split(d.component) : [rep]).map((comp) =>
      (d.subcomponent ? comp.split(d.subcomponent) : [comp]).map((sub) => unescapeHl7(sub, d, this.unescapeOptions)));
  }

  /** The number of repetitions of field `n`. */
  repetitionCount(n: number): number {
    return this.rawRepetitions(n).length;
  }

  /** The segment as written, without the segment terminator. */
  toString(): string {
    if (this.name === 'MSH' || this.name === 'BHS' || this.name === 'FHS') {
      return this.name + this.fields[1] + this.fields.slice(2).join(this.fields[1]);
    }
    return this.fields.join(this.delimiters.field);
  }
}

/** MSH-9 (message type, HL7 v2.5 §2.15.9.9, MSG data type). */
export interface Hl7MessageType {
  /** MSG.1, table 0076 (e.g. OMG). */
  code: string;
  /** MSG.2, table 0003 (e.g. O19). */
  trigger: string;
  /** MSG.3, table 0354 (e.g. OMG_O19); may be absent in older messages. */
  structure?: string;
}

/** The MSH fields a receiver needs, read leniently (missing values are ''). */
export interface Hl7Header {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-7 as written (TS/DTM). */
  dateTime: string;
  messageType: Hl7MessageType;
  /** MSH-10. */
  controlId: string;
  /** MSH-11-1: P production, T training, D debugging (table 0103). */
  processingId: string;
  /** MSH-12-1 (e.g. 2.5). */
  version: string;
  /** MSH-15 accept acknowledgment type (table 0155: AL, NE, ER, SU). */
  acceptAckType: string;
  /** MSH-16 application acknowledgment type (table 0155). */
  applicationAckType: string;
  /** MSH-17 country code (e.g. JPN). */
  countryCode: string;
  /** MSH-18 repetitions as written, e.g. `['', 'ISO IR87']` for `~ISO IR87` (HL7 v2.5 §2.15.9.18). */
  characterSet: string[];
  /** MSH-20 alternate character set handling scheme (table 0356: `ISO 2022-1994`, `2.3`). */
  alternateCharacterSetHandling: string;
}

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

/** Options for {@link Hl7Message.parse}. */
export interface Hl7ParseOptions {
  /** How `\Xhh..\` data and `\.br\` are rendered by the accessors (see {@link UnescapeOptions}). */
  unescape?: UnescapeOptions;
}

/** A parsed HL7 v2 message. */
export class Hl7Message implements Iterable<Hl7Segment> {
  private constructor(
    readonly delimiters: Hl7Delimiters,
    readonly segments: readonly Hl7Segment[],
  ) {}

  /**
   * Parse message text. Segments may end with CR (HL7 v2.5 §2.5.1), CRLF or LF; blank lines, a
   * leading byte order mark and leading whitespace are skipped. The delimiters come from MSH-1 and
   * MSH-2 (§2.5.4): MSH-2 may hold 1 to 5 distinct characters (component, repetition, escape,
   * subcomponent, truncation); missing ones are simply not used.
   *
   * @throws Hl7ParseError naming the segment (line) and field when the structure is invalid.
   */
  static parse(text: string, options: Hl7ParseOptions = {}): Hl7Message {
    const body = text.replace(/^[\uFEFF\s]+/, '');
    if (body === '') throw new Hl7ParseError('empty', 'Empty message: expected an MSH segment', {}, 100);
    if (!body.startsWith('MSH')) {
      const first = body.slice(0, 3);
      const batch = first === 'FHS' || first === 'BHS' ? ' (batch and file headers are not supported; send one message per frame)' : '';
      throw new Hl7ParseError('no-msh', `The message must start with an MSH segment, found "${printable(first)}"${batch}`, { segment: printable(first), segmentIndex: 1 }, 100);
    }
    const fieldSep = body[3];
    if (fieldSep === undefined || /[A-Za-z0-9\s]/.test(fieldSep)) {
      throw new Hl7ParseError('bad-field-separator', `MSH-1 (field separator) must be a printable non-alphanumeric character, found ${fieldSep === undefined ? 'end of message' : `"${printable(fieldSep)}"`}`, { segment: 'MSH', segmentIndex: 1, field: 1 }, 102);
    }
    const lineEnd = body.search(/[\r\n]/);
    const mshLine = lineEnd < 0 ? body : body.slice(0, lineEnd);
    const encEnd = mshLine.indexOf(fieldSep, 4);
    const enc = encEnd < 0 ? mshLine.slice(4) : mshLine.slice(4, encEnd);
    const delimiters = delimitersFrom(fieldSep, enc);

    const lines = body.split(/\r\n|\r|\n/);
    const segments: Hl7Segment[] = [];
    for (const line of lines) {
      if (line === '' || /^\s+$/.test(line)) continue;
      const index = segments.length + 1;
      const name = line.slice(0, 3);
      if (!SEGMENT_NAME.test(name) || (line.length > 3 && line[3] !== fieldSep)) {
        const shown = printable(line.slice(0, Math.min(line.length, 8)));
        throw new Hl7ParseError('bad-segment-name', `Segment ${index} does not start with a segment ID (three capitals/digits) followed by "${fieldSep}": "${shown}"`, { segment: printable(name), segmentIndex: index }, 100);
      }
      let fields: string[];
      if (name === 'MSH') {
        if (index !== 1) throw new Hl7ParseError('no-msh', `MSH may only be the first segment (found again as segment ${index})`, { segment: 'MSH', segmentIndex: index }, 100);
        const rest = line.slice(4).split(fieldSep);
        fields = ['MSH', fieldSep, ...rest];
      } else {
        fields = line.split(fieldSep);
      }
      segments.push(new Hl7Segment(name, fields, delimiters, index, options.unescape));
    }
    return new Hl7Message(delimiters, segments);
  }

  [Symbol.iterator](): Iterator<Hl7Segment> {
    return this.segments[Symbol.iterator]();
  }

  /** The `occurrence`-th (1-based) segment named `name`, if present. */
  segment(name: string, occurrence = 1): Hl7Segment | undefined {
    let seen = 0;
    for (const s of this.segments) if (s.name === name && ++seen === occurrence) return s;
    return undefined;
  }

  /** Every segment named `name`, in order. */
  segmentsNamed(name: string): Hl7Segment[] {
    return this.segments.filter((s) => s.name === name);
  }

  /**
   * The unescaped value at a path such as `PID-5-1` or `OBR[2]-4-2` (see {@link parsePath}).
   * Without a component the first component is read, without a repetition the first repetition.
   * `undefined` when absent or empty.
   */
  get(path: string): string | undefined {
    const p = parsePath(path);
    return this.segment(p.segment, p.occurrence)?.get(p.field, p.component ?? 1, p.subcomponent ?? 1, p.repetition ?? 1);
  }

  /**
   * The value at a path in every repetition of the field (e.g. `getAll('PID-3-1')` gives every
   * patient identifier); a path with a repetition (`PID-3[2]`) gives at most one value.
   */
  getAll(path: string): string[] {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence);
    if (!seg) return [];
    if (p.repetition !== undefined) {
      const v = seg.get(p.field, p.component ?? 1, p.subcomponent ?? 1, p.repetition);
      return v === undefined ? [] : [v];
    }
    return seg.getAll(p.field, p.component ?? 1, p.subcomponent ?? 1);
  }

  /** MSH, read leniently: missing values are '' (use {@link validateHeader} to check them). */
  get header(): Hl7Header {
    const msh = this.segments[0]!;
    const v = (n: number, c = 1): string => msh.get(n, c) ?? '';
    const structure = msh.get(9, 3);
    return {
      sendingApplication: msh.raw(3),
      sendingFacility: msh.raw(4),
      receivingApplication: msh.raw(5),
      receivingFacility: msh.raw(6),
      dateTime: v(7),
      messageType: { code: v(9, 1), trigger: v(9, 2), ...(structure ? { structure } : {}) },
      controlId: v(10),
      processingId: v(11),
      version: v(12),
      acceptAckType: v(15),
      applicationAckType: v(16),
      countryCode: v(17),
      characterSet: msh.raw(18) === '' ? [] : msh.raw(18).split(this.delimiters.repetition || '\u0000').map((t) => t.trim()),
      alternateCharacterSetHandling: v(20),
    };
  }

  /** The message as text: segments joined and terminated by CR (HL7 v2.5 §2.5.1). */
  toString(): string {
    return this.segments.map((s) => s.toString()).join('\r') + '\r';
  }
}

/** One problem found by {@link validateHeader}. */
export interface Hl7HeaderIssue {
  /** HL7 table 0357 code for ERR-3. */
  code: Hl7ErrorCode;
  /** Where, as a path (`MSH-10`). */
  location: string;
  message: string;
}

/**
 * Check the MSH fields every receiver needs (HL7 v2.5 §2.15.9: MSH-9 message type, MSH-10 control
 * ID, MSH-11 processing ID and MSH-12 version are required), and that MSH-7 is a TS value.
 * Returns [] when the header is usable.
 */
export function validateHeader(message: Hl7Message): Hl7HeaderIssue[] {
  const h = message.header;
  const issues: Hl7HeaderIssue[] = [];
  const missing = (location: string, what: string): void => {
    issues.push({ code: 101, location, message: `${location} (${what}) is required` });
  };
  if (!h.messageType.code) missing('MSH-9', 'message type');
  else if (!h.messageType.trigger) missing('MSH-9-2', 'trigger event');
  if (!h.controlId) missing('MSH-10', 'message control ID');
  if (!h.processingId) missing('MSH-11', 'processing ID');
  else if (!/^[PTD]$/.test(h.processingId)) issues.push({ code: 103, location: 'MSH-11', message: `MSH-11 processing ID "${h.processingId}" is not in HL7 table 0103 (P, T, D)` });
  if (!h.version) missing('MSH-12', 'version ID');
  if (h.dateTime && !/^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/.test(h.dateTime)) {
    issues.push({ code: 102, location: 'MSH-7', message: `MSH-7 "${h.dateTime}" is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])` });
  }
  return issues;
}

function delimitersFrom(field: string, enc: string): Hl7Delimiters {
  const chars = [...enc];
  const bad = (why: string): never => {
    throw new Hl7ParseError('bad-encoding-characters', `MSH-2 (encoding characters) "${printable(enc)}" ${why}`, { segment: 'MSH', segmentIndex: 1, field: 2 }, 102);
  };
  if (chars.length === 0) bad('is empty: expected component, repetition, escape and subcomponent separators (e.g. ^~\\&)');
  if (chars.length > 5) bad('has more than 5 characters');
  if (new Set([field, ...chars]).size !== chars.length + 1) bad('repeats a character or the field separator');
  if (chars.some((c) => /[A-Za-z0-9\s]/.test(c))) bad('may not contain letters, digits or whitespace');
  // Fewer than four characters: the missing delimiters are not used (read leniently).
  return {
    field,
    component: chars[0] ?? '',
    repetition: chars[1] ?? '',
    escape: chars[2] ?? '',
    subcomponent: chars[3] ?? '',
    ...(chars[4] ? { truncation: chars[4] } : {}),
  } satisfies Hl7Delimiters;
}

/** Control characters shown as \xNN in error messages, which must not carry raw bytes. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
