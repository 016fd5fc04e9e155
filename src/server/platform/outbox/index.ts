/**
 * The durable job queue (outbox): enqueue work idempotently on a natural key, in the
 * transaction that calls for it; run it in workers with leases, backoff and retries;
 * show it to users by facility.
 */
export {
  JobQueue,
  JOB_STATES,
  DEFAULT_BACKOFF,
  DEFAULT_MAX_ATTEMPTS,
  PermanentJobError,
  backoffDelay,
  jobJson,
  type BackoffPolicy,
  type EnqueueInput,
  type EnqueueResult,
  type FailOutcome,
  type JobQueueOptions,
  type JobState,
} from './queue.ts';
export { JobWorker, type JobContext, type JobHandler, type JobWorkerOptions } from './worker.ts';
export { JobService, toJobView, type JobScope } from './service.ts';
export { registerJobRoutes } from './routes.ts';
export type { Executor, JobFilter } from './repository.ts';
