/**
 * SQL for facilities and their AE titles (the only place that touches these tables).
 */
import type { Kysely } from 'kysely';
import type { Database, DicomNode, Facility, PriorPolicy } from '../platform/db/schema.ts';

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

  async insertNode(node: DicomNode): Promise<void> {
    await this.db.insertInto('dicom_nodes').values(node).execute();
  }

  async nodes(facilityId: string): Promise<DicomNode[]> {
    return this.db.selectFrom('dicom_nodes').selectAll().where('facility_id', '=', facilityId).orderBy('aet').execute();
  }

  async node(facilityId: string, aet: string): Promise<DicomNode | undefined> {
    return this.db.selectFrom('dicom_nodes').selectAll().where('facility_id', '=', facilityId).where('aet', '=', aet).executeTakeFirst();
  }

  async priorPolicy(facilityId: string): Promise<PriorPolicy | undefined> {
    return this.db.selectFrom('prior_policies').selectAll().where('facility_id', '=', facilityId).executeTakeFirst();
  }

  async savePriorPolicy(p: PriorPolicy): Promise<void> {
    await this.db
      .insertInto('prior_policies')
      .values(p)
      .onConflict((oc) => oc.column('facility_id').doUpdateSet({ enabled: p.enabled, years: p.years, modalities: p.modalities, max_studies: p.max_studies, retrieve: p.retrieve, updated_at: p.updated_at }))
      .execute();
  }
}
