/**
 * Live finding alerts (C1): the in-process bus that feeds every open Enkaku screen of a
 * notice's recipients (SSE, `GET /api/findings/events`), and on PostgreSQL the LISTEN/NOTIFY
 * channel that carries the alerts between the nodes of a cluster (ARCHITECTURE: "live
 * updates travel through PostgreSQL LISTEN/NOTIFY"); the same design as the worklist's
 * events (src/server/reading/worklist-events.ts).
 *
 * An alert is published inside the transaction of the change and reaches screens only if
 * that transaction commits:
 * - PostgreSQL: `pg_notify` in the transaction; the server delivers it at commit to every node
 *   LISTENing on the channel (named after the schema), this one included.
 * - SQLite (one process, one connection): after the transaction the finding's version is
 *   read back; that read waits until the transaction has ended, and the alert goes out only
 *   if the change is there.
 * An alert names the users it is for; each subscriber (one open screen) is one user's. It
 * carries the finding's id, category, facility name and deadline: never patient data.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { FindingAlertEvent } from '../../shared/findings.ts';
import type { Database } from '../platform/db/schema.ts';
import type { Logger } from '../platform/log.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** An alert and whom it is for. */
export interface AddressedAlert {
  alert: FindingAlertEvent;
  /** Enkaku user ids whose open screens get it. */
  userIds: string[];
  /** The finding's version after the change (SQLite: delivered only once it is committed). */
  version: number;
}

/** An open screen's stream. */
export interface AlertSubscription {
  close(): void;
}

/** Options of {@link FindingEvents}. */
export interface FindingEventsOptions {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  log: Logger;
  /** PostgreSQL: the database to LISTEN on and the schema in use (names the channel). */
  listen?: { url: string; schema?: string | undefined } | undefined;
}

const MAX_RETRY_MS = 30_000;
/** User ids per notification (ids of about 40 bytes: well under PostgreSQL's 8000-byte payload limit). */
const NOTIFY_USERS = 100;

/** The channel of a schema: a lower-case identifier of at most 63 bytes. */
export function findingsChannelName(schema: string | undefined): string {
  const s = schema ?? 'public';
  const name = `enkaku_findings_${s}`;
  return name.length <= 63 ? name : `enkaku_findings_${createHash('sha256').update(s).digest('hex').slice(0, 40)}`;
}

/** Publishes finding alerts and delivers them to this node's open screens. */
export class FindingEvents {
  readonly nodeId = randomUUID();
  readonly channel: string;
  private readonly subscribers = new Map<string, Set<(alert: FindingAlertEvent) => void>>();
  private readonly listeners = new Set<(a: AddressedAlert) => void>();
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;

  constructor(private readonly opts: FindingEventsOptions) {
    this.channel = findingsChannelName(opts.listen?.schema);
    this.readyPromise = new Promise((resolve) => (this.readyResolve = resolve));
    if (opts.dialect !== 'postgres' || !opts.listen) this.readyResolve!();
    else void this.connect();
  }

  /** Resolves once alerts of every node are being received (PostgreSQL: LISTEN is in place). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Publishes an alert of a change made in `ex`: delivered when, and only if, it commits. */
  async publish(ex: Executor, a: AddressedAlert): Promise<void> {
    if (a.userIds.length === 0) return;
    if (this.opts.dialect === 'postgres') {
      // A notification's payload must stay under 8000 bytes: long recipient lists go in parts.
      for (let i = 0; i < a.userIds.length; i += NOTIFY_USERS) {
        const part: AddressedAlert = { ...a, userIds: a.userIds.slice(i, i + NOTIFY_USERS) };
        await sql`select pg_notify(${this.channel}, ${JSON.stringify({ n: this.nodeId, a: part })})`.execute(ex);
      }
      return;
    }
    setImmediate(() => void this.afterCommit(a));
  }

  private async afterCommit(a: AddressedAlert): Promise<void> {
    if (this.closed) return;
    try {
      const row = await this.opts.db.selectFrom('findings').select('version').where('id', '=', a.alert.findingId).executeTakeFirst();
      if (!row || row.version < a.version) return;
      this.deliver(a);
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ event: 'findings.event-error', err: (err as Error).message }, 'a finding alert could not be checked');
    }
  }

  private deliver(a: AddressedAlert): void {
    for (const userId of new Set(a.userIds)) {
      for (const send of this.subscribers.get(userId) ?? []) {
        try {
          send(a.alert);
        } catch {
          // A closed stream is removed by its own close handler.
        }
      }
    }
    for (const l of this.listeners) {
      try {
        l(a);
      } catch (err) {
        this.opts.log.warn({ event: 'findings.listener-error', err: (err as Error).message }, 'a finding alert listener failed');
      }
    }
  }

  /** One open screen of a user. */
  subscribe(userId: string, send: (alert: FindingAlertEvent) => void): AlertSubscription {
    let set = this.subscribers.get(userId);
    if (!set) this.subscribers.set(userId, (set = new Set()));
    set.add(send);
    return {
      close: () => {
        const s = this.subscribers.get(userId);
        s?.delete(send);
        if (s && s.size === 0) this.subscribers.delete(userId);
      },
    };
  }

  /** Open screens on this node. */
  get subscriberCount(): number {
    let n = 0;
    for (const s of this.subscribers.values()) n += s.size;
    return n;
  }

  /** An in-process listener of every alert delivered on this node; returns its removal. */
  onAlert(listener: (a: AddressedAlert) => void): () => void {
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
      this.opts.log.warn({ event: 'findings.listen-lost', reason: why, retryMs: this.retryMs }, 'finding alerts: connection lost, reconnecting');
      this.scheduleReconnect();
    };
    c.on('notification', (m) => {
      if (m.channel !== this.channel || !m.payload) return;
      try {
        const { a } = JSON.parse(m.payload) as { n: string; a: AddressedAlert };
        this.deliver(a);
      } catch {
        this.opts.log.warn({ event: 'findings.bad-notification' }, 'a finding notification was not understood');
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

  /** Stops listening; open screens get nothing more. */
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
