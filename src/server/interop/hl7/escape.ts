/**
 * HL7 v2 delimiters and escape sequences (HL7 v2.5 §2.5.4 message delimiters, §2.7 use of escape
 * sequences in text fields).
 *
 * Values are stored escaped inside a parsed message and unescaped only when read, so a message can
 * be written back byte for byte and delimiters are split before any escape is resolved.
 */

/** The delimiters of one message, from MSH-1 and MSH-2 (HL7 v2.5 §2.5.4, §2.15.9.1-2). */
export interface Hl7Delimiters {
  /** MSH-1, usually "|". */
  readonly field: string;
  /** MSH-2 character 1, usually "^". */
  readonly component: string;
  /** MSH-2 character 2, usually "~". */
  readonly repetition: string;
  /** MSH-2 character 3, usually "\". */
  readonly escape: string;
  /** MSH-2 character 4, usually "&". */
  readonly subcomponent: string;
  /** MSH-2 character 5 (truncation, HL7 v2.7 and later), usually "#"; absent in v2.5 messages. */
  readonly truncation?: string;
}

/** The delimiters recommended by HL7 v2.5 §2.5.4: `|^~\&`. */
export const DEFAULT_DELIMITERS: Hl7Delimiters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
});

/** MSH-2 as written for the given delimiters (`^~\&`, plus the truncation character if any). */
export function encodingCharacters(d: Hl7Delimiters): string {
  return d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? '');
}

/** Options for {@link unescapeHl7}. */
export interface UnescapeOptions {
  /**
   * Turns the bytes of a `\Xhh..\` sequence into text. HL7 v2.5 §2.7.4 leaves their meaning to
   * the message's character set; without a decoder each byte becomes the code point of the same
   * value (ISO 8859-1), which is exact for ASCII data such as `\X0D\`.
   */
  decodeHex?: (bytes: Uint8Array) => string;
  /** Text for `\.br\` (HL7 v2.5 §2.7.6). Default "\n". */
  lineBreak?: string;
}

/**
 * Resolve the escape sequences of one leaf value (a field, component or subcomponent already
 * split on its delimiters), HL7 v2.5 §2.7:
 * - `\F\ \S\ \T\ \R\ \E\` (and `\P\`, v2.7 truncation) become the delimiter characters;
 * - `\Xhh..\` hexadecimal data becomes the bytes it names (see {@link UnescapeOptions.decodeHex});
 * - formatting commands (§2.7.6): `\.br\` a line break, `\.sp n\` n line breaks, `\.sk n\` n spaces;
 *   `\.fi\ \.nf\ \.in n\ \.ti n\ \.ce\` and highlighting `\H\ \N\` carry no text and are dropped;
 * - `\Cxxyy\` and `\Mxxyyzz\` character-set switches (§2.7.2) are dropped here: byte input is
 *   decoded with them by `charset.ts` before the message is split.
 * Unknown or unterminated sequences are kept literally (read leniently), `\Z..\` included.
 */
export function unescapeHl7(text: string, d: Hl7Delimiters, options: UnescapeOptions = {}): string {
  const esc = d.escape;
  if (!esc || text.indexOf(esc) < 0) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf(esc, i);
    if (start < 0) { out += text.slice(i); break; }
    out += text.slice(i, start);
    const end = text.indexOf(esc, start + 1);
    if (end < 0) { out += text.slice(start); break; } // unterminated: keep as is
    const body = text.slice(start + 1, end);
    const replaced = resolveSequence(body, d, options);
    out += replaced ?? text.slice(start, end + 1);
    i = end + 1;
  }
  return out;
}

function resolveSequence(body: string, d: Hl7Delimiters, options: UnescapeOptions): string | undefined {
  switch (body) {
    case 'F': return d.field;
    case 'S': return d.component;
    case 'T': return d.subcomponent;
    case 'R': return d.repetition;
    case 'E': return d.escape;
    case 'P': return d.truncation;
    case 'H': case 'N': return '';
    case '.br': return options.lineBreak ?? '\n';
    case '.fi': case '.nf': case '.ce': return '';
  }
  const head = body[0];
  if (head === 'X' && /^X(?:[0-9A-Fa-f]{2})+$/.test(body)) {
    const bytes = Buffer.from(body.slice(1), 'hex');
    return options.decodeHex ? options.decodeHex(bytes) : bytes.toString('latin1');
  }
  if ((head === 'C' && /^C[0-9A-Fa-f]{4}$/.test(body)) || (head === 'M' && /^M[0-9A-Fa-f]{4}(?:[0-9A-Fa-f]{2})?$/.test(body))) {
    return '';
  }
  const format = /^\.(sp|sk|in|ti)\s*([+-]?\d*)$/.exec(body);
  if (format) {
    const n = format[2] === '' || format[2] === undefined ? 1 : Math.max(0, Number(format[2]));
    if (format[1] === 'sp') return (options.lineBreak ?? '\n').repeat(Math.min(n, 100));
    if (format[1] === 'sk') return ' '.repeat(Math.min(n, 1000));
    return '';
  }
  return undefined;
}

/** Options for {@link escapeHl7}. */
export interface EscapeOptions {
  /**
   * How line breaks (CR, LF or CRLF) in the text are written: `br` as `\.br\` (HL7 v2.5 §2.7.6,
   * formatted text), `hex` as `\X0D0A\`-style hexadecimal data (§2.7.4). Default `br`.
   */
  lineBreaks?: 'br' | 'hex';
}

/**
 * Escape one leaf value for writing (HL7 v2.5 §2.7.1): the delimiter characters become
 * `\F\ \S\ \T\ \R\ \E\` (`\P\` for the v2.7 truncation character), and line breaks, which would
 * otherwise end the segment, become `\.br\` (or hexadecimal data). Other control characters are
 * written as `\Xhh\`.
 */
export function escapeHl7(text: string, d: Hl7Delimiters, options: EscapeOptions = {}): string {
  // Fast path: nothing to escape.
  let needs = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === d.field || c === d.component || c === d.repetition || c === d.escape || c === d.subcomponent
      || c === d.truncation || text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) { needs = true; break; }
  }
  if (!needs) return text;
  const e = d.escape;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = text.charCodeAt(i);
    if (c === d.escape) out += `${e}E${e}`;
    else if (c === d.field) out += `${e}F${e}`;
    else if (c === d.component) out += `${e}S${e}`;
    else if (c === d.subcomponent) out += `${e}T${e}`;
    else if (c === d.repetition) out += `${e}R${e}`;
    else if (d.truncation && c === d.truncation) out += `${e}P${e}`;
    else if (code === 0x0d || code === 0x0a) {
      const pair = code === 0x0d && text.charCodeAt(i + 1) === 0x0a;
      if (pair) i++;
      if (options.lineBreaks === 'hex') out += `${e}X${pair ? '0D0A' : code === 0x0d ? '0D' : '0A'}${e}`;
      else out += `${e}.br${e}`;
    } else if (code < 0x20 || code === 0x7f) {
      out += `${e}X${code.toString(16).toUpperCase().padStart(2, '0')}${e}`;
    } else out += c;
  }
  return out;
}
