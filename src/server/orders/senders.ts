/**
 * HL7 senders registered per facility: the sending facility (MSH-4) and, optionally, the sending
 * application (MSH-3) whose messages are taken as that facility's (HL7 v2.5 §2.15.9.3-4). The
 * HL7 listener accepts messages only from registered senders, the way the DICOM listener accepts
 * only registered calling AE titles. Every registration is audited in its transaction
 * (`facility.hl7-sender.add`: who, which facility, which MSH-4 / MSH-3).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import type { AuditService } from '../audit/index.ts';
import { AppError } from '../platform/errors.ts';
import type { Actor } from '../platform/context.ts';
import { isUniqueViolation } from './db-errors.ts';

/** The table of registered HL7 senders. */
export interface Hl7SenderTable {
  id: string;
  facility_id: string;
  /** MSH-4 namespace ID (HD-1), or its universal ID (HD-2) when HD-1 is empty. */
  sending_facility: string;
  /** MSH-3 namespace ID; '' means any application of that sending facility. */
  sending_application: string;
  created_at: string;
}

/** Tables of this file, merged into the database type. */
export interface Hl7SenderDatabase {
  facility_hl7_senders: Hl7SenderTable;
}

/** Migration 012: the sender registry; one facility per (sending facility, sending application). */
export const hl7SendersMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('facility_hl7_senders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('facility_id', 'text', (c) => c.notNull().references('facilities.id'))
      .addColumn('sending_facility', 'text', (c) => c.notNull())
      .addColumn('sending_application', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('facility_hl7_senders_key', ['sending_facility', 'sending_application'])
      .execute();
  },
};

/** A registered sender. */
export interface Hl7Sender {
  id: string;
  facilityId: string;
  sendingFacility: string;
  sendingApplication: string;
  createdAt: string;
}

/** HD values (HL7 v2.5 §2.A.33) as registered: printable, no HL7 delimiters, 1-180 characters. */
function validHd(value: string, what: string, allowEmpty: boolean): string {
  const v = value.trim();
  if (!v && allowEmpty) return '';
  if (!v || v.length > 180 || !/^[\x21-\x7e\u3000-\u9fff\uff00-\uffef ]+$/.test(v) || /[|^~\\&]/.test(v)) {
    throw new AppError('bad_request', `invalid ${what} "${value}": 1-180 printable characters without HL7 delimiters (| ^ ~ \\ &)`);
  }
  return v;
}

/**
 * How long a sender found through its facility-wide entry (application '') is remembered: a
 * more specific entry registered by another process (the `enkaku` CLI) takes over within this
 * time; in the process that registers it, at once.
 */
const FALLBACK_CACHE_MS = 10_000;

/** The registry of HL7 senders per facility. */
export class Hl7SenderRegistry {
  private readonly db: Kysely<Hl7SenderDatabase & { facilities: { id: string; name: string } }>;
  /**
   * Senders found, by MSH-4 NUL MSH-3. Entries are never changed or removed, so a sender found
   * by its exact entry stays right; one found through the facility-wide entry is kept for
   * {@link FALLBACK_CACHE_MS} only (`expires`). Unknown senders are not remembered.
   */
  private readonly cache = new Map<string, { sender: Hl7Sender; expires: number }>();

  /**
   * @param audit the audit trail; registrations are refused without it (a sender that decides
   *   which facility's orders a connection may write is a security setting, audited like the
   *   others)
   */
  constructor(db: Kysely<any>, private readonly audit?: AuditService<any>) {
    this.db = db;
  }

  /**
   * Registers a sender for a facility (by facility name), audited in the same transaction.
   * @throws AppError forbidden (operators only), not_found (no such facility), conflict (sender
   *   taken), internal (the registry was built without the audit trail)
   */
  async add(actor: Actor, facilityName: string, input: { sendingFacility: string; sendingApplication?: string }): Promise<Hl7Sender> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may register HL7 senders');
    const audit = this.audit;
    if (!audit) throw new AppError('internal', 'HL7 sender registration is audited: build the registry with the audit service (runtime.ts)');
    const facility = await this.db.selectFrom('facilities').select(['id']).where('name', '=', facilityName).executeTakeFirst();
    if (!facility) throw new AppError('not_found', `no facility named "${facilityName}"`);
    const sendingFacility = validHd(input.sendingFacility, 'sending facility (MSH-4)', false);
    const sendingApplication = validHd(input.sendingApplication ?? '', 'sending application (MSH-3)', true);
    const taken = () => new AppError('conflict', `HL7 sender ${sendingFacility}${sendingApplication ? `/${sendingApplication}` : ''} is already registered`);
    const row: Hl7SenderTable = { id: randomUUID(), facility_id: facility.id, sending_facility: sendingFacility, sending_application: sendingApplication, created_at: new Date().toISOString() };
    try {
      await this.db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom('facility_hl7_senders').select('id')
          .where('sending_facility', '=', sendingFacility).where('sending_application', '=', sendingApplication).executeTakeFirst();
        if (existing) throw taken();
        await trx.insertInto('facility_hl7_senders').values(row).execute();
        await audit.append(trx as unknown as Kysely<any>, {
          actor,
          action: 'facility.hl7-sender.add',
          object: { type: 'facility', id: facility.id },
          facilityId: facility.id,
          details: { senderId: row.id, facilityName, sendingFacility, sendingApplication: sendingApplication || '(any)' },
        });
      });
    } catch (err) {
      // Registered meanwhile by another process (the unique key on MSH-4 + MSH-3).
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
    // The new entry may be more specific than a facility-wide one remembered.
    for (const [k, v] of this.cache) if (v.expires !== Infinity) this.cache.delete(k);
    return toSender(row);
  }

  /**
   * The sender registered for a message's MSH-4 / MSH-3 namespace IDs: the entry for exactly
   * that application first, else the facility-wide entry (application ''); undefined when unknown.
   */
  async resolve(sendingFacility: string, sendingApplication: string): Promise<Hl7Sender | undefined> {
    const fac = sendingFacility.trim();
    const app = sendingApplication.trim();
    if (!fac) return undefined;
    const key = `${fac}\u0000${app}`;
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.sender;
    const rows = await this.db.selectFrom('facility_hl7_senders').selectAll()
      .where('sending_facility', '=', fac).where('sending_application', 'in', app ? [app, ''] : [''])
      .execute();
    const row = rows.find((r) => r.sending_application === app) ?? rows.find((r) => r.sending_application === '');
    if (!row) return undefined;
    const sender = toSender(row);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { sender, expires: row.sending_application === app ? Infinity : Date.now() + FALLBACK_CACHE_MS });
    return sender;
  }

  /** The senders of a facility. */
  async list(facilityId: string): Promise<Hl7Sender[]> {
    const rows = await this.db.selectFrom('facility_hl7_senders').selectAll().where('facility_id', '=', facilityId)
      .orderBy('sending_facility').orderBy('sending_application').execute();
    return rows.map(toSender);
  }
}

function toSender(r: Hl7SenderTable): Hl7Sender {
  return { id: r.id, facilityId: r.facility_id, sendingFacility: r.sending_facility, sendingApplication: r.sending_application, createdAt: r.created_at };
}
