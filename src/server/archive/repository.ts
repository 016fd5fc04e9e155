/**
 * SQL for the archive index: patients, studies, series, instances and conflicts.
 * `recordInstance` writes one instance and its parents in a single transaction, so the
 * index never holds an instance without its study and counts.
 */
import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import { likePattern, type Condition } from './dicomweb/qido-match.ts';
import type { Database, Instance, Patient, Study } from '../platform/db/schema.ts';
import type { InstanceAttributes } from './dicom/attributes.ts';
import { formatPersonName } from './dicom/attributes.ts';
import { nameSearchText, normaliseForSearch } from './dicom/names.ts';
import { writeNameKeys } from './name-keys.ts';

/** Where an instance came from and what it is on disk. */
export interface InstanceProvenance {
  facilityId: string;
  callingAet: string;
  /** `priors`: retrieved from the facility's PACS by Enkaku (C-GET) as a prior study. */
  source: 'dimse' | 'stow' | 'import' | 'priors';
  transferSyntaxUid: string;
  blobSha256: string;
  datasetSha256: string;
  sizeBytes: number;
  receivedAt: string;
}

/** Called inside the index transaction to append the audit entry of what happened (rule 3). */
export type AuditHook = (trx: Transaction<Database>, what: { action: 'instance.store' | 'instance.conflict'; patientRef: string | null; studyId: string | null }) => Promise<void>;

/**
 * Called inside the index transaction when an instance created a study Enkaku had not
 * seen, so that follow-up work (fetching its priors) is recorded atomically with it.
 */
export type NewStudyHook = (trx: Transaction<Database>, study: Study) => Promise<void>;

/** Outcome of writing one instance to the index. */
export type RecordResult =
  | { kind: 'stored'; instance: Instance }
  | { kind: 'duplicate'; instance: Instance }
  | { kind: 'conflict'; instance: Instance }
  | { kind: 'foreign-study' };

/** Index persistence. */
export class ArchiveRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async instanceByUid(sopInstanceUid: string): Promise<Instance | undefined> {
    return this.db.selectFrom('instances').selectAll().where('sop_instance_uid', '=', sopInstanceUid).executeTakeFirst();
  }

  async studyByUid(studyUid: string): Promise<Study | undefined> {
    return this.db.selectFrom('studies').selectAll().where('study_uid', '=', studyUid).executeTakeFirst();
  }

  async blobReferenced(sha256: string): Promise<boolean> {
    const a = await this.db.selectFrom('instances').select('id').where('blob_sha256', '=', sha256).executeTakeFirst();
    if (a) return true;
    const b = await this.db.selectFrom('instance_conflicts').select('id').where('refused_blob_sha256', '=', sha256).executeTakeFirst();
    return Boolean(b);
  }

  /**
   * Records an instance, or the fact that it duplicates or conflicts with one already
   * stored, in one transaction.
   * @param onNewStudy - called in the transaction when this instance created its study
   */
  async recordInstance(a: InstanceAttributes, p: InstanceProvenance, audit: AuditHook, onNewStudy?: NewStudyHook): Promise<RecordResult> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('instances').selectAll().where('sop_instance_uid', '=', a.sopInstanceUid).executeTakeFirst();
      if (existing) {
        if (existing.facility_id !== p.facilityId) return { kind: 'foreign-study' } as const;
        if (existing.dataset_sha256 === p.datasetSha256) return { kind: 'duplicate', instance: existing } as const;
        await trx
          .insertInto('instance_conflicts')
          .values({
            id: randomUUID(),
            sop_instance_uid: a.sopInstanceUid,
            facility_id: p.facilityId,
            kept_blob_sha256: existing.blob_sha256,
            refused_blob_sha256: p.blobSha256,
            calling_aet: p.callingAet,
            source: p.source,
            received_at: p.receivedAt,
          })
          .execute();
        const study = await trx.selectFrom('studies').select(['id', 'patient_ref']).where('id', '=', existing.study_ref).executeTakeFirst();
        await audit(trx, { action: 'instance.conflict', patientRef: study?.patient_ref ?? null, studyId: existing.study_ref });
        return { kind: 'conflict', instance: existing } as const;
      }
      const ensured = await this.ensureStudy(trx, a, p);
      if (!ensured) return { kind: 'foreign-study' } as const;
      const { study } = ensured;
      const seriesId = await this.ensureSeries(trx, study.id, a, p);
      const instance: Instance = {
        id: randomUUID(),
        series_ref: seriesId,
        study_ref: study.id,
        facility_id: p.facilityId,
        sop_instance_uid: a.sopInstanceUid,
        sop_class_uid: a.sopClassUid,
        transfer_syntax_uid: p.transferSyntaxUid,
        instance_number: a.instanceNumber,
        rows: a.rows,
        columns: a.columns,
        frames: a.numberOfFrames,
        size_bytes: p.sizeBytes,
        blob_sha256: p.blobSha256,
        dataset_sha256: p.datasetSha256,
        specific_character_set: a.specificCharacterSet,
        received_at: p.receivedAt,
        calling_aet: p.callingAet,
        source: p.source,
      };
      await trx.insertInto('instances').values(instance).execute();
      await trx
        .updateTable('series')
        .set({ num_instances: sql`num_instances + 1` })
        .where('id', '=', seriesId)
        .execute();
      await trx
        .updateTable('studies')
        .set({ num_instances: sql`num_instances + 1`, size_bytes: sql`size_bytes + ${p.sizeBytes}`, updated_at: p.receivedAt })
        .where('id', '=', study.id)
        .execute();
      await audit(trx, { action: 'instance.store', patientRef: study.patient_ref, studyId: study.id });
      if (ensured.created && onNewStudy) await onNewStudy(trx, study);
      return { kind: 'stored', instance } as const;
    });
  }

  /** The patient of an instance, found or created: its id and its searchable name text. */
  private async ensurePatient(trx: Transaction<Database>, a: InstanceAttributes, p: InstanceProvenance): Promise<{ id: string; name_search: string }> {
    const find = () =>
      trx
        .selectFrom('patients')
        .select(['id', 'name_search'])
        .where('facility_id', '=', p.facilityId)
        .where('patient_id', '=', a.patientId)
        .where('issuer', '=', a.issuerOfPatientId)
        .executeTakeFirst();
    const found = await find();
    if (found) return found;
    const row = {
      id: randomUUID(),
      facility_id: p.facilityId,
      patient_id: a.patientId,
      issuer: a.issuerOfPatientId,
      name_alphabetic: a.patientName.alphabetic,
      name_ideographic: a.patientName.ideographic,
      name_phonetic: a.patientName.phonetic,
      name_search: nameSearchText(a.patientName),
      sex: a.patientSex,
      birth_date: a.patientBirthDate,
      created_at: p.receivedAt,
      updated_at: p.receivedAt,
    };
    const inserted = await trx
      .insertInto('patients')
      .values(row)
      .onConflict((oc) => oc.columns(['facility_id', 'patient_id', 'issuer']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      await writeNameKeys(trx, [row], false);
      return row;
    }
    return (await find())!;
  }

  /**
   * Finds or creates the study (`created`: by this call); undefined when the Study
   * Instance UID belongs to another facility.
   */
  private async ensureStudy(trx: Transaction<Database>, a: InstanceAttributes, p: InstanceProvenance): Promise<{ study: Study; created: boolean } | undefined> {
    const find = () => trx.selectFrom('studies').selectAll().where('study_uid', '=', a.studyInstanceUid).executeTakeFirst();
    let study = await find();
    let created = false;
    if (!study) {
      const patient = await this.ensurePatient(trx, a, p);
      const inserted = await trx
        .insertInto('studies')
        .values({
          id: randomUUID(),
          facility_id: p.facilityId,
          patient_ref: patient.id,
          patient_name_search: patient.name_search,
          study_uid: a.studyInstanceUid,
          accession_number: a.accessionNumber,
          study_id: a.studyId,
          study_date: a.studyDate,
          study_time: a.studyTime,
          modalities: '',
          description: a.studyDescription,
          referring_physician: formatPersonName(a.referringPhysician),
          institution: a.institutionName,
          num_series: 0,
          num_instances: 0,
          size_bytes: 0,
          created_at: p.receivedAt,
          updated_at: p.receivedAt,
        })
        .onConflict((oc) => oc.column('study_uid').doNothing())
        .executeTakeFirst();
      created = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
      study = await find();
    }
    if (!study || study.facility_id !== p.facilityId) return undefined;
    return { study, created };
  }

  private async ensureSeries(trx: Transaction<Database>, studyId: string, a: InstanceAttributes, p: InstanceProvenance): Promise<string> {
    const find = () => trx.selectFrom('series').select(['id', 'study_ref']).where('series_uid', '=', a.seriesInstanceUid).executeTakeFirst();
    const found = await find();
    if (found) return found.id;
    const inserted = await trx
      .insertInto('series')
      .values({
        id: randomUUID(),
        study_ref: studyId,
        series_uid: a.seriesInstanceUid,
        modality: a.modality,
        series_number: a.seriesNumber,
        description: a.seriesDescription,
        body_part: a.bodyPartExamined,
        num_instances: 0,
        created_at: p.receivedAt,
      })
      .onConflict((oc) => oc.column('series_uid').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      const modalities = await trx.selectFrom('series').select('modality').distinct().where('study_ref', '=', studyId).orderBy('modality').execute();
      await trx
        .updateTable('studies')
        .set({ num_series: sql`num_series + 1`, modalities: modalities.map((m) => m.modality).filter(Boolean).join('\\') })
        .where('id', '=', studyId)
        .execute();
    }
    return (await find())!.id;
  }

  /**
   * Patients of the given facilities whose name, in any component group, contains the
   * text after normalisation (so 山田, やまだ, ﾔﾏﾀﾞ and Yamada find the same patient).
   */
  async patientsByName(facilityIds: readonly string[], text: string): Promise<Patient[]> {
    const q = normaliseForSearch(text);
    if (!q || facilityIds.length === 0) return [];
    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db
      .selectFrom('patients')
      .selectAll()
      .where('facility_id', 'in', facilityIds)
      .where(sql<boolean>`name_search like ${pattern} escape '\\'`)
      .orderBy('patient_id')
      .execute();
  }

  /** Counts for the operator's summary. */
  async counts(): Promise<{ patients: number; studies: number; series: number; instances: number }> {
    const one = async (t: 'patients' | 'studies' | 'series' | 'instances') =>
      Number((await this.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { patients: await one('patients'), studies: await one('studies'), series: await one('series'), instances: await one('instances') };
  }
}

/** Which facilities' data a search may return: all, or a list. */
export type FacilityScope = 'all' | readonly string[];

/** Conditions of a study-level search, by column. */
export interface StudyQuery {
  scope: FacilityScope;
  patientName?: Condition | undefined;
  patientId?: Condition | undefined;
  studyDate?: Condition | undefined;
  accessionNumber?: Condition | undefined;
  studyId?: Condition | undefined;
  studyDescription?: Condition | undefined;
  referringPhysician?: Condition | undefined;
  studyUid?: Condition | undefined;
  modalities?: string[] | undefined;
  limit: number;
  offset: number;
}

/** A study row joined with its patient. */
export type StudyHit = Study & Pick<Patient, 'patient_id' | 'issuer' | 'name_alphabetic' | 'name_ideographic' | 'name_phonetic' | 'birth_date' | 'sex'>;

/** Applies a matching condition to a column. */
function where<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, column: string, c: Condition | undefined): QB {
  if (!c) return qb;
  const col = sql.ref(column);
  switch (c.kind) {
    case 'equals':
      return qb.where(col, '=', c.value) as QB;
    case 'like':
      return qb.where(sql<boolean>`${col} like ${c.pattern} escape '\\'`) as QB;
    case 'in':
      return qb.where(col, 'in', c.values) as QB;
    case 'range': {
      let q = qb;
      if (c.from) q = q.where(col, '>=', c.from) as QB;
      if (c.to) q = q.where(col, '<=', c.to) as QB;
      return q;
    }
    case 'name':
      return qb;
  }
}

/**
 * A fuzzy name test on a searchable name text column (patients.name_search, or its copy
 * studies.patient_name_search): some component of some group starts with the text.
 */
function whereFuzzyName<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, column: string, value: string): QB {
  const p = likePattern(value);
  const col = sql.ref(column);
  // A component starts the name, a group (new line) or follows a component separator.
  return qb.where((eb: any) =>
    eb.or([
      sql<boolean>`${col} like ${`${p}%`} escape '\\'`,
      sql<boolean>`${col} like ${`%\n${p}%`} escape '\\'`,
      sql<boolean>`${col} like ${`%^${p}%`} escape '\\'`,
    ]),
  ) as QB;
}

/** Person-name matching over the three component groups (see qido-match.ts). */
function whereName<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, prefix: string, c: Condition | undefined): QB {
  if (!c || c.kind !== 'name') return qb;
  if (c.fuzzy) return whereFuzzyName(qb, `${prefix}.name_search`, c.value);
  const exact = /[*?]/.test(c.value) ? { op: 'like', v: likePattern(c.value) } : { op: '=', v: c.value };
  const test = (col: string) => (exact.op === 'like' ? sql<boolean>`${sql.ref(`${prefix}.${col}`)} like ${exact.v} escape '\\'` : sql<boolean>`${sql.ref(`${prefix}.${col}`)} = ${exact.v}`);
  return qb.where((eb: any) => eb.or([test('name_alphabetic'), test('name_ideographic'), test('name_phonetic')])) as QB;
}

/**
 * The order of study searches: newest first, ties by id. Every key descends, so one
 * backward scan of an index on (study_date, study_time, id) yields the order.
 */
function newestFirst<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, table: string): QB {
  return qb.orderBy(`${table}.study_date`, 'desc').orderBy(`${table}.study_time`, 'desc').orderBy(`${table}.id`, 'desc') as QB;
}

/**
 * Most patients whose studies a search reads through their ids; more matches mean a
 * common name, for which walking the newest studies and checking each one's patient
 * finds a page sooner. Listing costs per patient (finding it, sending its id back, and
 * PostgreSQL planning with one array element each), walking costs per study skipped:
 * with a million studies of 300,000 patients both cost about the same near 6,000
 * patients (2 % of them), measured with `npm run bench:query`.
 */
const PATIENT_LIST = 6000;

/**
 * One name group of patients against a person-name key that is not fuzzy: equal, or
 * LIKE when it has wildcards (as in whereName, for one group).
 */
function nameGroupTest(column: 'name_alphabetic' | 'name_ideographic' | 'name_phonetic', value: string) {
  const col = sql.ref(`patients.${column}`);
  return /[*?]/.test(value) ? sql<boolean>`${col} like ${likePattern(value)} escape '\\'` : sql<boolean>`${col} = ${value}`;
}

/**
 * The last code point: a text followed by it sorts after every key that starts with the
 * text, in the bytewise order of the name keys (UTF-8 keeps code point order).
 */
const KEY_RANGE_END = '\u{10FFFF}';

/** Most distinct modality lists merged for ModalitiesInStudy; beyond, series are checked per study. */
const MAX_MODALITY_LISTS = 64;

/** Read side of the index for QIDO-RS and DIMSE C-FIND. */
export class QueryRepository {
  /**
   * Rows of single instances looked up by SOP Instance UID, most recently used last. An
   * instance's row never changes once stored (a later different object under the same UID is
   * a conflict kept apart, and instances are not deleted), so a row read once stays true;
   * the caller's scope and the study and series it names are checked on every lookup.
   */
  private readonly instanceRows = new Map<string, InstanceHit>();

  /** Most patients whose studies a search reads through their ids (see PATIENT_LIST). */
  private readonly patientList: number;

  /** @param opts.patientList - see {@link PATIENT_LIST} (the default) */
  constructor(
    private readonly db: Kysely<Database>,
    opts: { patientList?: number } = {},
  ) {
    this.patientList = opts.patientList ?? PATIENT_LIST;
  }

  private scoped<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, column: string, scope: FacilityScope): QB {
    return scope === 'all' ? qb : (qb.where(sql.ref(column), 'in', scope.length ? [...scope] : ['']) as QB);
  }

  /**
   * Studies matching the query, newest first (ties in date and time by id, descending).
   *
   * Built for a million studies (see migration 010_query_indexes and `npm run bench:query`):
   * 1. Patient conditions (name, Patient ID) are first run on patients alone (a fuzzy name
   *    on the name keys, patient_name_keys, from the index alone), for at most
   *    PATIENT_LIST ids. If that is all of them, the search is given the ids: the studies
   *    of those patients are read through (patient_ref, facility_id, study_date, ...), or
   *    (PostgreSQL's choice, for many ids) the newest studies are walked and tested
   *    against a hash of the ids. Otherwise the condition is so common that walking the
   *    newest studies and checking each one's patient finds a page of matches soon; a
   *    fuzzy name is checked on the study's copy of its patient's name text
   *    (patient_name_search, migration 022), in the index being walked.
   * 2. ModalitiesInStudy matches the study's own list of modalities (`studies.modalities`,
   *    "CT\SR", kept by intake with the series): the lists in the index that hold a wanted
   *    modality are found by skipping through it, and each is read newest first.
   * 3. Only the ids of the page are selected, in index order; the full rows of at most
   *    `limit` studies and their patients are read last. Deep pages therefore skip index
   *    entries, not joined rows.
   */
  async studies(q: StudyQuery): Promise<StudyHit[]> {
    let patientIds: string[] | undefined;
    if (q.patientName || q.patientId) {
      const ids = await this.matchingPatients(q, this.patientList + 1);
      if (ids.length === 0) return [];
      if (ids.length <= this.patientList) patientIds = ids;
    }
    let lists: string[] | undefined;
    if (q.modalities?.length && !patientIds) {
      lists = await this.modalityLists(q.modalities);
      if (lists.length === 0) return [];
      if (lists.length > MAX_MODALITY_LISTS) lists = undefined;
    }
    const postgres = this.db.getExecutor().adapter instanceof PostgresAdapter;

    const candidates = (list?: string) => {
      let qb = this.db.selectFrom('studies').select(['studies.id', 'studies.study_date', 'studies.study_time']);
      if (patientIds) {
        // One array parameter on PostgreSQL: the planner sees every id, and either reads
        // these patients' studies or walks the newest studies testing a hash of the ids.
        qb = postgres ? qb.where(sql<boolean>`studies.patient_ref = any(${patientIds}::text[])`) : qb.where('studies.patient_ref', 'in', patientIds);
      } else if (q.patientName || q.patientId) {
        // A fuzzy name is tested on the study's copy of the name text, in the index being
        // walked; anything else on the study's patient.
        const c = q.patientName;
        const fuzzy = c?.kind === 'name' && c.fuzzy ? c.value : undefined;
        if (fuzzy !== undefined) qb = whereFuzzyName(qb, 'studies.patient_name_search', fuzzy);
        if (fuzzy === undefined || q.patientId) {
          qb = qb.innerJoin('patients', 'patients.id', 'studies.patient_ref') as unknown as typeof qb;
          if (fuzzy === undefined) qb = whereName(qb, 'patients', c);
          qb = where(qb, 'patients.patient_id', q.patientId);
        }
      }
      qb = this.scoped(qb, 'studies.facility_id', q.scope);
      qb = where(qb, 'studies.study_date', q.studyDate);
      qb = where(qb, 'studies.accession_number', q.accessionNumber);
      qb = where(qb, 'studies.study_id', q.studyId);
      qb = where(qb, 'studies.description', q.studyDescription);
      qb = where(qb, 'studies.referring_physician', q.referringPhysician);
      qb = where(qb, 'studies.study_uid', q.studyUid);
      if (list !== undefined) qb = qb.where('studies.modalities', '=', list);
      else if (q.modalities?.length) {
        const mods = q.modalities;
        qb = qb.where((eb) => eb.exists(eb.selectFrom('series').select('series.id').whereRef('series.study_ref', '=', 'studies.id').where('series.modality', 'in', mods)));
      }
      return newestFirst(qb, 'studies');
    };

    let page;
    if (lists && lists.length > 1) {
      // Each list's newest limit+offset studies, merged: the page is among them.
      const n = q.limit + q.offset;
      const parts = lists.map((list, i) => this.db.selectFrom(candidates(list).limit(n).as(`m${i}`)).selectAll());
      const merged = parts.slice(1).reduce((all, part) => all.unionAll(part), parts[0]!);
      page = newestFirst(this.db.selectFrom(merged.as('u')).select('u.id'), 'u').limit(q.limit).offset(q.offset);
    } else {
      page = candidates(lists?.[0]).clearSelect().select('studies.id').limit(q.limit).offset(q.offset);
    }
    const rows = this.db
      .selectFrom('studies')
      .innerJoin('patients', 'patients.id', 'studies.patient_ref')
      .selectAll('studies')
      .select(['patients.patient_id', 'patients.issuer', 'patients.name_alphabetic', 'patients.name_ideographic', 'patients.name_phonetic', 'patients.birth_date', 'patients.sex'])
      .where('studies.id', 'in', page);
    return (await newestFirst(rows, 'studies').execute()) as StudyHit[];
  }

  /**
   * For a fuzzy name: the ids of the patients in scope some component of whose name starts
   * with the text (one range of the name keys' primary key), with the Patient ID condition
   * if any. A patient may come more than once. Undefined for other queries.
   */
  private fuzzyPatients(q: StudyQuery) {
    const c = q.patientName;
    if (c?.kind !== 'name' || !c.fuzzy || !c.value) return undefined;
    let qb = this.db
      .selectFrom('patient_name_keys')
      .select('patient_name_keys.patient_id as id')
      .where('patient_name_keys.key', '>=', c.value)
      .where('patient_name_keys.key', '<', `${c.value}${KEY_RANGE_END}`);
    qb = this.scoped(qb, 'patient_name_keys.facility_id', q.scope);
    if (q.patientId) qb = where(qb.innerJoin('patients', 'patients.id', 'patient_name_keys.patient_id'), 'patients.patient_id', q.patientId) as unknown as typeof qb;
    return qb;
  }

  /**
   * Ids of the patients in scope matching the query's patient conditions, at most `max`.
   * Patients belong to the facility of their studies, so the facility scope applies here
   * too. A name that is not fuzzy is matched group by group (a union), so that each part
   * is read from one index on (group, facility_id, id) alone.
   */
  private async matchingPatients(q: StudyQuery, max: number): Promise<string[]> {
    const base = () => {
      let qb = this.db.selectFrom('patients').select('patients.id');
      qb = this.scoped(qb, 'patients.facility_id', q.scope);
      return where(qb, 'patients.patient_id', q.patientId);
    };
    const c = q.patientName;
    if (c?.kind === 'name' && !c.fuzzy) {
      const [a, i, p] = (['name_alphabetic', 'name_ideographic', 'name_phonetic'] as const).map((col) => base().where(nameGroupTest(col, c.value)));
      // UNION ALL stops at the limit; a patient found through two groups counts twice
      // there (never missed) and once in the answer.
      const union = a!.unionAll(i!).unionAll(p!);
      const rows = await this.db.selectFrom(union.as('m')).select('m.id').limit(max).execute();
      return rows.length < max ? [...new Set(rows.map((r) => r.id))] : rows.map((r) => r.id);
    }
    const keyed = this.fuzzyPatients(q);
    if (keyed) {
      const rows = await keyed.limit(max).execute();
      // A patient with two keys starting with the text (a kana name in two groups) counts
      // twice towards the limit, as in the union above.
      return rows.length < max ? [...new Set(rows.map((r) => r.id))] : rows.map((r) => r.id);
    }
    return (await whereName(base(), 'patients', c).limit(max).execute()).map((r) => r.id);
  }

  /**
   * The distinct values of `studies.modalities` (e.g. "CT", "CT\PT") that contain one of
   * the wanted modalities. The index on modalities is read by skipping from one value to
   * the next (a recursive query), a few reads per distinct value rather than one per study.
   */
  private async modalityLists(wanted: readonly string[]): Promise<string[]> {
    const { rows } = await sql<{ v: string }>`
      with recursive m(v) as (
        select min(modalities) from studies
        union all
        select (select min(s.modalities) from studies s where s.modalities > m.v) from m where m.v is not null
      )
      select v from m where v is not null`.execute(this.db);
    const set = new Set(wanted);
    return rows.map((r) => r.v).filter((v) => v.split('\\').some((m) => set.has(m)));
  }

  /** Series of studies in scope. */
  async series(q: { scope: FacilityScope; studyUid?: Condition | undefined; seriesUid?: Condition | undefined; modality?: Condition | undefined; seriesNumber?: Condition | undefined; limit: number; offset: number }) {
    let qb = this.db
      .selectFrom('series')
      .innerJoin('studies', 'studies.id', 'series.study_ref')
      .selectAll('series')
      .select(['studies.study_uid', 'studies.facility_id']);
    qb = this.scoped(qb, 'studies.facility_id', q.scope);
    qb = where(qb, 'studies.study_uid', q.studyUid);
    qb = where(qb, 'series.series_uid', q.seriesUid);
    qb = where(qb, 'series.modality', q.modality);
    qb = where(qb, 'series.series_number', q.seriesNumber);
    return qb.orderBy('studies.study_uid').orderBy('series.series_number').orderBy('series.id').limit(q.limit).offset(q.offset).execute();
  }

  /** Instance rows with the UIDs of their series and study ({@link InstanceHit}). */
  private selectInstanceHits() {
    return this.db
      .selectFrom('instances')
      .innerJoin('series', 'series.id', 'instances.series_ref')
      .innerJoin('studies', 'studies.id', 'instances.study_ref')
      .selectAll('instances')
      .select(['series.series_uid', 'studies.study_uid']);
  }

  /** Instances of series in scope. */
  async instances(q: { scope: FacilityScope; studyUid?: Condition | undefined; seriesUid?: Condition | undefined; sopClassUid?: Condition | undefined; sopInstanceUid?: Condition | undefined; instanceNumber?: Condition | undefined; limit: number; offset: number }) {
    let qb = this.selectInstanceHits();
    qb = this.scoped(qb, 'instances.facility_id', q.scope);
    qb = where(qb, 'studies.study_uid', q.studyUid);
    qb = where(qb, 'series.series_uid', q.seriesUid);
    qb = where(qb, 'instances.sop_class_uid', q.sopClassUid);
    qb = where(qb, 'instances.sop_instance_uid', q.sopInstanceUid);
    qb = where(qb, 'instances.instance_number', q.instanceNumber);
    const rows = await qb.orderBy('series.series_uid').orderBy('instances.instance_number').orderBy('instances.id').limit(q.limit).offset(q.offset).execute();
    // The instances of one series are what a viewer asks for one by one next: their rows are
    // kept for single-instance lookups (as many as INSTANCE_ROWS_KEPT allows).
    if (q.seriesUid?.kind === 'equals' && rows.length <= INSTANCE_ROWS_KEPT / 4) for (const row of rows) this.keep(row);
    return rows;
  }

  /** Keeps an instance's row for {@link instance}, most recently used last. */
  private keep(row: InstanceHit): void {
    this.instanceRows.delete(row.sop_instance_uid);
    this.instanceRows.set(row.sop_instance_uid, row);
    if (this.instanceRows.size > INSTANCE_ROWS_KEPT) this.instanceRows.delete(this.instanceRows.keys().next().value!);
  }

  /**
   * One instance of the given study (and series, when given) in scope, or undefined: the
   * lookup of every frame a viewer shows, so its row is kept in memory after the first read
   * (see `instanceRows`). Nothing is kept for an instance not found.
   */
  async instance(q: { scope: FacilityScope; studyUid: string; seriesUid?: string | undefined; sopInstanceUid: string }): Promise<InstanceHit | undefined> {
    let row = this.instanceRows.get(q.sopInstanceUid);
    if (!row) {
      [row] = await this.selectInstanceHits().where('instances.sop_instance_uid', '=', q.sopInstanceUid).execute();
      if (!row) return undefined;
    }
    this.keep(row);
    if (q.scope !== 'all' && !q.scope.includes(row.facility_id)) return undefined;
    if (row.study_uid !== q.studyUid || (q.seriesUid !== undefined && row.series_uid !== q.seriesUid)) return undefined;
    return row;
  }

  /**
   * Patients in scope with the number of their studies, series and instances: the
   * PATIENT level of the Patient Root Query/Retrieve model (PS3.4 C.6.1.1.2).
   */
  async patients(q: PatientQuery): Promise<PatientHit[]> {
    const count = (column: 'num_series' | 'num_instances') =>
      sql<number>`(select coalesce(sum(${sql.ref(`s.${column}`)}), 0) from studies as s where s.patient_ref = patients.id)`;
    let qb = this.db
      .selectFrom('patients')
      .selectAll('patients')
      .select([
        sql<number>`(select count(*) from studies as s where s.patient_ref = patients.id)`.as('num_studies'),
        count('num_series').as('num_series'),
        count('num_instances').as('num_instances'),
      ]);
    qb = this.scoped(qb, 'patients.facility_id', q.scope);
    qb = whereName(qb, 'patients', q.patientName);
    qb = where(qb, 'patients.patient_id', q.patientId);
    qb = where(qb, 'patients.issuer', q.issuer);
    qb = where(qb, 'patients.birth_date', q.birthDate);
    qb = where(qb, 'patients.sex', q.sex);
    const rows = await qb.orderBy('patients.patient_id').orderBy('patients.id').limit(q.limit).offset(q.offset).execute();
    // PostgreSQL returns count and sum as strings.
    return rows.map((r) => ({ ...r, num_studies: Number(r.num_studies), num_series: Number(r.num_series), num_instances: Number(r.num_instances) }));
  }
}

/** An instance row with the UIDs of its series and study. */
export type InstanceHit = Instance & { series_uid: string; study_uid: string };

/** Instance rows kept by {@link QueryRepository.instance} (about 1 kB each). */
const INSTANCE_ROWS_KEPT = 20_000;

/** Conditions of a patient-level search. */
export interface PatientQuery {
  scope: FacilityScope;
  patientName?: Condition | undefined;
  patientId?: Condition | undefined;
  issuer?: Condition | undefined;
  birthDate?: Condition | undefined;
  sex?: Condition | undefined;
  limit: number;
  offset: number;
}

/** A patient row with the counts of its studies, series and instances. */
export type PatientHit = Patient & { num_studies: number; num_series: number; num_instances: number };
