/**
 * Live worklist events: the in-process bus that feeds every open worklist (SSE), and on
 * PostgreSQL the LISTEN/NOTIFY channel that carries them between the nodes of a cluster
 * (ARCHITECTURE: "live updates travel through PostgreSQL LISTEN/NOTIFY").
 *
 * An event is published inside the transaction of the change and must reach listeners only
 * if that transaction commits:
 * - PostgreSQL: `pg_notify` in the transaction; the server delivers it at commit, to every
 *   node LISTENing on the channel, this one included (a dedicated connection per node).
 *   The channel is named after the schema, so that instances sharing a database stay apart.
 * - SQLite (one process, one connection): after the transaction, the row's version is read
 *   back; that read waits for the connection until the transaction has ended, and the event
 *   goes out only if the change is there (a rolled-back change leaves an older version).
 * Events carry ids and the changed non-patient fields only (never PHI); each subscriber gets
 * the events of the facilities it may see.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { WorklistEvent } from '../../shared/worklist.ts';
import type { Database } from '../platform/db/schema.ts';
import type { Logger } from '../platform/log.ts';
import type { Executor } from './worklist-repository.ts';

/** A listener inside this process; `own` is true when the change was made by this node. */
export type WorklistEventListener = (event: WorklistEvent, own: boolean) => void;

/** An open worklist (one SSE stream). */
export interface WorklistSubscription {
  /** Narrows or widens what it receives (the user's roles changed). */
  setScope(scope: 'all' | string[]): void;
  close(): void;
}

interface Subscriber {
  scope: 'all' | string[];
  send: (event: WorklistEvent) => void;
}

/** Options of {@link WorklistEvents}. */
export interface WorklistEventsOptions {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  log: Logger;
  /** PostgreSQL: the database to LISTEN on and the schema in use (names the channel). */
  listen?: { url: string; schema?: string | undefined } | undefined;
}

const MAX_RETRY_MS = 30_000;

/** The channel of a schema: a lower-case identifier of at most 63 bytes. */
export function channelName(schema: string | undefined): string {
  const s = schema ?? 'public';
  const name = `enkaku_worklist_${s}`;
  return name.length <= 63 ? name : `enkaku_worklist_${createHash('sha256').update(s).digest('hex').slice(0, 40)}`;
}

/** Publishes worklist changes and delivers them to this node's subscribers. */
export class WorklistEvents {
  /** This node, as named in the notifications it sends. */
  readonly nodeId = randomUUID();
  readonly channel: string;
  private readonly subscribers = new Set<Subscriber>();
  private readonly listeners = new Set<WorklistEventListener>();
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;

  constructor(private readonly opts: WorklistEventsOptions) {
    this.channel = channelName(opts.listen?.schema);
    this.readyPromise = new Promise((resolve) => (this.readyResolve = resolve));
    if (opts.dialect !== 'postgres' || !opts.listen) this.readyResolve!();
    else void this.connect();
  }

  /** Resolves once events of other nodes (and this one's, on PostgreSQL) are being received. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Publishes an event of a change made in `ex` (a transaction): it is delivered when, and
   * only if, the transaction commits.
   */
  async publish(ex: Executor, event: WorklistEvent): Promise<void> {
    if (this.opts.dialect === 'postgres') {
      await sql`select pg_notify(${this.channel}, ${JSON.stringify({ n: this.nodeId, e: event })})`.execute(ex);
      return;
    }
    setImmediate(() => void this.afterCommit(event));
  }

  /** SQLite: deliver once the transaction has ended, if its change is there. */
  private async afterCommit(event: WorklistEvent): Promise<void> {
    if (this.closed) return;
    try {
      if (event.type !== 'resync') {
        const row = await this.opts.db.selectFrom('reading_items').select('version').where('id', '=', event.id).executeTakeFirst();
        if (!row || row.version < event.version) return;
      }
      this.deliver(event, true);
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ event: 'worklist.event-error', err: (err as Error).message }, 'a worklist event could not be checked');
    }
  }

  /** Sends an event to the subscribers that may see its facility and to the listeners. */
  private deliver(event: WorklistEvent, own: boolean): void {
    for (const s of this.subscribers) {
      if (event.type === 'resync' || s.scope === 'all' || s.scope.includes(event.facilityId)) {
        try {
          s.send(event);
        } catch {
          // A closed stream is removed by its own close handler.
        }
      }
    }
    for (const l of this.listeners) {
      try {
        l(event, own);
      } catch (err) {
        this.opts.log.warn({ event: 'worklist.listener-error', err: (err as Error).message }, 'a worklist event listener failed');
      }
    }
  }

  /** A stream of the events of the facilities in `scope`. */
  subscribe(scope: 'all' | string[], send: (event: WorklistEvent) => void): WorklistSubscription {
    const sub: Subscriber = { scope, send };
    this.subscribers.add(sub);
    return {
      setScope: (s) => {
        sub.scope = s;
      },
      close: () => {
        this.subscribers.delete(sub);
      },
    };
  }

  /** Subscribers open now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Adds an in-process listener of every event; returns its removal. */
  onEvent(listener: WorklistEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
      this.opts.log.warn({ event: 'worklist.listen-lost', reason: why, retryMs: this.retryMs }, 'worklist notifications: connection lost, reconnecting');
      this.scheduleReconnect();
    };
    c.on('notification', (m) => {
      if (m.channel !== this.channel || !m.payload) return;
      try {
        const { n, e } = JSON.parse(m.payload) as { n: string; e: WorklistEvent };
        this.deliver(e, n === this.nodeId);
      } catch {
        this.opts.log.warn({ event: 'worklist.bad-notification' }, 'a worklist notification was not understood');
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
    // Whatever happened while the connection was down was not heard: open lists fetch again.
    if (this.everConnected) this.deliver({ type: 'resync' }, false);
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

  /** Stops listening; subscribers get nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subscribers.clear();
    this.listeners.clear();
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
    this.readyResolve?.();
  }
}
