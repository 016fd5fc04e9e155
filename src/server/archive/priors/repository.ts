/**
 * What the priors fetch reads from the archive index: the new study with its patient's
 * identifiers, and which of the PACS's studies Enkaku already holds.
 */
import type { Kysely } from 'kysely';
import type { Database, Study } from '../../platform/db/schema.ts';

/** A study with the identifiers of its patient. */
export type StudyWithPatient = Study & { patient_id: string; issuer: string };

/** Index reads of the priors fetch. */
export class PriorsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A study by Study Instance UID, with its patient's Patient ID and issuer. */
  async studyWithPatient(studyUid: string): Promise<StudyWithPatient | undefined> {
    return this.db
      .selectFrom('studies')
      .innerJoin('patients', 'patients.id', 'studies.patient_ref')
      .selectAll('studies')
      .select(['patients.patient_id', 'patients.issuer'])
      .where('studies.study_uid', '=', studyUid)
      .executeTakeFirst();
  }

  /** The study UIDs among `uids` that are in the index (of any facility). */
  async presentStudyUids(uids: readonly string[]): Promise<Set<string>> {
    if (uids.length === 0) return new Set();
    const rows = await this.db.selectFrom('studies').select('study_uid').where('study_uid', 'in', [...uids]).execute();
    return new Set(rows.map((r) => r.study_uid));
  }
}
