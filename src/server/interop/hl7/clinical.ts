/**
 * Clinical context from HL7 v2.5 messages, as SS-MIX2 standardized storage keeps them (one
 * message per file) and as hospital systems send them live: patient demographics, diagnoses,
 * allergies, lab results, prescriptions and injections, translated into the orders module's
 * `PatientInput` and `ClinicalItemInput` (W4). Pure: no I/O, no clock.
 *
 * Messages per SS-MIX2 data type (SS-MIX2 標準化ストレージ 構成の説明と構築ガイドライン Ver.1.2,
 * 表「標準化ストレージ格納データ」; message profiles in SS-MIX2 標準化ストレージ仕様書 Ver.1.2):
 * | data type | message | segments read | JAHIS standard |
 * |---|---|---|---|
 * | ADT-00 患者基本情報 | ADT^A08 (ADT^A23 deletes) | PID, AL1, OBX (live: IAM, DG1 too) | JAHIS データ交換規約(共通編) |
 * | ADT-61 アレルギー情報 | ADT^A60 | PID, IAM (and AL1) | 共通編 |
 * | PPR-01 病名(歴)情報 | PPR^ZD1 | PID, PRB | JAHIS 病名情報データ交換規約 |
 * | OML-11 検体検査結果 | OUL^R22 (live: ORU^R01 too) | PID, SPM, OBR, OBX | JAHIS 臨床検査データ交換規約 |
 * | OMP-01 処方オーダ | RDE^O11 | PID, ORC, RXE, TQ1, RXR | JAHIS 処方データ交換規約 |
 * | OMP-11 処方実施 | RAS^O17 | PID, ORC, RXA, RXR | 処方データ交換規約 |
 * | OMP-02 注射オーダ | RDE^O11 | PID, ORC, RXE, TQ1, RXR, RXC | JAHIS 注射データ交換規約 |
 * | OMP-12 注射実施 | RAS^O17 | PID, ORC, RXA, RXR | 注射データ交換規約 |
 *
 * Choices (documented in docs/hl7-interface.md, "Clinical context from SS-MIX2"):
 * - `sourceKey` is `<keyPrefix>#<MSH-10>#<segment index>` (segment index 1-based, MSH = 1), so an
 *   item is named by where it came from and re-reading the same message yields the same keys.
 * - Code systems are named as in {@link CODE_SYSTEM_NAMES} (JC10 -> JLAC10, I10 -> ICD-10,
 *   MDCDX2 -> MEDIS, HOT9 stays HOT9, local 99xxx codes keep their name).
 * - Times without an offset are Japan time (JAHIS 共通編: 日本標準時) and become UTC ISO 8601;
 *   dates stay dates (`2011-07-01`); a month or year (`199601`, an allergy's onset) reads as its
 *   first day.
 * - Statuses are the FHIR words where there is one: `active`, `suspected`, `resolved`,
 *   `inactive`, `entered-in-error` (deleted at the source), `cancelled`, `discontinued`, lab
 *   `final` / `corrected` / `preliminary`, administrations `administered` / `not-done`.
 * - `category` names what the protocol checks need (W4): allergies `contrast-iodine`,
 *   `contrast-gadolinium`, `contrast` (kind of agent not named) or the HL7 table 0127 allergen
 *   class (`drug`, `food`, ...); labs `creatinine` (serum/plasma, JLAC10 3C015) and `egfr`
 *   (JLAC10 8A065-8A068); drugs `metformin`, `contrast-iodine`, `contrast-gadolinium`;
 *   diagnoses `main` (PRB-18 主診断) or `secondary`.
 * - Item-level problems (a lab value that is not a number, an unreadable date) do not lose the
 *   message: the item is kept or skipped and an {@link ClinicalIssue} names segment and field.
 *   Message-level problems (no PID, no patient ID, an unexpected message type) throw
 *   {@link ClinicalMappingError} naming segment and field.
 */
import type { ClinicalItemInput, PatientInput } from '../../orders/index.ts';
import { Hl7CharsetError, decodeHl7 } from './charset.ts';
import { Hl7Message, Hl7ParseError, type Hl7Segment } from './message.ts';

/** The SS-MIX2 data types that carry clinical context (SS-MIX2 構築ガイドライン Ver.1.2). */
export type ClinicalDataType = 'ADT-00' | 'ADT-61' | 'PPR-01' | 'OML-11' | 'OMP-01' | 'OMP-11' | 'OMP-02' | 'OMP-12';

/** Message types (MSG.1^MSG.2) each data type may hold, and what it is. */
export const CLINICAL_DATA_TYPES: Readonly<Record<ClinicalDataType, { readonly messages: readonly string[]; readonly name: string }>> = Object.freeze({
  'ADT-00': { messages: ['ADT^A08', 'ADT^A23'], name: '患者基本情報' },
  'ADT-61': { messages: ['ADT^A60'], name: 'アレルギー情報' },
  'PPR-01': { messages: ['PPR^ZD1'], name: '病名(歴)情報' },
  'OML-11': { messages: ['OUL^R22'], name: '検体検査結果通知' },
  'OMP-01': { messages: ['RDE^O11'], name: '処方オーダ' },
  'OMP-11': { messages: ['RAS^O17'], name: '処方実施通知' },
  'OMP-02': { messages: ['RDE^O11'], name: '注射オーダ' },
  'OMP-12': { messages: ['RAS^O17'], name: '注射実施通知' },
});

/** Whether a string is one of the clinical data types. */
export function isClinicalDataType(value: string): value is ClinicalDataType {
  return Object.hasOwn(CLINICAL_DATA_TYPES, value);
}

/**
 * HL7 coding system identifiers (CWE.3) as they are written in `ClinicalItemInput.codeSystem`.
 * Identifiers not listed are kept as sent (upper case); an empty one becomes `local`.
 */
export const CODE_SYSTEM_NAMES: Readonly<Record<string, string>> = Object.freeze({
  JC10: 'JLAC10', // 臨床検査項目分類コード第10回改訂 (JAHIS 臨床検査データ交換規約)
  JC11: 'JLAC11',
  I10: 'ICD-10', // HL7 table 0396
  I10P: 'ICD-10',
  MDCDX2: 'MEDIS', // MEDIS 標準病名マスター 病名管理番号 (JAHIS 病名情報データ交換規約)
  MDCDX3: 'MEDIS',
  LN: 'LOINC',
});

/** The name used for an HL7 coding system identifier (see {@link CODE_SYSTEM_NAMES}). */
export function codeSystemName(hl7System: string | undefined): string {
  const id = (hl7System ?? '').trim().toUpperCase();
  if (id === '') return 'local';
  return CODE_SYSTEM_NAMES[id] ?? id;
}

/** Where in the message something is (for errors and issues; no PHI). */
export interface ClinicalLocation {
  /** Segment ID, e.g. `OBX`. */
  segment?: string;
  /** 1-based position of the segment in the message (MSH is 1). */
  segmentIndex?: number;
  /** HL7 path of the field, e.g. `OBX-5`. */
  field?: string;
}

/** A message that cannot be mapped; the message names segment and field. */
export class ClinicalMappingError extends Error {
  override readonly name = 'ClinicalMappingError';
  constructor(
    readonly problem: string,
    readonly location: ClinicalLocation = {},
  ) {
    super(describe(problem, location));
  }
}

/** A problem with one item that did not stop the rest of the message. */
export interface ClinicalIssue extends ClinicalLocation {
  message: string;
}

function describe(problem: string, l: ClinicalLocation): string {
  const where = [l.segmentIndex !== undefined ? `segment ${l.segmentIndex}${l.segment ? ` (${l.segment})` : ''}` : l.segment, l.field]
    .filter(Boolean)
    .join(', ');
  return where ? `${where}: ${problem}` : problem;
}

/** Formats an issue as one line (`segment 5 (OBX), OBX-5: ...`). */
export function formatClinicalIssue(issue: ClinicalIssue): string {
  return describe(issue.message, issue);
}

/** What a mapping needs besides the message. */
export interface ClinicalContext {
  /** The facility the storage or connection belongs to. */
  facilityId: string;
  source: ClinicalItemInput['source'];
  /**
   * Start of every item's `sourceKey` (e.g. the file's path in the storage without its condition
   * flag, or `mllp:<connection>`); `#<MSH-10>#<segment index>` is appended.
   */
  keyPrefix: string;
  /**
   * The SS-MIX2 data type when known (from the folder and file name). It decides prescription
   * versus injection for RDE^O11 and RAS^O17 and is checked against MSH-9; without it the kind
   * is inferred (RXC segments or a parenteral route in RXR-1 mean an injection).
   */
  dataType?: ClinicalDataType;
}

/** The result of mapping one message. */
export interface ClinicalMessage {
  /** The data type the message was read as. */
  dataType: ClinicalDataType;
  /** MSH-10. */
  controlId: string;
  /** MSH-9 as `ADT^A08`. */
  messageType: string;
  /** The patient from PID (every item carries it too). */
  patient: PatientInput;
  /** True for patient demographics (ADT-00 / ADT^A08): apply `patient` with PatientUpdates. */
  demographics: boolean;
  items: ClinicalItemInput[];
  issues: ClinicalIssue[];
}

/** Everything a segment mapper needs from its message. */
export interface SegmentEnv {
  facilityId: string;
  source: ClinicalItemInput['source'];
  patient: PatientInput;
  keyPrefix: string;
  controlId: string;
  /** MSH-7 as an ISO value: the fallback time of items that carry none. */
  messageTime: string;
}

/** One segment's item (absent when the segment holds nothing usable) and its issues. */
export interface SegmentResult {
  item?: ClinicalItemInput;
  issues: ClinicalIssue[];
}

// ---------------------------------------------------------------------------------------------
// Bytes and messages

/**
 * Decode one stored or received message (characters per MSH-18; SS-MIX2 requires ISO-2022-JP:
 * `~ISO IR87`, MSH-20 `ISO 2022-1994`) and map it. Decoding is exact: a byte that is not valid in
 * the declared character set is an error (it would otherwise become U+FFFD in a patient's name).
 *
 * @throws ClinicalMappingError for undecodable bytes, a structurally invalid message, or a
 *   message that cannot be mapped (see {@link mapClinicalMessage}).
 */
export function mapClinicalBytes(bytes: Uint8Array, context: ClinicalContext): ClinicalMessage {
  let text: string;
  let warnings: string[];
  try {
    const decoded = decodeHl7(bytes);
    text = decoded.text;
    warnings = decoded.warnings;
    if (text.includes('\ufffd')) {
      const offset = firstSuspectByte(bytes, decoded.model.encoding);
      const at = offset === undefined ? '' : ` (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at offset ${offset})`;
      const hint = decoded.model.encoding === 'iso-2022' || decoded.model.encoding === 'ascii' ? '; SS-MIX2 files are ISO-2022-JP (7-bit): is it Shift_JIS or UTF-8?' : '';
      throw new ClinicalMappingError(`bytes that are not valid in the declared character set "${decoded.characterSet.join('~')}"${at}${hint}`, { segment: 'MSH', field: 'MSH-18' });
    }
  } catch (err) {
    if (err instanceof ClinicalMappingError) throw err;
    if (err instanceof Hl7CharsetError) throw new ClinicalMappingError(err.message, { segment: err.location.slice(0, 3), field: err.location });
    throw err;
  }
  let message: Hl7Message;
  try {
    const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
    message = Hl7Message.parse(text, { unescape: { decodeHex: utf8 } });
  } catch (err) {
    if (err instanceof Hl7ParseError) {
      throw new ClinicalMappingError(err.message.replace(/^Segment \d+ /, ''), {
        ...(err.location.segment ? { segment: err.location.segment } : {}),
        ...(err.location.segmentIndex !== undefined ? { segmentIndex: err.location.segmentIndex } : {}),
        ...(err.location.field !== undefined ? { field: `${err.location.segment ?? 'MSH'}-${err.location.field}` } : {}),
      });
    }
    throw err;
  }
  const result = mapClinicalMessage(message, context);
  for (const w of warnings) result.issues.push({ message: w, segment: 'MSH', field: 'MSH-18' });
  return result;
}

/** First byte that cannot belong to the encoding (8-bit bytes in a 7-bit ISO 2022 message). */
function firstSuspectByte(bytes: Uint8Array, encoding: string): number | undefined {
  if (encoding !== 'iso-2022' && encoding !== 'ascii') return undefined;
  const i = bytes.findIndex((b) => b >= 0x80);
  return i < 0 ? undefined : i;
}

/**
 * Map one parsed message to the patient and clinical items (see the module comment for the table
 * of message types).
 *
 * @throws ClinicalMappingError when MSH-10 or PID-3 is missing, PID is absent, or the message type
 *   is not a clinical one (or does not match `context.dataType`).
 */
export function mapClinicalMessage(message: Hl7Message, context: ClinicalContext): ClinicalMessage {
  const header = message.header;
  const messageType = `${header.messageType.code}^${header.messageType.trigger}`;
  const dataType = dataTypeOf(messageType, message, context.dataType);
  const controlId = header.controlId.trim();
  if (!controlId) throw new ClinicalMappingError('message control ID is empty', { segment: 'MSH', segmentIndex: 1, field: 'MSH-10' });
  const pid = message.segment('PID');
  if (!pid) throw new ClinicalMappingError(`${messageType} has no PID segment (the patient)`, { segment: 'PID' });
  const issues: ClinicalIssue[] = [];
  const patient = patientFromPid(pid, issues);
  const messageTime = isoTime(header.dateTime) ?? '';
  if (header.dateTime && !messageTime) issues.push({ message: `"${header.dateTime}" is not an HL7 date/time`, segment: 'MSH', segmentIndex: 1, field: 'MSH-7' });
  const env: SegmentEnv = { facilityId: context.facilityId, source: context.source, patient, keyPrefix: context.keyPrefix, controlId, messageTime };
  const items: ClinicalItemInput[] = [];
  const take = (r: SegmentResult): void => {
    if (r.item) items.push(r.item);
    issues.push(...r.issues);
  };
  let demographics = false;

  switch (dataType) {
    case 'ADT-00':
      if (header.messageType.trigger === 'A23') {
        issues.push({ message: 'ADT^A23 (patient record deleted at the facility) is not applied: Enkaku keeps the patient', segment: 'MSH', segmentIndex: 1, field: 'MSH-9' });
        break;
      }
      demographics = true;
      // SS-MIX2 ADT-00 carries AL1 and OBX (height, weight, blood type); live ADT^A08 may add IAM and DG1.
      for (const s of message.segments) {
        if (s.name === 'AL1') take(allergyFromAl1(s, env));
        else if (s.name === 'IAM') take(allergyFromIam(s, env));
        else if (s.name === 'DG1') take(diagnosisFromDg1(s, env));
        else if (s.name === 'OBX') take(labFromObx(s, env, {}));
      }
      break;
    case 'ADT-61':
      for (const s of message.segments) {
        if (s.name === 'IAM') take(allergyFromIam(s, env));
        else if (s.name === 'AL1') take(allergyFromAl1(s, env));
      }
      break;
    case 'PPR-01':
      for (const s of message.segments) if (s.name === 'PRB') take(diagnosisFromPrb(s, env));
      break;
    case 'OML-11': {
      const times: LabTimes = {};
      for (const s of message.segments) {
        if (s.name === 'SPM') times.specimen = s.get(17); // DR: the start of the collection range
        else if (s.name === 'OBR') times.observation = s.get(7);
        else if (s.name === 'OBX') take(labFromObx(s, env, times));
      }
      break;
    }
    case 'OMP-01':
    case 'OMP-02':
      for (const group of orderGroups(message)) {
        for (const r of medicationOrder(group, env, dataType === 'OMP-02' ? 'injection' : 'prescription')) take(r);
      }
      break;
    case 'OMP-11':
    case 'OMP-12':
      for (const group of orderGroups(message)) {
        for (const r of medicationAdministration(group, env, dataType === 'OMP-12' ? 'injection' : 'prescription')) take(r);
      }
      break;
  }
  return { dataType, controlId, messageType, patient, demographics, items, issues };
}

/** The data type of a message: the given one (checked against MSH-9) or the one MSH-9 implies. */
function dataTypeOf(messageType: string, message: Hl7Message, given: ClinicalDataType | undefined): ClinicalDataType {
  const at = { segment: 'MSH', segmentIndex: 1, field: 'MSH-9' };
  if (messageType === '^') throw new ClinicalMappingError('message type is empty', at);
  if (given) {
    if (!CLINICAL_DATA_TYPES[given].messages.includes(messageType)) {
      throw new ClinicalMappingError(`a file of data type ${given} (${CLINICAL_DATA_TYPES[given].name}) holds ${messageType}; expected ${CLINICAL_DATA_TYPES[given].messages.join(' or ')}`, at);
    }
    return given;
  }
  const [code, trigger] = messageType.split('^');
  if (code === 'ADT' && trigger === 'A60') return 'ADT-61';
  if (code === 'ADT' && ['A08', 'A04', 'A01', 'A05', 'A28', 'A31', 'A23'].includes(trigger ?? '')) return 'ADT-00';
  if (code === 'PPR') return 'PPR-01';
  if (messageType === 'OUL^R22' || messageType === 'ORU^R01') return 'OML-11';
  if (messageType === 'RDE^O11') return isParenteral(message) ? 'OMP-02' : 'OMP-01';
  if (messageType === 'RAS^O17') return isParenteral(message) ? 'OMP-12' : 'OMP-11';
  throw new ClinicalMappingError(`${messageType} carries no clinical context Enkaku reads (ADT^A08, ADT^A60, PPR^ZD1, OUL^R22, ORU^R01, RDE^O11, RAS^O17)`, at);
}

/** HL7 table 0162 routes that mean an injection (JAHIS 注射データ交換規約). */
const PARENTERAL_ROUTES = new Set(['IV', 'IM', 'SC', 'ID', 'IA', 'IC', 'IS', 'IT', 'IP', 'IO', 'ICV', 'IVP', 'EP']);

/** Injection orders list their drugs in RXC; administrations name a parenteral route in RXR-1. */
function isParenteral(message: Hl7Message): boolean {
  if (message.segment('RXC')) return true;
  return message.segmentsNamed('RXR').some((s) => PARENTERAL_ROUTES.has((s.get(1) ?? '').toUpperCase()));
}

// ---------------------------------------------------------------------------------------------
// Patient (PID, HL7 v2.5 §3.4.2; JAHIS 共通編)

/**
 * The patient of PID: PID-3 (the repetition typed PI, else the first) gives ID and issuer
 * (CX.1, CX.4); PID-5 repetitions give the kanji (XPN.7 name representation `I`), kana (`P`)
 * and alphabetic (`A`) names as DICOM-style `family^given`; PID-7 the birth date; PID-8 the sex.
 *
 * @throws ClinicalMappingError when PID-3 has no patient ID.
 */
export function patientFromPid(pid: Hl7Segment, issues: ClinicalIssue[] = []): PatientInput {
  const at = (field: string): ClinicalLocation => ({ segment: 'PID', segmentIndex: pid.index, field });
  let rep = 1;
  for (let r = 1; r <= pid.repetitionCount(3); r++) {
    if ((pid.get(3, 5, 1, r) ?? '').toUpperCase() === 'PI') {
      rep = r;
      break;
    }
  }
  const patientId = (pid.get(3, 1, 1, rep) ?? '').trim();
  if (!patientId) throw new ClinicalMappingError('patient ID (CX.1) is empty', at('PID-3'));
  const issuer = (pid.get(3, 4, 1, rep) ?? '').trim();

  const name = { alphabetic: '', ideographic: '', phonetic: '' };
  for (let r = 1; r <= pid.repetitionCount(5); r++) {
    const comps = pid.components(5, r);
    const family = (comps[0]?.[0] ?? '').trim();
    const given = (comps[1]?.[0] ?? '').trim();
    if (!family && !given) continue;
    const pn = given ? `${family}^${given}` : family;
    const rep = (comps[7]?.[0] ?? '').trim().toUpperCase();
    const group: keyof typeof name = rep === 'I' ? 'ideographic' : rep === 'P' ? 'phonetic' : rep === 'A' ? 'alphabetic' : guessGroup(pn);
    if (!name[group]) name[group] = pn;
  }
  if (!name.alphabetic && !name.ideographic && !name.phonetic) issues.push({ message: 'patient name is empty', ...at('PID-5') });

  const rawBirth = (pid.get(7) ?? '').trim();
  let birthDate = '';
  if (rawBirth) {
    const m = /^(\d{8})/.exec(rawBirth);
    if (m && isoTime(m[1]!)) birthDate = m[1]!;
    else issues.push({ message: `birth date "${rawBirth}" is not YYYYMMDD`, ...at('PID-7') });
  }
  const rawSex = (pid.get(8) ?? '').trim().toUpperCase();
  const sex = rawSex === 'M' || rawSex === 'F' || rawSex === 'O' ? rawSex : rawSex === 'A' || rawSex === 'N' ? 'O' : '';
  return { patientId, issuer, name, sex, birthDate };
}

/** Name group of a name without a representation code: ASCII, kana only, or ideographic. */
function guessGroup(pn: string): 'alphabetic' | 'ideographic' | 'phonetic' {
  const letters = pn.replace(/[\^\s]/g, '');
  if (/^[\x20-\x7e]*$/.test(letters)) return 'alphabetic';
  if (/^[\u3040-\u30ff\uff65-\uff9f\u30fc]*$/.test(letters)) return 'phonetic';
  return 'ideographic';
}

// ---------------------------------------------------------------------------------------------
// Times

const TS = /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,4}))?)?([+-]\d{4})?$/;

/**
 * An HL7 TS/DTM value (HL7 v2.5 §2.A.75) as ISO 8601: dates stay dates (`2024-06-03`,
 * `1996-01`, `1996`); a value with a time becomes UTC (`2024-06-03T00:15:00.000Z`), read in Japan
 * time (+09:00) when it has no offset. Undefined when the value is not a valid date/time.
 */
export function isoTime(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  const m = TS.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  if (h === undefined) {
    if (offset !== undefined) return undefined;
    return d !== undefined ? `${y}-${mo}-${d}` : mo !== undefined ? `${y}-${mo}` : y!;
  }
  if (d === undefined) return undefined;
  const hour = Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  const off = offset ?? '+0900';
  const offMinutes = (off[0] === '-' ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(3, 5)));
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offMinutes * 60_000).toISOString();
}

/** The first readable time among candidates (segment fields); unreadable ones become issues. */
function timeOf(seg: Hl7Segment, fields: readonly number[], env: SegmentEnv, issues: ClinicalIssue[], extra: readonly (string | undefined)[] = []): string {
  for (const f of fields) {
    const raw = (seg.get(f) ?? '').trim();
    if (!raw || raw === '""') continue;
    const iso = isoTime(raw);
    if (iso) return fullDate(iso);
    issues.push({ message: `"${raw}" is not an HL7 date/time`, segment: seg.name, segmentIndex: seg.index, field: `${seg.name}-${f}` });
  }
  for (const raw of extra) {
    const iso = isoTime(raw);
    if (iso) return fullDate(iso);
  }
  return env.messageTime;
}

/** Items carry a whole date: a month (`1996-01`, e.g. an allergy's onset) reads as its first day. */
function fullDate(iso: string): string {
  return iso.length === 4 ? `${iso}-01-01` : iso.length === 7 ? `${iso}-01` : iso;
}

// ---------------------------------------------------------------------------------------------
// Classification for the protocol checks (W4)

const GADOLINIUM = /ガドリニウム|ガド[テキペジボブトリ]|gadolin|gadoter|gadobut|gadopent|gadoxet|gadodiam|gadoteridol|マグネビスト|オムニスキャン|プロハンス|ガドビスト|プリモビスト|EOB|\bGd\b|Gd-/i;
const IODINE = /ヨード|ヨウ素|沃素|iod|イオパミ|イオヘキ|イオベル|イオプロ|イオメプ|イオメロン|イオジキ|イオキサ|イオトロ|アミドトリゾ|ウログラフ|ガストログラフ|オムニパーク|オプチレイ|プロスコープ|ビジパーク|ヘキサブリックス|イソビスト|リピオドール|lipiodol|iopamid|iohex|ioversol|iopromid|iomeprol|iodixanol/i;
const CONTRAST = /造影|contrast/i;

/**
 * The contrast agent class a substance name belongs to, if any: `contrast-gadolinium` (MRI
 * agents), `contrast-iodine` (iodinated X-ray and CT agents, ヨード造影剤), `contrast` (a contrast
 * agent whose kind is not named, e.g. 造影剤アレルギー).
 */
export function contrastClass(text: string): 'contrast-iodine' | 'contrast-gadolinium' | 'contrast' | undefined {
  if (GADOLINIUM.test(text)) return 'contrast-gadolinium';
  if (IODINE.test(text)) return 'contrast-iodine';
  if (CONTRAST.test(text)) return 'contrast';
  return undefined;
}

/**
 * Metformin, alone or combined (メトグルコ, グリコラン, エクメット, イニシンク, メトアナ), by name, or
 * by YJ code 3962002 (メトホルミン塩酸塩, 薬効分類 3962 ビグアナイド系製剤).
 */
export function isMetformin(text: string, code: string, codeSystem: string): boolean {
  if (/メトホルミン|metformin|メトグルコ|グリコラン|エクメット|イニシンク|メトアナ/i.test(text)) return true;
  return /^YJ/i.test(codeSystem) && code.startsWith('3962002');
}

/** JLAC10 analyte codes (characters 1-5) of eGFR: 8A065 eGFRcreat, 8A066 eGFRcys, 8A067/8A068 the paediatric forms. */
const EGFR_ANALYTES = new Set(['8A065', '8A066', '8A067', '8A068']);

/**
 * `creatinine` for serum, plasma or blood creatinine (JLAC10 analyte 3C015 with a blood material,
 * characters 10-12 in 017..039; not urine), `egfr` for estimated GFR; by name when the code is local.
 */
export function labClass(code: string, codeSystem: string, text: string): 'creatinine' | 'egfr' | undefined {
  if (codeSystem === 'JLAC10' && /^[0-9A-Z]{17}$/.test(code)) {
    const analyte = code.slice(0, 5);
    if (EGFR_ANALYTES.has(analyte)) return 'egfr';
    const material = Number(code.slice(9, 12));
    if (analyte === '3C015' && material >= 17 && material <= 39) return 'creatinine';
    return undefined;
  }
  if (/eGFR|推算GFR|推定GFR/i.test(text)) return 'egfr';
  if (/クレアチニン|creatinine|^\s*(S-)?Cre?\s*$/i.test(text) && !/尿|urine|クリアランス|clearance/i.test(text)) return 'creatinine';
  return undefined;
}

/** HL7 table 0127 allergen types as `category` words. */
const ALLERGEN_TYPES: Readonly<Record<string, string>> = {
  DA: 'drug',
  FA: 'food',
  MA: 'miscellaneous',
  MC: 'contraindication',
  EA: 'environment',
  AA: 'animal',
  PA: 'plant',
  LA: 'pollen',
};

// ---------------------------------------------------------------------------------------------
// Segment mappers

function key(env: SegmentEnv, seg: Hl7Segment): string {
  return `${env.keyPrefix}#${env.controlId}#${seg.index}`;
}

function base(env: SegmentEnv, seg: Hl7Segment): Pick<ClinicalItemInput, 'facilityId' | 'patient' | 'source' | 'sourceKey'> {
  return { facilityId: env.facilityId, patient: env.patient, source: env.source, sourceKey: key(env, seg) };
}

/** A coded element (CE/CWE) of a segment: code, text and normalised system; undefined when empty. */
function coded(seg: Hl7Segment, field: number, rep = 1): { code: string; text: string; system: string } | undefined {
  const code = (seg.get(field, 1, 1, rep) ?? '').trim();
  const text = (seg.get(field, 2, 1, rep) ?? '').trim();
  if (!code && !text) return undefined;
  return { code, text: text || code, system: codeSystemName(seg.get(field, 3, 1, rep)) };
}

function missing(seg: Hl7Segment, field: number, what: string): SegmentResult {
  return { issues: [{ message: `${what} is empty; the segment is skipped`, segment: seg.name, segmentIndex: seg.index, field: `${seg.name}-${field}` }] };
}

function allergy(seg: Hl7Segment, env: SegmentEnv, substance: { code: string; text: string; system: string }, type: string, observedAt: string, status: string, issues: ClinicalIssue[]): SegmentResult {
  const category = contrastClass(`${substance.text} ${substance.code}`) ?? ALLERGEN_TYPES[type.toUpperCase()];
  return {
    item: {
      ...base(env, seg),
      kind: 'allergy',
      code: substance.code,
      codeSystem: substance.system,
      text: substance.text,
      ...(category ? { category } : {}),
      observedAt,
      status,
    },
    issues,
  };
}

/**
 * AL1 patient allergy information (HL7 v2.5 §3.4.6): AL1-2 allergen type (table 0127), AL1-3
 * allergen, AL1-6 identification date. Status `active`.
 */
export function allergyFromAl1(seg: Hl7Segment, env: SegmentEnv): SegmentResult {
  const substance = coded(seg, 3);
  if (!substance) return missing(seg, 3, 'allergen (AL1-3)');
  const issues: ClinicalIssue[] = [];
  return allergy(seg, env, substance, seg.get(2) ?? '', timeOf(seg, [6], env, issues), 'active', issues);
}

/**
 * IAM patient adverse reaction information (HL7 v2.5 §3.4.7; SS-MIX2 ADT-61): IAM-2 allergen
 * type (table 0127), IAM-3 allergen, IAM-6 action code (table 0323: `D` deleted, status
 * `entered-in-error`), IAM-11 onset date (a month reads as its first day), IAM-13 reported time.
 */
export function allergyFromIam(seg: Hl7Segment, env: SegmentEnv): SegmentResult {
  const substance = coded(seg, 3);
  if (!substance) return missing(seg, 3, 'allergen (IAM-3)');
  const issues: ClinicalIssue[] = [];
  const action = (seg.get(6) ?? '').toUpperCase();
  return allergy(seg, env, substance, seg.get(2) ?? '', timeOf(seg, [11, 13], env, issues), action === 'D' ? 'entered-in-error' : 'active', issues);
}

/**
 * PRB problem detail (HL7 v2.5 §12.4.2; JAHIS 病名情報データ交換規約, SS-MIX2 PPR-01):
 * - code: ICD-10 from PRB-10 (coding system I10) when present, else the MEDIS 病名管理番号 of PRB-3;
 * - text: PRB-3.2 (the disease name as registered, e.g. 胃炎);
 * - observedAt: PRB-16 onset, else PRB-7 established, else PRB-2 action date;
 * - status: `entered-in-error` (PRB-1 DE), `resolved` (PRB-14 outcome F, table 0241), `inactive`
 *   (outcome D, or a PRB-9 resolution date), `suspected` (PRB-13 = 1, JHSD0005 疑いあり), else
 *   `active` (the FHIR Condition clinical and verification status words);
 * - category: `main` when PRB-18 is 1 (JHSD0007 主診断), else `secondary`.
 */
export function diagnosisFromPrb(seg: Hl7Segment, env: SegmentEnv): SegmentResult {
  const problem = coded(seg, 3);
  const classification = coded(seg, 10);
  const icd = classification && classification.system === 'ICD-10' && classification.code ? classification : undefined;
  const chosen = icd ?? problem;
  if (!chosen) return missing(seg, 3, 'problem (PRB-3) and classification (PRB-10)');
  const issues: ClinicalIssue[] = [];
  const text = problem?.text || (seg.get(10, 2) ?? '').trim() || (seg.get(17) ?? '').trim() || chosen.code;
  const action = (seg.get(1) ?? '').toUpperCase();
  const outcome = (seg.get(14) ?? '').toUpperCase();
  const status = action === 'DE' ? 'entered-in-error'
    : outcome === 'F' ? 'resolved'
      : outcome === 'D' || (seg.get(9) ?? '').trim() ? 'inactive'
        : (seg.get(13) ?? '').trim() === '1' ? 'suspected'
          : 'active';
  return {
    item: {
      ...base(env, seg),
      kind: 'diagnosis',
      code: chosen.code,
      codeSystem: chosen.system,
      text,
      category: (seg.get(18) ?? '').trim() === '1' ? 'main' : 'secondary',
      observedAt: timeOf(seg, [16, 7, 2], env, issues),
      status,
    },
    issues,
  };
}

/**
 * DG1 diagnosis (HL7 v2.5 §6.5.2), as orders carry it (JAHIS 放射線データ交換規約 OMG^O19):
 * DG1-3 diagnosis code, DG1-5 date, DG1-6 type (table 0052: A admitting, W working, F final).
 */
export function diagnosisFromDg1(seg: Hl7Segment, env: SegmentEnv): SegmentResult {
  const dx = coded(seg, 3);
  if (!dx) return missing(seg, 3, 'diagnosis (DG1-3)');
  const issues: ClinicalIssue[] = [];
  const type = (seg.get(6) ?? '').toUpperCase();
  return {
    item: {
      ...base(env, seg),
      kind: 'diagnosis',
      code: dx.code,
      codeSystem: dx.system,
      text: dx.text || (seg.get(4) ?? '').trim(),
      category: 'secondary',
      observedAt: timeOf(seg, [5], env, issues),
      status: type === 'W' ? 'suspected' : 'active',
    },
    issues,
  };
}

/** Times that apply to the OBX of one specimen or order group. */
export interface LabTimes {
  /** SPM-17 specimen collection date/time (SS-MIX2 uses it as the OML-11 care date). */
  specimen?: string | undefined;
  /** OBR-7 observation date/time. */
  observation?: string | undefined;
}

/** HL7 table 0085 observation result status as `status` words. */
const RESULT_STATUS: Readonly<Record<string, string>> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'unverified',
  I: 'pending',
  S: 'partial',
  D: 'entered-in-error',
  W: 'entered-in-error',
  X: 'not-obtained',
};

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const COMPARED = /^(<=|>=|<>|<|>|=)\s*\^?\s*([+-]?(\d+(\.\d*)?|\.\d+))$/;

/**
 * OBX observation (HL7 v2.5 §7.4.2; JAHIS 臨床検査データ交換規約; SS-MIX2 OML-11, also ADT-00
 * height and weight): OBX-3 test (JLAC10), OBX-2 value type, OBX-5 value, OBX-6 unit, OBX-11
 * status (table 0085), OBX-14 observation time (else SPM-17, OBR-7, MSH-7).
 * - NM values are numbers; a comparator (`<0.30`, SN `<^0.30`, or SS-MIX2's SN with a space for
 *   `^`) keeps the number in `value` and the whole result in `text` (`クレアチニン <0.30`);
 * - other types (ST, CWE, TX, ...) have no `value`: the result goes into `text` (`血液型-ABO式: A`);
 * - an empty OBX-5 is skipped (no result yet); a NM value that is not a number is kept as text
 *   with an issue.
 */
export function labFromObx(seg: Hl7Segment, env: SegmentEnv, times: LabTimes): SegmentResult {
  const test = coded(seg, 3);
  if (!test) return missing(seg, 3, 'observation identifier (OBX-3)');
  const type = (seg.get(2) ?? '').trim().toUpperCase();
  const rawValue = (type === 'CWE' || type === 'CE' ? (seg.get(5, 2) || seg.get(5, 1)) : seg.get(5)) ?? '';
  const resultStatus = (seg.get(11) ?? '').trim().toUpperCase();
  if (!rawValue.trim() || rawValue === '""') {
    if (resultStatus === 'X' || resultStatus === 'I' || resultStatus === '') return { issues: [] };
    return missing(seg, 5, 'observation value (OBX-5)');
  }
  const issues: ClinicalIssue[] = [];
  let value: number | undefined;
  let text = test.text;
  const raw = (type === 'SN' ? seg.components(5).map((c) => c.join('')).filter(Boolean).join(' ') : rawValue).trim();
  if (type === 'NM' || type === 'SN') {
    const m = COMPARED.exec(raw);
    if (NUMBER.test(raw)) value = Number(raw);
    else if (m) {
      value = Number(m[2]);
      text = `${test.text} ${m[1]}${m[2]}`;
    } else {
      text = `${test.text}: ${raw}`;
      if (type === 'NM') issues.push({ message: `"${raw}" is not a number (value type NM); kept as text`, segment: 'OBX', segmentIndex: seg.index, field: 'OBX-5' });
    }
  } else {
    text = `${test.text}: ${raw}`;
  }
  const unit = ((seg.get(6, 1) || seg.get(6, 2)) ?? '').trim();
  const category = labClass(test.code, test.system, test.text);
  return {
    item: {
      ...base(env, seg),
      kind: 'lab',
      code: test.code,
      codeSystem: test.system,
      text,
      ...(value !== undefined ? { value } : {}),
      ...(unit ? { unit } : {}),
      ...(category ? { category } : {}),
      observedAt: timeOf(seg, [14], env, issues, [times.specimen, times.observation]),
      status: RESULT_STATUS[resultStatus] ?? (resultStatus ? resultStatus : 'final'),
    },
    issues,
  };
}

// ---------------------------------------------------------------------------------------------
// Medication (JAHIS 処方データ交換規約, 注射データ交換規約)

/** The segments of one order (from one ORC to the next). */
interface OrderGroup {
  orc?: Hl7Segment;
  segments: Hl7Segment[];
}

function orderGroups(message: Hl7Message): OrderGroup[] {
  const groups: OrderGroup[] = [];
  let current: OrderGroup | undefined;
  for (const s of message.segments) {
    if (s.name === 'ORC') {
      current = { orc: s, segments: [] };
      groups.push(current);
    } else if (current) current.segments.push(s);
    else if (s.name === 'RXE' || s.name === 'RXA') {
      // Lenient: a medication segment without ORC still counts.
      current = { segments: [s] };
      groups.push(current);
    }
  }
  return groups;
}

/** ORC-1 order control (table 0119) as `status` words. */
function orderStatus(orc: Hl7Segment | undefined): string {
  const control = (orc?.get(1) ?? '').toUpperCase();
  if (control === 'CA' || control === 'OC' || control === 'CR') return 'cancelled';
  if (control === 'DC' || control === 'OD' || control === 'DR') return 'discontinued';
  if (control === 'HD' || control === 'OH') return 'on-hold';
  return 'active';
}

function drugCategory(text: string, code: string, system: string): string | undefined {
  if (isMetformin(text, code, system)) return 'metformin';
  const contrast = contrastClass(text);
  return contrast === 'contrast' ? undefined : contrast;
}

function quantity(seg: Hl7Segment, amountField: number, unitField: number, issues: ClinicalIssue[]): { value?: number; unit?: string } {
  const raw = (seg.get(amountField) ?? '').trim();
  const out: { value?: number; unit?: string } = {};
  if (raw) {
    if (NUMBER.test(raw)) out.value = Number(raw);
    else issues.push({ message: `"${raw}" is not a number`, segment: seg.name, segmentIndex: seg.index, field: `${seg.name}-${amountField}` });
  }
  const unit = ((seg.get(unitField, 2) || seg.get(unitField, 1)) ?? '').trim();
  if (unit) out.unit = unit;
  return out;
}

function medication(seg: Hl7Segment, env: SegmentEnv, kind: 'prescription' | 'injection', drug: { code: string; text: string; system: string }, amount: { value?: number; unit?: string }, observedAt: string, status: string, issues: ClinicalIssue[]): SegmentResult {
  const category = drugCategory(drug.text, drug.code, drug.system);
  return {
    item: {
      ...base(env, seg),
      kind,
      code: drug.code,
      codeSystem: drug.system,
      text: drug.text,
      ...amount,
      ...(category ? { category } : {}),
      observedAt,
      status,
    },
    issues,
  };
}

/**
 * One RDE^O11 order group (ORC, RXE, TQ1, RXR, RXC). Prescriptions (OMP-01): the drug is RXE-2,
 * the dose RXE-3 in RXE-5, the time ORC-9 (when prescribed). Injections (OMP-02): RXE-2 is the
 * injection type (e.g. `00^一般`), the drugs are the RXC segments (RXC-2 component, RXC-3/4
 * amount), the time TQ1-7 (when it is to be given), else ORC-9. Status from ORC-1.
 */
function medicationOrder(group: OrderGroup, env: SegmentEnv, kind: 'prescription' | 'injection'): SegmentResult[] {
  const rxe = group.segments.find((s) => s.name === 'RXE');
  const tq1 = group.segments.find((s) => s.name === 'TQ1');
  const rxcs = group.segments.filter((s) => s.name === 'RXC');
  const status = orderStatus(group.orc);
  const ordered = group.orc?.get(9);
  const start = tq1?.get(7);
  if (kind === 'injection' && rxcs.length > 0) {
    return rxcs.map((rxc) => {
      const drug = coded(rxc, 2);
      if (!drug) return missing(rxc, 2, 'component (RXC-2)');
      const issues: ClinicalIssue[] = [];
      const when = timeOf(rxc, [], env, issues, [start, ordered]);
      return medication(rxc, env, kind, drug, quantity(rxc, 3, 4, issues), when, status, issues);
    });
  }
  if (!rxe) {
    return group.orc ? [{ issues: [{ message: 'order (ORC) without RXE or RXC is skipped', segment: 'ORC', segmentIndex: group.orc.index }] }] : [];
  }
  const drug = coded(rxe, 2);
  if (!drug) return [missing(rxe, 2, 'give code (RXE-2)')];
  const issues: ClinicalIssue[] = [];
  if (kind === 'injection') {
    // JAHIS 注射: RXE-2 is the injection type and the drugs are RXC; without RXC, RXE-2 is all there is.
    issues.push({ message: `injection order without RXC (drug components): RXE-2 "${drug.text}" is read as the drug`, segment: 'RXE', segmentIndex: rxe.index, field: 'RXE-2' });
  }
  const when = kind === 'injection' ? [start, ordered] : [ordered, start];
  return [medication(rxe, env, kind, drug, quantity(rxe, 3, 5, issues), timeOf(rxe, [], env, issues, when), status, issues)];
}

/**
 * HL7 table 0322 completion status as `status` words. A completed administration is
 * `administered` (not `completed`, which for a prescription means the course is over).
 */
const COMPLETION: Readonly<Record<string, string>> = { CP: 'administered', PA: 'partially-administered', RE: 'not-done', NA: 'not-done' };

/**
 * One RAS^O17 group (ORC, RXA..., RXR): each RXA is one administration. Drug RXA-5, amount RXA-6
 * in RXA-7, time RXA-3 (start of administration), status from RXA-20 (table 0322), or
 * `entered-in-error` for RXA-21 = D (table 0323).
 */
function medicationAdministration(group: OrderGroup, env: SegmentEnv, kind: 'prescription' | 'injection'): SegmentResult[] {
  return group.segments.filter((s) => s.name === 'RXA').map((rxa) => {
    const drug = coded(rxa, 5);
    if (!drug) return missing(rxa, 5, 'administered code (RXA-5)');
    const issues: ClinicalIssue[] = [];
    const action = (rxa.get(21) ?? '').toUpperCase();
    const completion = (rxa.get(20) ?? '').toUpperCase();
    const status = action === 'D' ? 'entered-in-error' : COMPLETION[completion] ?? 'administered';
    return medication(rxa, env, kind, drug, quantity(rxa, 6, 7, issues), timeOf(rxa, [3, 4], env, issues, [group.orc?.get(9)]), status, issues);
  });
}
