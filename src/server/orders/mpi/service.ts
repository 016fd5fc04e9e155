/**
 * The master patient index (W3) and opt-outs (S1). A patient is one facility's record
 * (facility, patient ID, issuer); records of different facilities are tied by explicit
 * links that MPI stewards make and end with a reason, audited, never deleted. Another
 * facility's record is shown only where both facilities' contracts allow onward sharing and
 * neither record has an active opt-out ({@link PatientService.sharingAllowed}); an opt-out
 * (明示的な留保, with its date and how it was declared) blocks cross-facility display and
 * onward sharing everywhere, and is withdrawable. Links are followed one step: a link says
 * two records are one person, and each link is a steward's explicit decision.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type { OptOutRequest, OptOutView, OptOutWithdrawRequest, PatientDetail, PatientLinkRequest, PatientLinkView, PatientSummary } from '../../../shared/api.ts';
import { describeActor, type Actor } from '../../platform/context.ts';
import type { Database, PatientLink, PatientOptOut } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import { assertMaySendFor, isMpiSteward, mayRecordOptOut, mayRecordOptOuts, readScope } from '../access.ts';
import type { ContractService } from '../contracts/service.ts';
import { ConcurrentInsert, isLostRace, isUniqueViolation } from '../db-errors.ts';
import type { PatientInput, PatientUpdateResult, PatientUpdates } from '../model.ts';
import { isCalendarDate, tokyoDicomDate } from '../time.ts';
import { MpiRepository, demographicUpdate, newPatientRow, patientKey, type PatientRow } from './repository.ts';
import { validatePatient } from './validate.ts';

/** A patient row as the API shows it. */
export function patientSummary(p: PatientRow): PatientSummary {
  return {
    id: p.id,
    facilityId: p.facility_id,
    facilityName: p.facility_name,
    patientId: p.patient_id,
    issuer: p.issuer,
    name: { alphabetic: p.name_alphabetic, ideographic: p.name_ideographic, phonetic: p.name_phonetic },
    sex: p.sex,
    birthDate: p.birth_date,
  };
}

function optOutView(o: PatientOptOut): OptOutView {
  return {
    id: o.id,
    active: o.withdrawn_at === null,
    declaredOn: o.declared_on,
    source: o.source,
    note: o.note,
    recordedBy: o.recorded_by,
    recordedAt: o.recorded_at,
    withdrawnOn: o.withdrawn_on,
    withdrawnSource: o.withdrawn_source,
    withdrawnBy: o.withdrawn_by,
    withdrawnAt: o.withdrawn_at,
  };
}

function str(v: unknown, name: string, min: number, max: number): string {
  if (v === undefined || v === null) v = '';
  if (typeof v !== 'string') throw new AppError('bad_request', `${name} must be a string`);
  const t = v.trim();
  if (t.length < min) throw new AppError('bad_request', `${name} is required`);
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  return t;
}

/** A declaration date: a real date, not after today in Japan. */
function declaredDate(v: unknown, name: string): string {
  const d = str(v, name, 1, 10);
  if (!isCalendarDate(d)) throw new AppError('bad_request', `${name} must be a date (YYYY-MM-DD)`);
  const today = tokyoDicomDate(new Date().toISOString());
  if (d.replace(/-/g, '') > today) throw new AppError('bad_request', `${name} must not be in the future`);
  return d;
}

/** The master patient index, opt-outs and the sharing rule other modules ask. */
export class PatientService implements PatientUpdates {
  private readonly repo: MpiRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService<Database>,
    private readonly contracts: ContractService,
    private readonly facilityExists: (id: string) => Promise<boolean>,
  ) {
    this.repo = new MpiRepository(db);
  }

  /**
   * Creates or updates a facility's patient record from demographics (HL7 ADT^A08, SS-MIX2
   * ADT-00, FHIR Patient): each demographic sent replaces the stored one, empty ones are
   * kept; `name_search` follows the names. Audited in the same transaction when anything
   * changed.
   * @throws AppError forbidden (the actor may not send for this facility), bad_request naming the field
   */
  async update(actor: Actor, facilityId: string, patient: PatientInput): Promise<{ patientRef: string }> {
    assertMaySendFor(actor, facilityId);
    const p = validatePatient(patient);
    if (!(await this.facilityExists(facilityId))) throw new AppError('bad_request', 'facilityId: no such facility');
    return this.db.transaction().execute(async (trx) => {
      const r = await new MpiRepository(trx).ensure(facilityId, p, 'overwrite', new Date().toISOString());
      if (r.created || r.changed.length) {
        await this.audit.append(trx, {
          actor,
          action: r.created ? 'patient.create' : 'patient.update',
          object: { type: 'patient', id: r.id },
          facilityId,
          patientRef: r.id,
          details: { changed: r.changed },
        });
      }
      return { patientRef: r.id };
    });
  }

  /**
   * {@link update} for several patients of one facility in one transaction (SS-MIX2 import):
   * each checked on its own (a bad one fails alone), then applied in order, the same patient
   * twice as two updates one after the other; audited like `update`, in the same transaction.
   * When the transaction fails as a whole after a retry, each patient is updated on its own.
   * @throws AppError forbidden (the actor may not send for this facility), bad_request (no such facility)
   */
  async updateMany(actor: Actor, facilityId: string, patients: readonly PatientInput[]): Promise<PatientUpdateResult[]> {
    assertMaySendFor(actor, facilityId);
    if (!(await this.facilityExists(facilityId))) throw new AppError('bad_request', 'facilityId: no such facility');
    const results: PatientUpdateResult[] = new Array(patients.length);
    const valid: Array<{ index: number; p: PatientInput }> = [];
    patients.forEach((patient, index) => {
      try {
        valid.push({ index, p: validatePatient(patient) });
      } catch (error) {
        results[index] = { ok: false, error };
      }
    });
    if (valid.length === 0) return results;
    for (let attempt = 1; ; attempt++) {
      try {
        const refs = await this.db.transaction().execute((trx) => this.writeMany(trx, actor, facilityId, valid.map((v) => v.p)));
        valid.forEach((v, i) => (results[v.index] = { ok: true, patientRef: refs[i]! }));
        return results;
      } catch (err) {
        if (attempt < 3 && isLostRace(err)) continue;
        if (valid.length === 1) throw err;
        for (const v of valid) {
          try {
            results[v.index] = { ok: true, ...(await this.update(actor, facilityId, v.p)) };
          } catch (error) {
            results[v.index] = { ok: false, error };
          }
        }
        return results;
      }
    }
  }

  /** Applies checked demographics in order ('overwrite', as `update`); returns the patients' ids. */
  private async writeMany(trx: Transaction<Database>, actor: Actor, facilityId: string, patients: readonly PatientInput[]): Promise<string[]> {
    const mpi = new MpiRepository(trx);
    const now = new Date().toISOString();
    const rows = await mpi.findMany(facilityId, patients.map((p) => p.patientId));
    const created = new Set<string>();
    const changed = new Map<string, string[]>();
    const entries: Array<{ id: string; created: boolean; changed: string[] }> = [];
    for (const p of patients) {
      const key = patientKey(facilityId, p.patientId, p.issuer);
      const found = rows.get(key);
      if (!found) {
        const row = newPatientRow(facilityId, p, now);
        rows.set(key, row);
        created.add(row.id);
        entries.push({ id: row.id, created: true, changed: [] });
        continue;
      }
      const u = demographicUpdate(found, p, 'overwrite', now);
      if (u.changed.length === 0) continue;
      rows.set(key, u.row);
      changed.set(found.id, [...new Set([...(changed.get(found.id) ?? []), ...u.changed])]);
      entries.push({ id: found.id, created: false, changed: u.changed });
    }
    const written = [...rows.values()].sort((a, b) => (a.patient_id < b.patient_id ? -1 : a.patient_id > b.patient_id ? 1 : a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : 0));
    const inserts = written.filter((r) => created.has(r.id));
    if (inserts.length && (await mpi.insertMany(inserts)).size !== inserts.length) throw new ConcurrentInsert('a patient');
    for (const r of written) if (changed.has(r.id) && !created.has(r.id)) await mpi.updateDemographics(r, changed.get(r.id)!);
    if (entries.length) {
      await this.audit.withBatch(trx, async (batch) => {
        for (const e of entries) {
          batch.add({ actor, action: e.created ? 'patient.create' : 'patient.update', object: { type: 'patient', id: e.id }, facilityId, patientRef: e.id, details: { changed: e.changed } });
        }
      });
    }
    return patients.map((p) => rows.get(patientKey(facilityId, p.patientId, p.issuer))!.id);
  }

  /**
   * A patient record with its opt-outs and links, for readers of its facility and MPI
   * stewards. Audited (reading medical data).
   * @throws AppError forbidden / not_found
   */
  async get(actor: Actor, patientRef: string): Promise<PatientDetail> {
    const steward = isMpiSteward(actor);
    const scope = readScope(actor);
    if (!steward && scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading patient data');
    const p = await this.repo.patient(patientRef);
    if (!p || (!steward && scope !== 'all' && !scope.includes(p.facility_id))) throw new AppError('not_found', 'no such patient');
    const [optOuts, links] = await Promise.all([this.repo.optOuts(p.id), this.repo.linksOf(p.id)]);
    const others = await this.repo.patientsByIds(links.map((l) => (l.patient_a === p.id ? l.patient_b : l.patient_a)));
    const shared = await this.sharingAllowedMany([p.id, ...others.map((o) => o.id)]);
    const detail: PatientDetail = {
      ...patientSummary(p),
      optedOut: optOuts.some((o) => o.withdrawn_at === null),
      sharingAllowed: shared.has(p.id),
      optOuts: optOuts.map(optOutView),
      links: links.map((l) => {
        const otherId = l.patient_a === p.id ? l.patient_b : l.patient_a;
        const o = others.find((x) => x.id === otherId)!;
        const bothShare = shared.has(p.id) && shared.has(otherId);
        const visible = steward || scope === 'all' || scope.includes(o.facility_id) || (l.unlinked_at === null && bothShare);
        return this.linkView(l, o, visible ? patientSummary(o) : null, l.unlinked_at === null && bothShare);
      }),
    };
    await this.audit.record({ actor, action: 'patient.view', object: { type: 'patient', id: p.id }, facilityId: p.facility_id, patientRef: p.id, details: { links: links.length } });
    return detail;
  }

  private linkView(l: PatientLink, other: { id: string; facility_id: string }, summary: PatientSummary | null, shared: boolean): PatientLinkView {
    return {
      id: l.id,
      active: l.unlinked_at === null,
      otherId: other.id,
      otherFacilityId: other.facility_id,
      other: summary,
      shared,
      reason: l.reason,
      linkedBy: l.linked_by,
      linkedAt: l.linked_at,
      unlinkedBy: l.unlinked_by,
      unlinkedAt: l.unlinked_at,
      unlinkReason: l.unlink_reason,
    };
  }

  /**
   * Links two facilities' records of one person (W3), with a reason. Audited for both
   * patients in the same transaction.
   * @throws AppError forbidden (MPI stewards only), not_found, bad_request (same record or same facility), conflict (already linked)
   */
  async link(actor: Actor, body: PatientLinkRequest): Promise<PatientLinkView> {
    if (!isMpiSteward(actor)) throw new AppError('forbidden', 'only system administrators and the management physician link patient records');
    const x = str(body?.patientA, 'patientA', 1, 64);
    const y = str(body?.patientB, 'patientB', 1, 64);
    const reason = str(body?.reason, 'reason (why these records are one person)', 1, 500);
    if (x === y) throw new AppError('bad_request', 'patientA and patientB are the same record');
    const [a, b] = x < y ? [x, y] : [y, x];
    const rows = await this.repo.patientsByIds([a, b]);
    const pa = rows.find((r) => r.id === a);
    const pb = rows.find((r) => r.id === b);
    if (!pa || !pb) throw new AppError('not_found', `no such patient: ${!pa ? a : b}`);
    if (pa.facility_id === pb.facility_id) throw new AppError('bad_request', 'both records belong to one facility: links join records of different facilities (duplicates within a facility are the facility\'s to merge)');
    const row: PatientLink = { id: randomUUID(), patient_a: a, patient_b: b, reason, linked_by: describeActor(actor), linked_at: new Date().toISOString(), unlinked_by: null, unlinked_at: null, unlink_reason: null };
    try {
      await this.db.transaction().execute(async (trx) => {
        const repo = new MpiRepository(trx);
        if (await repo.activeLink(a, b)) throw new AppError('conflict', 'these records are already linked');
        await repo.insertLink(row);
        for (const p of [pa, pb]) {
          await this.audit.append(trx, { actor, action: 'patient.link', object: { type: 'patient-link', id: row.id }, facilityId: p.facility_id, patientRef: p.id, details: { patientA: a, patientB: b } });
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'these records are already linked');
      throw err;
    }
    const shared = await this.sharingAllowedMany([a, b]);
    // Seen from the first record of the request.
    const other = x === a ? pb : pa;
    return this.linkView(row, other, patientSummary(other), shared.has(a) && shared.has(b));
  }

  /**
   * Ends a link (it stays in the history with who ended it, when and why). Audited for both patients.
   * @throws AppError forbidden, not_found, conflict (already ended)
   */
  async unlink(actor: Actor, linkId: string, reason?: unknown): Promise<PatientLinkView> {
    if (!isMpiSteward(actor)) throw new AppError('forbidden', 'only system administrators and the management physician unlink patient records');
    const why = str(reason, 'reason', 0, 500);
    const link = await this.repo.link(linkId);
    if (!link) throw new AppError('not_found', 'no such link');
    const rows = await this.repo.patientsByIds([link.patient_a, link.patient_b]);
    const at = new Date().toISOString();
    const by = describeActor(actor);
    await this.db.transaction().execute(async (trx) => {
      if (!(await new MpiRepository(trx).endLink(link.id, by, at, why))) throw new AppError('conflict', 'this link has already been ended');
      for (const p of rows) {
        await this.audit.append(trx, { actor, action: 'patient.unlink', object: { type: 'patient-link', id: link.id }, facilityId: p.facility_id, patientRef: p.id, details: { patientA: link.patient_a, patientB: link.patient_b } });
      }
    });
    const pb = rows.find((r) => r.id === link.patient_b)!;
    return this.linkView({ ...link, unlinked_by: by, unlinked_at: at, unlink_reason: why }, pb, patientSummary(pb), false);
  }

  private async optOutTarget(actor: Actor, patientRef: string): Promise<PatientRow> {
    if (!mayRecordOptOuts(actor)) throw new AppError('forbidden', 'opt-outs are recorded by the patient\'s facility (administrators, attending physicians) or the provider\'s administrators');
    const p = await this.repo.patient(patientRef);
    if (!p) throw new AppError('not_found', 'no such patient');
    if (!mayRecordOptOut(actor, p.facility_id)) throw new AppError('forbidden', 'opt-outs are recorded by the patient\'s own facility');
    return p;
  }

  /**
   * Records a patient's opt-out (S1) with the date it was declared and how (書面, 口頭, ...).
   * From then on the record is not shown to other facilities and nothing of it is shared
   * onward. Audited in the same transaction.
   * @throws AppError forbidden, not_found, bad_request, conflict (an opt-out is already active)
   */
  async recordOptOut(actor: Actor, patientRef: string, body: OptOutRequest): Promise<OptOutView> {
    const p = await this.optOutTarget(actor, patientRef);
    const row: PatientOptOut = {
      id: randomUUID(),
      patient_ref: p.id,
      declared_on: declaredDate(body?.date, 'date'),
      source: str(body?.source, 'source (how the patient declared it: 書面, 口頭, ...)', 1, 50),
      note: str(body?.note, 'note', 0, 1000),
      recorded_by: describeActor(actor),
      recorded_at: new Date().toISOString(),
      withdrawn_on: null,
      withdrawn_source: null,
      withdrawn_by: null,
      withdrawn_at: null,
    };
    try {
      await this.db.transaction().execute(async (trx) => {
        const repo = new MpiRepository(trx);
        const active = await repo.activeOptOut(p.id);
        if (active) throw new AppError('conflict', `the patient has opted out since ${active.declared_on}`);
        await repo.insertOptOut(row);
        await this.audit.append(trx, { actor, action: 'patient.opt-out', object: { type: 'patient', id: p.id }, facilityId: p.facility_id, patientRef: p.id, details: { optOutId: row.id, declaredOn: row.declared_on, source: row.source } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'the patient has already opted out');
      throw err;
    }
    return optOutView(row);
  }

  /**
   * Withdraws the active opt-out (the patient agrees to sharing again); the opt-out stays in
   * the history. Audited in the same transaction.
   * @throws AppError forbidden, not_found, bad_request, conflict (no active opt-out)
   */
  async withdrawOptOut(actor: Actor, patientRef: string, body: OptOutWithdrawRequest): Promise<OptOutView> {
    const p = await this.optOutTarget(actor, patientRef);
    const on = declaredDate(body?.date, 'date');
    const source = str(body?.source, 'source', 0, 50);
    const by = describeActor(actor);
    const at = new Date().toISOString();
    const id = await this.db.transaction().execute(async (trx) => {
      const repo = new MpiRepository(trx);
      const active = await repo.activeOptOut(p.id);
      if (!active) throw new AppError('conflict', 'the patient has no active opt-out');
      if (on < active.declared_on) throw new AppError('bad_request', `date must not be before the opt-out (${active.declared_on})`);
      await repo.withdrawOptOut(active.id, { withdrawn_on: on, withdrawn_source: source, withdrawn_by: by, withdrawn_at: at });
      await this.audit.append(trx, { actor, action: 'patient.opt-out-withdraw', object: { type: 'patient', id: p.id }, facilityId: p.facility_id, patientRef: p.id, details: { optOutId: active.id, withdrawnOn: on } });
      return active.id;
    });
    return optOutView((await this.repo.optOut(id))!);
  }

  /**
   * Whether a patient's record may be shown outside its facility and shared onward (W3, S1):
   * its facility's contract allows onward sharing and it has no active opt-out. Unknown
   * patients are not shared. For every module that shows priors or clinical data across
   * facilities.
   */
  async sharingAllowed(patientRef: string): Promise<boolean> {
    return (await this.sharingAllowedMany([patientRef])).has(patientRef);
  }

  /** {@link sharingAllowed} for several patients at once: the set of those that may be shared. */
  async sharingAllowedMany(patientRefs: readonly string[]): Promise<Set<string>> {
    const rows = await this.repo.patientsByIds(patientRefs);
    const [sharing, optedOut] = await Promise.all([this.contracts.sharingFacilities(rows.map((r) => r.facility_id)), this.repo.optedOut(rows.map((r) => r.id))]);
    return new Set(rows.filter((r) => sharing.has(r.facility_id) && !optedOut.has(r.id)).map((r) => r.id));
  }

  /**
   * The other facilities' records linked to a patient that may be shown with it: both
   * records' facilities allow onward sharing and neither has an active opt-out. For readers
   * of the patient's facility; audited (reading medical data).
   * @throws AppError forbidden / not_found when the actor may not read the patient
   */
  async linkedPatients(actor: Actor, patientRef: string): Promise<PatientSummary[]> {
    const p = await this.repo.patient(patientRef);
    const scope = readScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading patient data');
    if (!p || (scope !== 'all' && !scope.includes(p.facility_id))) throw new AppError('not_found', 'no such patient');
    const linked = await this.sharedLinks(p.id);
    await this.audit.record({ actor, action: 'patient.links-view', object: { type: 'patient', id: p.id }, facilityId: p.facility_id, patientRef: p.id, details: { shown: linked.length } });
    return linked.map(patientSummary);
  }

  /**
   * The linked records that may be shown with a patient ({@link linkedPatients} without the
   * access check and audit): for services that have checked access and audit themselves.
   */
  async sharedLinks(patientRef: string): Promise<PatientRow[]> {
    const others = await this.repo.activeLinkedIds(patientRef);
    if (others.length === 0) return [];
    const shared = await this.sharingAllowedMany([patientRef, ...others]);
    if (!shared.has(patientRef)) return [];
    return (await this.repo.patientsByIds(others.filter((o) => shared.has(o)))).sort((x, y) => x.facility_name.localeCompare(y.facility_name));
  }

  /** A patient row (no access check), for other services of this module. */
  async row(patientRef: string): Promise<PatientRow | undefined> {
    return this.repo.patient(patientRef);
  }

  /** Patient rows by id (no access check), for other services of this module. */
  async rows(patientRefs: readonly string[]): Promise<PatientRow[]> {
    return this.repo.patientsByIds(patientRefs);
  }

  /** Whether a patient has an active opt-out. */
  async optedOut(patientRef: string): Promise<boolean> {
    return (await this.repo.optedOut([patientRef])).has(patientRef);
  }
}
