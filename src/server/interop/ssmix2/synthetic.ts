/**
 * A synthetic SS-MIX2 standardized storage tree for tests, demos and benchmarks: N patients with
 * Japanese names, each with the data types Enkaku imports, laid out and named as the SS-MIX2
 * guideline prescribes (see layout.ts) and encoded in ISO-2022-JP (MSH-18 `~ISO IR87`, MSH-20
 * `ISO 2022-1994`, segments ended by CR), as the SS-MIX2 標準化ストレージ仕様書 Ver.1.2 requires.
 * Message shapes follow the sample storage of the SS-MIX2 specification (PID with kanji and kana
 * XPN, PRB/ZPR, IAM, SPM/OBR/ORC/OBX, ORC/RXE/TQ1/RXR, RXC, RXA). No real patient is behind any
 * of it; drug and allergen codes other than the few HOT9/JLAC10 codes of the sample are local
 * (coding system 99XYZ).
 *
 * Per patient: ADT-00 (demographics, height, weight, drug allergy), ADT-61 (allergies; some to
 * iodinated or gadolinium contrast), PPR-01 (diagnoses, one main; diabetes, CKD, ...), OML-11
 * (3-8 visits of creatinine, eGFR (JSN equation), BUN, HbA1c; CKD patients trend to low eGFR),
 * OMP-01 (prescriptions; metformin for most diabetics), OMP-11 (some administrations), OMP-02 and
 * OMP-12 (contrast and infusion injections). Same seed, same bytes.
 *
 * {@link updateSyntheticSsmix2} then changes the tree as a hospital system would later on: a lab
 * result corrected (old file renamed `*_1` to `*_2`, new file written), a new lab visit, and a
 * prescription deleted (renamed `*_1` to `*_0`), to exercise incremental import.
 *
 * Command line:
 *   node --import tsx src/server/interop/ssmix2/synthetic.ts --out <root> [--patients 20] [--seed 1] [--update]
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Hl7Builder, encodeHl7, formatHl7DateTime, repeat, type ClinicalDataType, type Hl7Field } from '../hl7/index.ts';
import { NO_ORDER_NUMBER, ssmix2RelativePath, type Ssmix2FileName } from './layout.ts';

/** MSH-18 of every file: ASCII plus JIS X 0208 through ISO 2022 (SS-MIX2 仕様書: ISO IR87). */
export const SSMIX2_CHARACTER_SET: readonly string[] = Object.freeze(['', 'ISO IR87']);

/** MSH-21 message profile of SS-MIX2 Ver.1.2 (as in the specification's sample storage). */
const SSMIX2_PROFILE = 'SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO';

/** Options of the generator. */
export interface SyntheticSsmix2Options {
  /** Number of patients. */
  patients: number;
  /** Seed of every choice (default 1). */
  seed?: number;
  /** The latest care date of the histories (default 2024-06-03, Japan time). */
  until?: Date;
}

/** A synthetic patient and the facts the tree holds about them. */
export interface SyntheticSsmix2Patient {
  id: string;
  familyName: string;
  givenName: string;
  familyNameKana: string;
  givenNameKana: string;
  sex: 'M' | 'F';
  /** YYYYMMDD. */
  birthDate: string;
  diabetes: boolean;
  ckd: boolean;
  /** Takes metformin (a current prescription). */
  metformin: boolean;
  /** Allergic to a contrast agent (listed in ADT-61). */
  contrastAllergy?: 'iodine' | 'gadolinium';
  /** The latest lab visit's values. */
  latest: { date: string; creatinine: number; egfr: number };
}

/** One lab visit (its values, for rewriting a corrected file). */
interface LabVisit {
  collectedAt: Date;
  creatinine: number;
  bun: number;
  hba1c?: number;
  corrected?: boolean;
}

/** A file of the tree. */
export interface SyntheticSsmix2File {
  /** Path relative to the root, `/` separated. */
  path: string;
  name: Ssmix2FileName;
  dataType: ClinicalDataType;
  /** The message text (segments ended by CR). */
  text: string;
  /** ISO-2022-JP bytes as written. */
  bytes: Buffer;
  /** The patient's index in `patients`. */
  patient: number;
  /** For OML-11: the visit, so an update can rewrite it. */
  lab?: LabVisit;
}

/** A generated tree (in memory; {@link writeSyntheticSsmix2} also writes it). */
export interface SyntheticSsmix2 {
  patients: SyntheticSsmix2Patient[];
  files: SyntheticSsmix2File[];
  /** Seed and end date the tree was made with (updates continue from them). */
  seed: number;
  until: Date;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** Family names (kanji, kana). 日 46 7C, 宮 35 5C, 本 4B 5C: ISO-2022-JP bytes equal to HL7 delimiters. */
const FAMILY: readonly (readonly [string, string])[] = [
  ['山田', 'ヤマダ'], ['日野', 'ヒノ'], ['宮本', 'ミヤモト'], ['松本', 'マツモト'], ['佐々木', 'ササキ'], ['高橋', 'タカハシ'],
  ['渡辺', 'ワタナベ'], ['中村', 'ナカムラ'], ['小林', 'コバヤシ'], ['加藤', 'カトウ'], ['吉田', 'ヨシダ'], ['斎藤', 'サイトウ'],
  ['井上', 'イノウエ'], ['木村', 'キムラ'], ['清水', 'シミズ'], ['池田', 'イケダ'], ['橋本', 'ハシモト'], ['石川', 'イシカワ'],
  ['長谷川', 'ハセガワ'], ['近藤', 'コンドウ'], ['坂本', 'サカモト'], ['遠藤', 'エンドウ'], ['青木', 'アオキ'], ['藤田', 'フジタ'],
];
const GIVEN_M: readonly (readonly [string, string])[] = [
  ['太郎', 'タロウ'], ['一郎', 'イチロウ'], ['健二', 'ケンジ'], ['雄一', 'ユウイチ'], ['翔太', 'ショウタ'], ['大輔', 'ダイスケ'],
  ['直樹', 'ナオキ'], ['誠', 'マコト'], ['浩二', 'コウジ'], ['修', 'オサム'], ['隆', 'タカシ'], ['正雄', 'マサオ'],
];
const GIVEN_F: readonly (readonly [string, string])[] = [
  ['美咲', 'ミサキ'], ['優子', 'ユウコ'], ['花子', 'ハナコ'], ['陽子', 'ヨウコ'], ['恵子', 'ケイコ'], ['真由美', 'マユミ'],
  ['さくら', 'サクラ'], ['由美子', 'ユミコ'], ['明美', 'アケミ'], ['裕子', 'ユウコ'], ['智子', 'トモコ'], ['久美子', 'クミコ'],
];

const HOSPITAL = '東京テスト病院';
const DOCTOR = ['110', '医師', '一郎', undefined, undefined, undefined, undefined, undefined, undefined, 'L', undefined, undefined, undefined, undefined, 'I'];
const DEPARTMENT = ['01', '内科', '99XY1'];

interface Allergen { type: string; typeName: string; code: string; system: string; text: string; reaction: string; severity: [string, string]; contrast?: 'iodine' | 'gadolinium' }
const CONTRAST_ALLERGENS: readonly Allergen[] = [
  { type: 'DA', typeName: '薬剤アレルギー', code: '99A00101', system: '99XYZ', text: 'ヨード造影剤', reaction: '蕁麻疹', severity: ['MO', '中等度'], contrast: 'iodine' },
  { type: 'DA', typeName: '薬剤アレルギー', code: '99A00102', system: '99XYZ', text: 'イオパミロン注３００', reaction: '嘔気・嘔吐', severity: ['MI', '軽度'], contrast: 'iodine' },
  { type: 'DA', typeName: '薬剤アレルギー', code: '99A00103', system: '99XYZ', text: 'ガドリニウム造影剤', reaction: '皮疹', severity: ['MI', '軽度'], contrast: 'gadolinium' },
];
// JLAC10 allergen codes from the SS-MIX2 sample storage (ADT-61).
const OTHER_ALLERGENS: readonly Allergen[] = [
  { type: 'LA', typeName: '花粉アレルギー', code: '5A1002216023023', system: 'JC10', text: 'スギ', reaction: '目のかゆみ', severity: ['MI', '軽度'] },
  { type: 'FA', typeName: '食物アレルギー', code: '5A1002411023006', system: 'JC10', text: 'ソバ', reaction: '湿疹', severity: ['MO', '中等度'] },
  { type: 'EA', typeName: '環境アレルギー', code: '5A1102700023023', system: 'JC10', text: 'ハウスダスト', reaction: 'くしゃみ', severity: ['MI', '軽度'] },
  { type: 'DA', typeName: '薬剤アレルギー', code: '99A00201', system: '99XYZ', text: 'ペニシリン系抗生物質', reaction: '発疹', severity: ['MO', '中等度'] },
];

interface Diagnosis { code: string; system: string; name: string; icd: string; suspected?: boolean; resolved?: boolean }
const DX_DIABETES: Diagnosis = { code: '99D00101', system: '99XYZ', name: '２型糖尿病', icd: 'E119' };
const DX_CKD: Diagnosis = { code: '99D00102', system: '99XYZ', name: '慢性腎臓病', icd: 'N183' };
const DX_OTHER: readonly Diagnosis[] = [
  { code: '99D00103', system: '99XYZ', name: '本態性高血圧症', icd: 'I10' },
  { code: '99D00104', system: '99XYZ', name: '脂質異常症', icd: 'E785' },
  { code: '20054174', system: 'MDCDX2', name: '胃炎', icd: 'K297' }, // MEDIS code of the SS-MIX2 sample storage
  { code: '99D00105', system: '99XYZ', name: '肺癌の疑い', icd: 'C349', suspected: true },
  { code: '99D00106', system: '99XYZ', name: '脳梗塞', icd: 'I639' },
  { code: '99D00107', system: '99XYZ', name: '肺炎', icd: 'J189', resolved: true },
];

interface Drug { code: string; system: string; name: string; dose: number; unit: [string, string]; perDay: number; pattern: [string, string]; metformin?: boolean }
const TID: [string, string] = ['1013044400000000', '内服・経口・１日３回朝昼夕食後'];
const BID: [string, string] = ['1012040400000000', '内服・経口・１日２回朝夕食後'];
const QD: [string, string] = ['1011040000000000', '内服・経口・１日１回朝食後'];
const METFORMIN: readonly Drug[] = [
  { code: '99M00101', system: '99XYZ', name: 'メトグルコ錠２５０ｍｇ', dose: 2, unit: ['TAB', '錠'], perDay: 3, pattern: TID, metformin: true },
  { code: '99M00102', system: '99XYZ', name: 'メトホルミン塩酸塩錠５００ｍｇＭＴ', dose: 1, unit: ['TAB', '錠'], perDay: 2, pattern: BID, metformin: true },
];
const DRUGS: readonly Drug[] = [
  { code: '99M00201', system: '99XYZ', name: 'アムロジピン錠５ｍｇ', dose: 1, unit: ['TAB', '錠'], perDay: 1, pattern: QD },
  { code: '99M00202', system: '99XYZ', name: 'ロスバスタチン錠２．５ｍｇ', dose: 1, unit: ['TAB', '錠'], perDay: 1, pattern: QD },
  { code: '99M00203', system: '99XYZ', name: 'ランソプラゾールＯＤ錠１５ｍｇ', dose: 1, unit: ['TAB', '錠'], perDay: 1, pattern: QD },
  { code: '108665201', system: 'HOT9', name: 'ダーゼン錠（５ｍｇ）', dose: 1, unit: ['TAB', '錠'], perDay: 3, pattern: TID },
  { code: '110626901', system: 'HOT9', name: 'パンスポリンＴ錠（１００ｍｇ）', dose: 2, unit: ['TAB', '錠'], perDay: 3, pattern: TID },
];
const SITAGLIPTIN: Drug = { code: '99M00301', system: '99XYZ', name: 'ジャヌビア錠５０ｍｇ', dose: 1, unit: ['TAB', '錠'], perDay: 1, pattern: QD };

interface Injection { code: string; system: string; name: string; amount: number; unit: [string, string]; contrast?: 'iodine' | 'gadolinium' }
const INJ_IODINE: Injection = { code: '99I00101', system: '99XYZ', name: 'イオパミロン注３００シリンジ１００ｍＬ', amount: 1, unit: ['HON', '本'], contrast: 'iodine' };
const INJ_GADOLINIUM: Injection = { code: '99I00102', system: '99XYZ', name: 'ガドビスト静注１．０ｍｏｌ／Ｌシリンジ７．５ｍＬ', amount: 1, unit: ['HON', '本'], contrast: 'gadolinium' };
// HOT9 codes of the SS-MIX2 sample storage (OMP-02). ソリタ−Ｔ３号 is written with U+2212 (JIS X 0208 1-29).
const INJ_SOLITA: Injection = { code: '620007329', system: 'HOT9', name: 'ソリタ−Ｔ３号輸液５００ｍＬ', amount: 1, unit: ['HON', '本'] };
const INJ_ADONA: Injection = { code: '620002559', system: 'HOT9', name: 'アドナ注（静脈用）５０ｍｇ', amount: 1, unit: ['AMP', 'アンプル'] };

// ---------------------------------------------------------------------------------------------
// Randomness and time

/** Small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function between(rnd: () => number, lo: number, hi: number): number {
  return lo + rnd() * (hi - lo);
}

const DAY = 86_400_000;
const DEFAULT_UNTIL = new Date('2024-06-03T00:15:00Z'); // 09:15 JST

/** YYYYMMDD in Japan time. */
function ymd(d: Date): string {
  return formatHl7DateTime(d, { precision: 'day' });
}

/** YYYYMMDDHHMMSSfff in Japan time (the file name timestamp). */
function stamp17(d: Date): string {
  return formatHl7DateTime(d) + String(d.getUTCMilliseconds()).padStart(3, '0');
}

/** The JSN equation (日本腎臓学会 CKD 診療ガイド): eGFRcreat = 194 x Cr^-1.094 x age^-0.287 (x 0.739 for women). */
export function egfrCreat(creatinine: number, age: number, sex: 'M' | 'F'): number {
  const v = 194 * creatinine ** -1.094 * age ** -0.287 * (sex === 'F' ? 0.739 : 1);
  return Math.round(v * 10) / 10;
}

function ageAt(birthDate: string, at: Date): number {
  const d = ymd(at);
  const years = Number(d.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return d.slice(4) < birthDate.slice(4) ? years - 1 : years;
}

// ---------------------------------------------------------------------------------------------
// Messages

function header(b: Hl7Builder, type: [string, string, string], at: Date): Hl7Builder {
  return b.msh({
    sendingApplication: 'HIS123',
    sendingFacility: 'SEND',
    receivingApplication: 'GW',
    receivingFacility: 'RCV',
    dateTime: formatHl7DateTime(at),
    messageType: { code: type[0], trigger: type[1], structure: type[2] },
    controlId: stamp17(at),
    processingId: 'P',
    version: '2.5',
    characterSet: SSMIX2_CHARACTER_SET,
    alternateCharacterSetHandling: 'ISO 2022-1994',
  });
}

/** The message text with MSH-21 (message profile) appended to MSH, segments ended by CR. */
function finish(b: Hl7Builder): string {
  const text = b.toString();
  const end = text.indexOf('\r');
  return `${text.slice(0, end)}|${SSMIX2_PROFILE}${text.slice(end)}`;
}

function pid(b: Hl7Builder, p: SyntheticSsmix2Patient, full: boolean): void {
  const names = repeat(
    [p.familyName, p.givenName, undefined, undefined, undefined, undefined, 'L', 'I'],
    [p.familyNameKana, p.givenNameKana, undefined, undefined, undefined, undefined, 'L', 'P'],
  );
  const fields: Hl7Field[] = ['0001', undefined, [p.id, undefined, undefined, undefined, 'PI'], undefined, names, undefined, p.birthDate, p.sex];
  if (full) fields.push(undefined, undefined, [undefined, undefined, undefined, undefined, '1000001', 'JPN', 'H', '東京都千代田区千代田１−１']);
  b.segment('PID', ...fields);
}

function orc(b: Hl7Builder, control: string, orderNumber: string, group: string | undefined, at: Date): void {
  b.segment('ORC', control, orderNumber, undefined, group, undefined, undefined, undefined, undefined, formatHl7DateTime(at), undefined, undefined, DOCTOR,
    undefined, undefined, undefined, undefined, DEPARTMENT, undefined, undefined, undefined, HOSPITAL, undefined, undefined, undefined, undefined, undefined, undefined, undefined,
    ['O', '外来患者オーダ', 'HL70482']);
}

function adt00(p: SyntheticSsmix2Patient, at: Date, height: number, weight: number, drugAllergy: Allergen | undefined): string {
  const b = header(new Hl7Builder(), ['ADT', 'A08', 'ADT_A01'], at);
  b.segment('EVN', undefined, formatHl7DateTime(at));
  pid(b, p, true);
  b.segment('PV1', '0001', 'O');
  b.segment('OBX', '1', 'NM', ['9N001000000000001', '身長', 'JC10'], undefined, height.toFixed(1), ['cm', 'cm', 'ISO+'], undefined, undefined, undefined, undefined, 'F');
  b.segment('OBX', '2', 'NM', ['9N006000000000001', '体重', 'JC10'], undefined, weight.toFixed(1), ['kg', 'kg', 'ISO+'], undefined, undefined, undefined, undefined, 'F');
  if (drugAllergy) b.segment('AL1', '1', [drugAllergy.type, drugAllergy.typeName, 'HL70127'], [drugAllergy.code, drugAllergy.text, drugAllergy.system], [drugAllergy.severity[0], drugAllergy.severity[1], 'HL70128'], drugAllergy.reaction);
  return finish(b);
}

function adt61(p: SyntheticSsmix2Patient, at: Date, allergens: readonly { a: Allergen; onset: string }[]): string {
  const b = header(new Hl7Builder(), ['ADT', 'A60', 'ADT_A60'], at);
  b.segment('EVN', undefined, formatHl7DateTime(at));
  pid(b, p, false);
  allergens.forEach(({ a, onset }, i) => {
    b.segment('IAM', String(i + 1), [a.type, a.typeName, 'HL70127'], [a.code, a.text, a.system], [a.severity[0], a.severity[1], 'HL70128'], a.reaction, ['A', '追加', 'HL70323'],
      undefined, undefined, undefined, undefined, onset);
  });
  return finish(b);
}

function ppr01(p: SyntheticSsmix2Patient, at: Date, dx: readonly { d: Diagnosis; onset: Date; main: boolean; instance: string }[]): string {
  const b = header(new Hl7Builder(), ['PPR', 'ZD1', 'PPR_ZD1'], at);
  pid(b, p, false);
  for (const { d, onset, main, instance } of dx) {
    const resolvedAt = d.resolved ? ymd(new Date(onset.getTime() + 21 * DAY)) : undefined;
    b.segment('PRB', 'AD', ymd(at), [d.code, d.name, d.system], instance, undefined, undefined, ymd(onset), undefined, resolvedAt,
      [d.icd, undefined, 'I10', 'O', '外来時', 'JHSD0004'], undefined, undefined, d.suspected ? ['1', '疑いあり', 'JHSD0005'] : undefined,
      d.resolved ? ['F', '治癒', 'HL70241'] : undefined, resolvedAt, ymd(onset), undefined, main ? ['1', '主診断', 'JHSD0007'] : undefined);
    b.segment('ZPR', undefined, [d.code, d.name, d.system]);
  }
  orc(b, 'NW', NO_ORDER_NUMBER, undefined, at);
  return finish(b);
}

function oml11(p: SyntheticSsmix2Patient, at: Date, orderNumber: string, v: LabVisit): string {
  const b = header(new Hl7Builder(), ['OUL', 'R22', 'OUL_R22'], at);
  pid(b, p, false);
  b.segment('PV1', '0001', 'O', ['01', undefined, undefined, undefined, undefined, 'C']);
  const collected = formatHl7DateTime(v.collectedAt, { precision: 'minute' });
  b.segment('SPM', '1', `${orderNumber.slice(-9)}01`, undefined, ['023', '血清', 'JC10'], undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined,
    undefined, undefined, undefined, undefined, collected);
  b.segment('OBR', '1', orderNumber, `${orderNumber.slice(-9)}01`, ['E001', '生化学検査', '99O03'], undefined, undefined, collected, collected, undefined, undefined, undefined, undefined,
    undefined, undefined, undefined, DOCTOR, undefined, undefined, undefined, undefined, undefined, formatHl7DateTime(at));
  b.segment('ORC', 'SC', orderNumber, `${orderNumber.slice(-9)}01`, undefined, 'CM', undefined, undefined, undefined, formatHl7DateTime(at), undefined, undefined, DOCTOR,
    undefined, undefined, undefined, undefined, DEPARTMENT, undefined, undefined, undefined, HOSPITAL);
  const status = v.corrected ? 'C' : 'F';
  const cre = v.creatinine.toFixed(2);
  const high = p.sex === 'F' ? 0.79 : 1.07;
  const egfr = egfrCreat(v.creatinine, ageAt(p.birthDate, v.collectedAt), p.sex);
  let n = 0;
  const obx = (code: string, name: string, value: string, unit: string, range: string, flag: string | undefined): void => {
    b.segment('OBX', String(++n), 'NM', [code, name, 'JC10'], undefined, value, [unit, unit, 'ISO+'], range, flag, undefined, undefined, status, undefined, undefined, collected);
  };
  obx('3C015000002327101', 'クレアチニン', cre, 'mg/dL', p.sex === 'F' ? '0.46-0.79' : '0.65-1.07', v.creatinine > high ? 'H' : undefined);
  obx('8A065000002391901', 'eGFR', egfr.toFixed(1), 'mL/min/1.73m2', '>=60', egfr < 60 ? 'L' : undefined);
  obx('3C025000002327201', '尿素窒素', v.bun.toFixed(1), 'mg/dL', '8.0-20.0', v.bun > 20 ? 'H' : undefined);
  if (v.hba1c !== undefined) obx('3D046000001920402', 'ＨｂＡ１ｃ（ＮＧＳＰ）', v.hba1c.toFixed(1), '%', '4.9-6.0', v.hba1c > 6 ? 'H' : undefined);
  return finish(b);
}

function omp01(p: SyntheticSsmix2Patient, at: Date, orderNumber: string, drugs: readonly { drug: Drug; days: number }[]): string {
  const b = header(new Hl7Builder(), ['RDE', 'O11', 'RDE_O11'], at);
  pid(b, p, false);
  b.segment('PV1', '0001', 'O', ['01', undefined, undefined, undefined, undefined, 'C']);
  drugs.forEach(({ drug, days }, i) => {
    orc(b, 'NW', orderNumber, String(i + 1), at);
    const unit = [drug.unit[0], drug.unit[1], 'MR9P'];
    b.segment('RXE', undefined, [drug.code, drug.name, drug.system], String(drug.dose), undefined, unit, undefined, undefined, undefined, undefined, String(drug.dose * drug.perDay * days), unit,
      undefined, undefined, undefined, `${orderNumber.slice(-8)}${i + 1}`, undefined, undefined, undefined, [String(drug.dose * drug.perDay), [drug.unit[0], drug.unit[1], 'MR9P']], undefined,
      repeat(['OHP', '外来処方', 'MR9P'], ['OHI', '院内処方', 'MR9P']));
    b.segment('TQ1', '1', undefined, [[drug.pattern[0], drug.pattern[1], 'JAMISDP01']], undefined, undefined, [String(days), 'd'], `${ymd(at)}`);
    b.segment('RXR', ['PO', '口', 'HL70162']);
  });
  return finish(b);
}

function omp11(p: SyntheticSsmix2Patient, at: Date, orderNumber: string, drug: Drug): string {
  const b = header(new Hl7Builder(), ['RAS', 'O17', 'RAS_O17'], at);
  pid(b, p, false);
  b.segment('PV1', '0001', 'I', ['32', '302', undefined, undefined, undefined, 'N']);
  orc(b, 'NW', orderNumber, '1', at);
  b.segment('RXA', '0', '1', formatHl7DateTime(at), formatHl7DateTime(at), [drug.code, drug.name, drug.system], String(drug.dose), [drug.unit[0], drug.unit[1], 'MR9P'],
    undefined, undefined, ['200', '看護', '花子', undefined, undefined, undefined, undefined, undefined, undefined, 'L', undefined, undefined, undefined, undefined, 'I'],
    undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'CP');
  b.segment('RXR', ['PO', '口', 'HL70162']);
  return finish(b);
}

function omp02(p: SyntheticSsmix2Patient, at: Date, start: Date, orderNumber: string, components: readonly Injection[]): string {
  const b = header(new Hl7Builder(), ['RDE', 'O11', 'RDE_O11'], at);
  pid(b, p, false);
  b.segment('PV1', '0001', 'O', ['01', undefined, undefined, undefined, undefined, 'C']);
  orc(b, 'NW', orderNumber, `${orderNumber}_01_001`, at);
  const total = components.some((c) => c.name.includes('５００ｍＬ')) ? '500' : '100';
  b.segment('RXE', undefined, ['00', '一般', '99I02'], total, undefined, ['ML', 'ミリリットル', 'MR9P'], ['INJ', '注射剤', 'MR9P']);
  b.segment('TQ1', '1', undefined, undefined, undefined, undefined, undefined, formatHl7DateTime(start));
  b.segment('RXR', ['IV', '静脈内', 'HL70162']);
  components.forEach((c, i) => {
    b.segment('RXC', i === 0 ? 'B' : 'A', [c.code, c.name, c.system], String(c.amount), [c.unit[0], c.unit[1], 'MR9P']);
  });
  return finish(b);
}

function omp12(p: SyntheticSsmix2Patient, at: Date, start: Date, orderNumber: string, components: readonly Injection[]): string {
  const b = header(new Hl7Builder(), ['RAS', 'O17', 'RAS_O17'], at);
  pid(b, p, false);
  b.segment('PV1', '0001', 'O', ['01', undefined, undefined, undefined, undefined, 'C']);
  orc(b, 'NW', orderNumber, `${orderNumber}_01_001`, at);
  for (const c of components) {
    b.segment('RXA', '0', '1', formatHl7DateTime(start), formatHl7DateTime(new Date(start.getTime() + 10 * 60_000)), [c.code, c.name, c.system], String(c.amount), [c.unit[0], c.unit[1], 'MR9P'],
      undefined, undefined, ['200', '看護', '花子', undefined, undefined, undefined, undefined, undefined, undefined, 'L', undefined, undefined, undefined, undefined, 'I'],
      undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'CP');
  }
  b.segment('RXR', ['IV', '静脈内', 'HL70162']);
  return finish(b);
}

// ---------------------------------------------------------------------------------------------
// The tree

function file(patient: number, p: SyntheticSsmix2Patient, dataType: ClinicalDataType, date: string, orderNumber: string, at: Date, department: string, text: string, lab?: LabVisit): SyntheticSsmix2File {
  const name: Ssmix2FileName = { patientId: p.id, date, dataType, orderNumber, timestamp: stamp17(at), department, condition: '1' };
  return { path: ssmix2RelativePath(name), name, dataType, text, bytes: encodeHl7(text, SSMIX2_CHARACTER_SET), patient, ...(lab ? { lab } : {}) };
}

/**
 * Generate a tree in memory (nothing is written). Deterministic for `seed`, `patients` and `until`.
 */
export function syntheticSsmix2(options: SyntheticSsmix2Options): SyntheticSsmix2 {
  const seed = options.seed ?? 1;
  const until = options.until ?? DEFAULT_UNTIL;
  const rnd = random(seed);
  const patients: SyntheticSsmix2Patient[] = [];
  const files: SyntheticSsmix2File[] = [];
  const ids = new Set<string>();
  let orderSeq = Math.floor(rnd() * 1e6) * 1000;
  const nextOrder = (): string => String(10_000_000_000 + ++orderSeq).padStart(15, '0');

  for (let i = 0; i < options.patients; i++) {
    let id: string;
    do id = String(Math.floor(between(rnd, 1e9, 1e10))); while (ids.has(id));
    ids.add(id);
    const sex: 'M' | 'F' = rnd() < 0.5 ? 'M' : 'F';
    const [familyName, familyNameKana] = pick(rnd, FAMILY);
    const [givenName, givenNameKana] = pick(rnd, sex === 'M' ? GIVEN_M : GIVEN_F);
    const birth = new Date(until.getTime() - between(rnd, 30, 88) * 365.25 * DAY);
    const diabetes = rnd() < 0.35;
    const ckd = rnd() < 0.22;
    const metformin = diabetes && rnd() < 0.8;
    const allergyRoll = rnd();
    const contrast = allergyRoll < 0.06 ? CONTRAST_ALLERGENS[2]! : allergyRoll < 0.22 ? pick(rnd, CONTRAST_ALLERGENS.slice(0, 2)) : undefined;
    const p: SyntheticSsmix2Patient = {
      id, familyName, givenName, familyNameKana, givenNameKana, sex, birthDate: ymd(birth), diabetes, ckd, metformin,
      ...(contrast ? { contrastAllergy: contrast.contrast! } : {}),
      latest: { date: '', creatinine: 0, egfr: 0 },
    };
    patients.push(p);
    const registered = new Date(until.getTime() - between(rnd, 800, 1500) * DAY);

    // ADT-00: demographics, height and weight, and a drug allergy for some.
    const height = sex === 'M' ? between(rnd, 160, 180) : between(rnd, 148, 166);
    const weight = (height / 100) ** 2 * between(rnd, 18.5, 28);
    const drugAllergy = rnd() < 0.15 ? OTHER_ALLERGENS[3] : undefined;
    files.push(file(i, p, 'ADT-00', '-', NO_ORDER_NUMBER, registered, '-', adt00(p, registered, height, weight, drugAllergy)));

    // ADT-61: allergies.
    const allergens: { a: Allergen; onset: string }[] = [];
    if (contrast) allergens.push({ a: contrast, onset: ymd(new Date(registered.getTime() - between(rnd, 30, 2000) * DAY)).slice(0, 6) });
    if (rnd() < 0.3) allergens.push({ a: pick(rnd, OTHER_ALLERGENS.slice(0, 3)), onset: ymd(new Date(birth.getTime() + between(rnd, 5, 20) * 365 * DAY)).slice(0, 6) });
    if (allergens.length) {
      const at = new Date(registered.getTime() + 3600_000);
      files.push(file(i, p, 'ADT-61', '-', NO_ORDER_NUMBER, at, '-', adt61(p, at, allergens)));
    }

    // PPR-01: diagnoses (one file with all of them; the first is the main one).
    const dx: { d: Diagnosis; onset: Date; main: boolean; instance: string }[] = [];
    if (diabetes) dx.push({ d: DX_DIABETES, onset: new Date(registered.getTime() - between(rnd, 100, 3000) * DAY), main: false, instance: '' });
    if (ckd) dx.push({ d: DX_CKD, onset: new Date(registered.getTime() - between(rnd, 100, 1500) * DAY), main: false, instance: '' });
    const extra = Math.floor(rnd() * 3) + (dx.length ? 0 : 1);
    for (let k = 0; k < extra; k++) {
      const d = pick(rnd, DX_OTHER);
      if (!dx.some((x) => x.d === d)) dx.push({ d, onset: new Date(registered.getTime() + between(rnd, 0, 600) * DAY), main: false, instance: '' });
    }
    dx[0]!.main = true;
    dx.forEach((x) => (x.instance = nextOrder()));
    const dxAt = new Date(until.getTime() - between(rnd, 20, 200) * DAY);
    files.push(file(i, p, 'PPR-01', '-', NO_ORDER_NUMBER, dxAt, '01', ppr01(p, dxAt, dx)));

    // OML-11: 3-8 lab visits going back from `until`; CKD creatinine rises over time.
    const visits = 3 + Math.floor(rnd() * 6);
    const baseCre = sex === 'F' ? between(rnd, 0.5, 0.8) : between(rnd, 0.65, 1.05);
    const ckdStart = between(rnd, 1.3, 2.0);
    const ckdEnd = rnd() < 0.5 ? between(rnd, 2.4, 4.2) : between(rnd, 1.4, 2.2);
    let day = between(rnd, 0, 20);
    const visitDates: Date[] = [];
    for (let k = 0; k < visits; k++) {
      visitDates.unshift(new Date(until.getTime() - day * DAY - between(rnd, 0, 3) * 3600_000));
      day += between(rnd, 45, 120);
    }
    visitDates.forEach((collectedAt, k) => {
      const progress = visits === 1 ? 1 : k / (visits - 1);
      const creatinine = Math.round((ckd ? ckdStart + (ckdEnd - ckdStart) * progress : baseCre) * (1 + between(rnd, -0.05, 0.05)) * 100) / 100;
      const v: LabVisit = { collectedAt, creatinine, bun: Math.round((10 + creatinine * 9 + between(rnd, -3, 3)) * 10) / 10, ...(diabetes ? { hba1c: Math.round(between(rnd, 6.2, 8.6) * 10) / 10 } : {}) };
      const reported = new Date(collectedAt.getTime() + between(rnd, 1, 5) * 3600_000);
      const orderNumber = nextOrder();
      files.push(file(i, p, 'OML-11', ymd(collectedAt), orderNumber, reported, '01', oml11(p, reported, orderNumber, v), v));
      if (k === visits - 1) p.latest = { date: ymd(collectedAt), creatinine, egfr: egfrCreat(creatinine, ageAt(p.birthDate, collectedAt), sex) };
    });

    // OMP-01: 1-3 prescriptions; the latest one is current.
    const regimen: Drug[] = [];
    if (metformin) regimen.push(pick(rnd, METFORMIN));
    else if (diabetes) regimen.push(SITAGLIPTIN);
    const others = Math.floor(rnd() * 3);
    for (let k = 0; k < others; k++) {
      const d = pick(rnd, DRUGS);
      if (!regimen.includes(d)) regimen.push(d);
    }
    if (regimen.length === 0) regimen.push(pick(rnd, DRUGS));
    const prescriptions = 1 + Math.floor(rnd() * 3);
    for (let k = prescriptions - 1; k >= 0; k--) {
      const at = new Date(until.getTime() - (k * 90 + between(rnd, 1, 25)) * DAY);
      const orderNumber = nextOrder();
      files.push(file(i, p, 'OMP-01', ymd(at), orderNumber, at, '01', omp01(p, at, orderNumber, regimen.map((drug) => ({ drug, days: 28 + 14 * Math.floor(rnd() * 5) })))));
    }
    if (rnd() < 0.2) {
      const at = new Date(until.getTime() - between(rnd, 100, 400) * DAY);
      const orderNumber = nextOrder();
      files.push(file(i, p, 'OMP-11', ymd(at), orderNumber, at, '01', omp11(p, at, orderNumber, regimen[0]!)));
    }

    // OMP-02 / OMP-12: a contrast-enhanced CT or MRI for some, an infusion for others.
    const injectionRoll = rnd();
    if (injectionRoll < 0.55) {
      const components = injectionRoll < 0.3 ? [INJ_IODINE] : injectionRoll < 0.4 ? [INJ_GADOLINIUM] : [INJ_SOLITA, INJ_ADONA];
      const at = new Date(until.getTime() - between(rnd, 30, 700) * DAY);
      const start = new Date(at.getTime() + between(rnd, 1, 10) * DAY);
      const orderNumber = nextOrder();
      // The care date of an order is ORC-9, the day it was ordered (SS-MIX2 構築ガイドライン「診療日」).
      files.push(file(i, p, 'OMP-02', ymd(at), orderNumber, at, '01', omp02(p, at, start, orderNumber, components)));
      if (rnd() < 0.8) {
        const done = new Date(start.getTime() + 3600_000);
        files.push(file(i, p, 'OMP-12', ymd(start), orderNumber, done, '01', omp12(p, done, start, orderNumber, components)));
      }
    }
  }
  return { patients, files, seed, until };
}

async function writeFileAt(root: string, rel: string, bytes: Uint8Array): Promise<void> {
  const target = path.join(root, ...rel.split('/'));
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await fsp.writeFile(target, bytes);
}

/** Generate a tree and write it under `root` (created when missing). */
export async function writeSyntheticSsmix2(root: string, options: SyntheticSsmix2Options): Promise<SyntheticSsmix2> {
  const tree = syntheticSsmix2(options);
  const folders = new Set(tree.files.map((f) => path.join(root, ...f.path.split('/').slice(0, -1))));
  for (const dir of folders) await fsp.mkdir(dir, { recursive: true });
  const queue = [...tree.files];
  // A few writes in flight: thousands of small files.
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await fsp.writeFile(path.join(root, ...f.path.split('/')), f.bytes);
  }));
  return tree;
}

/** What {@link updateSyntheticSsmix2} changed (paths relative to the root). */
export interface SyntheticSsmix2Update {
  /** New files (condition 1): corrected lab results and a new lab visit. */
  written: string[];
  /** Files renamed `*_1` to `*_2` (their new paths). */
  superseded: string[];
  /** Files renamed `*_1` to `*_0` (their new paths). */
  deleted: string[];
}

function renamed(f: SyntheticSsmix2File, condition: '0' | '2'): SyntheticSsmix2File {
  const name = { ...f.name, condition };
  return { ...f, name, path: ssmix2RelativePath(name) };
}

/**
 * Change a written tree as a hospital system would later on (SS-MIX2 condition flags): for about
 * a quarter of the patients (at least one) the latest lab result is corrected (the old file
 * renamed to `*_2`, a new file with OBX-11 `C` and a later timestamp written); the first patient
 * gets a new lab visit; about one in eight prescriptions (at least one) is deleted (renamed to
 * `*_0`). `tree` is updated in place, so updates can be applied again.
 */
export async function updateSyntheticSsmix2(root: string, tree: SyntheticSsmix2, options: { at?: Date } = {}): Promise<SyntheticSsmix2Update> {
  const rnd = random(tree.seed * 7 + tree.files.length);
  const at = options.at ?? new Date(tree.until.getTime() + 2 * DAY);
  const out: SyntheticSsmix2Update = { written: [], superseded: [], deleted: [] };
  const current = (f: SyntheticSsmix2File): boolean => f.name.condition === '1';
  const rename = async (index: number, condition: '0' | '2'): Promise<string> => {
    const f = tree.files[index]!;
    const next = renamed(f, condition);
    await fsp.rename(path.join(root, ...f.path.split('/')), path.join(root, ...next.path.split('/')));
    tree.files[index] = next;
    return next.path;
  };
  let stampSeq = 0;
  const later = (): Date => new Date(at.getTime() + ++stampSeq * 1000);

  // Corrected lab results.
  const chosen = tree.patients.map((_, i) => i).filter((i) => i === 0 || rnd() < 0.25);
  for (const i of chosen) {
    const labs = tree.files.map((f, k) => [f, k] as const).filter(([f]) => f.patient === i && f.dataType === 'OML-11' && current(f) && f.lab);
    const last = labs.at(-1);
    if (!last) continue;
    const [old, k] = last;
    out.superseded.push(await rename(k, '2'));
    const visit: LabVisit = { ...old.lab!, creatinine: Math.round((old.lab!.creatinine + 0.12) * 100) / 100, corrected: true };
    const when = later();
    const p = tree.patients[i]!;
    const f = file(i, p, 'OML-11', old.name.date, old.name.orderNumber, when, old.name.department, oml11(p, when, old.name.orderNumber, visit), visit);
    await writeFileAt(root, f.path, f.bytes);
    tree.files.push(f);
    out.written.push(f.path);
    if (old.name.date === p.latest.date) p.latest = { date: old.name.date, creatinine: visit.creatinine, egfr: egfrCreat(visit.creatinine, ageAt(p.birthDate, visit.collectedAt), p.sex) };
  }

  // A new lab visit for the first patient.
  if (tree.patients[0]) {
    const p = tree.patients[0];
    const collectedAt = new Date(at.getTime() - 3600_000);
    const creatinine = Math.round((p.latest.creatinine || 0.8) * 1.03 * 100) / 100;
    const v: LabVisit = { collectedAt, creatinine, bun: 14.2 };
    const orderNumber = String(90_000_000_000 + tree.files.length).padStart(15, '0');
    const when = later();
    const f = file(0, p, 'OML-11', ymd(collectedAt), orderNumber, when, '01', oml11(p, when, orderNumber, v), v);
    await writeFileAt(root, f.path, f.bytes);
    tree.files.push(f);
    out.written.push(f.path);
    p.latest = { date: ymd(collectedAt), creatinine, egfr: egfrCreat(creatinine, ageAt(p.birthDate, collectedAt), p.sex) };
  }

  // Deleted prescriptions.
  const prescriptions = tree.files.map((f, k) => [f, k] as const).filter(([f]) => f.dataType === 'OMP-01' && current(f));
  const deleting = prescriptions.filter((_, n) => n === 0 || rnd() < 0.125);
  for (const [, k] of deleting) out.deleted.push(await rename(k, '0'));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `Usage: node --import tsx src/server/interop/ssmix2/synthetic.ts --out <root> [options]

Writes a synthetic SS-MIX2 standardized storage tree (ISO-2022-JP, the guideline's layout).

Options:
  --out <root>       storage root (created when missing)
  --patients <n>     number of patients (default 20)
  --seed <n>         seed (default 1); the same seed writes the same bytes
  --update           change an existing tree written with the same --patients and --seed: correct
                     some lab results (old file *_1 -> *_2), add a lab visit, delete a prescription
                     (*_1 -> *_0)
  --help             this text
`;

/**
 * The command line: writes (or, with `--update`, changes) a tree and prints a summary.
 * @returns the exit status (0 done, 2 usage error)
 */
export async function runSyntheticSsmix2Cli(argv: readonly string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let values: { out?: string; patients?: string; seed?: string; update?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { out: { type: 'string' }, patients: { type: 'string' }, seed: { type: 'string' }, update: { type: 'boolean' }, help: { type: 'boolean' } } }));
  } catch (err) {
    out(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const patients = Number(values.patients ?? '20');
  const seed = Number(values.seed ?? '1');
  if (!values.out || !Number.isInteger(patients) || patients < 1 || !Number.isInteger(seed)) {
    out(USAGE);
    return 2;
  }
  if (values.update) {
    const tree = syntheticSsmix2({ patients, seed });
    const u = await updateSyntheticSsmix2(values.out, tree);
    out(`updated ${values.out}: ${u.written.length} new file(s), ${u.superseded.length} superseded (*_2), ${u.deleted.length} deleted (*_0)`);
    return 0;
  }
  const tree = await writeSyntheticSsmix2(values.out, { patients, seed });
  const counts = new Map<string, number>();
  for (const f of tree.files) counts.set(f.dataType, (counts.get(f.dataType) ?? 0) + 1);
  out(`wrote ${tree.files.length} file(s) for ${tree.patients.length} patient(s) under ${values.out}: ${[...counts].map(([t, n]) => `${t} ${n}`).join(', ')}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSyntheticSsmix2Cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}

