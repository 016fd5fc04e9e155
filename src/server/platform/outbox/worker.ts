/**
 * Runs queued jobs in this process: polls the queue, wakes early when a job is enqueued
 * here and when the next queued job (of any node) is due, runs the handler registered for each job's kind with bounded concurrency, keeps
 * each claimed job's lease alive while its handler runs, and stops cleanly. Handlers must
 * be idempotent (ARCHITECTURE rule 6): a job may run again after a crash, a lost lease or
 * a failed attempt.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Job } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { jobJson, type JobQueue } from './queue.ts';

/** What a handler gets for one attempt of a job. */
export interface JobContext {
  job: Job;
  /** The job's payload, parsed. */
  payload: Record<string, unknown>;
  /** Progress stored by an earlier attempt ({} on the first). */
  previous: Record<string, unknown>;
  /** 1 on the first attempt. */
  attempt: number;
  /** Stores progress (counts and identifiers shown to users, never PHI). */
  report(progress: Record<string, unknown>): Promise<void>;
  /** Aborted when the worker lost the job's lease or is stopping: end the attempt soon. */
  signal: AbortSignal;
}

/**
 * Does a job's work. Resolving completes the job (with the returned progress, if any);
 * throwing fails the attempt (retried with backoff; a PermanentJobError fails the job).
 */
export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown> | void>;

/** Options of {@link JobWorker}. */
export interface JobWorkerOptions {
  log: Logger;
  /** Lease owner name; default host:pid:random. */
  id?: string | undefined;
  /** How often to look for due jobs (default 2000 ms). */
  pollMs?: number | undefined;
  /** Jobs run at once (default 4). */
  concurrency?: number | undefined;
  /** Lease length, renewed every third of it while the handler runs (default 60 s); a crashed worker's job is reclaimed after this. */
  leaseMs?: number | undefined;
  /** How long `stop()` lets running handlers finish before aborting them (default 10 s). */
  stopGraceMs?: number | undefined;
}

/** Reason of the abort signal when the worker is stopping (the job is given back, not failed). */
class WorkerStopping extends Error {
  constructor() {
    super('the worker is stopping');
  }
}

/** Reason of the abort signal when another worker took the job over. */
class LeaseLost extends Error {
  constructor() {
    super('the job lease was lost to another worker');
  }
}

/** A polling worker over a {@link JobQueue}. */
export class JobWorker {
  readonly id: string;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly stopGraceMs: number;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly active = new Map<string, { done: Promise<void>; controller: AbortController }>();
  private status: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  /** Looks in a row that found a job due but claimed none (see untilNextDue). */
  private dueMisses = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly queue: JobQueue,
    opts: JobWorkerOptions,
  ) {
    this.log = opts.log;
    this.id = opts.id ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.pollMs = opts.pollMs ?? 2000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
  }

  /** Registers the handler of a job kind (before `start`). */
  register(kind: string, handler: JobHandler): this {
    this.handlers.set(kind, handler);
    return this;
  }

  /** Jobs running now. */
  get running(): number {
    return this.active.size;
  }

  /** Starts polling. */
  start(): void {
    if (this.status !== 'new') throw new Error('a job worker starts once');
    this.status = 'running';
    this.unsubscribe = this.queue.onEnqueue((job) => {
      if (this.handlers.has(job.kind)) this.schedule(Math.max(0, Date.parse(job.run_after) - Date.now()));
    });
    this.log.info({ event: 'jobs.start', worker: this.id, kinds: [...this.handlers.keys()], pollMs: this.pollMs, concurrency: this.concurrency }, 'job worker started');
    this.schedule(0);
  }

  /**
   * Stops claiming jobs and waits for the running handlers: they get `stopGraceMs` to
   * finish, then their signal is aborted and their jobs are given back to the queue
   * (without counting the attempt) once they return.
   */
  async stop(): Promise<void> {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    this.status = 'stopping';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    await this.ticking;
    const all = (): Promise<unknown> => Promise.allSettled([...this.active.values()].map((a) => a.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, this.stopGraceMs)))]);
    clearTimeout(graceTimer);
    for (const a of this.active.values()) a.controller.abort(new WorkerStopping());
    await all();
    this.status = 'stopped';
    this.log.info({ event: 'jobs.stop', worker: this.id }, 'job worker stopped');
  }

  /** Looks for due jobs after `delayMs`, unless a look is already due sooner. */
  private schedule(delayMs: number): void {
    if (this.status !== 'running') return;
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.tick();
    }, delayMs);
  }

  /** Claims and starts jobs while there is a free slot and a due job. */
  private async tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = (async () => {
      do {
        this.tickAgain = false;
        while (this.status === 'running' && this.active.size < this.concurrency) {
          let job: Job | undefined;
          try {
            job = await this.queue.claim(this.id, [...this.handlers.keys()], this.leaseMs);
          } catch (err) {
            this.log.error({ event: 'jobs.claim-error', err: (err as Error).message }, 'could not claim jobs');
            break;
          }
          if (!job) break;
          if (this.status !== 'running') {
            await this.queue.release(job.id, this.id).catch(() => undefined);
            break;
          }
          this.dueMisses = 0;
          this.launch(job);
        }
      } while (this.tickAgain && this.status === 'running');
    })();
    try {
      await this.ticking;
    } finally {
      this.ticking = undefined;
      this.schedule(await this.untilNextDue());
    }
  }

  /**
   * How long to sleep after a look: until the next queued job is due (a timer such as a
   * finding's escalation deadline, enqueued on any node), at most `pollMs`. A job that
   * became due just after the claim is looked for again soon; if looks keep finding a due
   * job they cannot claim (another node holds it in its claiming transaction), they back
   * off: 10, 20, 40 ms ... up to `pollMs`.
   */
  private async untilNextDue(): Promise<number> {
    if (this.status !== 'running' || this.active.size >= this.concurrency) return this.pollMs;
    try {
      const due = await this.queue.nextDue([...this.handlers.keys()]);
      const wait = due ? due.getTime() - Date.now() : Infinity;
      if (wait > 0) return Math.min(this.pollMs, wait + 1);
      return Math.min(this.pollMs, 10 * 2 ** Math.min(this.dueMisses++, 20));
    } catch {
      return this.pollMs;
    }
  }

  private launch(job: Job): void {
    const handler = this.handlers.get(job.kind)!;
    const controller = new AbortController();
    const log = this.log;
    const queue = this.queue;
    const owner = this.id;
    const ctx: JobContext = {
      job,
      payload: jobJson(job.payload),
      previous: jobJson(job.progress),
      attempt: job.attempts,
      report: async (progress) => {
        await queue.progress(job.id, progress, owner);
      },
      signal: controller.signal,
    };
    const renewal = setInterval(() => {
      queue.renew(job.id, owner, this.leaseMs).then(
        (held) => {
          if (!held && !controller.signal.aborted) controller.abort(new LeaseLost());
        },
        (err: Error) => log.warn({ event: 'jobs.renew-error', jobId: job.id, err: err.message }, 'could not renew a job lease'),
      );
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    log.debug({ event: 'job.start', jobId: job.id, kind: job.kind, attempt: job.attempts }, 'job started');
    const done = (async () => {
      try {
        const result = await Promise.resolve().then(() => handler(ctx));
        clearInterval(renewal);
        if (await queue.complete(job.id, result ?? undefined, owner)) log.info({ event: 'job.done', jobId: job.id, kind: job.kind, attempt: job.attempts }, 'job done');
        else log.warn({ event: 'job.lease-lost', jobId: job.id, kind: job.kind }, 'job finished after another worker took it over');
      } catch (err) {
        clearInterval(renewal);
        if (controller.signal.reason instanceof WorkerStopping) {
          await queue.release(job.id, owner);
          log.info({ event: 'job.released', jobId: job.id, kind: job.kind }, 'job given back: the worker is stopping');
          return;
        }
        const outcome = await queue.fail(job.id, err, owner);
        log.warn(
          { event: 'job.failed', jobId: job.id, kind: job.kind, attempt: job.attempts, err: (err as Error)?.message, next: outcome?.state ?? 'lease-lost', runAfter: outcome?.state === 'queued' ? outcome.runAfter : undefined },
          outcome?.state === 'queued' ? 'job attempt failed; retrying later' : 'job failed',
        );
      }
    })()
      .catch((err: Error) => log.error({ event: 'jobs.record-error', jobId: job.id, err: err.message }, 'could not record a job outcome; its lease will expire and it will run again'))
      .finally(() => {
        clearInterval(renewal);
        this.active.delete(job.id);
        if (this.status === 'running') void this.tick();
      });
    this.active.set(job.id, { done, controller });
  }
}
