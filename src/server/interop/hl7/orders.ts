/**
 * JAHIS radiology order messages to the orders module's shapes (pure functions, no I/O).
 *
 * Messages (JAHIS 放射線データ交換規約 Ver.3.1C, HL7 v2.5 chapter 4):
 * - `OMG^O19` (structure OMG_O19, HL7 v2.5 §4.4.1): MSH, [NTE], [PID [PD1] [NTE] [PV1 [PV2]] [AL1]],
 *   then order groups ORC [{TQ1}] OBR [{NTE}] [{DG1}] [{OBX [{NTE}]}]. JAHIS writes one ORC with the
 *   order control (ORC-1 `NW` new, `XO` change, `CA` cancel), an ORC `PA` for the exam as a whole
 *   (親) and one ORC `CH` per body part or direction (子), each followed by its OBR with a JJ1017
 *   code (JAHIS 放射線データ交換規約 §6.4; HL7 v2.5 §4.5.1.1 ORC-1 PA/CH "parent and child").
 * - `ORM^O01` (HL7 v2.5 §4.4.6), the older order message: the same segments without TQ1 (the
 *   timing is in ORC-7 / OBR-27, TQ data type).
 * - `ADT^A08` (HL7 v2.5 §3.3.8 update patient information): PID only is used here.
 *
 * Every segment, field and code read is listed in docs/hl7-interface.md. Problems are reported as
 * {@link Hl7MappingError} with one issue per problem: the HL7 location (`PID-3`, `ORC[2]-1`) and
 * the table 0357 code that goes into ERR-3 of the acknowledgment.
 */
import type { OrderInput, OrderPriority, PatientInput } from '../../orders/index.ts';
import { jj1017FormOf, parseJj1017, Jj1017Error, type Jj1017Code } from '../../orders/jj1017.ts';
import type { Hl7ErrorCode, Hl7Message, Hl7Segment } from './message.ts';

/** One problem found while mapping a message. */
export interface Hl7MappingIssue {
  /** HL7 table 0357 code for ERR-3. */
  code: Hl7ErrorCode;
  /** Where, as a path (`PID-3`, `OBR[2]-4-3`) or a segment (`PID`). */
  location: string;
  /** What is wrong, for the sender's support staff; never quotes patient data. */
  message: string;
}

/** A message that cannot be turned into an order or a patient update; lists every problem found. */
export class Hl7MappingError extends Error {
  override readonly name = 'Hl7MappingError';
  constructor(readonly issues: readonly Hl7MappingIssue[]) {
    super(issues.map((i) => `${i.location}: ${i.message}`).join('; '));
  }
}

/** What the listener does with a message type. */
export type Hl7MessageKind =
  | { kind: 'order'; reply: { code: string; trigger: string; structure: string } }
  | { kind: 'patient'; reply: { code: string; trigger: string; structure: string } }
  | { kind: 'clinical' }
  | { kind: 'unsupported'; code: 200 | 201; message: string };

/**
 * Clinical messages of SS-MIX2 standardized storage sent live (SS-MIX2 標準化ストレージ仕様書
 * Ver.1.2, mapped by clinical.ts): PPR^ZD1 diagnoses, ADT^A60 allergies, OUL^R22 (and ORU^R01)
 * laboratory results, RDE^O11 and RAS^O17 prescriptions and injections.
 */
const CLINICAL: ReadonlySet<string> = new Set(['PPR^ZD1', 'ADT^A60', 'OUL^R22', 'ORU^R01', 'RDE^O11', 'RAS^O17']);

/**
 * Decide what a message is from MSH-9. The reply types are the application acknowledgments of
 * HL7 v2.5: ORG^O20 for OMG^O19 (§4.4.2; also the reply JAHIS 放射線データ交換規約 §6.4 and IHE-J
 * pair with the order, 放射線検査依頼 OMG/ORG), ORR^O02 for ORM^O01 (§4.4.7) and ACK for ADT (§3.3.8).
 * Unknown message types are 200, known types with an event not taken here 201 (table 0357).
 */
export function classifyHl7Message(code: string, trigger: string): Hl7MessageKind {
  const type = `${code}^${trigger}`;
  if (type === 'OMG^O19') return { kind: 'order', reply: { code: 'ORG', trigger: 'O20', structure: 'ORG_O20' } };
  if (type === 'ORM^O01') return { kind: 'order', reply: { code: 'ORR', trigger: 'O02', structure: 'ORR_O02' } };
  if (type === 'ADT^A08') return { kind: 'patient', reply: { code: 'ACK', trigger: 'A08', structure: 'ACK' } };
  if (CLINICAL.has(type)) return { kind: 'clinical' };
  const known = ['OMG', 'ORM', 'ADT', 'PPR', 'OUL', 'OML', 'RDE', 'RAS', 'OMP', 'ORU', 'OMI'];
  const accepted = `accepted: OMG^O19, ORM^O01, ADT^A08, ${[...CLINICAL].join(', ')}`;
  return known.includes(code)
    ? { kind: 'unsupported', code: 201, message: `event ${trigger || '(none)'} of message type ${code} is not accepted (${accepted})` }
    : { kind: 'unsupported', code: 200, message: `message type ${code || '(none)'} is not accepted (${accepted})` };
}

/**
 * HL7 TS/DTM in Japan time to ISO 8601 UTC (HL7 v2.5 §2.A.75 TS, §2.A.22 DTM):
 * `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. Without an offset the value is Japan time
 * (UTC+9, JAHIS messages carry none); missing parts are the start of the period.
 *
 * @returns the instant, or undefined when the value is not a valid TS
 */
export function hl7TimeToIso(value: string): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', frac = '', tz] = m;
  const n = (v: string): number => Number(v);
  if (n(mo) < 1 || n(mo) > 12 || n(d) < 1 || n(d) > 31 || n(h) > 23 || n(mi) > 59 || n(s) > 59) return undefined;
  const offsetMinutes = tz ? (tz[0] === '-' ? -1 : 1) * (n(tz.slice(1, 3)) * 60 + n(tz.slice(3, 5))) : 9 * 60;
  const ms = Math.round(Number(`0.${frac || '0'}`) * 1000);
  const utc = Date.UTC(n(y!), n(mo) - 1, n(d), n(h), n(mi), n(s), ms) - offsetMinutes * 60_000;
  const date = new Date(utc);
  // Reject 31 February and the like: the local calendar date must round-trip.
  const local = new Date(utc + offsetMinutes * 60_000);
  if (local.getUTCDate() !== n(d) || local.getUTCMonth() !== n(mo) - 1) return undefined;
  return date.toISOString();
}

/** Collects issues while reading one message. */
class Reader {
  readonly issues: Hl7MappingIssue[] = [];
  constructor(readonly message: Hl7Message) {}

  /** `ORC[2]` style name of a segment (occurrence among segments of that name). */
  where(seg: Hl7Segment, field?: number, component?: number): string {
    const occurrence = this.message.segmentsNamed(seg.name).indexOf(seg) + 1;
    const name = occurrence > 1 ? `${seg.name}[${occurrence}]` : seg.name;
    return field === undefined ? name : `${name}-${field}${component !== undefined ? `-${component}` : ''}`;
  }

  issue(code: Hl7ErrorCode, location: string, message: string): void {
    this.issues.push({ code, location, message });
  }

  /** A value with the HL7 null `""` read as absent. */
  value(seg: Hl7Segment | undefined, field: number, component = 1, subcomponent = 1, repetition = 1): string {
    const v = seg?.get(field, component, subcomponent, repetition);
    return v === undefined || v === '""' ? '' : v.trim();
  }

  time(seg: Hl7Segment | undefined, field: number, component = 1): string | undefined {
    const raw = this.value(seg, field, component);
    if (!raw || !seg) return undefined;
    const iso = hl7TimeToIso(raw);
    if (!iso) this.issue(102, this.where(seg, field, component > 1 ? component : undefined), `not an HL7 date/time (TS: YYYYMMDD[HHMM[SS]][+ZZZZ])`);
    return iso;
  }

  fail(): void {
    if (this.issues.some((i) => i.code !== 0)) throw new Hl7MappingError(this.issues);
  }
}

/** XPN-8 name representation code (HL7 table 4000): A alphabetic, I ideographic, P phonetic. */
type NameGroup = 'alphabetic' | 'ideographic' | 'phonetic';

/** Group of a name without XPN-8: Latin letters alphabetic, kana only phonetic, otherwise ideographic. */
function guessGroup(text: string): NameGroup {
  if (/^[\x20-\x7e]*$/.test(text)) return 'alphabetic';
  if (/^[\u3040-\u30ff\uff66-\uff9f\u30fc\u3000\s^・ー]+$/.test(text)) return 'phonetic';
  return 'ideographic';
}

/**
 * The patient of PID (HL7 v2.5 §3.4.2): PID-3 patient identifier list (CX: ID ^ check digit ^
 * scheme ^ assigning authority ^ identifier type; the repetition with type PI, else the first),
 * PID-5 names (XPN: family ^ given ^ middle ^ suffix ^ prefix ^ degree ^ name type (table 0200) ^
 * name representation (table 4000); JAHIS sends 漢字 as representation I and カナ as P, each a
 * repetition), PID-7 birth (TS), PID-8 sex (table 0001).
 */
function readPatient(r: Reader, pid: Hl7Segment | undefined): PatientInput {
  const empty: PatientInput = { patientId: '', issuer: '', name: { alphabetic: '', ideographic: '', phonetic: '' }, sex: '', birthDate: '' };
  if (!pid) {
    r.issue(100, 'PID', 'the PID segment (patient identification) is required');
    return empty;
  }
  const reps = pid.repetitionCount(3);
  let rep = 1;
  for (let i = 1; i <= reps; i++) {
    if (r.value(pid, 3, 5, 1, i).toUpperCase() === 'PI' && r.value(pid, 3, 1, 1, i)) { rep = i; break; }
  }
  const patientId = r.value(pid, 3, 1, 1, rep);
  if (!patientId) r.issue(101, r.where(pid, 3), 'PID-3 (patient identifier list) is required: the facility patient ID in PID-3-1');
  else if (patientId.length > 64) r.issue(102, r.where(pid, 3, 1), 'the patient ID is longer than 64 characters');
  // CX-4 assigning authority (HD): namespace ID, else universal ID.
  const issuer = r.value(pid, 3, 4, 1, rep) || r.value(pid, 3, 4, 2, rep);

  const name: PatientInput['name'] = { alphabetic: '', ideographic: '', phonetic: '' };
  for (let i = 1; i <= pid.repetitionCount(5); i++) {
    const family = r.value(pid, 5, 1, 1, i);
    const given = r.value(pid, 5, 2, 1, i);
    const middle = r.value(pid, 5, 3, 1, i);
    if (!family && !given) continue;
    const representation = r.value(pid, 5, 8, 1, i).toUpperCase();
    const group: NameGroup = representation === 'I' ? 'ideographic' : representation === 'P' ? 'phonetic' : representation === 'A' ? 'alphabetic' : guessGroup(family + given);
    if (name[group]) continue; // the first of each group wins (later ones are aliases, maiden names ...)
    name[group] = [family, given, middle].join('^').replace(/\^+$/, '');
  }
  if (!name.alphabetic && !name.ideographic && !name.phonetic) r.issue(101, r.where(pid, 5), 'PID-5 (patient name) is required');

  const sexCode = r.value(pid, 8).toUpperCase();
  let sex = '';
  if (sexCode === 'M' || sexCode === 'F' || sexCode === 'O') sex = sexCode;
  else if (sexCode === 'A' || sexCode === 'N') sex = 'O';
  else if (sexCode !== '' && sexCode !== 'U') r.issue(103, r.where(pid, 8), 'PID-8 (administrative sex) must be a value of HL7 table 0001 (M, F, O, U, A, N)');

  const birth = r.value(pid, 7);
  let birthDate = '';
  if (birth) {
    if (!hl7TimeToIso(birth) || birth.length < 8) r.issue(102, r.where(pid, 7), 'PID-7 (date of birth) must be an HL7 date (YYYYMMDD)');
    else birthDate = birth.slice(0, 8);
  }
  return { patientId, issuer, name, sex, birthDate };
}

/**
 * Map an ADT^A08 (update patient information) to the patient it describes.
 *
 * @throws Hl7MappingError listing every missing or invalid field (locations and table 0357 codes)
 */
export function mapPatientUpdate(message: Hl7Message): PatientInput {
  const r = new Reader(message);
  const patient = readPatient(r, message.segment('PID'));
  r.fail();
  return patient;
}

/** ORC-1 order control codes taken as a control (HL7 table 0119). */
const CONTROL: Readonly<Record<string, OrderInput['control']>> = {
  NW: 'new',
  XO: 'change',
  CA: 'cancel',
  // Sent by some systems for the same intents: order cancelled / discontinued, changed as requested.
  OC: 'cancel',
  DC: 'cancel',
  XX: 'change',
};

/** One order group: the ORC carrying the control, then its PA parent and CH children with their OBRs. */
interface OrderGroup {
  control: Hl7Segment;
  parent?: Hl7Segment;
  /** Segments after each ORC until the next ORC, keyed by that ORC. */
  details: Map<Hl7Segment, Hl7Segment[]>;
  children: Hl7Segment[];
}

/** Split the segments after PID/PV1 into order groups (HL7 v2.5 §4.4.1 ORDER group, §4.5.1.1 PA/CH). */
function orderGroups(r: Reader): OrderGroup[] {
  const groups: OrderGroup[] = [];
  let current: OrderGroup | undefined;
  let currentOrc: Hl7Segment | undefined;
  for (const seg of r.message.segments) {
    if (seg.name === 'ORC') {
      const code = r.value(seg, 1).toUpperCase();
      currentOrc = seg;
      if (code === 'PA' || code === 'CH') {
        if (!current) {
          r.issue(100, r.where(seg), `ORC-1 ${code} (parent/child) must follow an ORC with the order control (NW, XO or CA)`);
          continue;
        }
        if (code === 'PA') current.parent = seg;
        else current.children.push(seg);
        current.details.set(seg, []);
        continue;
      }
      if (!code) r.issue(101, r.where(seg, 1), 'ORC-1 (order control) is required: NW new, XO change, CA cancel');
      else if (!CONTROL[code]) r.issue(103, r.where(seg, 1), `ORC-1 order control "${code}" is not taken here (HL7 table 0119: NW new, XO change, CA cancel; PA/CH parent and child)`);
      current = { control: seg, details: new Map([[seg, []]]), children: [] };
      groups.push(current);
      continue;
    }
    if (currentOrc && current) current.details.get(currentOrc)?.push(seg);
  }
  return groups;
}

/** TQ1-9 / TQ-6 priority (HL7 tables 0485 and 0027): S stat, A ASAP, R routine, P preop, C callback, T timing critical. */
function priorityOf(code: string): OrderPriority | undefined {
  switch (code.toUpperCase()) {
    case 'S': return 'stat';
    case 'A': case 'P': case 'C': case 'T': return 'urgent';
    case 'R': case '': return 'routine';
    default: return undefined;
  }
}

/** JJ1017 modality (種別, 表5.2) to the DICOM modality (PS3.3 C.7.3.1.1.1) of the exam. */
export const JJ1017_MODALITY: Readonly<Record<string, string>> = {
  1: 'CR', 2: 'RF', 3: 'XA', 4: 'CR', 5: 'BMD', 6: 'CT', 7: 'MR', 8: 'NM', 9: 'US', F: 'MG', G: 'DX', H: 'IO',
};

/** DICOM modalities accepted from OBR-24 (diagnostic service section) when no JJ1017 code names one. */
export const DICOM_MODALITIES = new Set(['CR', 'CT', 'DX', 'MR', 'NM', 'PT', 'US', 'XA', 'RF', 'MG', 'IO', 'OT', 'BMD', 'ES', 'PX', 'RG', 'SC']);

/** The procedure of an OBR-4 (CWE): identifier, text and, when JAHIS codes it, the parsed JJ1017 code. */
interface Procedure { code: string; text: string; jj?: Jj1017Code }

function readProcedure(r: Reader, obr: Hl7Segment): Procedure | undefined {
  const code = r.value(obr, 4, 1);
  const text = r.value(obr, 4, 2);
  if (!code && !text) return undefined;
  // The JJ1017 code may be the primary (components 1-3) or the alternate coding (4-6) of OBR-4.
  for (const [c, s] of [[1, 3], [4, 6]] as const) {
    const value = r.value(obr, 4, c);
    const form = jj1017FormOf(r.value(obr, 4, s), value);
    if (!form || !value) continue;
    try {
      return { code: value, text: text || r.value(obr, 4, 5), jj: parseJj1017(value, form) };
    } catch (e) {
      if (!(e instanceof Jj1017Error)) throw e;
      r.issue(102, r.where(obr, 4, c), `OBR-4 is coded ${r.value(obr, 4, s)} but is not a valid JJ1017 code: ${e.message}`);
      return { code: value, text };
    }
  }
  return { code, text };
}

/** Whether an exam name asks for contrast (造影) and does not say plain (単純, 非造影). */
export function contrastInText(text: string): boolean {
  return /造影/.test(text) && !/(非|無)造影|造影なし|単純/.test(text);
}

/** A body part of a JJ1017 code in words, with its laterality when specified. */
export function bodyPartOf(jj: Jj1017Code | undefined): string {
  if (!jj) return '';
  return words(jj.bodyPart) + (jj.laterality?.specified ? ` ${words(jj.laterality)}` : '');
}

function words(part: { ja?: string; code: string; specified: boolean } | undefined): string {
  if (!part || !part.specified) return '';
  return part.ja ?? part.code;
}

/** XCN (ORC-12, OBR-16): ID ^ family ^ given: the name as "family given", else the ID. */
function personName(r: Reader, seg: Hl7Segment | undefined, field: number): string {
  if (!seg) return '';
  const name = [r.value(seg, field, 2), r.value(seg, field, 3)].filter(Boolean).join(' ');
  return name || r.value(seg, field, 1);
}

/**
 * Map an order message (OMG^O19 or ORM^O01) to the orders it carries: one {@link OrderInput}
 * per order group (an ORC with NW/XO/CA and its PA/CH children). Field sources, in order of
 * preference:
 * - placer / filler order number: ORC-2 / ORC-3 (EI), else OBR-2 / OBR-3 (HL7 v2.5 §4.5.1.2-3);
 * - accession number: OBR-18 (placer field 1), else IPC-1 (Accession Identifier, HL7 v2.5.1
 *   IPC), else empty (the RIS assigns it later). Which field JAHIS 放射線データ交換規約 uses for
 *   it in OMG^O19 could not be confirmed from the text available to us; HL7 v2.5's OMG_O19
 *   structure has no IPC segment (IPC belongs to OMI, the RIS-to-PACS message), so IPC-1 is
 *   read only when a sender adds it (docs/hl7-interface.md, "Accession number");
 * - priority: TQ1-9 (table 0485), else OBR-27-6 / ORC-7-6 (TQ, ORM^O01), routine when absent;
 * - procedure: OBR-4 (CWE) of the PA parent's OBR, else of the first OBR, with JJ1017-32/16M/16S
 *   in its coding system (JAHIS 放射線データ交換規約: OBR-4 JJ1017-32), or the bare HL7 table 0396
 *   name JJ1017 with a 32-character code; modality and contrast
 *   (technique minor class 01 造影) from the code, body parts from every child's JJ1017 code;
 * - reason: OBR-31 (reason for study, CWE text), OBR-13 (relevant clinical information);
 *   clinical notes: NTE-3 of the order groups, DG1-4 diagnoses and OBX observations;
 * - requester: ORC-12 (XCN), else OBR-16; department: ORC-17 (entering organization), else PV1-3;
 * - requested at: ORC-9 (date/time of transaction), else MSH-7; scheduled at: TQ1-7, else
 *   OBR-6, else OBR-7 (all Japan time, converted to UTC);
 * - message identity: MSH-10 (`#n` appended per order when a message carries several), and
 *   MSH-7 as the message time that orders the messages of one order.
 *
 * @param context.facilityId the facility the sender is registered for
 * @throws Hl7MappingError listing every missing or invalid field
 */
export function mapOrderMessage(message: Hl7Message, context: { facilityId: string }): OrderInput[] {
  const r = new Reader(message);
  const header = message.header;
  const patient = readPatient(r, message.segment('PID'));
  const pv1 = message.segment('PV1');
  const groups = orderGroups(r);
  // MSH-7 orders the messages of one order: an older message never overwrites a newer one.
  const messageTime = header.dateTime ? hl7TimeToIso(header.dateTime) : undefined;
  if (groups.length === 0 && !r.issues.some((i) => i.location.startsWith('ORC'))) {
    r.issue(100, 'ORC', 'at least one ORC segment (common order) with ORC-1 NW, XO or CA is required');
  }
  const orders: OrderInput[] = [];
  groups.forEach((g, index) => {
    const control = CONTROL[r.value(g.control, 1).toUpperCase()] ?? 'new';
    const segsOf = (orc: Hl7Segment | undefined): Hl7Segment[] => (orc ? g.details.get(orc) ?? [] : []);
    const all = [g.control, ...(g.parent ? [g.parent] : []), ...g.children].flatMap((orc) => segsOf(orc));
    const firstObr = all.find((s) => s.name === 'OBR');
    const mainObr = segsOf(g.parent).find((s) => s.name === 'OBR') ?? segsOf(g.control).find((s) => s.name === 'OBR') ?? firstObr;
    const tq1 = all.find((s) => s.name === 'TQ1');
    const orcs = [g.control, g.parent].filter((s): s is Hl7Segment => !!s);

    const placer = orcs.map((o) => r.value(o, 2)).find(Boolean) || r.value(mainObr, 2);
    if (!placer) r.issue(101, r.where(g.control, 2), 'ORC-2 (placer order number) is required (or OBR-2)');
    const filler = orcs.map((o) => r.value(o, 3)).find(Boolean) || r.value(mainObr, 3);
    const accession = r.value(mainObr, 18) || r.value(all.find((s) => s.name === 'IPC'), 1) || r.value(message.segment('IPC'), 1);

    const priorityCode = tq1 ? r.value(tq1, 9) : r.value(mainObr, 27, 6) || r.value(g.control, 7, 6);
    const priority = priorityOf(priorityCode);
    if (!priority) {
      const at = tq1 ? r.where(tq1, 9) : r.value(mainObr, 27, 6) ? r.where(mainObr!, 27, 6) : r.where(g.control, 7, 6);
      r.issue(103, at, `priority "${priorityCode}" is not in HL7 table 0485 (S stat, A ASAP, R routine)`);
    }

    let procedure: Procedure | undefined;
    if (!mainObr) r.issue(100, r.where(g.control), 'an OBR segment (observation request) must follow the ORC');
    else {
      procedure = readProcedure(r, mainObr);
      if (!procedure && control !== 'cancel') r.issue(101, r.where(mainObr, 4), 'OBR-4 (universal service identifier: the exam, JJ1017 code) is required');
    }
    const childProcedures = g.children.flatMap((c) => segsOf(c).filter((s) => s.name === 'OBR')).map((obr) => readProcedure(r, obr)).filter((p): p is Procedure => !!p);
    const jj = procedure?.jj ?? childProcedures.find((p) => p.jj)?.jj;
    const jjModality = jj?.modality?.specified ? JJ1017_MODALITY[jj.modality.code] ?? '' : '';
    const section = r.value(mainObr, 24).toUpperCase();
    const modality = jjModality || (DICOM_MODALITIES.has(section) ? section : '');
    const bodyParts = [...new Set([procedure, ...childProcedures].map((p) => bodyPartOf(p?.jj)).filter(Boolean))];
    const procedureText = procedure?.text || childProcedures.map((p) => p.text).filter(Boolean).join('、') || procedure?.code || jj?.description.ja || '';
    const allText = [procedureText, ...childProcedures.map((p) => p.text)].join(' ');
    const contrast = Boolean(jj?.contrast) || childProcedures.some((p) => p.jj?.contrast) || contrastInText(allText);

    const reason = [
      ...(mainObr ? [r.value(mainObr, 31, 2) || r.value(mainObr, 31, 1)] : []),
      r.value(mainObr, 13),
    ].filter(Boolean).join('\n');
    const notes: string[] = [];
    for (const s of all) {
      if (s.name === 'NTE') notes.push(s.getAll(3).filter((t) => t && t !== '""').join('\n'));
      else if (s.name === 'DG1') notes.push(`診断: ${r.value(s, 3, 2) || r.value(s, 4) || r.value(s, 3, 1)}`);
      else if (s.name === 'OBX') {
        const what = r.value(s, 3, 2) || r.value(s, 3, 1);
        const unit = r.value(s, 6, 2) || r.value(s, 6, 1);
        const flag = r.value(s, 8);
        notes.push(`${what}: ${r.value(s, 5)}${unit ? ` ${unit}` : ''}${flag ? ` (${flag})` : ''}`);
      }
    }

    const orderingSeg = orcs.find((o) => r.value(o, 12, 1) || r.value(o, 12, 2));
    const requesterName = orderingSeg ? personName(r, orderingSeg, 12) : personName(r, mainObr, 16);
    const department = orcs.map((o) => r.value(o, 17, 2) || r.value(o, 17, 1)).find(Boolean) || r.value(pv1, 3, 9) || r.value(pv1, 3, 1);

    const orcTime = orcs.map((o) => (r.value(o, 9) ? r.time(o, 9) : undefined)).find(Boolean);
    const requestedAt = orcTime ?? (header.dateTime ? hl7TimeToIso(header.dateTime) : undefined);
    if (!requestedAt && !orcs.some((o) => r.value(o, 9))) r.issue(101, r.where(g.control, 9), 'ORC-9 (date/time of transaction) or MSH-7 is required');
    const scheduledAt = (tq1 && r.value(tq1, 7) ? r.time(tq1, 7) : undefined)
      ?? (mainObr && r.value(mainObr, 6) ? r.time(mainObr, 6) : undefined)
      ?? (mainObr && r.value(mainObr, 7) ? r.time(mainObr, 7) : undefined)
      ?? (!tq1 && r.value(g.control, 7, 4) ? r.time(g.control, 7, 4) : undefined);

    orders.push({
      facilityId: context.facilityId,
      patient,
      placerOrderNumber: placer,
      ...(filler ? { fillerOrderNumber: filler } : {}),
      accessionNumber: accession,
      control,
      priority: priority ?? 'routine',
      ...(jj ? { jj1017: jj.code } : {}),
      modality,
      bodyPart: bodyParts.join('、'),
      procedureText,
      reason,
      clinicalNotes: notes.filter(Boolean).join('\n'),
      contrast,
      requester: { name: requesterName, department },
      requestedAt: requestedAt ?? '',
      ...(scheduledAt ? { scheduledAt } : {}),
      source: 'hl7',
      messageId: groups.length > 1 ? `${header.controlId}#${index + 1}` : header.controlId,
      ...(messageTime ? { messageTime } : {}),
    });
  });
  r.fail();
  return orders;
}
