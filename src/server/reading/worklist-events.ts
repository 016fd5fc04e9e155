/**
 * Live worklist events: the in-process bus that feeds every open worklist (SSE), carried
 * between the nodes of a cluster by a {@link CommitChannel} (PostgreSQL LISTEN/NOTIFY).
 *
 * An event is published inside the transaction of the change and reaches listeners only if
 * that transaction commits; on SQLite the reading item's version is read back after the
 * transaction (a rolled-back change leaves an older version). Events carry ids and the
 * changed non-patient fields only (never PHI); each subscriber gets the events of the
 * facilities it may see.
 */
import type { Kysely } from 'kysely';
import type { WorklistEvent } from '../../shared/worklist.ts';
import { CommitChannel, commitChannelName } from '../platform/commit-channel.ts';
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

/** The channel of a schema: a lower-case identifier of at most 63 bytes. */
export function channelName(schema: string | undefined): string {
  return commitChannelName('enkaku_worklist', schema);
}

/** Publishes worklist changes and delivers them to this node's subscribers. */
export class WorklistEvents {
  private readonly subscribers = new Set<Subscriber>();
  private readonly listeners = new Set<WorklistEventListener>();
  private readonly bus: CommitChannel<WorklistEvent>;

  constructor(private readonly opts: WorklistEventsOptions) {
    this.bus = new CommitChannel<WorklistEvent>({
      dialect: opts.dialect,
      log: opts.log,
      listen: opts.listen,
      prefix: 'enkaku_worklist',
      key: 'e',
      logName: 'worklist',
      what: 'worklist notifications',
      deliver: (event, own) => this.deliver(event, own),
      committed: async (event) => {
        if (event.type === 'resync') return true;
        const row = await this.opts.db.selectFrom('reading_items').select('version').where('id', '=', event.id).executeTakeFirst();
        return !!row && row.version >= event.version;
      },
      // Whatever happened while the connection was down was not heard: open lists fetch again.
      onReconnect: () => this.deliver({ type: 'resync' }, false),
    });
  }

  /** This node, as named in the notifications it sends. */
  get nodeId(): string {
    return this.bus.nodeId;
  }

  get channel(): string {
    return this.bus.channel;
  }

  /** Resolves once events of other nodes (and this one's, on PostgreSQL) are being received. */
  ready(): Promise<void> {
    return this.bus.ready();
  }

  /**
   * Publishes an event of a change made in `ex` (a transaction): it is delivered when, and
   * only if, the transaction commits.
   */
  async publish(ex: Executor, event: WorklistEvent): Promise<void> {
    await this.bus.publish(ex, event);
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

  /** Stops listening; subscribers get nothing more. */
  async close(): Promise<void> {
    this.subscribers.clear();
    this.listeners.clear();
    await this.bus.close();
  }
}
