/**
 * SQL for clinical items (W4), the only place that touches that table. Works on the
 * database or inside a transaction.
 */
import type { Kysely } from 'kysely';
import type { ClinicalItem, Database } from '../../platform/db/schema.ts';

/** Clinical item rows. */
export class ClinicalRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async byKey(facilityId: string, source: string, sourceKey: string): Promise<Pick<ClinicalItem, 'id' | 'content_sha256'> | undefined> {
    return this.db
      .selectFrom('clinical_items')
      .select(['id', 'content_sha256'])
      .where('facility_id', '=', facilityId)
      .where('source', '=', source)
      .where('source_key', '=', sourceKey)
      .executeTakeFirst();
  }

  async insert(row: ClinicalItem): Promise<void> {
    await this.db.insertInto('clinical_items').values(row).execute();
  }

  async update(id: string, row: Omit<ClinicalItem, 'id' | 'facility_id' | 'source' | 'source_key' | 'recorded_at'>): Promise<void> {
    await this.db.updateTable('clinical_items').set(row).where('id', '=', id).execute();
  }

  /** Every item of these patients, newest first. */
  async ofPatients(patientRefs: readonly string[]): Promise<ClinicalItem[]> {
    if (patientRefs.length === 0) return [];
    return this.db
      .selectFrom('clinical_items')
      .selectAll()
      .where('patient_ref', 'in', [...new Set(patientRefs)])
      .orderBy('observed_at', 'desc')
      .orderBy('id')
      .execute();
  }
}
