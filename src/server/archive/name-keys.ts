/**
 * Keeping the fuzzy name search keys of patients (table patient_name_keys, see
 * nameSearchKeys in dicom/names.ts) and the copy of their name text on their studies
 * (studies.patient_name_search) in step with their names. Every write of a patient's name
 * calls this in the same transaction.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.ts';
import { nameSearchKeys } from './dicom/names.ts';

/** A patient's identity and searchable name text. */
export interface NamedPatient {
  id: string;
  facility_id: string;
  name_search: string;
}

/** Key rows per statement: three bound values each, far below both databases' limits. */
const ROWS_PER_INSERT = 300;

/**
 * Writes the name keys of patients, replacing any they had, and the name text on their
 * studies.
 * @param db the transaction (or database) the patients were written in
 * @param replace false for patients just inserted (they have no keys and no studies yet)
 */
export async function writeNameKeys(db: Kysely<Database>, patients: readonly NamedPatient[], replace: boolean): Promise<void> {
  if (patients.length === 0) return;
  if (replace) {
    for (let i = 0; i < patients.length; i += 500) {
      await db.deleteFrom('patient_name_keys').where('patient_id', 'in', patients.slice(i, i + 500).map((p) => p.id)).execute();
    }
    for (const p of patients) {
      await db.updateTable('studies').set({ patient_name_search: p.name_search }).where('patient_ref', '=', p.id).where('patient_name_search', '!=', p.name_search).execute();
    }
  }
  const rows = patients.flatMap((p) => nameSearchKeys(p.name_search).map((key) => ({ key, facility_id: p.facility_id, patient_id: p.id })));
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await db.insertInto('patient_name_keys').values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
  }
}
