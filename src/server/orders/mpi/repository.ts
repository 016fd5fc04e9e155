/**
 * SQL for the master patient index (W3, S1): the patients table (rows are also created by
 * image intake), explicit links between facilities' records and opt-outs. Works on the
 * database or inside a transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Patient, PatientLink, PatientOptOut } from '../../platform/db/schema.ts';
import { nameSearchText, writeNameKeys } from '../../archive/index.ts';
import type { PatientInput } from '../model.ts';

/** A patient row with its facility's name. */
export type PatientRow = Patient & { facility_name: string };

/** Demographic columns that an update may change. */
const DEMOGRAPHICS = ['name_alphabetic', 'name_ideographic', 'name_phonetic', 'sex', 'birth_date'] as const;

/** The demographic columns of a patient row. */
type Demographics = Record<(typeof DEMOGRAPHICS)[number], string>;

function demographicsOf(p: PatientInput): Demographics {
  return { name_alphabetic: p.name.alphabetic, name_ideographic: p.name.ideographic, name_phonetic: p.name.phonetic, sex: p.sex, birth_date: p.birthDate };
}

/** The row of a patient not known so far. */
export function newPatientRow(facilityId: string, p: PatientInput, now: string): Patient {
  return { id: randomUUID(), facility_id: facilityId, patient_id: p.patientId, issuer: p.issuer, ...demographicsOf(p), name_search: nameSearchText(p.name), created_at: now, updated_at: now };
}

/**
 * What an input changes on a stored patient: `overwrite` replaces each demographic the input
 * carries (ADT, the facility's truth); `fill` only fills what is empty (orders, clinical
 * items, which must not undo a later ADT correction). Empty input fields never erase stored
 * ones. Returns the changed column names and the updated row (the same row when nothing changed).
 */
export function demographicUpdate(found: Patient, p: PatientInput, mode: 'overwrite' | 'fill', now: string): { changed: string[]; row: Patient } {
  const incoming = demographicsOf(p);
  const next: Partial<Demographics> = {};
  for (const col of DEMOGRAPHICS) {
    const value = incoming[col];
    if (!value || value === found[col]) continue;
    if (mode === 'fill' && found[col]) continue;
    next[col] = value;
  }
  const changed = Object.keys(next);
  if (changed.length === 0) return { changed, row: found };
  const merged = { ...found, ...next };
  const row = { ...merged, name_search: nameSearchText({ alphabetic: merged.name_alphabetic, ideographic: merged.name_ideographic, phonetic: merged.name_phonetic }), updated_at: now };
  return { changed, row };
}

/** Key of a patient within the index: facility, Patient ID, issuer. */
export function patientKey(facilityId: string, patientId: string, issuer: string): string {
  return `${facilityId}\u0000${patientId}\u0000${issuer}`;
}

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
    if (!found) {
      const row = newPatientRow(facilityId, p, now);
      const inserted = await this.db
        .insertInto('patients')
        .values(row)
        .onConflict((oc) => oc.columns(['facility_id', 'patient_id', 'issuer']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
        await writeNameKeys(this.db, [row], false);
        return { id: row.id, created: true, changed: [] };
      }
      // Created meanwhile by another transaction (image intake): update it like any other.
      return this.ensure(facilityId, p, mode, now);
    }
    const { changed, row } = demographicUpdate(found, p, mode, now);
    if (changed.length) await this.updateDemographics(row, changed);
    return { id: found.id, created: false, changed };
  }

  /** The patients of a facility with these Patient IDs (any issuer), keyed by {@link patientKey}. */
  async findMany(facilityId: string, patientIds: readonly string[]): Promise<Map<string, Patient>> {
    const out = new Map<string, Patient>();
    const ids = [...new Set(patientIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('patients').selectAll().where('facility_id', '=', facilityId).where('patient_id', 'in', ids.slice(i, i + 500)).execute();
      for (const r of rows) out.set(patientKey(r.facility_id, r.patient_id, r.issuer), r);
    }
    return out;
  }

  /**
   * Inserts new patients, several per statement. A row that another transaction inserted
   * meanwhile (image intake) is skipped; returns the ids actually inserted.
   */
  async insertMany(rows: readonly Patient[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    // 13 columns: 200 rows stay far below both databases' limits on bound parameters.
    for (let i = 0; i < rows.length; i += 200) {
      const r = await this.db
        .insertInto('patients')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.columns(['facility_id', 'patient_id', 'issuer']).doNothing())
        .returning('id')
        .execute();
      for (const x of r) inserted.add(x.id);
    }
    await writeNameKeys(this.db, rows.filter((r) => inserted.has(r.id)), false);
    return inserted;
  }

  /**
   * Writes the changed demographic columns of a patient row from {@link demographicUpdate},
   * with its name search text and update time. Only those columns: a change another
   * transaction made to the others meanwhile stays.
   */
  async updateDemographics(row: Patient, changed: readonly string[]): Promise<void> {
    const set: Partial<Patient> = { name_search: row.name_search, updated_at: row.updated_at };
    for (const col of DEMOGRAPHICS) if (changed.includes(col)) set[col] = row[col];
    await this.db.updateTable('patients').set(set).where('id', '=', row.id).execute();
    if (changed.some((col) => col.startsWith('name_'))) await writeNameKeys(this.db, [row], true);
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
