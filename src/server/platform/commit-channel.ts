/**
 * Messages that leave a transaction only if it commits, and reach every node of a cluster
 * (ARCHITECTURE: "live updates travel through PostgreSQL LISTEN/NOTIFY"). The live worklist
 * and the finding alerts are built on it.
 *
 * - PostgreSQL: the message is sent with `pg_notify` inside the transaction; the server
 *   delivers it at commit to every node LISTENing on the channel, this one included (one
 *   dedicated connection per node and channel, reconnected with backoff when lost). The
 *   channel is named after the schema, so that instances sharing a database stay apart.
 * - SQLite (one process, one connection): after the transaction the owner's `committed`
 *   check reads the change back; that read waits until the transaction has ended, and the
 *   message goes out only if the change is there.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/schema.ts';
import type { Logger } from './log.ts';

type Executor = Kysely<Database> | Transaction<Database>;

const MAX_RETRY_MS = 30_000;

/** The channel of a schema: a lower-case identifier of at most 63 bytes. */
export function commitChannelName(prefix: string, schema: string | undefined): string {
  const s = schema ?? 'public';
  const name = `${prefix}_${s}`;
  return name.length <= 63 ? name : `${prefix}_${createHash('sha256').update(s).digest('hex').slice(0, 40)}`;
}

/** Options of {@link CommitChannel}. */
export interface CommitChannelOptions<T> {
  dialect: 'sqlite' | 'postgres';
  log: Logger;
  /** PostgreSQL: the database to LISTEN on and the schema in use (names the channel). */
  listen?: { url: string; schema?: string | undefined } | undefined;
  /** Start of the channel's name, e.g. `enkaku_worklist`. */
  prefix: string;
  /** Key of the message in a notification's JSON payload (next to `n`, the sending node). */
  key: string;
  /** Prefix of the channel's log events, e.g. `worklist` (`worklist.listen-lost`). */
  logName: string;
  /** What the log lines call the messages, e.g. `worklist notifications`. */
  what: string;
  /** Hands a message to this node's readers; `own` when this node sent it. */
  deliver(message: T, own: boolean): void;
  /** SQLite: whether the change a message tells of is there (read after its transaction). */
  committed(message: T): Promise<boolean>;
  /** After the LISTEN connection came back: messages sent meanwhile were not heard. */
  onReconnect?: (() => void) | undefined;
}

/** A channel of messages delivered on commit, on this node and (PostgreSQL) every other. */
export class CommitChannel<T> {
  /** This node, as named in the notifications it sends. */
  readonly nodeId = randomUUID();
  readonly channel: string;
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;

  constructor(private readonly opts: CommitChannelOptions<T>) {
    this.channel = commitChannelName(opts.prefix, opts.listen?.schema);
    this.readyPromise = new Promise((resolve) => (this.readyResolve = resolve));
    if (opts.dialect !== 'postgres' || !opts.listen) this.readyResolve!();
    else void this.connect();
  }

  /** Resolves once messages of every node are being received (PostgreSQL: LISTEN is in place). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Sends a message about a change made in `ex`: delivered when, and only if, its
   * transaction commits. PostgreSQL limits a notification's payload to 8000 bytes.
   */
  async publish(ex: Executor, message: T): Promise<void> {
    if (this.opts.dialect === 'postgres') {
      await sql`select pg_notify(${this.channel}, ${JSON.stringify({ n: this.nodeId, [this.opts.key]: message })})`.execute(ex);
      return;
    }
    setImmediate(() => void this.afterCommit(message));
  }

  /** SQLite: delivers once the transaction has ended, if its change is there. */
  private async afterCommit(message: T): Promise<void> {
    if (this.closed) return;
    try {
      if (await this.opts.committed(message)) this.opts.deliver(message, true);
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ event: `${this.opts.logName}.event-error`, err: (err as Error).message }, `${this.opts.what}: a message could not be checked`);
    }
  }

  /** PostgreSQL: the dedicated LISTEN connection, reconnected with backoff when lost. */
  private async connect(): Promise<void> {
    if (this.closed || !this.opts.listen) return;
    const c = new pg.Client({ connectionString: this.opts.listen.url });
    let lost = false;
    const onLost = (why: string): void => {
      if (lost) return;
      lost = true;
      if (this.client === c) this.client = undefined;
      c.end().catch(() => undefined);
      if (this.closed) return;
      this.opts.log.warn({ event: `${this.opts.logName}.listen-lost`, reason: why, retryMs: this.retryMs }, `${this.opts.what}: connection lost, reconnecting`);
      this.scheduleReconnect();
    };
    c.on('notification', (m) => {
      if (m.channel !== this.channel || !m.payload) return;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(m.payload) as Record<string, unknown>;
      } catch {
        this.opts.log.warn({ event: `${this.opts.logName}.bad-notification` }, `${this.opts.what}: a notification was not understood`);
        return;
      }
      try {
        this.opts.deliver(parsed[this.opts.key] as T, parsed.n === this.nodeId);
      } catch (err) {
        this.opts.log.warn({ event: `${this.opts.logName}.event-error`, err: (err as Error).message }, `${this.opts.what}: a message could not be delivered`);
      }
    });
    c.on('error', (err) => onLost(err.message));
    c.on('end', () => onLost('ended'));
    try {
      await c.connect();
      await c.query(`listen ${c.escapeIdentifier(this.channel)}`);
    } catch (err) {
      onLost((err as Error).message);
      return;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.retryMs = 1000;
    if (this.everConnected) this.opts.onReconnect?.();
    this.everConnected = true;
    this.readyResolve?.();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  /** Stops listening; nothing more is delivered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
    this.readyResolve?.();
  }
}
