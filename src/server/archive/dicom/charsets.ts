/**
 * Exact codec for DICOM text values under the Specific Character Set (0008,0005),
 * with the Japanese repertoires of PS3.3 C.12.1.1.2 and PS3.5 §6.1 / Annex H.
 *
 * Supported Defined Terms (the "ISO_IR n" and "ISO 2022 IR n" spellings are accepted alike):
 * - "" / ISO_IR 6    default repertoire (ASCII in G0)
 * - ISO_IR 100       Latin alphabet No. 1 (ISO 8859-1 right half in G1)
 * - ISO_IR 13        JIS X 0201: Roman in G0, half-width katakana in G1
 * - ISO 2022 IR 87   JIS X 0208 kanji/kana in G0, designated by ESC $ B
 * - ISO 2022 IR 159  JIS X 0212 supplementary kanji in G0, designated by ESC $ ( D
 * - ISO_IR 192       UTF-8 (no code extensions; only honoured as value 1)
 *
 * JIS X 0201 Roman (ISO-IR 14) differs from ASCII only at 05/12 (YEN SIGN) and 07/14 (OVERLINE).
 * Following common practice (and because 05/12 is the DICOM value delimiter, PS3.5 H.1.1 Note 3),
 * this codec treats those two bytes as ASCII "\" and "~" in both directions.
 *
 * JIS X 0208 maps to Unicode per JIS X 0221 (e.g. 1-33 is U+301C WAVE DASH), as DCMTK, pydicom and
 * dcm4che do; the six Windows/WHATWG variants (U+FF5E, U+FF0D, ...) are accepted when encoding.
 */

const ESC = 0x1b;

/** A graphic set that can be designated to G0 (PS3.5 Table H.1-1, PS3.3 Table C.12-4). */
type G0Set = 'ascii' | 'roman' | 'jisx0208' | 'jisx0212' | 'unknown';
/** A graphic set that can be designated to G1 (PS3.3 Table C.12-3). */
type G1Set = 'none' | 'katakana' | 'latin1' | 'unknown';

/** Escape sequences that designate each set (PS3.3 Tables C.12-3 / C.12-4). */
const G0_ESCAPES: Record<'ascii' | 'roman' | 'jisx0208' | 'jisx0212', readonly number[]> = {
  ascii: [ESC, 0x28, 0x42], // ESC ( B  ISO-IR 6
  roman: [ESC, 0x28, 0x4a], // ESC ( J  ISO-IR 14 (JIS X 0201 Roman)
  jisx0208: [ESC, 0x24, 0x42], // ESC $ B  ISO-IR 87
  jisx0212: [ESC, 0x24, 0x28, 0x44], // ESC $ ( D  ISO-IR 159
};
const G1_ESCAPES: Record<'katakana' | 'latin1', readonly number[]> = {
  katakana: [ESC, 0x29, 0x49], // ESC ) I  ISO-IR 13
  latin1: [ESC, 0x2d, 0x41], // ESC - A  ISO-IR 100
};

/** What a list of Specific Character Set terms means for the codec. */
interface CharsetModel {
  /** Value 1 is ISO_IR 192: the whole value is UTF-8. */
  utf8: boolean;
  /** Assumed initial G0 / G1 designations, from value 1 (PS3.5 §6.1.2.5.1). */
  g0: 'ascii' | 'roman';
  g1: G1Set;
  /** Repertoires the writer may use (value 1 plus code extensions from values 2..n). */
  katakana: boolean;
  latin1: boolean;
  jisx0208: boolean;
  jisx0212: boolean;
  /** Terms this codec does not know (decode ignores them; encode refuses them). */
  unsupported: string[];
}

/** ISO-IR registration number of a Defined Term ("ISO_IR 100", "ISO 2022 IR 87", ...), or undefined. */
function registration(term: string): number | undefined {
  const m = /^ISO(?: 2022)? IR (\d+)$/.exec(term.trim().toUpperCase().replace(/[_\s]+/g, ' '));
  return m ? Number(m[1]) : undefined;
}

function buildModel(charsets: readonly string[]): CharsetModel {
  const model: CharsetModel = {
    utf8: false, g0: 'ascii', g1: 'none',
    katakana: false, latin1: false, jisx0208: false, jisx0212: false, unsupported: [],
  };
  charsets.forEach((term, index) => {
    if (term.trim() === '') return; // empty value 1 = default repertoire (PS3.3 C.12.1.1.2)
    const ir = registration(term);
    switch (ir) {
      case 6: break;
      case 100: model.latin1 = true; if (index === 0) model.g1 = 'latin1'; break;
      case 13:
        model.katakana = true;
        if (index === 0) { model.g0 = 'roman'; model.g1 = 'katakana'; }
        break;
      case 87: model.jisx0208 = true; break;
      case 159: model.jisx0212 = true; break;
      case 192:
        // UTF-8 cannot be combined with code extensions (PS3.3 C.12.1.1.2).
        if (index === 0) model.utf8 = true; else model.unsupported.push(term);
        break;
      default:
        model.unsupported.push(term);
        if (index === 0) model.g1 = 'unknown';
    }
  });
  return model;
}

// ---------------------------------------------------------------------------
// JIS X 0208 / JIS X 0212 tables, built lazily from Node's (full-ICU, WHATWG) EUC-JP decoder:
// a JIS X 0208 pair b1 b2 is EUC-JP (b1|0x80)(b2|0x80); JIS X 0212 is 0x8F (b1|0x80)(b2|0x80).

interface JisTable {
  /** Index (row-1)*94 + (cell-1) -> UTF-16 code unit, 0 if unmapped. */
  decode: Uint16Array;
  /** Code point -> two-byte code (b1 << 8 | b2), standard cells only. */
  encode: Map<number, number>;
}

const jisTables: Partial<Record<'jisx0208' | 'jisx0212', JisTable>> = {};

/**
 * JIS X 0208 cells where the WHATWG index (Windows CP932 practice) departs from the JIS X 0221 /
 * Unicode JIS0208 mapping used by iconv (DCMTK), Python (pydicom) and Java (dcm4che).
 * Decoding follows JIS X 0221; encoding also accepts the CP932 code point as an alias (one way).
 */
const JISX0208_STANDARD: ReadonlyMap<number, { jis: number; cp932: number }> = new Map([
  [0x2141, { jis: 0x301c, cp932: 0xff5e }], // WAVE DASH            vs FULLWIDTH TILDE
  [0x2142, { jis: 0x2016, cp932: 0x2225 }], // DOUBLE VERTICAL LINE vs PARALLEL TO
  [0x215d, { jis: 0x2212, cp932: 0xff0d }], // MINUS SIGN           vs FULLWIDTH HYPHEN-MINUS
  [0x2171, { jis: 0x00a2, cp932: 0xffe0 }], // CENT SIGN            vs FULLWIDTH CENT SIGN
  [0x2172, { jis: 0x00a3, cp932: 0xffe1 }], // POUND SIGN           vs FULLWIDTH POUND SIGN
  [0x224c, { jis: 0x00ac, cp932: 0xffe2 }], // NOT SIGN             vs FULLWIDTH NOT SIGN
]);

function jisTable(set: 'jisx0208' | 'jisx0212'): JisTable {
  const cached = jisTables[set];
  if (cached) return cached;
  const eucjp = new TextDecoder('euc-jp');
  const table: JisTable = { decode: new Uint16Array(94 * 94), encode: new Map() };
  for (let row = 1; row <= 94; row++) {
    for (let cell = 1; cell <= 94; cell++) {
      const b1 = row + 0x20;
      const b2 = cell + 0x20;
      const euc = set === 'jisx0208'
        ? Uint8Array.of(b1 | 0x80, b2 | 0x80)
        : Uint8Array.of(0x8f, b1 | 0x80, b2 | 0x80);
      const text = eucjp.decode(euc);
      if (text.length !== 1 || text === '\ufffd') continue;
      const fixed = set === 'jisx0208' ? JISX0208_STANDARD.get((b1 << 8) | b2) : undefined;
      const unit = fixed ? fixed.jis : text.charCodeAt(0);
      if (fixed) table.encode.set(fixed.cp932, (b1 << 8) | b2);
      table.decode[(row - 1) * 94 + (cell - 1)] = unit;
      // The WHATWG JIS X 0208 index also carries NEC/IBM vendor rows (13, 89-92). They are
      // decoded leniently but never written: JIS X 0208 proper has rows 1-8 and 16-84 only.
      const standard = set === 'jisx0212' || row <= 8 || (row >= 16 && row <= 84);
      if (standard && !table.encode.has(unit)) table.encode.set(unit, (b1 << 8) | b2);
    }
  }
  jisTables[set] = table;
  return table;
}

// ---------------------------------------------------------------------------
// Delimiters (PS3.5 §6.1.2.5.3): the value-1 state is re-established before these.

/** VRs whose Values may be multi-valued, i.e. where "\" (05/12) delimits Values (PS3.5 §6.4). */
const MULTI_VALUED_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'PN', 'SH', 'TM', 'UC', 'UI']);

function isDelimiter(byte: number, vr: string): boolean {
  if (byte < 0x20 && byte !== ESC) return true; // CR, LF, FF, TAB and other control characters
  if (byte === 0x5c) return MULTI_VALUED_VRS.has(vr); // "\" Value delimiter
  if (byte === 0x5e || byte === 0x3d) return vr === 'PN'; // "^" components, "=" component groups
  return false;
}

/** Remove the padding of a value: trailing spaces (PS3.5 §6.2), and the trailing NUL of UI (and stray NULs). */
function trimPadding(text: string): string {
  return text.replace(/[ \0]+$/, '');
}

/**
 * Parse the value of Specific Character Set (0008,0005) into its list of Defined Terms.
 *
 * Each Value is trimmed of insignificant spaces (CS VR, PS3.5 §6.2). A missing or empty attribute
 * means the default repertoire and yields `[]`; an empty Value 1 (e.g. `\ISO 2022 IR 87`) is kept
 * as `''`, meaning ISO-IR 6 is designated to G0 (PS3.3 C.12.1.1.2).
 */
export function parseSpecificCharacterSet(value: string | undefined): string[] {
  if (value === undefined) return [];
  const terms = value.replace(/\0/g, '').split('\\').map((term) => term.trim());
  return terms.every((term) => term === '') ? [] : terms;
}

/**
 * Decode the raw bytes of one text element (VR given: PN, LO, SH, ST, LT, UT, UC, AE, CS, DA, ...)
 * under the Specific Character Set terms (as returned by {@link parseSpecificCharacterSet}).
 *
 * ISO 2022 escape sequences are honoured (PS3.5 §6.1.2.4), and the G0/G1 designations of Value 1
 * are re-established at each delimiter, control character and at the start of the value
 * (PS3.5 §6.1.2.5.3). Never throws: undecodable bytes and unknown escape sequences become U+FFFD.
 * The padding at the end of the whole value (trailing spaces; UI trailing NUL) is removed; spaces
 * around individual Values of a multi-valued element are left to the caller.
 */
export function decodeText(bytes: Uint8Array, charsets: string[], vr: string): string {
  const model = buildModel(charsets);
  const vrName = vr.toUpperCase();
  if (model.utf8) {
    return trimPadding(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
  }

  let g0: G0Set = model.g0;
  let g1: G1Set = model.g1;
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;

    if (b === ESC) {
      // ESC, intermediate bytes 02/00-02/15, final byte 03/00-07/14 (ISO/IEC 2022).
      let j = i + 1;
      while (j < bytes.length && bytes[j]! >= 0x20 && bytes[j]! <= 0x2f) j++;
      const final = j < bytes.length && bytes[j]! >= 0x30 && bytes[j]! <= 0x7e ? bytes[j]! : undefined;
      const seq = String.fromCharCode(...bytes.subarray(i + 1, final === undefined ? j : j + 1));
      i = final === undefined ? j : j + 1;
      switch (seq) {
        case '(B': g0 = 'ascii'; continue;
        case '(J': g0 = 'roman'; continue;
        case '$B': case '$@': case '$(B': g0 = 'jisx0208'; continue; // $@ = JIS C 6226-1978, read as 0208
        case '$(D': g0 = 'jisx0212'; continue;
        case ')I': g1 = 'katakana'; continue;
        case '-A': g1 = 'latin1'; continue;
      }
      // Unknown or truncated: if it designates some other set, that set's characters are unreadable.
      if (final !== undefined && /^(?:[(,]|\$[(,]?)$/.test(seq.slice(0, -1))) g0 = 'unknown';
      else if (final !== undefined && /^(?:[)-]|\$[)-])$/.test(seq.slice(0, -1))) g1 = 'unknown';
      out += '\ufffd';
      continue;
    }

    if (b >= 0x80) {
      // Right half (GR) always shows G1 in the 8-bit environment (PS3.5 §6.1.2.3).
      if (g1 === 'katakana' && b >= 0xa1 && b <= 0xdf) out += String.fromCharCode(0xff61 + b - 0xa1);
      else if (g1 === 'latin1' && b >= 0xa0) out += String.fromCharCode(b);
      else out += '\ufffd';
      i++;
      continue;
    }

    if (b === 0x20 || b < 0x20 || b === 0x7f || g0 === 'ascii' || g0 === 'roman') {
      // Single-byte G0 (JIS X 0201 Roman read as ASCII, see module notes), SPACE or a control.
      out += String.fromCharCode(b);
      if (isDelimiter(b, vrName)) { g0 = model.g0; g1 = model.g1; }
      i++;
      continue;
    }

    if (g0 === 'unknown') { out += '\ufffd'; i++; continue; }

    // Two-byte G0 set: both bytes in 02/01-07/14. Delimiter bytes inside a pair are not delimiters.
    const b2 = bytes[i + 1];
    if (b2 === undefined || b2 < 0x21 || b2 > 0x7e) { out += '\ufffd'; i++; continue; }
    const unit = jisTable(g0).decode[(b - 0x21) * 94 + (b2 - 0x21)]!;
    out += unit === 0 ? '\ufffd' : String.fromCharCode(unit);
    i += 2;
  }
  return trimPadding(out);
}

/**
 * Encode a JS string to DICOM bytes under the given Specific Character Set terms (the writer side).
 *
 * For ISO 2022 terms, each character uses the first repertoire that has it (value-1 sets, then
 * JIS X 0201 katakana, Latin-1, JIS X 0208, JIS X 0212), designating it with an escape sequence
 * when not already active. The Value-1 designations are restored before each delimiter ("^" and
 * "=" in PN, "\" between Values, control characters) and at the end of the value, producing the
 * byte sequences of the PS3.5 Annex H examples (PS3.5 §6.1.2.5.3). The result is padded to even
 * length with a space (0x20), or with NUL for UI (PS3.5 §6.2).
 *
 * @throws Error if a character cannot be represented in the given character sets, or a term is unsupported.
 */
export function encodeText(text: string, charsets: string[], vr: string): Buffer {
  const model = buildModel(charsets);
  const vrName = vr.toUpperCase();
  if (model.unsupported.length > 0) {
    throw new Error(`Unsupported Specific Character Set term(s): ${model.unsupported.map((t) => `"${t}"`).join(', ')}`);
  }
  const out: number[] = [];
  const fail = (ch: string, why: string): never => {
    const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new Error(`Cannot encode character "${ch}" (U+${cp}) with Specific Character Set ` +
      `"${charsets.join('\\')}" (VR ${vrName}): ${why}`);
  };

  if (model.utf8) {
    for (const ch of text) if (/^[\ud800-\udfff]$/u.test(ch)) fail(ch, 'lone surrogate');
    out.push(...Buffer.from(text, 'utf8'));
  } else {
    // Assigned through the closures below, so widen explicitly.
    let g0 = model.g0 as G0Set;
    let g1 = model.g1 as G1Set;
    const designateG0 = (set: 'ascii' | 'roman' | 'jisx0208' | 'jisx0212'): void => {
      if (g0 !== set) { out.push(...G0_ESCAPES[set]); g0 = set; }
    };
    const designateG1 = (set: 'katakana' | 'latin1'): void => {
      if (g1 !== set) { out.push(...G1_ESCAPES[set]); g1 = set; }
    };
    const restoreInitial = (): void => {
      designateG0(model.g0);
      if (g1 !== model.g1) {
        // Value 1 may have no G1 set: then there is nothing to designate, but the reader resets too.
        if (model.g1 === 'katakana' || model.g1 === 'latin1') designateG1(model.g1);
        g1 = model.g1;
      }
    };

    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp === ESC) fail(ch, 'ESC is reserved for code extension');
      if (cp < 0x80 && isDelimiter(cp, vrName)) {
        restoreInitial();
        out.push(cp);
      } else if (cp < 0x80) {
        if (g0 !== 'ascii' && g0 !== 'roman') designateG0(model.g0);
        out.push(cp);
      } else if (model.katakana && cp >= 0xff61 && cp <= 0xff9f) {
        designateG1('katakana');
        out.push(cp - 0xff61 + 0xa1);
      } else if (model.latin1 && cp >= 0xa0 && cp <= 0xff) {
        designateG1('latin1');
        out.push(cp);
      } else if (model.jisx0208 && jisTable('jisx0208').encode.has(cp)) {
        designateG0('jisx0208');
        const code = jisTable('jisx0208').encode.get(cp)!;
        out.push(code >> 8, code & 0xff);
      } else if (model.jisx0212 && jisTable('jisx0212').encode.has(cp)) {
        designateG0('jisx0212');
        const code = jisTable('jisx0212').encode.get(cp)!;
        out.push(code >> 8, code & 0xff);
      } else {
        fail(ch, 'not in any of the repertoires');
      }
    }
    restoreInitial();
  }

  if (out.length % 2 === 1) out.push(vrName === 'UI' ? 0x00 : 0x20);
  return Buffer.from(out);
}

/**
 * Split one decoded PN value into its component groups (PS3.5 §6.2.1): alphabetic, ideographic
 * and phonetic, separated by "=". Missing groups are ''. Split a multi-valued PN on "\" first.
 * Any (invalid) extra "=" stays inside the phonetic group so no text is lost.
 */
export function personNameGroups(value: string): { alphabetic: string; ideographic: string; phonetic: string } {
  const [alphabetic = '', ideographic = '', ...rest] = value.split('=');
  return { alphabetic, ideographic, phonetic: rest.join('=') };
}
