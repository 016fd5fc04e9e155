/**
 * SQL for orders, their message history, protocols and consultation threads (the only
 * place that touches these tables). Works on the database or inside a transaction.
 * The stored status is `scheduled`, `cancelled` (the facility's cancel) or `completed` (the
 * report of the order's study was finalised, OrderService.markReported). `in-progress` is
 * shown, not stored: it is derived from an active study link (views.ts shownStatus). Deriving
 * it keeps the study-intake path from ever writing an order row: image intake holds the audit
 * head when it links, order intake holds its order rows when it waits for the head, so an
 * order UPDATE there could deadlock with an order message for the same order (PostgreSQL).
 * Inserting history rows is safe: their foreign key takes only a KEY SHARE lock, which the
 * FOR NO KEY UPDATE of order intake allows.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database, Order, OrderEvent } from '../../platform/db/schema.ts';

/** An order with its patient, facility name and linked study, as lists need it. */
export interface OrderRow extends Order {
  facility_name: string;
  p_patient_id: string;
  p_issuer: string;
  p_name_alphabetic: string;
  p_name_ideographic: string;
  p_name_phonetic: string;
  p_sex: string;
  p_birth_date: string;
  study_id: string | null;
}

/** Filters of the order list. */
export interface OrderFilter {
  facilities: 'all' | readonly string[];
  status?: string | undefined;
  modality?: string | undefined;
  priority?: string | undefined;
  /** requested_at bounds, ISO UTC; `to` exclusive. */
  from?: string | undefined;
  to?: string | undefined;
  /** Only orders without a linked study that are not cancelled (the reconciliation queue). */
  unlinkedOnly?: boolean | undefined;
  limit: number;
  offset: number;
}

/** Orders and what hangs off them. */
export class OrderRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The list query: orders with patient, facility and active study link. */
  private rows() {
    return this.db
      .selectFrom('orders')
      .innerJoin('patients as p', 'p.id', 'orders.patient_ref')
      .innerJoin('facilities as f', 'f.id', 'orders.facility_id')
      .leftJoin('order_study_links as l', (j) => j.onRef('l.order_id', '=', 'orders.id').on('l.unlinked_at', 'is', null))
      .selectAll('orders')
      .select([
        'f.name as facility_name',
        'p.patient_id as p_patient_id',
        'p.issuer as p_issuer',
        'p.name_alphabetic as p_name_alphabetic',
        'p.name_ideographic as p_name_ideographic',
        'p.name_phonetic as p_name_phonetic',
        'p.sex as p_sex',
        'p.birth_date as p_birth_date',
        'l.study_id as study_id',
      ]);
  }

  /**
   * The orders a facility knows by these placer order numbers, by placer order number. On
   * PostgreSQL the rows are locked (FOR NO KEY UPDATE: messages for one order apply one after
   * another, while links to it can still be inserted), in placer order: transactions that
   * lock several orders take them in the same order, so they wait rather than deadlock.
   */
  async byPlacers(facilityId: string, placers: readonly string[], lock: boolean): Promise<Map<string, Order>> {
    const out = new Map<string, Order>();
    const all = [...new Set(placers)].sort();
    for (let i = 0; i < all.length; i += 500) {
      let q = this.db.selectFrom('orders').selectAll().where('facility_id', '=', facilityId).where('placer_order_number', 'in', all.slice(i, i + 500)).orderBy('placer_order_number');
      if (lock) q = q.forNoKeyUpdate();
      for (const o of await q.execute()) out.set(o.placer_order_number, o);
    }
    return out;
  }

  async byId(id: string): Promise<Order | undefined> {
    return this.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * An order read to be changed in this transaction: on PostgreSQL locked FOR NO KEY UPDATE
   * (as order intake locks it, so that neither overwrites the other; links and history rows
   * can still be inserted).
   */
  async byIdLocked(id: string, lock: boolean): Promise<Order | undefined> {
    let q = this.db.selectFrom('orders').selectAll().where('id', '=', id);
    if (lock) q = q.forNoKeyUpdate();
    return q.executeTakeFirst();
  }

  /** When the latest history entry of an order was received (ISO), if it has any. */
  async lastEventAt(orderId: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('order_events').select((eb) => eb.fn.max('received_at').as('at')).where('order_id', '=', orderId).executeTakeFirst();
    return (r?.at as string | null | undefined) ?? undefined;
  }

  async rowById(id: string): Promise<OrderRow | undefined> {
    return this.rows().where('orders.id', '=', id).executeTakeFirst() as Promise<OrderRow | undefined>;
  }

  /** Inserts orders, several per statement. */
  async insertMany(rows: readonly Order[]): Promise<void> {
    // 25 columns: 200 rows stay far below both databases' limits on bound parameters.
    for (let i = 0; i < rows.length; i += 200) await this.db.insertInto('orders').values(rows.slice(i, i + 200)).execute();
  }

  async update(id: string, fields: Partial<Omit<Order, 'id' | 'facility_id' | 'placer_order_number' | 'created_at' | 'created_from'>>): Promise<void> {
    await this.db.updateTable('orders').set(fields).where('id', '=', id).execute();
  }

  /**
   * Which of these messages of a facility and source were applied or recorded (refused ones
   * are not keys): the order of each, by message id. All three key columns are bound, and the
   * refusal test is written as a literal, so that both databases read the partial unique
   * index order_events_message.
   */
  async eventsByMessages(facilityId: string, source: string, messageIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ids = [...new Set(messageIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('order_events')
        .select(['message_id', 'order_id'])
        .where('facility_id', '=', facilityId)
        .where('source', '=', source)
        .where('message_id', 'in', ids.slice(i, i + 500))
        .where('outcome', '<>', sql.lit('refused-conflict'))
        .execute();
      for (const r of rows) out.set(r.message_id, r.order_id);
    }
    return out;
  }

  /** Inserts history entries, several per statement. */
  async insertEvents(rows: readonly OrderEvent[]): Promise<void> {
    // 13 columns: 200 rows stay far below both databases' limits on bound parameters.
    for (let i = 0; i < rows.length; i += 200) await this.db.insertInto('order_events').values(rows.slice(i, i + 200)).execute();
  }

  async events(orderId: string): Promise<OrderEvent[]> {
    return this.db.selectFrom('order_events').selectAll().where('order_id', '=', orderId).orderBy('received_at').orderBy('version').orderBy('id').execute();
  }

  private filtered<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, f: OrderFilter): QB {
    let q = qb;
    if (f.facilities !== 'all') q = q.where('orders.facility_id', 'in', f.facilities.length ? [...f.facilities] : ['\u0000']) as QB;
    if (f.modality) q = q.where('orders.modality', '=', f.modality) as QB;
    if (f.priority) q = q.where('orders.priority', '=', f.priority) as QB;
    if (f.from) q = q.where('orders.requested_at', '>=', f.from) as QB;
    if (f.to) q = q.where('orders.requested_at', '<', f.to) as QB;
    // The shown status (views.ts shownStatus): cancelled and completed as stored, else in
    // progress while a study is linked, else scheduled.
    if (f.status === 'cancelled' || f.status === 'completed') q = q.where('orders.status', '=', f.status) as QB;
    else if (f.status === 'in-progress') q = q.where('orders.status', 'not in', ['cancelled', 'completed']).where('l.id', 'is not', null) as QB;
    else if (f.status) q = q.where('orders.status', 'not in', ['cancelled', 'completed']).where('l.id', 'is', null) as QB;
    if (f.unlinkedOnly) q = q.where('orders.status', '<>', 'cancelled').where('l.id', 'is', null) as QB;
    return q;
  }

  /** A page of orders, newest request first, and the total that match. */
  async list(f: OrderFilter): Promise<{ total: number; rows: OrderRow[] }> {
    const rows = (await this.filtered(this.rows(), f).orderBy('orders.requested_at', 'desc').orderBy('orders.id', 'desc').limit(f.limit).offset(f.offset).execute()) as OrderRow[];
    const count = this.db
      .selectFrom('orders')
      .leftJoin('order_study_links as l', (j) => j.onRef('l.order_id', '=', 'orders.id').on('l.unlinked_at', 'is', null))
      .select((eb) => eb.fn.countAll().as('n'));
    const total = Number((await this.filtered(count, f).executeTakeFirstOrThrow()).n);
    return { total, rows };
  }

  /** Orders of these patients, newest first, except one. */
  async ofPatients(patientRefs: readonly string[], exceptId: string, limit: number): Promise<OrderRow[]> {
    if (patientRefs.length === 0) return [];
    return (await this.rows().where('orders.patient_ref', 'in', [...new Set(patientRefs)]).where('orders.id', '<>', exceptId).orderBy('orders.requested_at', 'desc').limit(limit).execute()) as OrderRow[];
  }

  async protocols(orderId: string) {
    return this.db.selectFrom('order_protocols').selectAll().where('order_id', '=', orderId).orderBy('recorded_at', 'desc').orderBy('id').execute();
  }

  async insertProtocol(row: { id: string; order_id: string; text: string; author_id: string; author_name: string; recorded_at: string }): Promise<void> {
    await this.db.insertInto('order_protocols').values(row).execute();
  }

  async consultations(orderId: string) {
    return this.db.selectFrom('order_consultations').selectAll().where('order_id', '=', orderId).orderBy('posted_at').orderBy('id').execute();
  }

  /** When the latest message of an order's consultation thread was posted. */
  async lastConsultationAt(orderId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('order_consultations').select('posted_at as at').where('order_id', '=', orderId).orderBy('posted_at', 'desc').limit(1).executeTakeFirst();
    return row?.at;
  }

  /** When the latest protocol instruction of an order was recorded. */
  async lastProtocolAt(orderId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('order_protocols').select('recorded_at as at').where('order_id', '=', orderId).orderBy('recorded_at', 'desc').limit(1).executeTakeFirst();
    return row?.at;
  }

  async insertConsultation(row: { id: string; order_id: string; author_id: string; author_name: string; author_roles: string; text: string; posted_at: string }): Promise<void> {
    await this.db.insertInto('order_consultations').values(row).execute();
  }

  /** Whether an order has a study linked now. */
  async linkedStudyId(orderId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('order_study_links').select('study_id').where('order_id', '=', orderId).where('unlinked_at', 'is', null).executeTakeFirst())?.study_id;
  }
}
