/**
 * JJ1017 exam codes (JSRT/JIRA/JAHIS 「HIS、RIS、PACS、モダリティ間予約、会計、照射録情報連携指針」,
 * JJ1017 指針 Ver3.4, 2024; code structure unchanged since Ver3.0, 2005).
 *
 * Forms (指針 §5.2, 表5.1):
 * - JJ1017-32: the 32-character code exchanged between HIS and RIS (HL7 OBR-4, coding system
 *   `JJ1017-32`, JAHIS 放射線データ交換規約 Ver.3.1C);
 * - JJ1017-16M (characters 1-16) and JJ1017-16S (characters 17-32): the halves put into DICOM
 *   code values, which hold at most 16 characters (16M in the Scheduled Protocol Code Sequence,
 *   16S in the Protocol Context Sequence).
 *
 * Layout (positions 1-based, 表5.1):
 *   1 modality (種別) · 2-3 technique major class (手技大分類) · 4-5 technique minor class (手技小分類)
 *   · 6-7 technique extension (手技拡張) · 8-10 body part (部位, 小部位) · 11 laterality (左右等)
 *   · 12 body position (姿勢体位) · 13-14 projection / direction (入射・撮影方向・撮影法)
 *   · 15-16 general extension (拡張(汎用)) | 17-18 detailed position (詳細体位)
 *   · 19-20 special instruction (特殊指示) · 21-22 nuclide / radiation type (核種・線種)
 *   · 23-26 ultrasound image mode (超音波画像モード, hexadecimal flags) · 27-32 reserved (委員会予約, 000000).
 * Characters are 0-9 and A-Z except I and O (指針 §5.4.1); letters in the facility ranges are
 * local extensions (e.g. modality P-Y). A zero-filled element means "not specified".
 *
 * Words are given only for codes whose meaning was found in public text of the guideline:
 * 表5.2 modalities, 表5.5 laterality (the six codes whose meaning is stated; Ver3.4 lists more),
 * 1 立位 / 2 仰臥位 body positions, body parts 100 頭部 / 200 胸部 / 601 脳, and technique minor
 * class 01 造影 (contrast). Any other code is returned as a code, flagged unknown, never guessed.
 * The full 別表 (Ver3.4 tables, published as PDF) are not bundled.
 */

/** The JJ1017 guideline version this module follows. */
export const JJ1017_VERSION = '3.4';

/** Which form a code string is. */
export type Jj1017Form = '32' | '16M' | '16S';

/** Names of the elements of a JJ1017-32 code. */
export type Jj1017ElementName =
  | 'modality' | 'procedureMajor' | 'procedureMinor' | 'procedureExtension' | 'bodyPart' | 'laterality'
  | 'bodyPosition' | 'direction' | 'generalExtension' | 'detailedPosition' | 'specialInstruction'
  | 'nuclide' | 'ultrasoundMode' | 'reserved';

/** Where an element sits in the 32 characters, and what it is called (表5.1). */
export interface Jj1017ElementLayout {
  name: Jj1017ElementName;
  /** 1-based position of the first character in JJ1017-32. */
  position: number;
  length: number;
  ja: string;
  en: string;
}

/** The layout of JJ1017-32 (JJ1017 指針 Ver3.4 表5.1). */
export const JJ1017_LAYOUT: readonly Jj1017ElementLayout[] = Object.freeze([
  { name: 'modality', position: 1, length: 1, ja: '種別', en: 'modality' },
  { name: 'procedureMajor', position: 2, length: 2, ja: '手技(大分類)', en: 'technique major class' },
  { name: 'procedureMinor', position: 4, length: 2, ja: '手技(小分類)', en: 'technique minor class' },
  { name: 'procedureExtension', position: 6, length: 2, ja: '手技(拡張)', en: 'technique extension' },
  { name: 'bodyPart', position: 8, length: 3, ja: '部位', en: 'body part' },
  { name: 'laterality', position: 11, length: 1, ja: '左右等', en: 'laterality' },
  { name: 'bodyPosition', position: 12, length: 1, ja: '姿勢体位', en: 'body position' },
  { name: 'direction', position: 13, length: 2, ja: '入射・撮影方向・撮影法', en: 'projection / direction' },
  { name: 'generalExtension', position: 15, length: 2, ja: '拡張(汎用)', en: 'general extension' },
  { name: 'detailedPosition', position: 17, length: 2, ja: '詳細体位', en: 'detailed position' },
  { name: 'specialInstruction', position: 19, length: 2, ja: '特殊指示', en: 'special instruction' },
  { name: 'nuclide', position: 21, length: 2, ja: '核種(線種)', en: 'nuclide / radiation type' },
  { name: 'ultrasoundMode', position: 23, length: 4, ja: '超音波画像モード', en: 'ultrasound image mode' },
  { name: 'reserved', position: 27, length: 6, ja: '委員会予約', en: 'reserved' },
] satisfies Jj1017ElementLayout[]);

interface Words { ja: string; en: string }

/** 表5.2 種別 (modality), Ver3.4 (F, G, H added in Ver3.4). */
const MODALITIES: Readonly<Record<string, Words>> = {
  0: { ja: '利用法未定', en: 'use not yet defined' },
  1: { ja: 'X線単純撮影', en: 'plain radiography' },
  2: { ja: 'X線透視・造影', en: 'fluoroscopy / contrast radiography' },
  3: { ja: 'X線血管撮影', en: 'angiography' },
  4: { ja: 'X線断層撮影', en: 'conventional tomography' },
  5: { ja: 'X線骨塩定量', en: 'bone densitometry' },
  6: { ja: 'X線CT', en: 'CT' },
  7: { ja: 'MRI', en: 'MRI' },
  8: { ja: '核医学', en: 'nuclear medicine' },
  9: { ja: '超音波', en: 'ultrasound' },
  A: { ja: '体外照射', en: 'external beam radiotherapy' },
  B: { ja: '密封小線源', en: 'brachytherapy (sealed sources)' },
  C: { ja: '温熱療法', en: 'hyperthermia' },
  D: { ja: '血液照射', en: 'blood irradiation' },
  E: { ja: '内用療法', en: 'radionuclide therapy' },
  F: { ja: '乳房X線撮影', en: 'mammography' },
  G: { ja: 'X線単純撮影ポータブル', en: 'portable radiography' },
  H: { ja: '歯科口腔内撮影', en: 'intraoral dental radiography' },
};

/** 表5.5 左右等: the codes whose meaning is stated (Ver3.4 also lists A, F, K, M, P, Q, S). */
const LATERALITY: Readonly<Record<string, Words>> = {
  0: { ja: '指定なし', en: 'not specified' },
  R: { ja: '右側', en: 'right' },
  L: { ja: '左側', en: 'left' },
  B: { ja: '両側', en: 'bilateral' },
  H: { ja: '上側', en: 'upper side' },
  W: { ja: '全体', en: 'whole' },
};
/** Every laterality code of 表5.5 (Ver3.4); codes outside it are not facility-extensible (§5.5). */
const LATERALITY_CODES = new Set(['0', 'B', 'R', 'L', 'H', 'F', 'A', 'P', 'W', 'Q', 'S', 'K', 'M']);

/** 別表5A 姿勢体位 (the codes quoted in public text). */
const BODY_POSITIONS: Readonly<Record<string, Words>> = {
  1: { ja: '立位', en: 'standing' },
  2: { ja: '仰臥位', en: 'supine' },
};

/** 別表3 部位 (小部位; the codes quoted in public text). */
const BODY_PARTS: Readonly<Record<string, Words>> = {
  100: { ja: '頭部', en: 'head' },
  200: { ja: '胸部', en: 'chest' },
  601: { ja: '脳', en: 'brain' },
};

/** 別表1C 手技(小分類) (the codes quoted in public text). */
const PROCEDURE_MINOR: Readonly<Record<string, Words>> = {
  '00': { ja: '指定なし', en: 'not specified' },
  '01': { ja: '造影', en: 'contrast' },
};

/** One element of a parsed code. */
export interface Jj1017Part {
  code: string;
  /** 1-based position in JJ1017-32. */
  position: number;
  /** False when zero-filled (the element is not specified). */
  specified: boolean;
  /** Words for the code when this module knows them (see the module notes). */
  ja?: string;
  en?: string;
  /** The code is in this module's tables. */
  known: boolean;
  /** The code is in the range a facility may define locally (指針 §5.4.2 and following). */
  facilityExtension: boolean;
}

/** A parsed JJ1017 code. Elements outside the given form (16M or 16S) are absent. */
export interface Jj1017Code {
  form: Jj1017Form;
  /** The code as given, without padding. */
  code: string;
  modality?: Jj1017Part;
  procedureMajor?: Jj1017Part;
  procedureMinor?: Jj1017Part;
  procedureExtension?: Jj1017Part;
  bodyPart?: Jj1017Part;
  laterality?: Jj1017Part;
  bodyPosition?: Jj1017Part;
  direction?: Jj1017Part;
  generalExtension?: Jj1017Part;
  detailedPosition?: Jj1017Part;
  specialInstruction?: Jj1017Part;
  nuclide?: Jj1017Part;
  ultrasoundMode?: Jj1017Part;
  reserved?: Jj1017Part;
  /** True when the technique minor class says contrast (01 造影); undefined when not known. */
  contrast?: true;
  /** Specified elements that have a vocabulary here but whose code is not in it (flagged, not guessed). */
  unknown: Jj1017ElementName[];
  /** Oddities that do not make the code invalid (e.g. reserved characters not 0). */
  warnings: string[];
  /** A short description from the known words, e.g. 「X線単純撮影 胸部 立位」 / "plain radiography, chest, standing". */
  description: { ja: string; en: string };
}

/** A code that is not valid JJ1017, naming the position and element at fault. */
export class Jj1017Error extends Error {
  override readonly name = 'Jj1017Error';
  constructor(
    message: string,
    /** 1-based position in JJ1017-32 (0 when the length is wrong). */
    readonly position: number,
    readonly element?: Jj1017ElementName,
  ) {
    super(message);
  }
}

const ALLOWED = /^[0-9A-HJ-NP-Z]$/;

/**
 * The form named by an HL7/DICOM coding system (`JJ1017-32`, `JJ1017-16M`, `JJ1017-16S`; a
 * facility suffix such as `JJ1017-16M/施設略称` is allowed, 指針 §5.4.2), or undefined.
 * The bare name `JJ1017` (HL7 v2 table 0396, "Japanese Image Examination Cache") names no
 * form: given the code, a 32-character one is taken as JJ1017-32; a 16-character one is left
 * alone (16M and 16S cannot be told apart).
 */
export function jj1017FormOf(codingSystem: string | undefined, code?: string): Jj1017Form | undefined {
  const system = (codingSystem ?? '').trim();
  const m = /^JJ1017-(32|16M|16S)(?:\/.*)?$/i.exec(system);
  if (m) return m[1]!.toUpperCase() as Jj1017Form;
  if (/^JJ1017$/i.test(system) && code?.replace(/[ \0]+$/, '').length === 32) return '32';
  return undefined;
}

/**
 * Parse a JJ1017 code. With `form` 'auto', 32 characters are JJ1017-32 and 16 characters are
 * taken as JJ1017-16M (pass '16S' for a Protocol Context code). Trailing spaces (DICOM padding)
 * are ignored.
 *
 * @throws Jj1017Error naming the position for a wrong length or a character outside 0-9 and
 *   A-Z without I and O.
 */
export function parseJj1017(input: string, form: Jj1017Form | 'auto' = 'auto'): Jj1017Code {
  const code = input.replace(/[ \0]+$/, '');
  const expected = form === 'auto' ? (code.length === 32 ? '32' : code.length === 16 ? '16M' : undefined) : form;
  const length = expected === '32' ? 32 : 16;
  if (expected === undefined || code.length !== length) {
    throw new Jj1017Error(`A JJ1017${expected ? `-${expected}` : ''} code has ${expected ? length : '32 (JJ1017-32) or 16 (JJ1017-16M/16S)'} characters, got ${code.length}`, 0);
  }
  const offset = expected === '16S' ? 16 : 0; // position in JJ1017-32 of the first character
  for (let i = 0; i < code.length; i++) {
    const ch = code[i]!;
    if (ALLOWED.test(ch)) continue;
    const position = offset + i + 1;
    const element = elementAt(position);
    const where = expected === '32' ? `position ${position}` : `position ${i + 1} of the JJ1017-${expected} code (position ${position} of JJ1017-32)`;
    const why = ch === 'I' || ch === 'O' ? 'I and O are not used (they read as 1 and 0)'
      : /[a-z]/.test(ch) ? 'letters must be upper case'
      : 'only 0-9 and A-Z are allowed';
    throw new Jj1017Error(`Invalid JJ1017 character ${JSON.stringify(ch)} at ${where} (${element.ja}, ${element.en}): ${why}`, position, element.name);
  }

  const result: Jj1017Code = { form: expected, code, unknown: [], warnings: [], description: { ja: '', en: '' } };
  for (const el of JJ1017_LAYOUT) {
    const start = el.position - 1 - offset;
    if (start < 0 || start + el.length > code.length) continue;
    const value = code.slice(start, start + el.length);
    result[el.name] = describe(el, value, result);
  }
  if (result.procedureMinor?.code === '01') result.contrast = true;
  if (result.reserved && result.reserved.code !== '000000') result.warnings.push('Positions 27-32 are reserved by the JJ1017 committee and should be 000000');
  if (result.ultrasoundMode && !/^[0-9A-F]{4}$/.test(result.ultrasoundMode.code)) result.warnings.push('Positions 23-26 (ultrasound image mode) should be hexadecimal flags');
  result.description = describeCode(result);
  return result;
}

function elementAt(position: number): Jj1017ElementLayout {
  return JJ1017_LAYOUT.find((el) => position >= el.position && position < el.position + el.length)!;
}

function describe(el: Jj1017ElementLayout, code: string, result: Jj1017Code): Jj1017Part {
  const specified = !/^0+$/.test(code);
  const table = el.name === 'modality' ? MODALITIES
    : el.name === 'laterality' ? LATERALITY
    : el.name === 'bodyPosition' ? BODY_POSITIONS
    : el.name === 'bodyPart' ? BODY_PARTS
    : el.name === 'procedureMinor' ? PROCEDURE_MINOR
    : undefined;
  const words = table?.[code];
  const facilityExtension = isFacilityExtension(el.name, code);
  if (el.name === 'laterality' && !LATERALITY_CODES.has(code)) {
    result.warnings.push(`Laterality code "${code}" (position 11) is not in 表5.5, and laterality is not facility-extensible`);
  }
  // Flag codes that a table here could name but does not; elements without a vocabulary here
  // (technique major class, direction, ...) are simply returned as codes.
  if (specified && !words && (el.name === 'modality' || el.name === 'laterality' || el.name === 'bodyPosition' || el.name === 'bodyPart')) {
    result.unknown.push(el.name);
  }
  return {
    code,
    position: el.position,
    specified,
    ...(words ? { ja: words.ja, en: words.en } : {}),
    known: words !== undefined,
    facilityExtension,
  };
}

/** The facility extension ranges of 指針 §5.4.2, §5.5.3, §5.6.2, §5.7.2. */
function isFacilityExtension(name: Jj1017ElementName, code: string): boolean {
  const first = code[0]!;
  switch (name) {
    case 'modality': return /^[P-Y]$/.test(code);
    case 'procedureMajor': case 'procedureMinor':
      return /[A-Z]/.test(first) && !'JPZ'.includes(first);
    case 'procedureExtension': return /[0-9]/.test(first) && code !== '00';
    case 'bodyPart': case 'direction': case 'detailedPosition': case 'specialInstruction': case 'nuclide':
      return /[A-Z]/.test(first) && first !== 'Z';
    case 'bodyPosition': return /^[A-HJ-N]$/.test(code);
    default: return false;
  }
}

function describeCode(c: Jj1017Code): { ja: string; en: string } {
  const parts = [c.modality, c.procedureMinor?.code === '01' ? c.procedureMinor : undefined, c.bodyPart,
    c.laterality?.specified ? c.laterality : undefined, c.bodyPosition];
  const known = parts.filter((p): p is Jj1017Part => !!p && p.specified && p.known);
  return { ja: known.map((p) => p.ja).join(' '), en: known.map((p) => p.en).join(', ') };
}

/** Split JJ1017-32 into the DICOM halves JJ1017-16M (1-16) and JJ1017-16S (17-32). */
export function splitJj1017(code32: string): { m16: string; s16: string } {
  const c = parseJj1017(code32, '32').code;
  return { m16: c.slice(0, 16), s16: c.slice(16) };
}

/** Join JJ1017-16M and JJ1017-16S back into JJ1017-32 (16S defaults to all zeros, i.e. nothing specified). */
export function joinJj1017(m16: string, s16 = '0'.repeat(16)): string {
  const m = parseJj1017(m16, '16M').code;
  const s = parseJj1017(s16, '16S').code;
  return m + s;
}
