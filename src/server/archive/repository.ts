/**
 * SQL for the archive index: patients, studies, series, instances and conflicts.
 * `recordInstance` writes one instance and its parents in a single transaction, so the
 * index never holds an instance without its study and counts.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import { likePattern, type Condition } from './dicomweb/qido-match.ts';
import type { Database, Instance, Patient, Study } from '../platform/db/schema.ts';
import type { InstanceAttributes } from './dicom/attributes.ts';
import { formatPersonName } from './dicom/attributes.ts';
import { nameSearchText, normaliseForSearch } from './dicom/names.ts';

/** Where an instance came from and what it is on disk. */
export interface InstanceProvenance {
  facilityId: string;
  callingAet: string;
  source: 'dimse' | 'stow' | 'import';
  transferSyntaxUid: string;
  blobSha256: string;
  datasetSha256: string;
  sizeBytes: number;
  receivedAt: string;
}

/** Called inside the index transaction to append the audit entry of what happened (rule 3). */
export type AuditHook = (trx: Transaction<Database>, what: { action: 'instance.store' | 'instance.conflict'; patientRef: string | null; studyId: string | null }) => Promise<void>;

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
   */
  async recordInstance(a: InstanceAttributes, p: InstanceProvenance, audit: AuditHook): Promise<RecordResult> {
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
      const study = await this.ensureStudy(trx, a, p);
      if (!study) return { kind: 'foreign-study' } as const;
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
      return { kind: 'stored', instance } as const;
    });
  }

  private async ensurePatient(trx: Transaction<Database>, a: InstanceAttributes, p: InstanceProvenance): Promise<string> {
    const find = () =>
      trx
        .selectFrom('patients')
        .select('id')
        .where('facility_id', '=', p.facilityId)
        .where('patient_id', '=', a.patientId)
        .where('issuer', '=', a.issuerOfPatientId)
        .executeTakeFirst();
    const found = await find();
    if (found) return found.id;
    await trx
      .insertInto('patients')
      .values({
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
      })
      .onConflict((oc) => oc.columns(['facility_id', 'patient_id', 'issuer']).doNothing())
      .execute();
    return (await find())!.id;
  }

  /** Finds or creates the study; undefined when the Study Instance UID belongs to another facility. */
  private async ensureStudy(trx: Transaction<Database>, a: InstanceAttributes, p: InstanceProvenance): Promise<Study | undefined> {
    const find = () => trx.selectFrom('studies').selectAll().where('study_uid', '=', a.studyInstanceUid).executeTakeFirst();
    let study = await find();
    if (!study) {
      const patientRef = await this.ensurePatient(trx, a, p);
      await trx
        .insertInto('studies')
        .values({
          id: randomUUID(),
          facility_id: p.facilityId,
          patient_ref: patientRef,
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
        .execute();
      study = await find();
    }
    if (!study || study.facility_id !== p.facilityId) return undefined;
    return study;
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

/** Person-name matching over the three component groups (see qido-match.ts). */
function whereName<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, prefix: string, c: Condition | undefined): QB {
  if (!c || c.kind !== 'name') return qb;
  if (c.fuzzy) {
    const p = likePattern(c.value);
    // A component starts the name, a group (new line) or follows a component separator.
    return qb.where((eb: any) =>
      eb.or([
        sql<boolean>`${sql.ref(`${prefix}.name_search`)} like ${`${p}%`} escape '\\'`,
        sql<boolean>`${sql.ref(`${prefix}.name_search`)} like ${`%\n${p}%`} escape '\\'`,
        sql<boolean>`${sql.ref(`${prefix}.name_search`)} like ${`%^${p}%`} escape '\\'`,
      ]),
    ) as QB;
  }
  const exact = /[*?]/.test(c.value) ? { op: 'like', v: likePattern(c.value) } : { op: '=', v: c.value };
  const test = (col: string) => (exact.op === 'like' ? sql<boolean>`${sql.ref(`${prefix}.${col}`)} like ${exact.v} escape '\\'` : sql<boolean>`${sql.ref(`${prefix}.${col}`)} = ${exact.v}`);
  return qb.where((eb: any) => eb.or([test('name_alphabetic'), test('name_ideographic'), test('name_phonetic')])) as QB;
}

/** Read side of the index for QIDO-RS and DIMSE C-FIND. */
export class QueryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private scoped<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, column: string, scope: FacilityScope): QB {
    return scope === 'all' ? qb : (qb.where(sql.ref(column), 'in', scope.length ? [...scope] : ['']) as QB);
  }

  /** Studies matching the query, newest first. */
  async studies(q: StudyQuery): Promise<StudyHit[]> {
    let qb = this.db
      .selectFrom('studies')
      .innerJoin('patients', 'patients.id', 'studies.patient_ref')
      .selectAll('studies')
      .select(['patients.patient_id', 'patients.issuer', 'patients.name_alphabetic', 'patients.name_ideographic', 'patients.name_phonetic', 'patients.birth_date', 'patients.sex']);
    qb = this.scoped(qb, 'studies.facility_id', q.scope);
    qb = whereName(qb, 'patients', q.patientName);
    qb = where(qb, 'patients.patient_id', q.patientId);
    qb = where(qb, 'studies.study_date', q.studyDate);
    qb = where(qb, 'studies.accession_number', q.accessionNumber);
    qb = where(qb, 'studies.study_id', q.studyId);
    qb = where(qb, 'studies.description', q.studyDescription);
    qb = where(qb, 'studies.referring_physician', q.referringPhysician);
    qb = where(qb, 'studies.study_uid', q.studyUid);
    if (q.modalities?.length) {
      const mods = q.modalities;
      qb = qb.where((eb) => eb.exists(eb.selectFrom('series').select('series.id').whereRef('series.study_ref', '=', 'studies.id').where('series.modality', 'in', mods)));
    }
    return (await qb.orderBy('studies.study_date', 'desc').orderBy('studies.study_time', 'desc').orderBy('studies.id').limit(q.limit).offset(q.offset).execute()) as StudyHit[];
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

  /** Instances of series in scope. */
  async instances(q: { scope: FacilityScope; studyUid?: Condition | undefined; seriesUid?: Condition | undefined; sopClassUid?: Condition | undefined; sopInstanceUid?: Condition | undefined; instanceNumber?: Condition | undefined; limit: number; offset: number }) {
    let qb = this.db
      .selectFrom('instances')
      .innerJoin('series', 'series.id', 'instances.series_ref')
      .innerJoin('studies', 'studies.id', 'instances.study_ref')
      .selectAll('instances')
      .select(['series.series_uid', 'studies.study_uid']);
    qb = this.scoped(qb, 'instances.facility_id', q.scope);
    qb = where(qb, 'studies.study_uid', q.studyUid);
    qb = where(qb, 'series.series_uid', q.seriesUid);
    qb = where(qb, 'instances.sop_class_uid', q.sopClassUid);
    qb = where(qb, 'instances.sop_instance_uid', q.sopInstanceUid);
    qb = where(qb, 'instances.instance_number', q.instanceNumber);
    return qb.orderBy('series.series_uid').orderBy('instances.instance_number').orderBy('instances.id').limit(q.limit).offset(q.offset).execute();
  }
}
