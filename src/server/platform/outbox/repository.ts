/**
 * SQL for the `jobs` table (the durable outbox), the only place that touches it. Every
 * state change is one UPDATE guarded by the state and, for a running job, by its lease
 * owner, so a worker that lost its lease can never overwrite the work of the next one.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, Job } from '../db/schema.ts';

/** A database handle or an open transaction (enqueue inside the caller's transaction). */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Which jobs a listing returns. */
export interface JobFilter {
  kind?: string | undefined;
  state?: string | undefined;
  /** 'all', or the facility ids whose jobs may be listed (jobs without a facility need 'all'). */
  facilities: 'all' | readonly string[];
  limit: number;
  offset: number;
}

/** Persistence of jobs. */
export class JobRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /**
   * Inserts the job unless one with the same (kind, key) exists, and returns the stored
   * row either way (the unique constraint `jobs_kind_key` decides, even between
   * concurrent transactions).
   */
  async insertIfAbsent(ex: Executor, job: Job): Promise<{ job: Job; created: boolean }> {
    const r = await ex
      .insertInto('jobs')
      .values(job)
      .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
      .executeTakeFirst();
    const created = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    const stored = await ex.selectFrom('jobs').selectAll().where('kind', '=', job.kind).where('key', '=', job.key).executeTakeFirstOrThrow();
    return { job: stored, created };
  }

  /** One job by id (inside a transaction when `ex` is one). */
  async byId(id: string, ex: Executor = this.db): Promise<Job | undefined> {
    return ex.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** One job by its kind and natural key. */
  async byKey(kind: string, key: string): Promise<Job | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('key', '=', key).executeTakeFirst();
  }

  /** Running jobs whose lease ran out and which have no attempt left become failed. */
  async failExhaustedExpired(kinds: readonly string[], now: string, error: string): Promise<number> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'failed', locked_by: null, locked_until: null, last_error: error, updated_at: now, finished_at: now })
      .where('kind', 'in', [...kinds])
      .where('state', '=', 'running')
      .where('locked_until', '<', now)
      .where(sql<boolean>`attempts >= max_attempts`)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * Claims the next due job of the given kinds in one statement: a queued job whose
   * `run_after` has come, or a running job whose lease expired (its worker died). On
   * PostgreSQL the candidate row is locked `FOR UPDATE SKIP LOCKED`, so concurrent
   * claimers on any node each get a different job without waiting on each other; SQLite
   * has a single writer, so the statement itself is the critical section.
   */
  async claimNext(workerId: string, kinds: readonly string[], now: string, lockedUntil: string): Promise<Job | undefined> {
    let next = this.db
      .selectFrom('jobs')
      .select('id')
      .where('kind', 'in', [...kinds])
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_after', '<=', now)]),
          eb.and([eb('state', '=', 'running'), eb('locked_until', '<', now), eb(sql<number>`attempts`, '<', sql<number>`max_attempts`)]),
        ]),
      )
      .orderBy('run_after')
      .orderBy('created_at')
      .limit(1);
    if (this.dialect === 'postgres') next = next.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set({ state: 'running', locked_by: workerId, locked_until: lockedUntil, attempts: sql<number>`attempts + 1`, updated_at: now })
      .where('id', '=', next)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * When the next queued job of these kinds is due (its `run_after`), from the (state,
   * run_after) index; undefined when none is queued.
   */
  async nextDue(kinds: readonly string[]): Promise<string | undefined> {
    const row = await this.db.selectFrom('jobs').select('run_after').where('state', '=', 'queued').where('kind', 'in', [...kinds]).orderBy('run_after').limit(1).executeTakeFirst();
    return row?.run_after;
  }

  /** Extends a lease; false when the job is no longer running under this owner. */
  async renew(id: string, owner: string, lockedUntil: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ locked_until: lockedUntil, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('locked_by', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Stores progress; with an owner, only while that owner holds the job. */
  async setProgress(id: string, owner: string | undefined, progress: string, now: string): Promise<boolean> {
    let q = this.db.updateTable('jobs').set({ progress, updated_at: now }).where('id', '=', id);
    if (owner !== undefined) q = q.where('state', '=', 'running').where('locked_by', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Marks a running job done. */
  async finish(id: string, owner: string | undefined, progress: string | undefined, now: string): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({ state: 'done', locked_by: null, locked_until: null, last_error: null, updated_at: now, finished_at: now, ...(progress !== undefined ? { progress } : {}) })
      .where('id', '=', id)
      .where('state', '=', 'running');
    if (owner !== undefined) q = q.where('locked_by', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Puts a running job back in the queue to run at `runAfter` (after a failed attempt). */
  async reschedule(id: string, owner: string | undefined, error: string, runAfter: string, now: string): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({ state: 'queued', locked_by: null, locked_until: null, last_error: error, run_after: runAfter, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running');
    if (owner !== undefined) q = q.where('locked_by', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Marks a running job failed for good. */
  async markFailed(id: string, owner: string | undefined, error: string, now: string): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({ state: 'failed', locked_by: null, locked_until: null, last_error: error, updated_at: now, finished_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running');
    if (owner !== undefined) q = q.where('locked_by', '=', owner);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Gives a running job back without counting the attempt (the worker is stopping). */
  async release(id: string, owner: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'queued', locked_by: null, locked_until: null, run_after: now, attempts: sql<number>`attempts - 1`, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('locked_by', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** An operator's retry: a job that is not running is queued to run now with fresh attempts. */
  async requeue(ex: Executor, id: string, now: string): Promise<boolean> {
    const r = await ex
      .updateTable('jobs')
      .set({ state: 'queued', attempts: 0, run_after: now, locked_by: null, locked_until: null, finished_at: null, updated_at: now })
      .where('id', '=', id)
      .where('state', '!=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Jobs matching the filter, newest first. */
  async list(f: JobFilter): Promise<Job[]> {
    let q = this.db.selectFrom('jobs').selectAll();
    if (f.kind) q = q.where('kind', '=', f.kind);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.facilities !== 'all') q = q.where('facility_id', 'in', f.facilities.length ? [...f.facilities] : ['']);
    return q.orderBy('created_at', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute();
  }
}
