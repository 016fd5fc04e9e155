/**
 * Security events that need a person (S11): bursts of failed logins, access attempts
 * outside the actor's facilities, mass exports. Detected from the events the services
 * report, raised once per window, kept until an administrator acknowledges them.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import { describeActor, hasRole, type Actor } from '../platform/context.ts';
import type { Logger } from '../platform/log.ts';
import type { SecurityAlert } from '../../shared/api.ts';

/** Thresholds: events of a kind within the window that raise an alert. */
export interface AlertThresholds {
  windowMinutes: number;
  failedLogins: number;
  outOfScope: number;
  exports: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = { windowMinutes: 5, failedLogins: 10, outOfScope: 3, exports: 20 };

type Kind = SecurityAlert['kind'];

/** Sliding-window detector and alert store. */
export class SecurityAlerts {
  private readonly events = new Map<string, number[]>();
  private readonly lastRaised = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Notes one event; raises an alert when the window's count reaches the threshold.
   * @param key - what the burst is about (a user id, an address, or '*' for everything)
   */
  async note(kind: Kind, key: string, details: Record<string, unknown>): Promise<void> {
    const limit = kind === 'failed-logins' ? this.thresholds.failedLogins : kind === 'out-of-scope' ? this.thresholds.outOfScope : this.thresholds.exports;
    const windowMs = this.thresholds.windowMinutes * 60_000;
    const t = this.now();
    const id = `${kind}|${key}`;
    const list = (this.events.get(id) ?? []).filter((x) => x > t - windowMs);
    list.push(t);
    this.events.set(id, list);
    if (list.length < limit) return;
    // One alert per kind and key per window.
    if ((this.lastRaised.get(id) ?? 0) > t - windowMs) return;
    this.lastRaised.set(id, t);
    const message =
      kind === 'failed-logins'
        ? `${list.length} failed logins within ${this.thresholds.windowMinutes} minutes`
        : kind === 'out-of-scope'
          ? `${list.length} attempts to reach data outside the user's facilities within ${this.thresholds.windowMinutes} minutes`
          : `${list.length} exports within ${this.thresholds.windowMinutes} minutes`;
    await this.raise(kind, message, { ...details, key, count: list.length });
  }

  /** Stores an alert and logs it. */
  async raise(kind: Kind, message: string, details: Record<string, unknown>): Promise<void> {
    await this.db
      .insertInto('security_alerts')
      .values({ id: randomUUID(), raised_at: new Date(this.now()).toISOString(), kind, message, details: JSON.stringify(details), acknowledged_by: null, acknowledged_at: null })
      .execute();
    this.log.warn({ event: 'security.alert', kind, ...details }, message);
  }

  private assertReader(actor: Actor): void {
    if (actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'auditor')) return;
    throw new AppError('forbidden', 'only system administrators and auditors see security alerts');
  }

  /** Alerts, newest first. */
  async list(actor: Actor, limit = 200): Promise<SecurityAlert[]> {
    this.assertReader(actor);
    const rows = await this.db.selectFrom('security_alerts').selectAll().orderBy('raised_at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, raisedAt: r.raised_at, kind: r.kind as Kind, message: r.message, acknowledged: Boolean(r.acknowledged_at) }));
  }

  /** Marks an alert as seen and handled. */
  async acknowledge(actor: Actor, id: string): Promise<void> {
    if (!(actor.kind === 'system' || hasRole(actor, 'system-admin'))) throw new AppError('forbidden', 'only system administrators acknowledge alerts');
    const by = describeActor(actor);
    const r = await this.db.updateTable('security_alerts').set({ acknowledged_by: by, acknowledged_at: new Date(this.now()).toISOString() }).where('id', '=', id).where('acknowledged_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'no such open alert');
  }
}
