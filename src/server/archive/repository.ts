/**
 * SQL for the archive index: patients, studies, series, instances and conflicts.
 * `recordInstance` writes one instance and its parents in a single transaction, so the
 * index never holds an instance without its study and counts.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
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
