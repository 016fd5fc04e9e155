/**
 * SQL of report delivery: the only place that touches `delivery_endpoints`,
 * `report_deliveries` and `report_delivery_attempts`. Every method takes the executor to run
 * on (the database, or the caller's transaction), so that deliveries are queued in the
 * transaction that finalises the report.
 */
import type { Kysely, Transaction } from 'kysely';
import { DEFAULT_TERMS } from '../../orders/index.ts';
import type { Database } from '../../platform/db/schema.ts';
import type { DeliveryEndpoint, DeliveryEndpointTable, ReportDelivery, ReportDeliveryAttempt, ReportDeliveryAttemptTable, ReportDeliveryTable } from './schema.ts';
import type { DeliveryRoute } from '../../../shared/api.ts';

/** A database handle or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Filter of {@link DeliveryRepository.list}. */
export interface DeliveryFilter {
  facilities: 'all' | readonly string[];
  facilityId?: string | undefined;
  status?: string | undefined;
  route?: string | undefined;
  limit: number;
  offset: number;
}

/** Persistence of endpoints, deliveries and attempts. */
export class DeliveryRepository {
  /**
   * How reports reach a facility's EMR, read in the caller's transaction: the contract's
   * delivery terms (A5), or the defaults of a facility without a contract. The contract
   * service reads outside transactions only, and on SQLite a read outside the open
   * transaction would wait for it, so the row is read here through the same executor.
   */
  async deliveryTerms(ex: Executor, facilityId: string): Promise<{ route: DeliveryRoute; transcriptionConfirmer: string }> {
    const row = await ex.selectFrom('facility_contracts').select(['delivery_route', 'transcription_confirmer']).where('facility_id', '=', facilityId).executeTakeFirst();
    if (!row) return { ...DEFAULT_TERMS.delivery };
    return { route: row.delivery_route as DeliveryRoute, transcriptionConfirmer: row.transcription_confirmer };
  }

  // Endpoints

  async insertEndpoint(ex: Executor, row: DeliveryEndpointTable): Promise<void> {
    await ex.insertInto('delivery_endpoints').values(row).execute();
  }

  async endpoint(ex: Executor, id: string): Promise<DeliveryEndpoint | undefined> {
    return ex.selectFrom('delivery_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async endpointByName(ex: Executor, facilityId: string, name: string): Promise<DeliveryEndpoint | undefined> {
    return ex.selectFrom('delivery_endpoints').selectAll().where('facility_id', '=', facilityId).where('name', '=', name).executeTakeFirst();
  }

  async endpoints(ex: Executor, facilityId: string, opts: { kind?: string; activeOnly?: boolean } = {}): Promise<DeliveryEndpoint[]> {
    let q = ex.selectFrom('delivery_endpoints').selectAll().where('facility_id', '=', facilityId);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.activeOnly) q = q.where('active', '=', 1);
    return q.orderBy('created_at').orderBy('id').execute();
  }

  async setEndpointActive(ex: Executor, id: string, active: boolean, at: string): Promise<void> {
    await ex.updateTable('delivery_endpoints').set({ active: active ? 1 : 0, updated_at: at }).where('id', '=', id).execute();
  }

  // Deliveries

  /** Inserts the delivery unless one with its key exists; returns the stored row and whether it was created. */
  async insertDeliveryIfAbsent(ex: Executor, row: ReportDeliveryTable): Promise<{ delivery: ReportDelivery; created: boolean }> {
    const r = await ex.insertInto('report_deliveries').values(row).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    const created = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    const delivery = await ex.selectFrom('report_deliveries').selectAll().where('key', '=', row.key).executeTakeFirstOrThrow();
    return { delivery, created };
  }

  async delivery(ex: Executor, id: string): Promise<ReportDelivery | undefined> {
    return ex.selectFrom('report_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async deliveriesOfVersion(ex: Executor, versionId: string): Promise<ReportDelivery[]> {
    return ex.selectFrom('report_deliveries').selectAll().where('version_id', '=', versionId).orderBy('created_at').orderBy('id').execute();
  }

  /** Deliveries of earlier versions of a report to the same endpoint that are still on their way. */
  async pendingEarlier(ex: Executor, reportId: string, endpointId: string, version: number): Promise<ReportDelivery[]> {
    return ex.selectFrom('report_deliveries').selectAll()
      .where('report_id', '=', reportId).where('endpoint_id', '=', endpointId)
      .where('version_number', '<', version).where('status', '=', 'pending')
      .execute();
  }

  async list(ex: Executor, f: DeliveryFilter): Promise<ReportDelivery[]> {
    if (f.facilities !== 'all' && f.facilities.length === 0) return [];
    let q = ex.selectFrom('report_deliveries').selectAll();
    if (f.facilities !== 'all') q = q.where('facility_id', 'in', [...f.facilities]);
    if (f.facilityId) q = q.where('facility_id', '=', f.facilityId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.route) q = q.where('route', '=', f.route);
    return q.orderBy('created_at', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute();
  }

  async updateDelivery(ex: Executor, id: string, set: Partial<Omit<ReportDeliveryTable, 'id' | 'key'>>): Promise<void> {
    await ex.updateTable('report_deliveries').set(set).where('id', '=', id).execute();
  }

  /**
   * Moves a manual delivery from one status to the next; false when it was not in `from`
   * (someone else acted first).
   */
  async advanceManual(ex: Executor, id: string, from: string, set: Partial<Omit<ReportDeliveryTable, 'id' | 'key'>>): Promise<boolean> {
    const r = await ex.updateTable('report_deliveries').set(set).where('id', '=', id).where('status', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows ?? 0) > 0;
  }

  // Attempts

  async insertAttempt(ex: Executor, row: ReportDeliveryAttemptTable): Promise<void> {
    await ex.insertInto('report_delivery_attempts').values(row).execute();
  }

  async finishAttempt(ex: Executor, id: string, set: Pick<ReportDeliveryAttemptTable, 'finished_at' | 'outcome' | 'ack_code' | 'http_status' | 'error' | 'duration_ms'>): Promise<void> {
    await ex.updateTable('report_delivery_attempts').set(set).where('id', '=', id).execute();
  }

  /** Attempts left `running` by a process that stopped: marked `interrupted`. */
  async interruptRunning(ex: Executor, deliveryId: string, at: string): Promise<number> {
    const r = await ex.updateTable('report_delivery_attempts')
      .set({ outcome: 'interrupted', finished_at: at, error: 'the process stopped during this attempt (crash or restart); the message may have reached the receiver, which can drop the repeat by its MSH-10 / conditional update' })
      .where('delivery_id', '=', deliveryId).where('outcome', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows ?? 0);
  }

  async attempts(ex: Executor, deliveryIds: readonly string[]): Promise<ReportDeliveryAttempt[]> {
    if (deliveryIds.length === 0) return [];
    return ex.selectFrom('report_delivery_attempts').selectAll().where('delivery_id', 'in', [...deliveryIds]).orderBy('delivery_id').orderBy('attempt').execute();
  }

  /** The number of the next attempt (attempts already recorded + 1). */
  async nextAttemptNumber(ex: Executor, deliveryId: string): Promise<number> {
    const r = await ex.selectFrom('report_delivery_attempts').select((eb) => eb.fn.max('attempt').as('n')).where('delivery_id', '=', deliveryId).executeTakeFirst();
    return Number(r?.n ?? 0) + 1;
  }
}
