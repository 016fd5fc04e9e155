/**
 * JIS X 0208 and JIS X 0212 code tables for the ISO 2022 codec of `charset.ts`, built once from
 * Node's (full-ICU, WHATWG) EUC-JP decoder: the JIS X 0208 pair b1 b2 is EUC-JP (b1|0x80)(b2|0x80),
 * and JIS X 0212 is 0x8F (b1|0x80)(b2|0x80).
 *
 * Unicode mapping follows JIS X 0221 (e.g. 1-33 is U+301C WAVE DASH), as iconv, Java and the
 * DICOM codec of this project do, so a name read from HL7 and from DICOM compares equal. The six
 * cells where the WHATWG index follows Windows CP932 instead are fixed up here, and their CP932
 * code points are accepted when encoding.
 */

/** A two-byte ISO 2022 94x94 set. */
export interface JisTable {
  /** Index (row-1)*94 + (cell-1) -> UTF-16 code unit, 0 if unmapped. */
  readonly decode: Uint16Array;
  /** Code point -> two-byte code (b1 << 8 | b2), for characters this codec writes. */
  readonly encode: ReadonlyMap<number, number>;
}

/** Cells where the WHATWG index departs from JIS X 0221 (jis: JIS X 0221 code point, cp932: Windows). */
const JISX0208_STANDARD: ReadonlyMap<number, { jis: number; cp932: number }> = new Map([
  [0x2141, { jis: 0x301c, cp932: 0xff5e }], // WAVE DASH            vs FULLWIDTH TILDE
  [0x2142, { jis: 0x2016, cp932: 0x2225 }], // DOUBLE VERTICAL LINE vs PARALLEL TO
  [0x215d, { jis: 0x2212, cp932: 0xff0d }], // MINUS SIGN           vs FULLWIDTH HYPHEN-MINUS
  [0x2171, { jis: 0x00a2, cp932: 0xffe0 }], // CENT SIGN            vs FULLWIDTH CENT SIGN
  [0x2172, { jis: 0x00a3, cp932: 0xffe1 }], // POUND SIGN           vs FULLWIDTH POUND SIGN
  [0x224c, { jis: 0x00ac, cp932: 0xffe2 }], // NOT SIGN             vs FULLWIDTH NOT SIGN
]);

const tables: Partial<Record<'jisx0208' | 'jisx0212', JisTable>> = {};

/**
 * The table of one set. JIS X 0208 as decoded includes the NEC row 13 and the NEC-selected IBM
 * extension rows 89-92 that Windows senders put into ISO-2022-JP (CP50220: 髙 is 7C 62, 﨑 79 75):
 * they are read, but only JIS X 0208 proper (rows 1-8 and 16-84) is written.
 */
export function jisTable(set: 'jisx0208' | 'jisx0212'): JisTable {
  const cached = tables[set];
  if (cached) return cached;
  const eucjp = new TextDecoder('euc-jp');
  const decode = new Uint16Array(94 * 94);
  const encode = new Map<number, number>();
  for (let row = 1; row <= 94; row++) {
    for (let cell = 1; cell <= 94; cell++) {
      const b1 = row + 0x20;
      const b2 = cell + 0x20;
      const euc = set === 'jisx0208' ? Uint8Array.of(b1 | 0x80, b2 | 0x80) : Uint8Array.of(0x8f, b1 | 0x80, b2 | 0x80);
      const text = eucjp.decode(euc);
      if (text.length !== 1 || text === '\ufffd') continue;
      const fixed = set === 'jisx0208' ? JISX0208_STANDARD.get((b1 << 8) | b2) : undefined;
      const unit = fixed ? fixed.jis : text.charCodeAt(0);
      if (fixed) encode.set(fixed.cp932, (b1 << 8) | b2);
      decode[(row - 1) * 94 + (cell - 1)] = unit;
      const standard = set === 'jisx0212' || row <= 8 || (row >= 16 && row <= 84);
      if (standard && !encode.has(unit)) encode.set(unit, (b1 << 8) | b2);
    }
  }
  const table: JisTable = { decode, encode };
  tables[set] = table;
  return table;
}
