/**
 * Clinical context (W4): diagnoses, allergies, lab results, prescriptions and injections
 * from SS-MIX2 standardized storage and live HL7 v2.5, kept per facility record and shown
 * with the order. Intake is idempotent on (facility, source, source key): the same item
 * again changes nothing, a corrected one replaces its earlier content. A patient's summary
 * includes the items of linked records of other facilities only where sharing is allowed
 * (W3, S1).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type { ClinicalSummaryView } from '../../../shared/api.ts';
import type { Actor } from '../../platform/context.ts';
import type { ClinicalItem, Database, Patient } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import { assertMaySendFor, assertReadable } from '../access.ts';
import { ConcurrentInsert, isLostRace } from '../db-errors.ts';
import type { ClinicalIntake, ClinicalItemInput, PatientInput } from '../model.ts';
import { MpiRepository, demographicUpdate, newPatientRow, patientKey } from '../mpi/repository.ts';
import type { PatientService } from '../mpi/service.ts';
import { validatePatient } from '../mpi/validate.ts';
import { readTime } from '../time.ts';
import { ClinicalRepository } from './repository.ts';
import { buildSummary, type SourcedItem } from './summary.ts';

const KINDS = ['diagnosis', 'allergy', 'lab', 'prescription', 'injection'] as const;
const SOURCES = ['ssmix2', 'hl7'] as const;
/** Most items in one call (one transaction). */
export const MAX_ITEMS_PER_CALL = 5000;

/** A checked item. */
interface CleanItem {
  facilityId: string;
  patient: PatientInput;
  kind: string;
  code: string;
  codeSystem: string;
  text: string;
  value: string | null;
  unit: string;
  category: string;
  observedAt: string;
  status: string;
  source: string;
  sourceKey: string;
}

function str(v: unknown, name: string, max: number, required = false): string {
  if (v === undefined || v === null) v = '';
  if (typeof v !== 'string') throw new AppError('bad_request', `${name} must be a string`);
  const t = v.trim();
  if (required && !t) throw new AppError('bad_request', `${name} is required`);
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  return t;
}

function clean(i: ClinicalItemInput, at: string): CleanItem {
  if (!i || typeof i !== 'object') throw new AppError('bad_request', `${at} must be an object`);
  if (!(KINDS as readonly string[]).includes(i.kind)) throw new AppError('bad_request', `${at}.kind must be one of ${KINDS.join(', ')}`);
  if (!(SOURCES as readonly string[]).includes(i.source)) throw new AppError('bad_request', `${at}.source must be one of ${SOURCES.join(', ')}`);
  const observedAt = readTime(str(i.observedAt, `${at}.observedAt`, 40, true));
  if (!observedAt) throw new AppError('bad_request', `${at}.observedAt is not a date or time`);
  let value: string | null = null;
  if (i.value !== undefined && i.value !== null) {
    if (typeof i.value !== 'number' || !Number.isFinite(i.value)) throw new AppError('bad_request', `${at}.value must be a finite number`);
    value = String(i.value);
  }
  const code = str(i.code, `${at}.code`, 64);
  const text = str(i.text, `${at}.text`, 2000);
  if (!code && !text) throw new AppError('bad_request', `${at} needs a code or a text`);
  return {
    facilityId: str(i.facilityId, `${at}.facilityId`, 64, true),
    patient: validatePatient(i.patient, `${at}.patient`),
    kind: i.kind,
    code,
    codeSystem: str(i.codeSystem, `${at}.codeSystem`, 64),
    text,
    value,
    unit: str(i.unit, `${at}.unit`, 32),
    category: str(i.category, `${at}.category`, 64),
    observedAt,
    status: str(i.status, `${at}.status`, 32),
    source: i.source,
    sourceKey: str(i.sourceKey, `${at}.sourceKey`, 500, true),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupBy<T>(list: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of list) {
    const k = key(t);
    const l = out.get(k);
    if (l) l.push(t);
    else out.set(k, [t]);
  }
  return out;
}

function contentHash(patientRef: string, c: CleanItem): string {
  return createHash('sha256')
    .update(JSON.stringify([patientRef, c.kind, c.code, c.codeSystem, c.text, c.value, c.unit, c.category, c.observedAt, c.status]))
    .digest('hex');
}

/** Clinical items: intake and the summary shown with orders. */
export class ClinicalService implements ClinicalIntake {
  private readonly repo: ClinicalRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService<Database>,
    private readonly patients: PatientService,
    private readonly facilityExists: (id: string) => Promise<boolean>,
  ) {
    this.repo = new ClinicalRepository(db);
  }

  /**
   * Records clinical items in one transaction, with one audit entry per patient touched.
   * Patients unknown so far are created from the items' demographics (which fill empty
   * fields of known ones, never overwrite them); a patient's first item brings them.
   * Reads and writes are batched: the patients and the stored items of the call are read
   * with one query per facility (and per 500 keys), new items are inserted several per
   * statement, and the audit entries are written together (AuditService.withBatch).
   * @throws AppError forbidden (the actor may not send for an item's facility: operators,
   *         the facility's devices and `orders:write` tokens may), bad_request naming the item and field
   */
  async record(actor: Actor, items: ClinicalItemInput[]): Promise<{ added: number; unchanged: number; updated: number }> {
    if (!Array.isArray(items)) throw new AppError('bad_request', 'items must be a list');
    if (items.length > MAX_ITEMS_PER_CALL) throw new AppError('bad_request', `at most ${MAX_ITEMS_PER_CALL} items per call`);
    const cleaned = items.map((i, n) => clean(i, `items[${n}]`));
    const facilities = [...new Set(cleaned.map((c) => c.facilityId))];
    for (const f of facilities) assertMaySendFor(actor, f, 'none');
    for (const f of facilities) if (!(await this.facilityExists(f))) throw new AppError('bad_request', 'facilityId: no such facility');
    if (cleaned.length === 0) return { added: 0, unchanged: 0, updated: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx) => this.write(trx, actor, cleaned));
      } catch (err) {
        // A concurrent import of the same item (or image intake creating the patient) won
        // the race: run again and find it.
        if (attempt < 2 && isLostRace(err)) continue;
        throw err;
      }
    }
  }

  private async write(trx: Transaction<Database>, actor: Actor, items: CleanItem[]): Promise<{ added: number; unchanged: number; updated: number }> {
    const mpi = new MpiRepository(trx);
    const repo = new ClinicalRepository(trx);
    const now = new Date().toISOString();

    // Patients: found or created once per call, from their first item (as ensure 'fill').
    const first = new Map<string, CleanItem>();
    for (const c of items) {
      const key = patientKey(c.facilityId, c.patient.patientId, c.patient.issuer);
      if (!first.has(key)) first.set(key, c);
    }
    const known = new Map<string, Patient>();
    for (const [facilityId, list] of groupBy([...first.values()], (c) => c.facilityId)) {
      for (const [k, row] of await mpi.findMany(facilityId, list.map((c) => c.patient.patientId))) known.set(k, row);
    }
    const refs = new Map<string, { id: string; created: boolean }>();
    const created: Patient[] = [];
    for (const [key, c] of first) {
      const found = known.get(key);
      if (!found) {
        const row = newPatientRow(c.facilityId, c.patient, now);
        created.push(row);
        refs.set(key, { id: row.id, created: true });
        continue;
      }
      const { changed, row } = demographicUpdate(found, c.patient, 'fill', now);
      if (changed.length) await mpi.updateDemographics(row, changed);
      refs.set(key, { id: found.id, created: false });
    }
    // Rows in key order, here and below: concurrent calls wait for each other rather than deadlock.
    created.sort((a, b) => compare(patientKey(a.facility_id, a.patient_id, a.issuer), patientKey(b.facility_id, b.patient_id, b.issuer)));
    if (created.length && (await mpi.insertMany(created)).size !== created.length) throw new ConcurrentInsert('a patient');

    // Items: what each source key holds now, stored or recorded earlier in this call.
    const stored = new Map<string, { id: string; sha: string; row?: ClinicalItem }>();
    for (const [group, list] of groupBy(items, (c) => `${c.facilityId}\u0000${c.source}`)) {
      const [facilityId, source] = group.split('\u0000') as [string, string];
      for (const [k, v] of await repo.byKeys(facilityId, source, list.map((c) => c.sourceKey))) stored.set(`${group}\u0000${k}`, { id: v.id, sha: v.content_sha256 });
    }
    const inserts: ClinicalItem[] = [];
    const updates = new Map<string, Omit<ClinicalItem, 'id' | 'facility_id' | 'source' | 'source_key' | 'recorded_at'>>();
    const perPatient = new Map<string, { facilityId: string; added: number; updated: number; created: boolean }>();
    const total = { added: 0, unchanged: 0, updated: 0 };
    for (const c of items) {
      const ref = refs.get(patientKey(c.facilityId, c.patient.patientId, c.patient.issuer))!;
      const sha = contentHash(ref.id, c);
      const key = `${c.facilityId}\u0000${c.source}\u0000${c.sourceKey}`;
      const existing = stored.get(key);
      const counts = perPatient.get(ref.id) ?? { facilityId: c.facilityId, added: 0, updated: 0, created: ref.created };
      const content = { patient_ref: ref.id, kind: c.kind, code: c.code, code_system: c.codeSystem, text: c.text, value: c.value, unit: c.unit, category: c.category, observed_at: c.observedAt, status: c.status, content_sha256: sha, updated_at: now };
      if (!existing) {
        const row: ClinicalItem = { id: randomUUID(), facility_id: c.facilityId, source: c.source, source_key: c.sourceKey, recorded_at: now, ...content };
        inserts.push(row);
        stored.set(key, { id: row.id, sha, row });
        total.added++;
        counts.added++;
      } else if (existing.sha !== sha) {
        // The same key twice in one call: the later content replaces the earlier one.
        if (existing.row) Object.assign(existing.row, content);
        else updates.set(existing.id, content);
        existing.sha = sha;
        total.updated++;
        counts.updated++;
      } else {
        total.unchanged++;
      }
      perPatient.set(ref.id, counts);
    }
    await repo.insertMany(inserts.sort((a, b) => compare(`${a.facility_id}\u0000${a.source}\u0000${a.source_key}`, `${b.facility_id}\u0000${b.source}\u0000${b.source_key}`)));
    for (const [id, content] of updates) await repo.update(id, content);
    const entries = [...perPatient].filter(([, n]) => n.added > 0 || n.updated > 0 || n.created);
    if (entries.length) {
      await this.audit.withBatch(trx, async (batch) => {
        for (const [patientRef, n] of entries) {
          batch.add({
            actor,
            action: 'clinical.record',
            object: { type: 'patient', id: patientRef },
            facilityId: n.facilityId,
            patientRef,
            details: { added: n.added, updated: n.updated, patientCreated: n.created, source: items[0]!.source },
          });
        }
      });
    }
    return total;
  }

  /**
   * The clinical summary of a patient for readers of its facility (W4), including linked
   * records of other facilities that share theirs. Audited (reading medical data).
   * @throws AppError forbidden / not_found
   */
  async clinicalSummary(actor: Actor, patientRef: string): Promise<ClinicalSummaryView> {
    const p = await this.patients.row(patientRef);
    if (!p) {
      assertReadable(actor, '\u0000', 'patient');
      throw new AppError('not_found', 'no such patient');
    }
    assertReadable(actor, p.facility_id, 'patient');
    const summary = await this.summaryFor(patientRef);
    await this.audit.record({ actor, action: 'patient.clinical-view', object: { type: 'patient', id: p.id }, facilityId: p.facility_id, patientRef: p.id });
    return summary;
  }

  /**
   * The summary without access check or audit, for services that did both (the order
   * detail). Linked records count only where sharing is allowed.
   */
  async summaryFor(patientRef: string, now = new Date()): Promise<ClinicalSummaryView> {
    const p = await this.patients.row(patientRef);
    if (!p) throw new AppError('not_found', 'no such patient');
    const linked = await this.patients.sharedLinks(p.id);
    const rows = await this.repo.ofPatients([p.id, ...linked.map((l) => l.id)]);
    const items: SourcedItem[] = rows.map((r) => ({ ...r, linked: r.patient_ref !== p.id }));
    return buildSummary(items, { sex: p.sex, birthDate: p.birth_date }, now);
  }
}
