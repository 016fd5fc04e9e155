/**
 * SQL for the audit tables; the only place that touches them. `lockHead`, `insert` and
 * `advanceHead` run inside the caller's transaction; the rest are reads.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditDatabase, AuditEventTable } from './schema.ts';
import type { AuditSearchQuery } from './model.ts';

/** An audit row as read back (seq coerced to a number on both dialects). */
export type AuditEventRow = Selectable<AuditEventTable>;

/** The head row. */
export interface AuditHead {
  seq: number;
  hash: string;
}

function toRow(r: AuditEventRow): AuditEventRow {
  return { ...r, seq: Number(r.seq) };
}

/** Audit persistence over one executor (the database or a transaction). */
export class AuditRepository {
  constructor(
    private readonly db: Kysely<AuditDatabase>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /**
   * Locks the head row for the rest of the transaction and returns it (undefined when the
   * row is missing). PostgreSQL: `SELECT ... FOR UPDATE` blocks other appenders until this
   * transaction ends. SQLite: a write to the head first takes the database write lock, so
   * that a transaction started by another process cannot slip in between the read and the
   * insert (which would otherwise fail with SQLITE_BUSY_SNAPSHOT instead of waiting).
   */
  async lockHead(): Promise<AuditHead | undefined> {
    // SQLite: the no-op write and the read are one statement (UPDATE ... RETURNING).
    const r = this.dialect === 'sqlite'
      ? await this.db.updateTable('audit_head').set((eb) => ({ seq: eb.ref('seq') })).where('id', '=', 1).returning(['seq', 'hash']).executeTakeFirst()
      : await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).forUpdate().executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : undefined;
  }

  /** Inserts one entry. */
  async insert(row: AuditEventTable): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
  }

  /** Inserts entries in seq order, several rows per statement. */
  async insertMany(rows: readonly AuditEventTable[]): Promise<void> {
    // 17 columns: 200 rows stay far below both databases' limits on bound parameters.
    for (let i = 0; i < rows.length; i += 200) await this.db.insertInto('audit_events').values(rows.slice(i, i + 200)).execute();
  }

  /** Moves the head to the entry just inserted; fails unless the head was at `fromSeq`. */
  async advanceHead(fromSeq: number, to: AuditHead): Promise<void> {
    const r = await this.db.updateTable('audit_head').set({ seq: to.seq, hash: to.hash }).where('id', '=', 1).where('seq', '=', fromSeq).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new Error('audit head moved while locked');
  }

  /** The head row, or undefined when it is missing. */
  async head(): Promise<AuditHead | undefined> {
    const r = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : undefined;
  }

  /**
   * The head and the highest stored seq, read by one statement so that both come from
   * the same snapshot (a concurrent append commits both or neither).
   */
  async headAndMaxSeq(): Promise<{ head: AuditHead | undefined; maxSeq: number | null }> {
    const r = await this.db
      .selectNoFrom((eb) => [
        eb.selectFrom('audit_head').select('seq').where('id', '=', 1).as('head_seq'),
        eb.selectFrom('audit_head').select('hash').where('id', '=', 1).as('head_hash'),
        eb.selectFrom('audit_events').select((e) => e.fn.max('seq').as('m')).as('max_seq'),
      ])
      .executeTakeFirstOrThrow();
    const head = r.head_seq === null || r.head_seq === undefined || r.head_hash === null || r.head_hash === undefined ? undefined : { seq: Number(r.head_seq), hash: r.head_hash };
    return { head, maxSeq: r.max_seq === null || r.max_seq === undefined ? null : Number(r.max_seq) };
  }

  /** Up to `limit` entries in seq order after `afterSeq` (from the very first when undefined). */
  async page(afterSeq: number | undefined, limit: number): Promise<AuditEventRow[]> {
    let q = this.db.selectFrom('audit_events').selectAll().orderBy('seq').limit(limit);
    if (afterSeq !== undefined) q = q.where('seq', '>', afterSeq);
    return (await q.execute()).map(toRow);
  }

  /** The entry following `seq`, if any. */
  async next(seq: number): Promise<AuditEventRow | undefined> {
    const r = await this.db.selectFrom('audit_events').selectAll().where('seq', '>', seq).orderBy('seq').limit(1).executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  /** Seq of an entry whose stored hash is `hash` (a full scan: used only to explain damage). */
  async seqOfHash(hash: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('audit_events').select('seq').where('hash', '=', hash).orderBy('seq').limit(1).executeTakeFirst();
    return r ? Number(r.seq) : undefined;
  }

  /** Entries matching the audit screen's filters, newest first, and their total count. */
  async search(q: AuditSearchQuery): Promise<{ total: number; rows: AuditEventRow[] }> {
    if (q.facilityIds && q.facilityIds.length === 0) return { total: 0, rows: [] };
    let base = this.db.selectFrom('audit_events');
    if (q.from) base = base.where('recorded_at', '>=', q.from);
    if (q.to) base = base.where('recorded_at', '<', q.to);
    if (q.actorId) base = base.where('actor_id', '=', q.actorId);
    if (q.action) base = q.action.endsWith('.*') ? base.where('action', 'like', `${q.action.slice(0, -1)}%`) : base.where('action', '=', q.action);
    if (q.facilityIds) base = base.where('facility_id', 'in', [...q.facilityIds]);
    if (q.outcome) base = base.where('outcome', '=', q.outcome);
    if (q.patientRef) base = base.where('patient_ref', '=', q.patientRef);
    if (q.objectType) base = base.where('object_type', '=', q.objectType);
    if (q.objectId) base = base.where('object_id', '=', q.objectId);
    const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await base
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(q.limit)
      .offset(q.offset ?? 0)
      .execute();
    return { total: Number(n), rows: rows.map(toRow) };
  }
}
