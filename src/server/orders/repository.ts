/**
 * SQL for facilities and their AE titles (the only place that touches these tables).
 */
import type { Kysely } from 'kysely';
import type { Database, Facility } from '../platform/db/schema.ts';

/** Facility rows and their calling AE titles. */
export class FacilityRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(facility: Facility, aets: string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('facilities').values(facility).execute();
      for (const aet of aets) {
        await trx.insertInto('facility_aets').values({ aet, facility_id: facility.id, created_at: facility.created_at }).execute();
      }
    });
  }

  async addAets(facilityId: string, aets: string[], now: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const aet of aets) await trx.insertInto('facility_aets').values({ aet, facility_id: facilityId, created_at: now }).execute();
    });
  }

  async byName(name: string): Promise<Facility | undefined> {
    return this.db.selectFrom('facilities').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async byId(id: string): Promise<Facility | undefined> {
    return this.db.selectFrom('facilities').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byAet(aet: string): Promise<Facility | undefined> {
    return this.db
      .selectFrom('facility_aets')
      .innerJoin('facilities', 'facilities.id', 'facility_aets.facility_id')
      .select(['facilities.id', 'facilities.name', 'facilities.created_at'])
      .where('facility_aets.aet', '=', aet)
      .executeTakeFirst();
  }

  async existingAets(aets: string[]): Promise<string[]> {
    if (aets.length === 0) return [];
    const rows = await this.db.selectFrom('facility_aets').select('aet').where('aet', 'in', aets).execute();
    return rows.map((r) => r.aet);
  }

  async list(): Promise<Array<Facility & { aets: string[] }>> {
    const facilities = await this.db.selectFrom('facilities').selectAll().orderBy('name').execute();
    const aets = await this.db.selectFrom('facility_aets').selectAll().orderBy('aet').execute();
    return facilities.map((f) => ({ ...f, aets: aets.filter((a) => a.facility_id === f.id).map((a) => a.aet) }));
  }
}
