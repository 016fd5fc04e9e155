/**
 * Synthetic HL7 v2.5 messages shaped like those of Japanese hospital information systems, for
 * tests, demos and benchmarks. No real patient is behind any of them.
 *
 * - OMG^O19 radiology order (JAHIS 放射線データ交換規約 Ver.3.1C, HL7 v2.5 §4.4.1 OMG_O19
 *   structure): MSH, PID (kanji and katakana names as two XPN repetitions, name representation
 *   I and P, table 4000), PV1, optional AL1, then ORC (NW new, XO change, CA cancel), TQ1, OBR
 *   (placer and filler order numbers, JJ1017-32 in OBR-4, reason in OBR-13, accession number in
 *   OBR-18), optional NTE, DG1 and OBX clinical information (e.g. creatinine for contrast checks);
 * - ORM^O01, the older order message still sent by some systems;
 * - ADT^A08 patient update (EVN, PID, PV1, AL1).
 * Text is encoded as ISO-2022-JP (MSH-18 `~ISO IR87`, MSH-20 `ISO 2022-1994`, as JAHIS writes it)
 * or UTF-8 (`UNICODE UTF-8`).
 */
import { Hl7Builder, formatHl7DateTime, repeat, type Hl7HeaderInit } from './builder.ts';
import { encodeHl7 } from './charset.ts';
import { Hl7Message } from './message.ts';

/** A synthetic patient. */
export interface SyntheticPatient {
  id: string;
  familyName: string;
  givenName: string;
  familyNameKana: string;
  givenNameKana: string;
  /** YYYYMMDD. */
  birthDate: string;
  /** HL7 table 0001: M, F, O, U. */
  sex: 'M' | 'F' | 'O' | 'U';
}

/** The order part of a synthetic message. */
export interface SyntheticOrder {
  placerOrderNumber: string;
  fillerOrderNumber: string;
  accessionNumber: string;
  /** JJ1017-32 code in OBR-4. */
  jj1017: string;
  examName: string;
  /** Reason for the exam / clinical question (OBR-13), Japanese. */
  reason: string;
  /** TQ1-9 priority (table 0485): S stat, A ASAP, R routine. */
  priority: 'S' | 'A' | 'R';
  orderingDoctor: { id: string; familyName: string; givenName: string };
  department: { code: string; name: string };
  /** When the exam is wanted. */
  requestedAt: Date;
}

/** Which character set the bytes use. */
export type SyntheticCharset = 'iso-2022-jp' | 'utf-8';

/** Options shared by the generators. */
export interface SyntheticOptions {
  /** Seed for the choices made when a value is not given (same seed, same message). */
  seed?: number;
  charset?: SyntheticCharset;
  controlId?: string;
  /** MSH-7, default 2024-06-03 09:15 JST so that messages are reproducible. */
  dateTime?: Date;
  sendingFacility?: string;
  patient?: Partial<SyntheticPatient>;
}

/** Options of the order generators. */
export interface SyntheticOrderOptions extends SyntheticOptions {
  /** ORC-1: NW new order, XO change, CA cancel (table 0119). */
  control?: 'NW' | 'XO' | 'CA';
  order?: Partial<SyntheticOrder>;
  /** Add AL1 (contrast allergy), DG1 (diagnosis), OBX (creatinine, eGFR) and NTE (comment). */
  clinical?: boolean;
}

/** A generated message. */
export interface SyntheticMessage {
  /** The message text (segments terminated by CR). */
  text: string;
  /** The encoded bytes, as a sender would put them in an MLLP frame. */
  bytes: Buffer;
  /** MSH-18 repetitions. */
  characterSet: string[];
  message: Hl7Message;
  patient: SyntheticPatient;
  order?: SyntheticOrder;
}

/**
 * Names chosen so that their ISO-2022-JP bytes contain HL7 delimiters: 宮 35 5C and 本 4B 5C
 * ("\"), 美 48 7E ("~"), 日 46 7C ("|"), マ 25 5E and ま 24 5E ("^"), ウ 25 26 and う 24 26 ("&").
 */
const PATIENTS: readonly Omit<SyntheticPatient, 'id'>[] = [
  { familyName: '山田', givenName: '太郎', familyNameKana: 'ヤマダ', givenNameKana: 'タロウ', birthDate: '19650401', sex: 'M' },
  { familyName: '宮本', givenName: '美咲', familyNameKana: 'ミヤモト', givenNameKana: 'ミサキ', birthDate: '19880917', sex: 'F' },
  { familyName: '日野', givenName: '優子', familyNameKana: 'ヒノ', givenNameKana: 'ユウコ', birthDate: '19520112', sex: 'F' },
  { familyName: '松本', givenName: '雄一', familyNameKana: 'マツモト', givenNameKana: 'ユウイチ', birthDate: '19400229', sex: 'M' },
  { familyName: '佐々木', givenName: '健二', familyNameKana: 'ササキ', givenNameKana: 'ケンジ', birthDate: '19771230', sex: 'M' },
];

/** JJ1017-32 codes of JJ1017 別表F (頻用コード) with their meanings. */
const EXAMS: readonly { jj1017: string; name: string; reason: string }[] = [
  { jj1017: '10000002000101000000010000000000', name: 'X線単純撮影胸部立位正面', reason: '発熱と咳嗽が続く。肺炎の評価をお願いします。' },
  { jj1017: '60000001000002000000010000000000', name: 'X線CT撮影頭部', reason: '転倒後の頭痛。頭蓋内出血の有無を確認してください。' },
  { jj1017: '99A00002500000000000000000000000', name: '腹部超音波断層撮影法', reason: '肝機能障害の精査。日本語の|区切り^記号~を含む\\依頼&文。' },
];

const DOCTORS = [
  { id: 'D0012', familyName: '鈴木', givenName: '一郎' },
  { id: 'D0345', familyName: '本田', givenName: 'まゆみ' },
];

const DEPARTMENTS = [
  { code: '01', name: '内科' },
  { code: '10', name: '整形外科' },
  { code: '22', name: '救急科' },
];

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

const DEFAULT_DATE = new Date('2024-06-03T00:15:00Z'); // 09:15 JST

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function patientFrom(rnd: () => number, given: Partial<SyntheticPatient> | undefined): SyntheticPatient {
  const base = pick(rnd, PATIENTS);
  return { id: String(10_000_000 + Math.floor(rnd() * 89_999_999)), ...base, ...given };
}

function characterSetOf(charset: SyntheticCharset): string[] {
  return charset === 'utf-8' ? ['UNICODE UTF-8'] : ['', 'ISO IR87'];
}

function header(o: SyntheticOptions, messageType: Hl7HeaderInit['messageType'], rnd: () => number, version = '2.5'): Hl7HeaderInit {
  const charset = o.charset ?? 'iso-2022-jp';
  return {
    sendingApplication: 'HIS',
    sendingFacility: o.sendingFacility ?? '1312345678',
    receivingApplication: 'ENKAKU',
    receivingFacility: 'ENKAKU',
    dateTime: formatHl7DateTime(o.dateTime ?? DEFAULT_DATE),
    messageType,
    controlId: o.controlId ?? `MSG${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`,
    processingId: 'P',
    version,
    acceptAckType: 'AL',
    applicationAckType: 'NE',
    countryCode: 'JPN',
    characterSet: characterSetOf(charset),
    alternateCharacterSetHandling: charset === 'iso-2022-jp' ? 'ISO 2022-1994' : undefined,
  };
}

function pid(b: Hl7Builder, p: SyntheticPatient): void {
  b.segment('PID', '0001', undefined, [p.id, undefined, undefined, undefined, 'PI'], undefined,
    repeat(
      [p.familyName, p.givenName, undefined, undefined, undefined, undefined, 'L', 'I'],
      [p.familyNameKana, p.givenNameKana, undefined, undefined, undefined, undefined, 'L', 'P'],
    ),
    undefined, p.birthDate, p.sex);
}

function pv1(b: Hl7Builder, order: SyntheticOrder | undefined): void {
  const dept = order?.department ?? DEPARTMENTS[0]!;
  b.segment('PV1', '0001', 'O', [dept.code, undefined, undefined, undefined, undefined, undefined, undefined, undefined, dept.name]);
}

function orderFrom(rnd: () => number, given: Partial<SyntheticOrder> | undefined, at: Date): SyntheticOrder {
  const exam = pick(rnd, EXAMS);
  const n = String(Math.floor(rnd() * 1e8)).padStart(8, '0');
  return {
    placerOrderNumber: `${n}`,
    fillerOrderNumber: `R${n}`,
    accessionNumber: `A${n}`,
    jj1017: exam.jj1017,
    examName: exam.name,
    reason: exam.reason,
    priority: 'R',
    orderingDoctor: pick(rnd, DOCTORS),
    department: pick(rnd, DEPARTMENTS),
    requestedAt: new Date(at.getTime() + 2 * 3600_000),
    ...given,
  };
}

function doctor(o: SyntheticOrder): (string | undefined)[] {
  return [o.orderingDoctor.id, o.orderingDoctor.familyName, o.orderingDoctor.givenName];
}

function orderSegments(b: Hl7Builder, o: SyntheticOrder, control: 'NW' | 'XO' | 'CA', at: Date, clinical: boolean, withTq1: boolean): void {
  b.segment('ORC', control, [o.placerOrderNumber, 'HIS'], control === 'NW' ? undefined : [o.fillerOrderNumber, 'RIS'], undefined, undefined, undefined, undefined, undefined,
    formatHl7DateTime(at), undefined, undefined, doctor(o), undefined, undefined, undefined, undefined, [o.department.code, o.department.name]);
  if (withTq1) b.segment('TQ1', '1', undefined, undefined, undefined, undefined, undefined, formatHl7DateTime(o.requestedAt), undefined, o.priority);
  const obr: (string | (string | undefined)[] | undefined)[] = [
    '1', [o.placerOrderNumber, 'HIS'], control === 'NW' ? undefined : [o.fillerOrderNumber, 'RIS'],
    [o.jj1017, o.examName, 'JJ1017-32'], undefined, undefined, formatHl7DateTime(o.requestedAt),
    undefined, undefined, undefined, undefined, undefined, o.reason, undefined, undefined, doctor(o), undefined, o.accessionNumber,
  ];
  b.segment('OBR', ...obr);
  if (!clinical) return;
  b.segment('NTE', '1', 'P', '造影剤使用予定。検査前の絶食をお願いします。');
  b.segment('DG1', '1', undefined, ['J189', '肺炎', 'I10'], undefined, formatHl7DateTime(at, { precision: 'day' }), 'W');
  b.segment('OBX', '1', 'NM', ['3C015000002327101', 'クレアチニン', 'JC10'], undefined, '0.82', ['mg/dL', 'mg/dL', 'ISO+'], '0.46-0.79', 'H', undefined, undefined, 'F');
  b.segment('OBX', '2', 'NM', ['8A065000002391901', 'eGFR', 'JC10'], undefined, '57.3', ['mL/min/{1.73_m2}', 'mL/min/1.73m2', 'UCUM'], '>60', 'L', undefined, undefined, 'F');
}

function finish(b: Hl7Builder, charset: SyntheticCharset, patient: SyntheticPatient, order?: SyntheticOrder): SyntheticMessage {
  const text = b.toString();
  const characterSet = characterSetOf(charset);
  return { text, bytes: encodeHl7(text, characterSet), characterSet, message: Hl7Message.parse(text), patient, ...(order ? { order } : {}) };
}

/** A JAHIS-style OMG^O19 radiology order. */
export function syntheticOmgO19(options: SyntheticOrderOptions = {}): SyntheticMessage {
  const rnd = random(options.seed ?? 1);
  const at = options.dateTime ?? DEFAULT_DATE;
  const patient = patientFrom(rnd, options.patient);
  const order = orderFrom(rnd, options.order, at);
  const b = new Hl7Builder().msh(header(options, { code: 'OMG', trigger: 'O19', structure: 'OMG_O19' }, rnd));
  pid(b, patient);
  pv1(b, order);
  if (options.clinical) b.segment('AL1', '1', 'DA', [undefined, 'ヨード造影剤'], 'MO', '蕁麻疹');
  orderSegments(b, order, options.control ?? 'NW', at, options.clinical ?? false, true);
  return finish(b, options.charset ?? 'iso-2022-jp', patient, order);
}

/** An ORM^O01 order (the older order message; no TQ1). */
export function syntheticOrmO01(options: SyntheticOrderOptions = {}): SyntheticMessage {
  const rnd = random(options.seed ?? 1);
  const at = options.dateTime ?? DEFAULT_DATE;
  const patient = patientFrom(rnd, options.patient);
  const order = orderFrom(rnd, options.order, at);
  const b = new Hl7Builder().msh(header(options, { code: 'ORM', trigger: 'O01', structure: 'ORM_O01' }, rnd));
  pid(b, patient);
  pv1(b, order);
  orderSegments(b, order, options.control ?? 'NW', at, options.clinical ?? false, false);
  return finish(b, options.charset ?? 'iso-2022-jp', patient, order);
}

/** An ADT^A08 patient information update. */
export function syntheticAdtA08(options: SyntheticOptions & { allergies?: boolean } = {}): SyntheticMessage {
  const rnd = random(options.seed ?? 1);
  const at = options.dateTime ?? DEFAULT_DATE;
  const patient = patientFrom(rnd, options.patient);
  const b = new Hl7Builder().msh(header(options, { code: 'ADT', trigger: 'A08', structure: 'ADT_A01' }, rnd));
  b.segment('EVN', 'A08', formatHl7DateTime(at));
  pid(b, patient);
  pv1(b, undefined);
  if (options.allergies) b.segment('AL1', '1', 'DA', [undefined, 'ヨード造影剤'], 'MO', '蕁麻疹');
  return finish(b, options.charset ?? 'iso-2022-jp', patient);
}
