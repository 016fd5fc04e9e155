/**
 * Forwards committed audit entries to a remote collector. Entries are appended inside
 * callers' transactions, which may still roll back, so forwarding cannot happen at append
 * time; instead the forwarder polls for entries after the last one it sent. Seqs become
 * visible strictly in order (the head lock), so polling `seq > last` never skips one.
 *
 * Run it on one node of a cluster. It starts at the current end of the trail; entries
 * committed while no forwarder ran stay in the database (the collector sees the gap in
 * the seq numbers of the structured data).
 */
import type { AuditRecord } from './model.ts';
import type { AuditService } from './service.ts';
import type { SyslogLog } from './syslog.ts';

/** Settings of an {@link AuditForwarder}. */
export interface AuditForwarderOptions {
  /** Poll interval; default 1000 ms. */
  intervalMs?: number | undefined;
  /** Entries read per query; default 500. */
  batch?: number | undefined;
  /** Forward entries after this seq instead of starting at the end of the trail. */
  afterSeq?: number | undefined;
  log?: SyslogLog | undefined;
}

/** Polls the trail and hands new entries to a sender (a {@link SyslogSender}). */
export class AuditForwarder {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = true;

  constructor(
    private readonly audit: Pick<AuditService, 'entriesAfter' | 'lastSeq'>,
    private readonly sender: { send(record: AuditRecord): boolean },
    private readonly opts: AuditForwarderOptions = {},
  ) {}

  /** Starts polling. */
  async start(): Promise<void> {
    this.last = this.opts.afterSeq ?? (await this.audit.lastSeq());
    this.stopped = false;
    this.schedule();
  }

  /** Stops polling (after the poll under way, if any). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Forwards every entry committed so far; returns how many were handed over. */
  async poll(): Promise<number> {
    this.running ??= this.forward().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Seq of the last entry handed to the sender. */
  get lastForwardedSeq(): number {
    return this.last;
  }

  private async forward(): Promise<number> {
    const batch = this.opts.batch ?? 500;
    let n = 0;
    for (;;) {
      const records = await this.audit.entriesAfter(this.last, batch);
      for (const r of records) {
        this.sender.send(r);
        this.last = r.seq;
        n++;
      }
      if (records.length < batch) return n;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll()
        .catch((err: unknown) => this.opts.log?.warn({ event: 'audit_forward_failed', error: (err as Error).message }, 'audit forwarding failed; retrying'))
        .finally(() => this.schedule());
    }, this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }
}
