/**
 * SQL for clinical items (W4), the only place that touches that table. Works on the
 * database or inside a transaction.
 */
import type { Kysely } from 'kysely';
import type { ClinicalItem, Database } from '../../platform/db/schema.ts';

/** Clinical item rows. */
export class ClinicalRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The items stored under these source keys of a facility and source, by source key
   * (500 keys per query, through the unique index clinical_items_source_key).
   */
  async byKeys(facilityId: string, source: string, sourceKeys: readonly string[]): Promise<Map<string, Pick<ClinicalItem, 'id' | 'content_sha256'>>> {
    const out = new Map<string, Pick<ClinicalItem, 'id' | 'content_sha256'>>();
    const keys = [...new Set(sourceKeys)];
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await this.db
        .selectFrom('clinical_items')
        .select(['id', 'content_sha256', 'source_key'])
        .where('facility_id', '=', facilityId)
        .where('source', '=', source)
        .where('source_key', 'in', keys.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.source_key, { id: r.id, content_sha256: r.content_sha256 });
    }
    return out;
  }

  async insert(row: ClinicalItem): Promise<void> {
    await this.db.insertInto('clinical_items').values(row).execute();
  }

  /** Inserts items, several per statement. */
  async insertMany(rows: readonly ClinicalItem[]): Promise<void> {
    // 17 columns: 200 rows stay far below both databases' limits on bound parameters.
    for (let i = 0; i < rows.length; i += 200) await this.db.insertInto('clinical_items').values(rows.slice(i, i + 200)).execute();
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
