/**
 * The audit trail service (S4: every access to medical data logged, who, when, what, from
 * where, in a tamper-evident log; MHLW 医療情報システムの安全管理ガイドライン 第6.0版).
 *
 * Entries are appended inside the transaction of the change they record (ARCHITECTURE
 * rule 3): the change and its audit entry commit or roll back together, and a rolled-back
 * append leaves no gap, because seq is taken from the locked head row, not a sequence.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { chainHash, wellFormed } from './canonical.ts';
import { toDicomAuditMessage } from './dicom-audit.ts';
import { toFhirAuditEvent, type FhirAuditEvent } from './fhir.ts';
import type { AuditActor, AuditEntryInput, AuditRecord, AuditSearchQuery, AuditSearchResult, AuditSource, VerifyResult } from './model.ts';
import { AuditRepository, type AuditEventRow, type AuditHead } from './repository.ts';
import type { AuditDatabase, AuditEventTable } from './schema.ts';
import { verifyChain, type VerifyOptions } from './verify.ts';

/** Options of {@link AuditService}. */
export interface AuditServiceOptions {
  /** The database's dialect (`Db.dialect`): decides how the head row is locked. */
  dialect: 'sqlite' | 'postgres';
  /** How Enkaku names itself in DICOM and FHIR exports. */
  source?: AuditSource | undefined;
  /** Clock (tests). */
  now?: (() => Date) | undefined;
}

const ACTION_RE = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;
const NAME_RE = /^[a-z][a-z0-9-]*$/;
const MAX_DETAILS = 16 * 1024;

/**
 * Keys that must not appear in `details` (compared lower case without separators): a
 * safety net against PHI and secrets in the trail, which leaves Enkaku in exports.
 */
const FORBIDDEN_DETAIL_KEYS = new Set([
  'patientname',
  'patientsname',
  'patientid',
  'patientsid',
  'birthdate',
  'patientbirthdate',
  'patientsbirthdate',
  'dateofbirth',
  'dob',
  'password',
  'passcode',
  'secret',
  'token',
  'authorization',
  'cookie',
]);

function invalid(message: string): never {
  throw new AppError('internal', `audit entry refused: ${message}`);
}

function checkDetails(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkDetails(v, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_DETAIL_KEYS.has(k.toLowerCase().replace(/[^a-z0-9]/g, ''))) invalid(`details must not carry PHI or secrets (field ${path}${k})`);
      checkDetails(v, `${path}${k}.`);
    }
  }
}

function text(name: string, value: string, max: number, allowEmpty = false): string {
  const v = wellFormed(value);
  if (!allowEmpty && v === '') invalid(`${name} is empty`);
  if (v.length > max) invalid(`${name} is longer than ${max} characters`);
  return v;
}

function optionalText(name: string, value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined || value === '' ? null : text(name, value, max);
}

function isAuditActor(a: Actor | AuditActor): a is AuditActor {
  return typeof (a as AuditActor).id === 'string' && typeof (a as AuditActor).role === 'string';
}

/** How a service-call {@link Actor} appears in the trail. */
export function auditActorOf(actor: Actor | AuditActor): AuditActor {
  if (isAuditActor(actor)) return actor;
  switch (actor.kind) {
    case 'system':
      return { kind: 'system', id: actor.name, name: actor.name, role: 'system' };
    case 'device':
      return { kind: 'device', id: actor.aet, name: actor.aet, role: 'modality', address: actor.address };
    case 'token':
      return { kind: 'token', id: actor.tokenId, name: `token ${actor.tokenId}`, role: 'facility-system', address: actor.address };
    case 'user': {
      // The roles the user holds (at any facility): what they could act as at that moment.
      const roles = [...new Set(actor.grants.map((g) => g.role))].sort().join(',');
      return { kind: 'user', id: actor.userId, name: actor.username, role: roles.slice(0, 256), address: actor.address };
    }
    default: {
      const never: never = actor;
      throw new Error(`unmapped actor ${JSON.stringify(never)}`);
    }
  }
}

/** Validates an entry and turns it into the hashed columns that do not depend on the head. */
function prepare(entry: AuditEntryInput): Omit<AuditEventTable, 'seq' | 'id' | 'recorded_at' | 'prev_hash' | 'hash'> {
  const actor = auditActorOf(entry.actor);
  if (!ACTION_RE.test(entry.action) || entry.action.length > 64) invalid(`action "${entry.action}" is not a dotted lower-case verb`);
  if (!NAME_RE.test(entry.object.type) || entry.object.type.length > 32) invalid(`object type "${entry.object.type}" is not a lower-case name`);
  if (!NAME_RE.test(actor.kind) || actor.kind.length > 32) invalid(`actor kind "${actor.kind}" is not a lower-case name`);
  const outcome = entry.outcome ?? 'success';
  if (outcome !== 'success' && outcome !== 'failure') invalid(`outcome "${String(outcome)}" is neither success nor failure`);
  const details = entry.details ?? {};
  if (typeof details !== 'object' || Array.isArray(details)) invalid('details must be an object');
  checkDetails(details, '');
  let json: string;
  try {
    json = JSON.stringify(details);
  } catch (err) {
    invalid(`details are not JSON: ${(err as Error).message}`);
  }
  if (json.length > MAX_DETAILS) invalid(`details are longer than ${MAX_DETAILS} characters`);
  return {
    actor_kind: actor.kind,
    actor_id: text('actor id', actor.id, 256),
    actor_name: text('actor name', actor.name, 256, true),
    actor_role: text('actor role', actor.role, 256, true),
    action: entry.action,
    object_type: entry.object.type,
    object_id: text('object id', entry.object.id, 256),
    facility_id: optionalText('facility id', entry.facilityId, 256),
    patient_ref: optionalText('patient ref', entry.patientRef, 256),
    outcome,
    client_address: text('client address', entry.clientAddress ?? actor.address ?? '', 256, true),
    details: json,
  };
}

/** The record of a row just written, from the details it was given (no JSON round trip). */
function recordOf(row: AuditEventTable, details: Record<string, unknown>): AuditRecord {
  return {
    seq: row.seq,
    id: row.id,
    recordedAt: row.recorded_at,
    actor: { kind: row.actor_kind, id: row.actor_id, name: row.actor_name, role: row.actor_role },
    action: row.action,
    object: { type: row.object_type, id: row.object_id },
    facilityId: row.facility_id,
    patientRef: row.patient_ref,
    outcome: row.outcome as AuditRecord['outcome'],
    clientAddress: row.client_address,
    details,
    detailsJson: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * The audit entries of one transaction, chained in memory and written together (group
 * commit, see {@link AuditService.withBatch}). The head row is locked once, when the batch
 * opens; each entry is validated and hashed as it is added, so the chain is exactly what
 * one append after another would have written; {@link flush} inserts the entries with one
 * statement per 200 and moves the head once.
 */
export class AuditBatch {
  private readonly pending: AuditEventTable[] = [];
  /** The head as stored (after the last flush). */
  private stored: AuditHead;
  private closed = false;

  /** @internal opened by {@link AuditService.withBatch} */
  constructor(
    private readonly repo: AuditRepository,
    head: AuditHead,
    private readonly now: () => Date,
  ) {
    this.stored = head;
  }

  /** The head after the entries added so far. */
  private get head(): AuditHead {
    const last = this.pending.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : this.stored;
  }

  /**
   * Validates, chains and queues an entry; it is written by the batch's flush, in the same
   * transaction.
   * @throws AppError internal when the entry is malformed or carries PHI-like fields, or
   *         when the batch was already flushed for good
   */
  add(entry: AuditEntryInput): AuditRecord {
    if (this.closed) throw new AppError('internal', 'audit batch used after its transaction ended');
    const fields = prepare(entry);
    const head = this.head;
    const row: AuditEventTable = { seq: head.seq + 1, id: randomUUID(), recorded_at: this.now().toISOString(), ...fields, prev_hash: head.hash, hash: '' };
    row.hash = chainHash(head.hash, row);
    this.pending.push(row);
    return recordOf(row, entry.details ?? {});
  }

  /** A point to return to with {@link rollbackTo} (before the entries of one message). */
  mark(): number {
    return this.pending.length;
  }

  /** Forgets the entries added since `mark` (their message was not applied). */
  rollbackTo(mark: number): void {
    if (mark > this.pending.length) throw new Error('audit batch mark is ahead of the batch');
    this.pending.length = mark;
  }

  /** Number of entries waiting for {@link flush}. */
  get size(): number {
    return this.pending.length;
  }

  /** Writes the queued entries and moves the head to the last of them. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending.splice(0);
    await this.repo.insertMany(rows);
    const last = rows.at(-1)!;
    await this.repo.advanceHead(this.stored.seq, { seq: last.seq, hash: last.hash });
    this.stored = { seq: last.seq, hash: last.hash };
  }

  /** @internal no more entries: the transaction is about to end */
  close(): void {
    this.closed = true;
  }
}

/** An audit row as a record. */
export function toAuditRecord(r: AuditEventRow): AuditRecord {
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(r.details);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) details = parsed as Record<string, unknown>;
  } catch {
    // A damaged details text is reported by verify(); the record still shows the rest.
  }
  return {
    seq: Number(r.seq),
    id: r.id,
    recordedAt: r.recorded_at,
    actor: { kind: r.actor_kind, id: r.actor_id, name: r.actor_name, role: r.actor_role },
    action: r.action,
    object: { type: r.object_type, id: r.object_id },
    facilityId: r.facility_id,
    patientRef: r.patient_ref,
    outcome: r.outcome,
    clientAddress: r.client_address,
    details,
    detailsJson: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function isoOrThrow(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new AppError('bad_request', `${name} is not a date-time`);
  return d.toISOString();
}

/**
 * Appends to, verifies, searches and exports the audit trail. `DB` is the application's
 * database type, which includes {@link AuditDatabase}.
 */
export class AuditService<DB extends AuditDatabase = AuditDatabase> {
  private readonly db: Kysely<AuditDatabase>;
  private readonly dialect: 'sqlite' | 'postgres';
  private readonly source: AuditSource;
  private readonly now: () => Date;
  /** Open batches by the transaction they belong to. */
  private readonly batches = new WeakMap<object, AuditBatch>();

  constructor(db: Kysely<DB>, options: AuditServiceOptions) {
    this.db = db as unknown as Kysely<AuditDatabase>;
    this.dialect = options.dialect;
    this.source = options.source ?? {};
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Appends an entry inside the caller's transaction, so that it commits or rolls back
   * with the change it records. Given the plain database instead of a transaction, it
   * opens its own (on SQLite, never pass the database from inside a transaction: Kysely's
   * single SQLite connection would wait for itself).
   *
   * The head row stays locked until the caller's transaction ends, which serialises all
   * appends: append last, just before commit. On PostgreSQL under REPEATABLE READ or
   * SERIALIZABLE a concurrent append makes the lock fail with a serialisation error
   * (40001), after which the caller retries its transaction.
   *
   * Inside {@link withBatch} the entry joins the transaction's batch instead (the head is
   * already locked; the entry is written when the batch flushes, before the commit).
   * @throws AppError internal when the entry is malformed or carries PHI-like fields
   */
  async append<T extends AuditDatabase = DB>(trx: Kysely<T> | Transaction<T>, entry: AuditEntryInput): Promise<AuditRecord> {
    const batch = this.batches.get(trx);
    if (batch) return batch.add(entry);
    const fields = prepare(entry);
    const db = trx as unknown as Kysely<AuditDatabase>;
    if (!db.isTransaction) return db.transaction().execute((t) => this.appendPrepared(t, fields));
    return this.appendPrepared(db, fields);
  }

  /**
   * Runs `fn` with an {@link AuditBatch} for the transaction `trx` (group commit of many
   * changes in one transaction): locks the head row first, as an append would, so that
   * everything `fn` reads comes after every transaction that appended before; `append`
   * calls with `trx` meanwhile join the batch; the batch is written when `fn` resolves.
   * The transaction must end right after (the head stays locked until it does); when `fn`
   * throws, nothing is written and the caller's transaction rolls back.
   * @throws AppError internal when the head row is missing
   */
  async withBatch<T extends AuditDatabase, R>(trx: Transaction<T>, fn: (batch: AuditBatch) => Promise<R>): Promise<R> {
    if (this.batches.has(trx)) throw new Error('an audit batch is already open in this transaction');
    const repo = new AuditRepository(trx as unknown as Kysely<AuditDatabase>, this.dialect);
    const head = await repo.lockHead();
    if (!head) throw new AppError('internal', 'the audit head row is missing; run `enkaku verify-audit`');
    const batch = new AuditBatch(repo, head, this.now);
    this.batches.set(trx, batch);
    try {
      const result = await fn(batch);
      await batch.flush();
      return result;
    } finally {
      batch.close();
      this.batches.delete(trx);
    }
  }

  /**
   * Records an entry in a transaction of its own: for events with no other database
   * change, such as reading medical data. Call it before the data is returned, so that an
   * access that cannot be logged does not happen.
   */
  async record(entry: AuditEntryInput): Promise<AuditRecord> {
    const fields = prepare(entry);
    return this.db.transaction().execute((t) => this.appendPrepared(t, fields));
  }

  private async appendPrepared(trx: Kysely<AuditDatabase>, fields: ReturnType<typeof prepare>): Promise<AuditRecord> {
    const repo = new AuditRepository(trx, this.dialect);
    const head = await repo.lockHead();
    if (!head) throw new AppError('internal', 'the audit head row is missing; run `enkaku verify-audit`');
    const row: AuditEventTable = { seq: head.seq + 1, id: randomUUID(), recorded_at: this.now().toISOString(), ...fields, prev_hash: head.hash, hash: '' };
    row.hash = chainHash(head.hash, row);
    await repo.insert(row);
    await repo.advanceHead(head.seq, { seq: row.seq, hash: row.hash });
    return toAuditRecord(row);
  }

  /**
   * Verifies the whole trail: seq continuity from 1, every hash, every prev_hash link and
   * the head row. Returns the entry count and head hash, or the first bad seq and what
   * happened there. Reads page by page; safe while Enkaku runs.
   */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    return verifyChain(new AuditRepository(this.db, this.dialect), opts);
  }

  /**
   * Searches the trail for the audit log screen, newest first. Reading the trail is
   * itself recorded (`audit.search`, DICOM "Audit Log Used", PS3.15 A.5.3.1) before the
   * results are returned.
   *
   * Who may read: operators (system actors) and users with the `auditor` role. An auditor
   * granted at the reading provider sees every entry; one granted at facilities sees only
   * those facilities' entries, whatever `facilityIds` asks for.
   * @throws AppError forbidden for anyone else, bad_request on malformed filters
   */
  async search(actor: Actor, query: AuditSearchQuery): Promise<AuditSearchResult> {
    let facilityIds = query.facilityIds ? [...query.facilityIds] : undefined;
    if (actor.kind === 'user') {
      const grants = actor.grants.filter((g) => g.role === 'auditor');
      if (grants.length === 0) throw new AppError('forbidden', 'only auditors may read the audit trail');
      if (!grants.some((g) => g.facilityId === null)) {
        const allowed = new Set(grants.map((g) => g.facilityId!));
        facilityIds = facilityIds ? facilityIds.filter((f) => allowed.has(f)) : [...allowed];
      }
    } else if (actor.kind !== 'system') {
      throw new AppError('forbidden', 'only auditors may read the audit trail');
    }
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) throw new AppError('bad_request', 'limit must be 1-1000');
    const offset = query.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) throw new AppError('bad_request', 'offset must be a non-negative integer');
    if (query.action !== undefined && !ACTION_RE.test(query.action.replace(/\.\*$/, '.x'))) throw new AppError('bad_request', 'action must be a dotted verb or a prefix ending in .*');
    if (query.outcome !== undefined && query.outcome !== 'success' && query.outcome !== 'failure') throw new AppError('bad_request', 'outcome must be success or failure');
    const q: AuditSearchQuery = {
      ...query,
      facilityIds,
      offset,
      from: query.from === undefined ? undefined : isoOrThrow('from', query.from),
      to: query.to === undefined ? undefined : isoOrThrow('to', query.to),
    };
    const { total, rows } = await new AuditRepository(this.db, this.dialect).search(q);
    await this.record({
      actor,
      action: 'audit.search',
      object: { type: 'audit', id: 'audit-trail' },
      facilityId: facilityIds?.length === 1 ? facilityIds[0] : null,
      patientRef: q.patientRef ?? null,
      details: { filters: q, total, returned: rows.length },
    });
    return { total, records: rows.map(toAuditRecord) };
  }

  /**
   * Entries after `afterSeq` in seq order, for forwarding to a remote collector. Only
   * committed entries are visible, so nothing rolled back is ever forwarded.
   */
  async entriesAfter(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return (await new AuditRepository(this.db, this.dialect).page(afterSeq, limit)).map(toAuditRecord);
  }

  /** Seq of the last committed entry (0 for an empty trail). */
  async lastSeq(): Promise<number> {
    return (await new AuditRepository(this.db, this.dialect).head())?.seq ?? 0;
  }

  /** The FHIR R4 AuditEvent of a record. */
  toFhirAuditEvent(record: AuditRecord): FhirAuditEvent {
    return toFhirAuditEvent(record, this.source);
  }

  /** The DICOM PS3.15 A.5 audit message (XML) of a record. */
  toDicomAuditMessage(record: AuditRecord): string {
    return toDicomAuditMessage(record, this.source);
  }
}
