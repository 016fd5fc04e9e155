/**
 * Writing HL7 v2 messages: values are escaped (HL7 v2.5 §2.7), trailing empty fields and
 * components are left out (§2.5.3 "trailing delimiters may be omitted"), segments end with CR
 * (§2.5.1), and MSH is written from a typed header (§2.15.9).
 */
import { DEFAULT_DELIMITERS, type EscapeOptions, type Hl7Delimiters, encodingCharacters, escapeHl7 } from './escape.ts';
import { Hl7Message, type Hl7MessageType } from './message.ts';

/** A single value: `null` writes the HL7 null `""` (delete, HL7 v2.5 §2.5.3); `undefined` and '' write nothing. */
export type Hl7Leaf = string | number | null | undefined;
/** A component: a value, or its subcomponents. */
export type Hl7Component = Hl7Leaf | readonly Hl7Leaf[];
/** One repetition of a field: a value, or its components. */
export type Hl7Repetition = Hl7Leaf | Hl7RawValue | readonly Hl7Component[];
/** A field: one repetition, several (see {@link repeat}), or pre-escaped text (see {@link raw}). */
export type Hl7Field = Hl7Repetition | Hl7Repeated;

/** Several repetitions of one field (made by {@link repeat}). */
export interface Hl7Repeated {
  readonly repetitions: readonly Hl7Repetition[];
}

/** Text already escaped for the message's delimiters, written as is (made by {@link raw}). */
export interface Hl7RawValue {
  readonly rawText: string;
}

/** Several repetitions of a field, e.g. `repeat(['山田', '太郎'], ['ヤマダ', 'タロウ'])`. */
export function repeat(...repetitions: Hl7Repetition[]): Hl7Repeated {
  return { repetitions };
}

/**
 * Text that is already escaped for the message's delimiters (for instance a field copied from a
 * received message with the same delimiters), written without escaping.
 */
export function raw(text: string): Hl7RawValue {
  return { rawText: text };
}

/** The MSH fields of a new message (HL7 v2.5 §2.15.9). */
export interface Hl7HeaderInit {
  sendingApplication?: Hl7Repetition;
  sendingFacility?: Hl7Repetition;
  receivingApplication?: Hl7Repetition;
  receivingFacility?: Hl7Repetition;
  /** MSH-7; a Date is written in Japan time (see {@link formatHl7DateTime}). Default: now. */
  dateTime?: Date | string;
  /** MSH-9. */
  messageType: Hl7MessageType;
  /** MSH-10. */
  controlId: string;
  /** MSH-11, default P (production, table 0103). */
  processingId?: string;
  /** MSH-12, default 2.5. */
  version?: string;
  acceptAckType?: string;
  applicationAckType?: string;
  /** MSH-17, e.g. JPN. */
  countryCode?: string;
  /** MSH-18 repetitions, e.g. `['', 'ISO IR87']` (written `~ISO IR87`) or `['UNICODE UTF-8']`. */
  characterSet?: readonly string[];
  /** MSH-19, e.g. `ja`. */
  principalLanguage?: Hl7Repetition;
  /** MSH-20, e.g. `ISO 2022-1994` (table 0356). */
  alternateCharacterSetHandling?: string;
}

/**
 * Format an instant as an HL7 TS/DTM value in Japan time (Asia/Tokyo, UTC+9 without daylight
 * saving): `YYYYMMDDHHMMSS`, as JAHIS messages write it, or with `+0900` when `offset` is set
 * (HL7 v2.5 §2.A.75 TS allows the offset).
 */
export function formatHl7DateTime(date: Date, options: { offset?: boolean; precision?: 'day' | 'minute' | 'second' } = {}): string {
  const jst = new Date(date.getTime() + 9 * 3600_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  let s = `${p(jst.getUTCFullYear(), 4)}${p(jst.getUTCMonth() + 1)}${p(jst.getUTCDate())}`;
  if (options.precision !== 'day') {
    s += `${p(jst.getUTCHours())}${p(jst.getUTCMinutes())}`;
    if (options.precision !== 'minute') s += p(jst.getUTCSeconds());
  }
  return options.offset ? `${s}+0900` : s;
}

/** Builds one message segment by segment; MSH first. */
export class Hl7Builder {
  readonly delimiters: Hl7Delimiters;
  private readonly lines: string[] = [];

  /**
   * @param options.delimiters delimiters to use (default `|^~\&`)
   * @param options.escape how line breaks are escaped (default `\.br\`)
   */
  constructor(private readonly options: { delimiters?: Hl7Delimiters; escape?: EscapeOptions } = {}) {
    this.delimiters = options.delimiters ?? DEFAULT_DELIMITERS;
  }

  /** Write MSH from a typed header. Must be called first, once. */
  msh(h: Hl7HeaderInit): this {
    if (this.lines.length > 0) throw new Error('MSH must be the first segment');
    const d = this.delimiters;
    const dateTime = h.dateTime === undefined ? formatHl7DateTime(new Date())
      : typeof h.dateTime === 'string' ? h.dateTime : formatHl7DateTime(h.dateTime);
    for (const term of h.characterSet ?? []) {
      if (/[\r\n]/.test(term) || term.includes(d.repetition) || term.includes(d.field)) {
        throw new Error(`Invalid MSH-18 character set term "${term}"`);
      }
    }
    const charset = h.characterSet && h.characterSet.length > 0 ? raw(h.characterSet.join(d.repetition)) : undefined;
    const fields: Hl7Field[] = [
      h.sendingApplication, h.sendingFacility, h.receivingApplication, h.receivingFacility,
      dateTime, undefined,
      [h.messageType.code, h.messageType.trigger, h.messageType.structure],
      h.controlId, h.processingId ?? 'P', h.version ?? '2.5',
      undefined, undefined, h.acceptAckType, h.applicationAckType, h.countryCode,
      charset, h.principalLanguage, h.alternateCharacterSetHandling,
    ];
    const rest = trimEnd(fields.map((f) => this.field(f)));
    this.lines.push(`MSH${d.field}${encodingCharacters(d)}${rest.length ? d.field + rest.join(d.field) : ''}`);
    return this;
  }

  /**
   * Add a segment. `fields[0]` is field 1. Each field is a value, an array of components (an
   * inner array being subcomponents), several repetitions made with {@link repeat}, or
   * pre-escaped text made with {@link raw}.
   */
  segment(name: string, ...fields: Hl7Field[]): this {
    if (!/^[A-Z][A-Z0-9]{2}$/.test(name) || name === 'MSH') throw new Error(`Invalid segment name "${name}" (use msh() for MSH)`);
    if (this.lines.length === 0) throw new Error('Call msh() before adding segments');
    const rest = trimEnd(fields.map((f) => this.field(f)));
    this.lines.push(rest.length ? name + this.delimiters.field + rest.join(this.delimiters.field) : name);
    return this;
  }

  /** The message text, every segment terminated by CR. */
  toString(): string {
    return this.lines.map((l) => `${l}\r`).join('');
  }

  /** The message, parsed back. */
  build(): Hl7Message {
    return Hl7Message.parse(this.toString());
  }

  private field(f: Hl7Field): string {
    if (f !== null && typeof f === 'object' && 'repetitions' in f) {
      return trimEnd(f.repetitions.map((r) => this.repetition(r))).join(this.delimiters.repetition);
    }
    return this.repetition(f);
  }

  private repetition(r: Hl7Repetition): string {
    if (r !== null && typeof r === 'object' && 'rawText' in r) {
      if (/[\r\n]/.test(r.rawText) || r.rawText.includes(this.delimiters.field)) {
        throw new Error('Raw HL7 text may not contain the field separator or a line break');
      }
      return r.rawText;
    }
    if (Array.isArray(r)) return trimEnd(r.map((c: Hl7Component) => this.component(c))).join(this.delimiters.component);
    return this.leaf(r as Hl7Leaf);
  }

  private component(c: Hl7Component): string {
    if (Array.isArray(c)) return trimEnd(c.map((s: Hl7Leaf) => this.leaf(s))).join(this.delimiters.subcomponent);
    return this.leaf(c as Hl7Leaf);
  }

  private leaf(v: Hl7Leaf): string {
    if (v === null) return '""';
    if (v === undefined) return '';
    return escapeHl7(String(v), this.delimiters, this.options.escape);
  }
}

/** Drop trailing empty strings (HL7 v2.5 §2.5.3). */
function trimEnd(values: string[]): string[] {
  let n = values.length;
  while (n > 0 && values[n - 1] === '') n--;
  return values.slice(0, n);
}
