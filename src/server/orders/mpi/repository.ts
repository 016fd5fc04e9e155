/**
 * SQL for the master patient index (W3, S1): the patients table (rows are also created by
 * image intake), explicit links between facilities' records and opt-outs. Works on the
 * database or inside a transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Patient, PatientLink, PatientOptOut } from '../../platform/db/schema.ts';
import { nameSearchText } from '../../archive/dicom/names.ts';
import type { PatientInput } from '../model.ts';

/** A patient row with its facility's name. */
export type PatientRow = Patient & { facility_name: string };

/** Demographic columns that an update may change. */
const DEMOGRAPHICS = ['name_alphabetic', 'name_ideographic', 'name_phonetic', 'sex', 'birth_date'] as const;

/** Patients, links and opt-outs. */
export class MpiRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private patients() {
    return this.db.selectFrom('patients').innerJoin('facilities', 'facilities.id', 'patients.facility_id').selectAll('patients').select('facilities.name as facility_name');
  }

  async patient(id: string): Promise<PatientRow | undefined> {
    return this.patients().where('patients.id', '=', id).executeTakeFirst();
  }

  async patientsByIds(ids: readonly string[]): Promise<PatientRow[]> {
    if (ids.length === 0) return [];
    return this.patients().where('patients.id', 'in', [...new Set(ids)]).execute();
  }

  async find(facilityId: string, patientId: string, issuer: string): Promise<Patient | undefined> {
    return this.db
      .selectFrom('patients')
      .selectAll()
      .where('facility_id', '=', facilityId)
      .where('patient_id', '=', patientId)
      .where('issuer', '=', issuer)
      .executeTakeFirst();
  }

  /**
   * Finds or creates the patient (facility, patient ID, issuer) and brings its demographics
   * up to date: `overwrite` replaces each demographic the input carries (ADT, the
   * facility's truth); `fill` only fills what is empty (orders, clinical items, which must
   * not undo a later ADT correction). Empty input fields never erase stored ones.
   * @returns the row id, whether it was created, and the demographic columns changed
   */
  async ensure(facilityId: string, p: PatientInput, mode: 'overwrite' | 'fill', now: string): Promise<{ id: string; created: boolean; changed: string[] }> {
    const found = await this.find(facilityId, p.patientId, p.issuer);
    const incoming: Record<(typeof DEMOGRAPHICS)[number], string> = {
      name_alphabetic: p.name.alphabetic,
      name_ideographic: p.name.ideographic,
      name_phonetic: p.name.phonetic,
      sex: p.sex,
      birth_date: p.birthDate,
    };
    if (!found) {
      const id = randomUUID();
      const inserted = await this.db
        .insertInto('patients')
        .values({ id, facility_id: facilityId, patient_id: p.patientId, issuer: p.issuer, ...incoming, name_search: nameSearchText(p.name), created_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['facility_id', 'patient_id', 'issuer']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return { id, created: true, changed: [] };
      // Created meanwhile by another transaction (image intake): update it like any other.
      return this.ensure(facilityId, p, mode, now);
    }
    const next: Partial<Record<(typeof DEMOGRAPHICS)[number], string>> = {};
    for (const col of DEMOGRAPHICS) {
      const value = incoming[col];
      if (!value || value === found[col]) continue;
      if (mode === 'fill' && found[col]) continue;
      next[col] = value;
    }
    const changed = Object.keys(next);
    if (changed.length) {
      const merged = { ...found, ...next };
      await this.db
        .updateTable('patients')
        .set({ ...next, name_search: nameSearchText({ alphabetic: merged.name_alphabetic, ideographic: merged.name_ideographic, phonetic: merged.name_phonetic }), updated_at: now })
        .where('id', '=', found.id)
        .execute();
    }
    return { id: found.id, created: false, changed };
  }

  /** Every link of a patient, active or ended, oldest first. */
  async linksOf(patientRef: string): Promise<PatientLink[]> {
    return this.db
      .selectFrom('patient_links')
      .selectAll()
      .where((eb) => eb.or([eb('patient_a', '=', patientRef), eb('patient_b', '=', patientRef)]))
      .orderBy('linked_at')
      .orderBy('id')
      .execute();
  }

  /** The other patients of a patient's active links. */
  async activeLinkedIds(patientRef: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('patient_links')
      .select(['patient_a', 'patient_b'])
      .where('unlinked_at', 'is', null)
      .where((eb) => eb.or([eb('patient_a', '=', patientRef), eb('patient_b', '=', patientRef)]))
      .execute();
    return rows.map((r) => (r.patient_a === patientRef ? r.patient_b : r.patient_a));
  }

  async link(id: string): Promise<PatientLink | undefined> {
    return this.db.selectFrom('patient_links').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async activeLink(a: string, b: string): Promise<PatientLink | undefined> {
    return this.db.selectFrom('patient_links').selectAll().where('patient_a', '=', a).where('patient_b', '=', b).where('unlinked_at', 'is', null).executeTakeFirst();
  }

  async insertLink(row: PatientLink): Promise<void> {
    await this.db.insertInto('patient_links').values(row).execute();
  }

  /** Ends an active link; false when it was not active. */
  async endLink(id: string, by: string, at: string, reason: string): Promise<boolean> {
    const r = await this.db.updateTable('patient_links').set({ unlinked_by: by, unlinked_at: at, unlink_reason: reason }).where('id', '=', id).where('unlinked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Every opt-out of a patient, newest first. */
  async optOuts(patientRef: string): Promise<PatientOptOut[]> {
    return this.db.selectFrom('patient_opt_outs').selectAll().where('patient_ref', '=', patientRef).orderBy('recorded_at', 'desc').orderBy('id').execute();
  }

  async activeOptOut(patientRef: string): Promise<PatientOptOut | undefined> {
    return this.db.selectFrom('patient_opt_outs').selectAll().where('patient_ref', '=', patientRef).where('withdrawn_at', 'is', null).executeTakeFirst();
  }

  /** Which of these patients have an active opt-out. */
  async optedOut(patientRefs: readonly string[]): Promise<Set<string>> {
    if (patientRefs.length === 0) return new Set();
    const rows = await this.db.selectFrom('patient_opt_outs').select('patient_ref').where('patient_ref', 'in', [...new Set(patientRefs)]).where('withdrawn_at', 'is', null).execute();
    return new Set(rows.map((r) => r.patient_ref));
  }

  async insertOptOut(row: PatientOptOut): Promise<void> {
    await this.db.insertInto('patient_opt_outs').values(row).execute();
  }

  async withdrawOptOut(id: string, w: { withdrawn_on: string; withdrawn_source: string; withdrawn_by: string; withdrawn_at: string }): Promise<boolean> {
    const r = await this.db.updateTable('patient_opt_outs').set(w).where('id', '=', id).where('withdrawn_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async optOut(id: string): Promise<PatientOptOut | undefined> {
    return this.db.selectFrom('patient_opt_outs').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
