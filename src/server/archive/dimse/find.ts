/**
 * C-FIND SCP matching (PS3.4 C.4.1, C.6.1 Patient Root, C.6.2 Study Root): the keys
 * Enkaku supports at each level, how each is matched against the index, and the response
 * identifiers of the matches. Matching uses the same rules as QIDO-RS (single value,
 * `*` and `?` wildcards, date and time ranges, UID lists, fuzzy Japanese person names);
 * keys of a higher level are matched by first finding the studies (or series) they
 * select. Everything is scoped to the calling facility.
 */
import type { Condition } from '../dicomweb/qido-match.ts';
import type { PatientHit, PatientQuery, QueryRepository, StudyHit, StudyQuery } from '../repository.ts';
import type { QrModel } from './sopclasses.ts';
import { hasNonAscii, writeIdentifier, type Identifier, type OutElement, type OutValue } from './identifier.ts';
import { MAX_FIND_MATCHES, QR_STATUS, QrFailure, TAG, conditionFor, conditionMatches, levelOf, type Level, type MatchKind } from './qr.ts';

type SeriesRow = Awaited<ReturnType<QueryRepository['series']>>[number];
type InstanceRow = Awaited<ReturnType<QueryRepository['instances']>>[number];
type SeriesQuery = Parameters<QueryRepository['series']>[0];
type InstanceQuery = Parameters<QueryRepository['instances']>[0];

/** A supported key: its VR, how it matches, the query field it maps to (else matched in memory), its value. */
interface Key<Row, Field extends string> {
  tag: number;
  keyword: string;
  vr: string;
  match: MatchKind;
  field?: Field;
  get(row: Row): OutValue;
}

/** Person name as a DICOM value: the three component groups, trailing empty groups dropped (PS3.5 §6.2.1). */
function pn(alphabetic: string, ideographic: string, phonetic: string): string {
  return [alphabetic, ideographic, phonetic].join('=').replace(/=+$/, '');
}

const num = (n: number | null | undefined): OutValue => (n === null || n === undefined ? null : String(n));

type PatientField = Exclude<keyof PatientQuery, 'scope' | 'limit' | 'offset'>;
type StudyField = Exclude<keyof StudyQuery, 'scope' | 'limit' | 'offset'>;
type SeriesField = Exclude<keyof SeriesQuery, 'scope' | 'limit' | 'offset' | 'studyUid'>;
type InstanceField = Exclude<keyof InstanceQuery, 'scope' | 'limit' | 'offset' | 'studyUid' | 'seriesUid'>;

/** PATIENT level (PS3.4 Table C.6-1). */
const PATIENT_KEYS: Key<PatientHit, PatientField>[] = [
  { tag: 0x00100010, keyword: 'PatientName', vr: 'PN', match: 'name', field: 'patientName', get: (p) => pn(p.name_alphabetic, p.name_ideographic, p.name_phonetic) },
  { tag: 0x00100020, keyword: 'PatientID', vr: 'LO', match: 'text', field: 'patientId', get: (p) => p.patient_id },
  { tag: 0x00100021, keyword: 'IssuerOfPatientID', vr: 'LO', match: 'text', field: 'issuer', get: (p) => p.issuer },
  { tag: 0x00100030, keyword: 'PatientBirthDate', vr: 'DA', match: 'date', field: 'birthDate', get: (p) => p.birth_date },
  { tag: 0x00100040, keyword: 'PatientSex', vr: 'CS', match: 'text', field: 'sex', get: (p) => p.sex },
  { tag: 0x00201200, keyword: 'NumberOfPatientRelatedStudies', vr: 'IS', match: 'none', get: (p) => num(p.num_studies) },
  { tag: 0x00201202, keyword: 'NumberOfPatientRelatedSeries', vr: 'IS', match: 'none', get: (p) => num(p.num_series) },
  { tag: 0x00201204, keyword: 'NumberOfPatientRelatedInstances', vr: 'IS', match: 'none', get: (p) => num(p.num_instances) },
];

/** STUDY level (PS3.4 Tables C.6-2, C.6-5), with the patient attributes of the Study Root model. */
const STUDY_KEYS: Key<StudyHit, StudyField>[] = [
  { tag: 0x00080020, keyword: 'StudyDate', vr: 'DA', match: 'date', field: 'studyDate', get: (s) => s.study_date },
  { tag: 0x00080030, keyword: 'StudyTime', vr: 'TM', match: 'time', get: (s) => s.study_time },
  { tag: 0x00080050, keyword: 'AccessionNumber', vr: 'SH', match: 'text', field: 'accessionNumber', get: (s) => s.accession_number },
  { tag: 0x00080061, keyword: 'ModalitiesInStudy', vr: 'CS', match: 'codes', field: 'modalities', get: (s) => (s.modalities ? s.modalities.split('\\') : null) },
  { tag: 0x00080080, keyword: 'InstitutionName', vr: 'LO', match: 'text', get: (s) => s.institution },
  { tag: 0x00080090, keyword: 'ReferringPhysicianName', vr: 'PN', match: 'text', field: 'referringPhysician', get: (s) => s.referring_physician },
  { tag: 0x00081030, keyword: 'StudyDescription', vr: 'LO', match: 'text', field: 'studyDescription', get: (s) => s.description },
  { tag: 0x00100010, keyword: 'PatientName', vr: 'PN', match: 'name', field: 'patientName', get: (s) => pn(s.name_alphabetic, s.name_ideographic, s.name_phonetic) },
  { tag: 0x00100020, keyword: 'PatientID', vr: 'LO', match: 'text', field: 'patientId', get: (s) => s.patient_id },
  { tag: 0x00100021, keyword: 'IssuerOfPatientID', vr: 'LO', match: 'text', get: (s) => s.issuer },
  { tag: 0x00100030, keyword: 'PatientBirthDate', vr: 'DA', match: 'date', get: (s) => s.birth_date },
  { tag: 0x00100040, keyword: 'PatientSex', vr: 'CS', match: 'text', get: (s) => s.sex },
  { tag: 0x0020000d, keyword: 'StudyInstanceUID', vr: 'UI', match: 'uid', field: 'studyUid', get: (s) => s.study_uid },
  { tag: 0x00200010, keyword: 'StudyID', vr: 'SH', match: 'text', field: 'studyId', get: (s) => s.study_id },
  { tag: 0x00201206, keyword: 'NumberOfStudyRelatedSeries', vr: 'IS', match: 'none', get: (s) => num(s.num_series) },
  { tag: 0x00201208, keyword: 'NumberOfStudyRelatedInstances', vr: 'IS', match: 'none', get: (s) => num(s.num_instances) },
];

/** SERIES level (PS3.4 Table C.6-3). */
const SERIES_KEYS: Key<SeriesRow, SeriesField>[] = [
  { tag: 0x00080060, keyword: 'Modality', vr: 'CS', match: 'text', field: 'modality', get: (s) => s.modality },
  { tag: 0x0008103e, keyword: 'SeriesDescription', vr: 'LO', match: 'text', get: (s) => s.description },
  { tag: 0x00180015, keyword: 'BodyPartExamined', vr: 'CS', match: 'text', get: (s) => s.body_part },
  { tag: 0x0020000e, keyword: 'SeriesInstanceUID', vr: 'UI', match: 'uid', field: 'seriesUid', get: (s) => s.series_uid },
  { tag: 0x00200011, keyword: 'SeriesNumber', vr: 'IS', match: 'int', field: 'seriesNumber', get: (s) => num(s.series_number) },
  { tag: 0x00201209, keyword: 'NumberOfSeriesRelatedInstances', vr: 'IS', match: 'none', get: (s) => num(s.num_instances) },
];

/** IMAGE level (PS3.4 Table C.6-4). */
const IMAGE_KEYS: Key<InstanceRow, InstanceField>[] = [
  { tag: 0x00080016, keyword: 'SOPClassUID', vr: 'UI', match: 'uid', field: 'sopClassUid', get: (i) => i.sop_class_uid },
  { tag: 0x00080018, keyword: 'SOPInstanceUID', vr: 'UI', match: 'uid', field: 'sopInstanceUid', get: (i) => i.sop_instance_uid },
  { tag: 0x00083002, keyword: 'AvailableTransferSyntaxUID', vr: 'UI', match: 'none', get: (i) => i.transfer_syntax_uid },
  { tag: 0x00200013, keyword: 'InstanceNumber', vr: 'IS', match: 'int', field: 'instanceNumber', get: (i) => num(i.instance_number) },
  { tag: 0x00280008, keyword: 'NumberOfFrames', vr: 'IS', match: 'none', get: (i) => num(i.frames) },
  { tag: 0x00280010, keyword: 'Rows', vr: 'US', match: 'none', get: (i) => i.rows },
  { tag: 0x00280011, keyword: 'Columns', vr: 'US', match: 'none', get: (i) => i.columns },
];

/** Attributes answered at every level: not keys of an entity. */
const GENERAL = new Set<number>([TAG.SpecificCharacterSet, TAG.QueryRetrieveLevel, TAG.RetrieveAETitle, TAG.InstanceAvailability]);

/** The VR of every key Enkaku knows (identifiers in implicit VR need it). */
const KNOWN_VR = new Map<number, string>([
  [TAG.SpecificCharacterSet, 'CS'],
  [TAG.QueryRetrieveLevel, 'CS'],
  [TAG.RetrieveAETitle, 'AE'],
  [TAG.InstanceAvailability, 'CS'],
  [TAG.FailedSOPInstanceUIDList, 'UI'],
  ...[...PATIENT_KEYS, ...STUDY_KEYS, ...SERIES_KEYS, ...IMAGE_KEYS].map((k) => [k.tag, k.vr] as [number, string]),
]);

/** The VR of a query/retrieve key, if Enkaku knows it. */
export function knownVr(tag: number): string | undefined {
  return KNOWN_VR.get(tag);
}

/** The conditions of one level: those the index matches and those matched in memory. */
interface Conditions<Row, Field extends string> {
  sql: Partial<Record<Field, Condition | string[]>>;
  memory: Array<(row: Row) => boolean>;
  used: string[];
}

function conditionsOf<Row, Field extends string>(id: Identifier, keys: readonly Key<Row, Field>[]): Conditions<Row, Field> {
  const out: Conditions<Row, Field> = { sql: {}, memory: [], used: [] };
  for (const key of keys) {
    if (!id.has(key.tag) || key.match === 'none') continue;
    const c = conditionFor(key.match, key.keyword, id.text(key.tag));
    if (!c) continue;
    out.used.push(key.keyword);
    if (key.field) out.sql[key.field] = key.match === 'codes' && c.kind === 'in' ? c.values : c;
    else {
      const get = key.get;
      out.memory.push((row) => {
        const v = get(row);
        return v !== null && v !== undefined && conditionMatches(c, typeof v === 'number' ? String(v) : v);
      });
    }
  }
  return out;
}

const hasAny = (c: Conditions<any, any>): boolean => Object.keys(c.sql).length > 0 || c.memory.length > 0;

/**
 * Fetches every row matching, page by page when some conditions are matched in memory.
 * @throws QrFailure A700 when more than `cap` rows match
 */
async function collect<Row>(fetch: (limit: number, offset: number) => Promise<Row[]>, memory: Array<(row: Row) => boolean>, cap: number, what: string): Promise<Row[]> {
  const tooMany = (): QrFailure => new QrFailure(QR_STATUS.outOfResources, `more than ${cap} ${what} match; narrow the query`);
  if (memory.length === 0) {
    const rows = await fetch(cap + 1, 0);
    if (rows.length > cap) throw tooMany();
    return rows;
  }
  const page = 1000;
  const out: Row[] = [];
  for (let offset = 0; ; offset += page) {
    const rows = await fetch(page, offset);
    for (const r of rows) if (memory.every((m) => m(r))) out.push(r);
    if (out.length > cap) throw tooMany();
    if (rows.length < page) return out;
  }
}

function inList(values: string[]): Condition {
  return { kind: 'in', values };
}

/** Splits a list into chunks for `in (...)` queries. */
function chunks<T>(list: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Where the C-FIND runs: the calling facility and Enkaku's AE title. */
export interface FindScope {
  queries: QueryRepository;
  facilityId: string;
  aet: string;
}

/** The outcome of a C-FIND: the response identifiers, in order, ready to send. */
export interface FindResult {
  level: Level;
  /** Keywords of the keys that took part in matching (for the audit trail; never values). */
  matchingKeys: string[];
  /** Some requested keys are not supported: pending responses carry FF01 (PS3.4 C.4.1.1.4). */
  unsupportedKeys: boolean;
  identifiers: Buffer[];
}

/**
 * Runs a C-FIND identifier against the index of the calling facility and encodes the
 * response identifiers in the presentation context's transfer syntax. Every match is
 * computed before anything is sent, so a query over {@link MAX_FIND_MATCHES} is refused
 * as a whole (A700) rather than cut short.
 * @throws QrFailure with the status to answer (A700, A900, C000)
 */
export async function runFind(scope: FindScope, model: QrModel, id: Identifier, ts: string): Promise<FindResult> {
  const level = levelOf(id, model);
  const q = scope.queries;
  const facility = [scope.facilityId];
  const cap = MAX_FIND_MATCHES;
  const patientC = conditionsOf(id, PATIENT_KEYS);
  const studyC = conditionsOf(id, STUDY_KEYS);
  const seriesC = conditionsOf(id, SERIES_KEYS);
  const imageC = conditionsOf(id, IMAGE_KEYS);

  const studiesWhere = (c: Conditions<StudyHit, StudyField>, limit: number, offset: number, extra: Partial<StudyQuery> = {}) =>
    q.studies({ scope: facility, ...(c.sql as Partial<StudyQuery>), ...extra, limit, offset });
  const seriesWhere = (c: Conditions<SeriesRow, SeriesField>, studyUid: Condition | undefined, limit: number, offset: number) =>
    q.series({ scope: facility, ...(c.sql as Partial<SeriesQuery>), studyUid, limit, offset });

  /** The Study Instance UID condition implied by the study-level keys of a lower-level query. */
  const studyScope = async (): Promise<Condition | undefined | 'none'> => {
    if (!hasAny(studyC)) return undefined;
    const onlyUid = studyC.used.length === 1 && studyC.used[0] === 'StudyInstanceUID';
    if (onlyUid) return studyC.sql.studyUid as Condition;
    const studies = await collect((l, o) => studiesWhere(studyC, l, o), studyC.memory, cap, 'studies');
    return studies.length ? inList(studies.map((s) => s.study_uid)) : 'none';
  };

  let rows: unknown[];
  let keys: readonly Key<any, any>[];
  let used: string[];
  const upper: Array<{ keys: readonly Key<any, any>[]; rowFor: (row: any) => unknown }> = [];
  switch (level) {
    case 'PATIENT':
      keys = PATIENT_KEYS;
      used = patientC.used;
      rows = await collect((limit, offset) => q.patients({ scope: facility, ...(patientC.sql as Partial<PatientQuery>), limit, offset }), patientC.memory, cap, 'patients');
      break;
    case 'STUDY':
      keys = STUDY_KEYS;
      used = studyC.used;
      rows = await collect((l, o) => studiesWhere(studyC, l, o), studyC.memory, cap, 'studies');
      break;
    case 'SERIES': {
      keys = SERIES_KEYS;
      used = [...studyC.used, ...seriesC.used];
      const studyUid = await studyScope();
      rows = studyUid === 'none' ? [] : await collect((l, o) => seriesWhere(seriesC, studyUid, l, o), seriesC.memory, cap, 'series');
      break;
    }
    case 'IMAGE': {
      keys = IMAGE_KEYS;
      used = [...studyC.used, ...seriesC.used, ...imageC.used];
      const studyUid = await studyScope();
      let seriesUid: Condition | undefined | 'none';
      if (studyUid === 'none') seriesUid = 'none';
      else if (!hasAny(seriesC)) seriesUid = undefined;
      else if (seriesC.used.length === 1 && seriesC.used[0] === 'SeriesInstanceUID') seriesUid = seriesC.sql.seriesUid as Condition;
      else {
        const series = await collect((l, o) => seriesWhere(seriesC, studyUid, l, o), seriesC.memory, cap, 'series');
        seriesUid = series.length ? inList(series.map((s) => s.series_uid)) : 'none';
      }
      rows =
        studyUid === 'none' || seriesUid === 'none'
          ? []
          : await collect(
              (limit, offset) => q.instances({ scope: facility, ...(imageC.sql as Partial<InstanceQuery>), studyUid, seriesUid, limit, offset }),
              imageC.memory,
              cap,
              'instances',
            );
      break;
    }
  }

  // Attributes of higher levels asked for at a lower level are answered from the study
  // (and series) of each match.
  const wants = (list: readonly Key<any, any>[]): boolean => list.some((k) => id.has(k.tag));
  if ((level === 'SERIES' || level === 'IMAGE') && wants(STUDY_KEYS)) {
    const uids = [...new Set((rows as Array<SeriesRow | InstanceRow>).map((r) => r.study_uid))];
    const byUid = new Map<string, StudyHit>();
    for (const part of chunks(uids)) for (const s of await q.studies({ scope: facility, studyUid: inList(part), limit: part.length, offset: 0 })) byUid.set(s.study_uid, s);
    upper.push({ keys: STUDY_KEYS, rowFor: (r: SeriesRow | InstanceRow) => byUid.get(r.study_uid) });
  }
  if (level === 'IMAGE' && wants(SERIES_KEYS)) {
    const uids = [...new Set((rows as InstanceRow[]).map((r) => r.series_uid))];
    const byUid = new Map<string, SeriesRow>();
    for (const part of chunks(uids)) for (const s of await q.series({ scope: facility, seriesUid: inList(part), limit: part.length, offset: 0 })) byUid.set(s.series_uid, s);
    upper.push({ keys: SERIES_KEYS, rowFor: (r: InstanceRow) => byUid.get(r.series_uid) });
  }

  // Keys that are neither answered at this level nor above it are returned empty.
  const answered = new Set<number>([...GENERAL, ...keys.map((k) => k.tag), ...upper.flatMap((u) => u.keys.map((k) => k.tag))]);
  if (level === 'SERIES' || level === 'IMAGE') answered.add(TAG.StudyInstanceUID);
  if (level === 'IMAGE') answered.add(TAG.SeriesInstanceUID);
  const unsupported = [...id.elements.values()].filter((e) => !answered.has(e.tag));

  const identifiers = rows.map((row) => {
    const out = new Map<number, OutElement>();
    for (const e of unsupported) out.set(e.tag, { tag: e.tag, vr: e.vr, value: null });
    for (const u of upper) {
      const r = u.rowFor(row);
      for (const k of u.keys) if (id.has(k.tag)) out.set(k.tag, { tag: k.tag, vr: k.vr, value: r ? k.get(r) : null });
    }
    for (const k of keys) if (id.has(k.tag)) out.set(k.tag, { tag: k.tag, vr: k.vr, value: k.get(row) });
    // The unique keys of the levels above are always returned (PS3.4 C.4.1.2.2.1).
    if (level === 'SERIES' || level === 'IMAGE') out.set(TAG.StudyInstanceUID, { tag: TAG.StudyInstanceUID, vr: 'UI', value: (row as SeriesRow).study_uid });
    if (level === 'IMAGE') out.set(TAG.SeriesInstanceUID, { tag: TAG.SeriesInstanceUID, vr: 'UI', value: (row as InstanceRow).series_uid });
    if (id.has(TAG.InstanceAvailability)) out.set(TAG.InstanceAvailability, { tag: TAG.InstanceAvailability, vr: 'CS', value: 'ONLINE' });
    out.set(TAG.QueryRetrieveLevel, { tag: TAG.QueryRetrieveLevel, vr: 'CS', value: level });
    out.set(TAG.RetrieveAETitle, { tag: TAG.RetrieveAETitle, vr: 'AE', value: scope.aet });
    const elements = [...out.values()];
    // Text is sent in UTF-8 whenever it is not plain ASCII (PS3.5 §6.1.2.3, ISO_IR 192).
    if (hasNonAscii(elements)) elements.push({ tag: TAG.SpecificCharacterSet, vr: 'CS', value: 'ISO_IR 192' });
    else if (id.has(TAG.SpecificCharacterSet)) elements.push({ tag: TAG.SpecificCharacterSet, vr: 'CS', value: null });
    return writeIdentifier(elements, ts);
  });
  return { level, matchingKeys: used, unsupportedKeys: unsupported.length > 0, identifiers };
}
