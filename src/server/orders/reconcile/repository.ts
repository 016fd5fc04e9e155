/**
 * SQL for order-study links and the reconciliation queue (W2), the only place that touches
 * those tables. Studies and patients are read, never written (they belong to image intake).
 * Works on the database or inside a transaction.
 */
import type { Kysely } from 'kysely';
import type { Database, Order, OrderStudyLink, Study } from '../../platform/db/schema.ts';

/** A study with the patient fields matching needs. */
export type StudyWithPatient = Study & { p_patient_id: string; p_issuer: string };

/** A queued study with everything the queue screen shows. */
export type QueuedStudyRow = StudyWithPatient & {
  reason: string;
  candidates: number;
  queued_at: string;
  facility_name: string;
  p_name_alphabetic: string;
  p_name_ideographic: string;
  p_name_phonetic: string;
  p_sex: string;
  p_birth_date: string;
};

/** Links and the queue. */
export class ReconcileRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private studies() {
    return this.db
      .selectFrom('studies')
      .innerJoin('patients as p', 'p.id', 'studies.patient_ref')
      .selectAll('studies')
      .select(['p.patient_id as p_patient_id', 'p.issuer as p_issuer']);
  }

  async study(id: string): Promise<StudyWithPatient | undefined> {
    return this.studies().where('studies.id', '=', id).executeTakeFirst();
  }

  /** Open-or-not orders of a facility with this accession number that have no study linked. */
  async unlinkedOrdersByAccession(facilityId: string, accession: string): Promise<Order[]> {
    return this.db
      .selectFrom('orders')
      .leftJoin('order_study_links as l', (j) => j.onRef('l.order_id', '=', 'orders.id').on('l.unlinked_at', 'is', null))
      .selectAll('orders')
      .where('orders.facility_id', '=', facilityId)
      .where('orders.accession_number', '=', accession)
      .where('l.id', 'is', null)
      .execute();
  }

  /** Whether a facility has any order with this accession number. */
  async anyOrderWithAccession(facilityId: string, accession: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('orders').select('id').where('facility_id', '=', facilityId).where('accession_number', '=', accession).executeTakeFirst());
  }

  /**
   * Orders of a facility's patient that are not cancelled and have no study: the patient
   * matched by Patient ID, and by issuer unless either side has none.
   */
  async openOrdersOfPatient(facilityId: string, patientId: string, issuer: string): Promise<Order[]> {
    return this.db
      .selectFrom('orders')
      .innerJoin('patients as p', 'p.id', 'orders.patient_ref')
      .leftJoin('order_study_links as l', (j) => j.onRef('l.order_id', '=', 'orders.id').on('l.unlinked_at', 'is', null))
      .selectAll('orders')
      .where('orders.facility_id', '=', facilityId)
      .where('p.patient_id', '=', patientId)
      .where((eb) => (issuer ? eb.or([eb('p.issuer', '=', issuer), eb('p.issuer', '=', '')]) : eb.lit(true)))
      .where('orders.status', '<>', 'cancelled')
      .where('l.id', 'is', null)
      .execute();
  }

  /** Whether any study of the facility waits in the queue. */
  async anyQueued(facilityId: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('unmatched_studies').select('study_id').where('facility_id', '=', facilityId).limit(1).executeTakeFirst());
  }

  /**
   * Queued studies of a facility with this accession number. The study's own facility is
   * named (it is the queue entry's) so that the lookup goes through the studies' (facility,
   * accession number) index instead of reading every study of the queue or with the number.
   */
  async queuedByAccession(facilityId: string, accession: string): Promise<StudyWithPatient[]> {
    return this.studies()
      .innerJoin('unmatched_studies as u', 'u.study_id', 'studies.id')
      .where('studies.facility_id', '=', facilityId)
      .where('u.facility_id', '=', facilityId)
      .where('studies.accession_number', '=', accession)
      .execute();
  }

  /** Queued studies of a facility's patient (Patient ID, issuer unless either side has none). */
  async queuedOfPatient(facilityId: string, patientId: string, issuer: string): Promise<StudyWithPatient[]> {
    return this.studies()
      .innerJoin('unmatched_studies as u', 'u.study_id', 'studies.id')
      .where('u.facility_id', '=', facilityId)
      .where('p.patient_id', '=', patientId)
      .where((eb) => (issuer ? eb.or([eb('p.issuer', '=', issuer), eb('p.issuer', '=', '')]) : eb.lit(true)))
      .execute();
  }

  async activeLinkOfStudy(studyId: string): Promise<OrderStudyLink | undefined> {
    return this.db.selectFrom('order_study_links').selectAll().where('study_id', '=', studyId).where('unlinked_at', 'is', null).executeTakeFirst();
  }

  async activeLinkOfOrder(orderId: string): Promise<OrderStudyLink | undefined> {
    return this.db.selectFrom('order_study_links').selectAll().where('order_id', '=', orderId).where('unlinked_at', 'is', null).executeTakeFirst();
  }

  async insertLink(l: OrderStudyLink): Promise<void> {
    await this.db.insertInto('order_study_links').values(l).execute();
  }

  async endLink(id: string, by: string, at: string, reason: string): Promise<boolean> {
    const r = await this.db.updateTable('order_study_links').set({ unlinked_by: by, unlinked_at: at, unlink_reason: reason }).where('id', '=', id).where('unlinked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Puts a study in the queue, or updates why it is there. */
  async enqueue(row: { study_id: string; facility_id: string; reason: string; candidates: number; queued_at: string }): Promise<void> {
    await this.db
      .insertInto('unmatched_studies')
      .values(row)
      .onConflict((oc) => oc.column('study_id').doUpdateSet({ reason: row.reason, candidates: row.candidates }))
      .execute();
  }

  async dequeue(studyId: string): Promise<void> {
    await this.db.deleteFrom('unmatched_studies').where('study_id', '=', studyId).execute();
  }

  /** The queue of some facilities, oldest first. */
  async queue(facilities: 'all' | readonly string[], limit: number): Promise<QueuedStudyRow[]> {
    let q = this.db
      .selectFrom('unmatched_studies as u')
      .innerJoin('studies', 'studies.id', 'u.study_id')
      .innerJoin('patients as p', 'p.id', 'studies.patient_ref')
      .innerJoin('facilities as f', 'f.id', 'studies.facility_id')
      .selectAll('studies')
      .select([
        'u.reason',
        'u.candidates',
        'u.queued_at',
        'f.name as facility_name',
        'p.patient_id as p_patient_id',
        'p.issuer as p_issuer',
        'p.name_alphabetic as p_name_alphabetic',
        'p.name_ideographic as p_name_ideographic',
        'p.name_phonetic as p_name_phonetic',
        'p.sex as p_sex',
        'p.birth_date as p_birth_date',
      ]);
    if (facilities !== 'all') q = q.where('u.facility_id', 'in', facilities.length ? [...facilities] : ['\u0000']);
    return q.orderBy('u.queued_at').orderBy('u.study_id').limit(limit).execute();
  }
}
