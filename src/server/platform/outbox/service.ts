/**
 * Jobs as users and operators see them: listing and reading scoped by facility like
 * medical data (a job concerns one facility's studies), and the operator's retry, which
 * is audited in the same transaction as the change (ARCHITECTURE rules 2 and 3).
 */
import type { Kysely } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type { JobView } from '../../../shared/api.ts';
import type { Database, Job } from '../db/schema.ts';
import { hasRole, type Actor } from '../context.ts';
import { AppError } from '../errors.ts';
import { JOB_STATES, jobJson, type JobQueue, type JobState } from './queue.ts';

/** Which facilities' jobs an actor may see: 'all', or a list (empty: none). */
export type JobScope = (actor: Actor) => 'all' | string[];

/** A job row as the API shows it. */
export function toJobView(job: Job): JobView {
  return {
    id: job.id,
    kind: job.kind,
    key: job.key,
    facilityId: job.facility_id,
    state: job.state as JobState,
    attempts: job.attempts,
    maxAttempts: job.max_attempts,
    runAfter: job.run_after,
    lastError: job.last_error,
    payload: jobJson(job.payload),
    progress: jobJson(job.progress),
    createdAt: job.created_at,
    updatedAt: job.updated_at,
    finishedAt: job.finished_at,
  };
}

/** Whether the actor may retry jobs: operators at the console and system administrators. */
function mayRetry(actor: Actor): boolean {
  return actor.kind === 'system' || hasRole(actor, 'system-admin');
}

/** Reading and retrying jobs on behalf of an actor. */
export class JobService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue: JobQueue,
    private readonly audit: AuditService<Database>,
    private readonly scopeOf: JobScope,
  ) {}

  private scope(actor: Actor): 'all' | string[] {
    const s = this.scopeOf(actor);
    if (s !== 'all' && s.length === 0) throw new AppError('forbidden', 'your roles do not include reading the jobs of any facility');
    return s;
  }

  /**
   * Jobs the actor may see, newest first.
   * @throws AppError forbidden when the actor reads no facility's data; bad_request for a bad filter
   */
  async list(actor: Actor, q: { kind?: string | undefined; state?: string | undefined; limit?: number | undefined; offset?: number | undefined } = {}): Promise<JobView[]> {
    const facilities = this.scope(actor);
    if (q.state && !JOB_STATES.includes(q.state as JobState)) throw new AppError('bad_request', `state must be one of ${JOB_STATES.join(', ')}`);
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AppError('bad_request', 'limit must be 1-1000');
    if (!Number.isInteger(offset) || offset < 0) throw new AppError('bad_request', 'offset must be 0 or more');
    const jobs = await this.queue.list({ kind: q.kind || undefined, state: q.state || undefined, facilities, limit, offset });
    return jobs.map(toJobView);
  }

  /**
   * One job, when the actor may see it.
   * @throws AppError not_found for a job that does not exist or belongs to a facility out of scope
   */
  async get(actor: Actor, id: string): Promise<JobView> {
    const facilities = this.scope(actor);
    const job = await this.queue.get(id);
    if (!job || (facilities !== 'all' && (!job.facility_id || !facilities.includes(job.facility_id)))) throw new AppError('not_found', 'no such job');
    return toJobView(job);
  }

  /**
   * Queues a job again to run now with fresh attempts (after the cause of its failure was
   * fixed, e.g. the facility's PACS is reachable again). System administrators and
   * operators only; audited.
   * @throws AppError forbidden, not_found, or conflict while the job is running
   */
  async retry(actor: Actor, id: string): Promise<JobView> {
    if (!mayRetry(actor)) throw new AppError('forbidden', 'only system administrators may retry jobs');
    const job = await this.db.transaction().execute(async (trx) => {
      const queued = await this.queue.retry(id, trx);
      await this.audit.append(trx, {
        actor,
        action: 'job.retry',
        object: { type: 'job', id },
        facilityId: queued.facility_id,
        details: { kind: queued.kind, key: queued.key },
      });
      return queued;
    });
    return toJobView(job);
  }
}
