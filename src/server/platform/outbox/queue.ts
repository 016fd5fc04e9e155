/**
 * The durable job queue (the outbox of ARCHITECTURE "jobs"): one row per unit of work,
 * idempotent on (kind, key) so that work keyed on a natural identifier (a study UID, a
 * report version) is done once however often it is asked for (rule 6). Workers claim due
 * jobs under a lease; a failed attempt is retried after an exponential backoff until the
 * job's attempts are used up; a job whose worker died is reclaimed when its lease runs out.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Job } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { JobRepository, type Executor, type JobFilter } from './repository.ts';

/** Where a job is in its life. */
export type JobState = 'queued' | 'running' | 'done' | 'failed';

/** Every {@link JobState}. */
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed'];

/** What to enqueue. */
export interface EnqueueInput {
  /** Dotted lower-case name of the work, e.g. `priors.fetch`; handlers are registered per kind. */
  kind: string;
  /** Natural identifier of the work (study UID, report version): enqueueing the same kind and key again is a no-op. */
  key: string;
  /** The facility whose data the job concerns (decides who may see it), or null. */
  facilityId: string | null;
  /** Identifiers the handler needs; shown to users, so never PHI (no names, patient IDs, birth dates). */
  payload: Record<string, unknown>;
  /** Not before this time (default: now). */
  runAfter?: Date | undefined;
  /** Attempts before the job is failed for good (default {@link DEFAULT_MAX_ATTEMPTS}). */
  maxAttempts?: number | undefined;
}

/** The stored job, and whether this call created it. */
export interface EnqueueResult {
  job: Job;
  created: boolean;
}

/** Delay before retrying a failed attempt: `baseMs` after the first, doubling, at most `maxMs`. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** 30 s, 1 min, 2 min, ... capped at 30 min. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 30_000, maxMs: 30 * 60_000 };

/** With {@link DEFAULT_BACKOFF}, ten attempts span about two and a half hours. */
export const DEFAULT_MAX_ATTEMPTS = 10;

/** Options of {@link JobQueue}. */
export interface JobQueueOptions {
  backoff?: Partial<BackoffPolicy> | undefined;
  /** Clock (tests). */
  now?: (() => Date) | undefined;
}

/** A failure that retrying cannot fix: the job is failed at once. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/** After a failed attempt: queued again at `runAfter`, or failed for good. */
export type FailOutcome = { state: 'queued'; runAfter: string } | { state: 'failed' };

const KIND_RE = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;
const MAX_ERROR = 2000;

/**
 * Payload keys refused at enqueue (compared lower case without separators): a safety net
 * against PHI in job rows, which users and operators see (rule 8).
 */
const PHI_KEYS = new Set(['patientname', 'patientsname', 'patientid', 'patientsid', 'birthdate', 'patientbirthdate', 'patientsbirthdate', 'dateofbirth', 'dob']);

function checkPayload(value: unknown, path: string): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkPayload(v, `${path}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (PHI_KEYS.has(k.toLowerCase().replace(/[^a-z0-9]/g, ''))) throw new AppError('internal', `job payload must not carry PHI (field ${path}${k})`);
      checkPayload(v, `${path}${k}.`);
    }
  }
}

/**
 * Delay before the next attempt after `attempts` attempts failed.
 * @param attempts - attempts made so far (1 after the first failure)
 */
export function backoffDelay(attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
}

/** Parses a JSON column of a job (payload, progress) into an object; `{}` when damaged. */
export function jobJson(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The job queue over the `jobs` table. */
export class JobQueue {
  readonly repo: JobRepository;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => Date;
  private readonly listeners = new Set<(job: Job) => void>();

  constructor(
    private readonly db: Kysely<Database>,
    dialect: 'sqlite' | 'postgres',
    opts: JobQueueOptions = {},
  ) {
    this.repo = new JobRepository(db, dialect);
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Enqueues a job, or returns the existing one with the same kind and key (then nothing
   * changes, whatever its state). Pass the caller's transaction to enqueue atomically with
   * the change that calls for the job. Workers in this process are woken for it.
   */
  async enqueue(ex: Executor, input: EnqueueInput): Promise<EnqueueResult> {
    const now = this.now();
    const runAfter = input.runAfter && input.runAfter > now ? input.runAfter : now;
    const job = this.newRow(input, now, { state: 'queued', run_after: runAfter.toISOString(), max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS });
    const result = await this.repo.insertIfAbsent(ex, job);
    if (result.created) {
      if (ex.isTransaction) this.notifyOnceVisible(result.job);
      else this.notify(result.job);
    }
    return result;
  }

  private notify(job: Job): void {
    for (const l of this.listeners) l(job);
  }

  /**
   * A job enqueued inside a transaction can be claimed only once that transaction has
   * committed. Kysely has no commit hook, so this looks for the row outside the
   * transaction, soon and then less often, and wakes the workers when it is there; if
   * the transaction rolled back, the row never appears and nobody is woken (the regular
   * poll is the fallback either way).
   */
  private notifyOnceVisible(job: Job): void {
    if (this.listeners.size === 0) return;
    const delays = [0, 5, 10, 20, 40, 80, 160, 320, 640];
    const look = async (i: number): Promise<void> => {
      const row = await this.repo.byId(job.id).catch(() => undefined);
      if (row) {
        if (row.state === 'queued') this.notify(row);
        return;
      }
      if (i + 1 < delays.length) setTimeout(() => void look(i + 1), delays[i + 1]).unref();
    };
    setTimeout(() => void look(0), 0).unref();
  }

  /**
   * Records work as already done without running it (idempotent like {@link enqueue}):
   * a later enqueue of the same kind and key then does nothing. Used to say "this must
   * not be done", e.g. no priors are fetched for a study that itself arrived as a prior.
   */
  async recordDone(ex: Executor, input: Omit<EnqueueInput, 'runAfter' | 'maxAttempts'> & { progress: Record<string, unknown> }): Promise<EnqueueResult> {
    const now = this.now();
    checkPayload(input.progress, 'progress.');
    const job = this.newRow(input, now, { state: 'done', run_after: now.toISOString(), max_attempts: 1, progress: JSON.stringify(input.progress), finished_at: now.toISOString() });
    return this.repo.insertIfAbsent(ex, job);
  }

  private newRow(input: Omit<EnqueueInput, 'runAfter' | 'maxAttempts'>, now: Date, fields: Partial<Job> & Pick<Job, 'state' | 'run_after' | 'max_attempts'>): Job {
    if (!KIND_RE.test(input.kind) || input.kind.length > 64) throw new AppError('internal', `job kind "${input.kind}" is not a dotted lower-case name`);
    if (!input.key || input.key.length > 256) throw new AppError('internal', 'job key must be 1-256 characters');
    if (!Number.isInteger(fields.max_attempts) || fields.max_attempts < 1 || fields.max_attempts > 100) throw new AppError('internal', 'max attempts must be 1-100');
    checkPayload(input.payload, '');
    const iso = now.toISOString();
    return {
      id: randomUUID(),
      kind: input.kind,
      key: input.key,
      facility_id: input.facilityId,
      payload: JSON.stringify(input.payload),
      attempts: 0,
      locked_by: null,
      locked_until: null,
      last_error: null,
      progress: '{}',
      created_at: iso,
      updated_at: iso,
      finished_at: null,
      ...fields,
    };
  }

  /**
   * Claims the next due job of the given kinds for a worker: the job becomes `running`
   * under a lease of `leaseMs`, and its attempt count goes up by one. Running jobs whose
   * lease expired (their worker crashed) are claimed again, or failed when no attempt is left.
   */
  async claim(workerId: string, kinds: readonly string[], leaseMs: number): Promise<Job | undefined> {
    if (kinds.length === 0) return undefined;
    const now = this.now();
    const iso = now.toISOString();
    await this.repo.failExhaustedExpired(kinds, iso, 'the worker running the last attempt stopped (lease expired) and no attempt is left');
    return this.repo.claimNext(workerId, kinds, iso, new Date(now.getTime() + leaseMs).toISOString());
  }

  /** Extends the lease of a running job; false when the worker no longer holds it. */
  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return this.repo.renew(id, owner, new Date(now.getTime() + leaseMs).toISOString(), now.toISOString());
  }

  /**
   * Stores a job's progress (a JSON object shown to users: counts and identifiers, never PHI).
   * @param owner - when given, only while this worker holds the job
   */
  async progress(id: string, progress: Record<string, unknown>, owner?: string): Promise<boolean> {
    checkPayload(progress, 'progress.');
    return this.repo.setProgress(id, owner, JSON.stringify(progress), this.now().toISOString());
  }

  /**
   * Marks a running job done, with its final progress when given.
   * @param owner - when given, only while this worker holds the job
   */
  async complete(id: string, progress?: Record<string, unknown>, owner?: string): Promise<boolean> {
    if (progress) checkPayload(progress, 'progress.');
    return this.repo.finish(id, owner, progress ? JSON.stringify(progress) : undefined, this.now().toISOString());
  }

  /**
   * Records a failed attempt. The job is queued again after the backoff (30 s after the
   * first failure, doubling, capped) while attempts remain, and failed for good after
   * its last attempt or on a {@link PermanentJobError}. The error text is shown to users:
   * it must not contain PHI.
   * @returns the job's new state, or undefined when it was not running (under `owner`)
   */
  async fail(id: string, error: unknown, owner?: string): Promise<FailOutcome | undefined> {
    const job = await this.repo.byId(id);
    if (!job || job.state !== 'running' || (owner !== undefined && job.locked_by !== owner)) return undefined;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR) || 'failed';
    const now = this.now();
    if (error instanceof PermanentJobError || job.attempts >= job.max_attempts) {
      return (await this.repo.markFailed(id, owner, message, now.toISOString())) ? { state: 'failed' } : undefined;
    }
    const runAfter = new Date(now.getTime() + backoffDelay(job.attempts, this.backoff)).toISOString();
    return (await this.repo.reschedule(id, owner, message, runAfter, now.toISOString())) ? { state: 'queued', runAfter } : undefined;
  }

  /** Gives a running job back without counting its attempt (its worker is stopping). */
  async release(id: string, owner: string): Promise<boolean> {
    const ok = await this.repo.release(id, owner, this.now().toISOString());
    if (ok) {
      const job = await this.repo.byId(id);
      if (job) this.notify(job);
    }
    return ok;
  }

  /**
   * An operator's retry: a failed (or waiting, or done) job is queued to run now with its
   * attempts counted afresh. Authorisation and the audit entry are the caller's
   * (see JobService), in the same transaction `ex`.
   * @throws AppError not_found, or conflict while the job is running
   */
  async retry(id: string, ex: Executor = this.db): Promise<Job> {
    const job = await this.repo.byId(id, ex);
    if (!job) throw new AppError('not_found', 'no such job');
    if (!(await this.repo.requeue(ex, id, this.now().toISOString()))) throw new AppError('conflict', 'the job is running; it cannot be retried now');
    const queued = (await this.repo.byId(id, ex))!;
    if (ex.isTransaction) this.notifyOnceVisible(queued);
    else this.notify(queued);
    return queued;
  }

  /** One job by id. */
  async get(id: string): Promise<Job | undefined> {
    return this.repo.byId(id);
  }

  /** When the next queued job of these kinds is due, on any node; undefined when none is queued. */
  async nextDue(kinds: readonly string[]): Promise<Date | undefined> {
    const at = await this.repo.nextDue(kinds);
    return at ? new Date(at) : undefined;
  }

  /** One job by its kind and key. */
  async byKey(kind: string, key: string): Promise<Job | undefined> {
    return this.repo.byKey(kind, key);
  }

  /** Jobs, newest first (default: all facilities, 100 at most). */
  async list(filter: Partial<JobFilter> = {}): Promise<Job[]> {
    return this.repo.list({ facilities: 'all', limit: 100, offset: 0, ...filter });
  }

  /**
   * Calls `listener` whenever a job becomes due soon in this process (enqueued, retried,
   * released), so that a worker can wake before its next poll. The job may belong to a
   * transaction that is not committed yet: a listener only schedules a look.
   * @returns a function that removes the listener
   */
  onEnqueue(listener: (job: Job) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
