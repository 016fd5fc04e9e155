/**
 * Live finding alerts (C1): the in-process bus that feeds every open Enkaku screen of a
 * notice's recipients (SSE, `GET /api/findings/events`), carried between the nodes of a
 * cluster by a {@link CommitChannel} (PostgreSQL LISTEN/NOTIFY), as the worklist's events are.
 *
 * An alert is published inside the transaction of the change and reaches screens only if
 * that transaction commits; on SQLite the finding's version is read back after the
 * transaction. An alert names the users it is for; each subscriber (one open screen) is one
 * user's. It carries the finding's id, category, facility name and deadline: never patient
 * data.
 */
import type { Kysely, Transaction } from 'kysely';
import type { FindingAlertEvent } from '../../shared/findings.ts';
import { CommitChannel, commitChannelName } from '../platform/commit-channel.ts';
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

/** User ids per notification (ids of about 40 bytes: well under PostgreSQL's 8000-byte payload limit). */
const NOTIFY_USERS = 100;

/** The channel of a schema: a lower-case identifier of at most 63 bytes. */
export function findingsChannelName(schema: string | undefined): string {
  return commitChannelName('enkaku_findings', schema);
}

/** Publishes finding alerts and delivers them to this node's open screens. */
export class FindingEvents {
  private readonly subscribers = new Map<string, Set<(alert: FindingAlertEvent) => void>>();
  private readonly listeners = new Set<(a: AddressedAlert) => void>();
  private readonly bus: CommitChannel<AddressedAlert>;

  constructor(private readonly opts: FindingEventsOptions) {
    this.bus = new CommitChannel<AddressedAlert>({
      dialect: opts.dialect,
      log: opts.log,
      listen: opts.listen,
      prefix: 'enkaku_findings',
      key: 'a',
      logName: 'findings',
      what: 'finding alerts',
      deliver: (a) => this.deliver(a),
      committed: async (a) => {
        const row = await this.opts.db.selectFrom('findings').select('version').where('id', '=', a.alert.findingId).executeTakeFirst();
        return !!row && row.version >= a.version;
      },
    });
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  get channel(): string {
    return this.bus.channel;
  }

  /** Resolves once alerts of every node are being received (PostgreSQL: LISTEN is in place). */
  ready(): Promise<void> {
    return this.bus.ready();
  }

  /** Publishes an alert of a change made in `ex`: delivered when, and only if, it commits. */
  async publish(ex: Executor, a: AddressedAlert): Promise<void> {
    if (a.userIds.length === 0) return;
    if (this.opts.dialect !== 'postgres') return this.bus.publish(ex, a);
    // A notification's payload must stay under 8000 bytes: long recipient lists go in parts.
    for (let i = 0; i < a.userIds.length; i += NOTIFY_USERS) await this.bus.publish(ex, { ...a, userIds: a.userIds.slice(i, i + NOTIFY_USERS) });
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

  /** Stops listening; open screens get nothing more. */
  async close(): Promise<void> {
    this.subscribers.clear();
    this.listeners.clear();
    await this.bus.close();
  }
}
