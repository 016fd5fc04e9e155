/**
 * SQL for facility contracts and their versions (the only place that touches these tables).
 */
import type { Kysely } from 'kysely';
import type { Database, FacilityContract } from '../../platform/db/schema.ts';

/** Contract rows; works on the database or inside a transaction. */
export class ContractRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(facilityId: string): Promise<FacilityContract | undefined> {
    return this.db.selectFrom('facility_contracts').selectAll().where('facility_id', '=', facilityId).executeTakeFirst();
  }

  /** Current contracts of several facilities. */
  async many(facilityIds: readonly string[]): Promise<FacilityContract[]> {
    if (facilityIds.length === 0) return [];
    return this.db.selectFrom('facility_contracts').selectAll().where('facility_id', 'in', facilityIds).execute();
  }

  /** Writes the current terms and appends them as a version. */
  async save(row: FacilityContract): Promise<void> {
    const { facility_id: _id, ...rest } = row;
    await this.db
      .insertInto('facility_contracts')
      .values(row)
      .onConflict((oc) => oc.column('facility_id').doUpdateSet(rest))
      .execute();
  }

  async addVersion(v: { facility_id: string; version: number; terms: string; changed_at: string; changed_by: string }): Promise<void> {
    await this.db.insertInto('facility_contract_versions').values(v).execute();
  }

  async versions(facilityId: string): Promise<Array<{ version: number; terms: string; changed_at: string; changed_by: string }>> {
    return this.db
      .selectFrom('facility_contract_versions')
      .select(['version', 'terms', 'changed_at', 'changed_by'])
      .where('facility_id', '=', facilityId)
      .orderBy('version', 'desc')
      .execute();
  }
}
