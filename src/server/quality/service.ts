/**
 * Reading terminals and monitor QC (Q1, Q2): registration with the JESRA X-0093 grade and
 * acceptance values, the daily visual check (JESRA X-0093 日常点検 with TG18-QC, TG18-UN10/80
 * or SMPTE; AAPM TG18 OR-03 §4), constancy tests judged with their numbers (JESRA X-0093 §4
 * grade table and §6.5.4; contrast response per TG18 OR-03 §4.3), the terminal a login
 * session is bound to, and the output LUT that calibrates that session's rendered images to
 * the DICOM PS3.14 GSDF.
 *
 * Who may do what (ARCHITECTURE rule 2, decided here):
 * - system administrators and the management physician register and change terminals and
 *   see them all;
 * - readers (whoever may read a facility's studies) see the terminals of the facilities they
 *   read, and provider-wide readers every terminal; they record daily checks and bind their
 *   session to a terminal they see;
 * - constancy tests are recorded by managers and by technologists of the terminal's facility.
 *
 * Blocking: reading at a terminal is blocked (not just warned) while today's daily check is
 * missing or failed when the terminal has `requireDailyCheck`, or when the facility whose
 * study a provider reader reads requires the check by contract (`monitorCheckRequired`);
 * such a reader without a terminal is blocked too. Otherwise an overdue check warns.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type {
  ConstancyResult,
  DailyCheck,
  DailyCheckItem,
  DisplayProfile,
  DisplayProfileKind,
  JesraGradeName,
  QcPatternName,
  ReadingDecision,
  ReadingTerminal,
  SessionTerminal,
  TerminalStatus,
} from '../../shared/api.ts';
import type { AuditService } from '../audit/index.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import { medicalScope } from '../security/index.ts';
import { displayProfileOf, LutCache, outputLutOf, type ProfileSource } from './display.ts';
import { nativeLuminance } from './gsdf.ts';
import { contrastResponse, judgeConstancy } from './jesra.ts';
import { TerminalRepository, type ConstancyRow, type DailyCheckRow, type TerminalRow, type TerminalScope } from './repository.ts';
import { constancyRequest, dailyCheckRequest, terminalFields, type TerminalFields } from './schemas.ts';
import { addMonths, dailyState, tokyoDate } from './schedule.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** What the terminal service needs. */
export interface TerminalServiceDeps {
  db: Kysely<Database>;
  audit: AuditService<Database>;
  facilities: { exists(id: string): Promise<boolean>; nameOf(id: string): Promise<string | undefined> };
  /** The terminal bound to a login session (sessions.terminal_id, owned by the security module). */
  sessions: {
    terminalOf(sessionId: string): Promise<string | null>;
    /** Binds inside the given transaction, so that the binding and its audit entry commit together. */
    bind(sessionId: string, terminalId: string | null, trx: Transaction<Database>): Promise<void>;
  };
  /**
   * Whether a facility's contract requires the daily monitor check before its studies are
   * read (the contract's `monitorCheckRequired`). Default: no facility requires it, and only
   * terminals with `requireDailyCheck` block.
   */
  monitorCheckRequired?: ((facilityId: string) => Promise<boolean>) | undefined;
  now?: (() => Date) | undefined;
}

/** The display calibration of a session for rendered images. */
export interface SessionDisplay {
  lut: Uint8Array | undefined;
  label: string;
}

function profileSource(t: TerminalRow): ProfileSource {
  return { profile: t.profile as DisplayProfileKind, lmin: t.lmin, lmax: t.lmax, lamb: t.lamb, native: JSON.parse(t.native) as ProfileSource['native'] };
}

function fieldsOf(t: TerminalRow): TerminalFields {
  return {
    name: t.name,
    location: t.location,
    displayModel: t.display_model,
    displaySerial: t.display_serial,
    grade: t.grade as JesraGradeName,
    lmax: t.lmax,
    lmin: t.lmin,
    lamb: t.lamb,
    acceptanceTestedOn: t.acceptance_tested_on,
    native: JSON.parse(t.native) as TerminalFields['native'],
    facilityId: t.facility_id,
    requireDailyCheck: t.require_daily_check === 1,
    profile: t.profile as DisplayProfileKind,
    constancyIntervalMonths: t.constancy_interval_months,
    active: t.active === 1,
  };
}

function columnsOf(f: TerminalFields): Omit<TerminalRow, 'id' | 'version' | 'last_check_at' | 'last_check_on' | 'last_check_passed' | 'created_at' | 'updated_at'> {
  return {
    name: f.name,
    location: f.location,
    display_model: f.displayModel,
    display_serial: f.displaySerial,
    grade: f.grade,
    lmax: f.lmax,
    lmin: f.lmin,
    lamb: f.lamb,
    acceptance_tested_on: f.acceptanceTestedOn,
    native: JSON.stringify(f.native),
    facility_id: f.facilityId,
    require_daily_check: f.requireDailyCheck ? 1 : 0,
    profile: f.profile,
    constancy_interval_months: f.constancyIntervalMonths,
    active: f.active ? 1 : 0,
  };
}

function toDailyCheck(r: DailyCheckRow): DailyCheck {
  return {
    id: r.id,
    terminalId: r.terminal_id,
    userId: r.user_id,
    userName: r.user_name,
    pattern: r.pattern as QcPatternName,
    items: JSON.parse(r.items) as Record<DailyCheckItem, boolean>,
    passed: r.passed === 1,
    note: r.note,
    checkedAt: r.checked_at,
    checkedOn: r.checked_on,
  };
}

function toConstancy(r: ConstancyRow): ConstancyResult {
  return {
    id: r.id,
    terminalId: r.terminal_id,
    grade: r.grade as JesraGradeName,
    lmax: r.lmax,
    lmin: r.lmin,
    lamb: r.lamb,
    readings: JSON.parse(r.readings) as ConstancyResult['readings'],
    contrastDeviation: r.contrast_deviation,
    luminanceRatio: r.luminance_ratio,
    items: JSON.parse(r.items) as ConstancyResult['items'],
    passed: r.passed === 1,
    note: r.note,
    testedOn: r.tested_on,
    recordedBy: r.recorded_by,
    recordedByName: r.recorded_by_name,
    recordedAt: r.recorded_at,
    nextDueOn: r.next_due_on,
  };
}

/**
 * Checks that a terminal's values give a usable native curve and, for the GSDF profile, a
 * GSDF LUT (PS3.14 §7.1 range: Lmin + Lamb ≥ 0.05 cd/m², Lmax + Lamb ≤ 3993 cd/m²).
 * @throws AppError bad_request with the reason
 */
function checkDisplayable(f: TerminalFields): void {
  try {
    nativeLuminance(f.native, f.lmin, f.lmax);
    outputLutOf(f);
  } catch (err) {
    if (err instanceof RangeError) throw new AppError('bad_request', `the display profile cannot be built: ${err.message}`);
    throw err;
  }
}

/** Reading terminals, their QC and the display calibration of sessions. */
export class TerminalService {
  readonly repo: TerminalRepository;
  private readonly luts = new LutCache();
  private readonly now: () => Date;
  private readonly monitorCheckRequired: (facilityId: string) => Promise<boolean>;

  constructor(private readonly deps: TerminalServiceDeps) {
    this.repo = new TerminalRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
    this.monitorCheckRequired = deps.monitorCheckRequired ?? (async () => false);
  }

  /** Today in Asia/Tokyo. */
  today(): string {
    return tokyoDate(this.now());
  }

  /** Whether the actor manages terminals: system administrators and the management physician. */
  isManager(actor: Actor): boolean {
    return actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician');
  }

  /** The terminals the actor may see, or null when none. */
  private scopeOf(actor: Actor): TerminalScope | null {
    if (this.isManager(actor)) return 'all';
    if (actor.kind !== 'user') return null;
    const s = medicalScope(actor);
    if (s === 'all') return 'all';
    return s.length ? { facilities: s, provider: false } : null;
  }

  private inScope(scope: TerminalScope, t: TerminalRow): boolean {
    if (scope === 'all') return true;
    return t.facility_id === null ? scope.provider : scope.facilities.includes(t.facility_id);
  }

  /**
   * A terminal the actor may see.
   * @throws AppError forbidden (no terminals visible to the actor at all), not_found
   */
  private async visible(actor: Actor, id: string): Promise<TerminalRow> {
    const scope = this.scopeOf(actor);
    if (!scope) throw new AppError('forbidden', 'reading terminals are for readers and their managers');
    const t = await this.repo.byId(id);
    if (!t || !this.inScope(scope, t)) throw new AppError('not_found', 'no such reading terminal');
    return t;
  }

  private requireManager(actor: Actor): void {
    if (!this.isManager(actor)) throw new AppError('forbidden', 'only system administrators and the management physician manage reading terminals');
  }

  private async view(t: TerminalRow, names = new Map<string, string | null>()): Promise<ReadingTerminal> {
    let facilityName: string | null = null;
    if (t.facility_id) {
      if (!names.has(t.facility_id)) names.set(t.facility_id, (await this.deps.facilities.nameOf(t.facility_id)) ?? null);
      facilityName = names.get(t.facility_id) ?? null;
    }
    const f = fieldsOf(t);
    return {
      id: t.id,
      name: f.name,
      location: f.location,
      displayModel: f.displayModel,
      displaySerial: f.displaySerial,
      grade: f.grade,
      lmax: f.lmax,
      lmin: f.lmin,
      lamb: f.lamb,
      acceptanceTestedOn: f.acceptanceTestedOn,
      native: f.native,
      facilityId: f.facilityId,
      facilityName,
      requireDailyCheck: f.requireDailyCheck,
      constancyIntervalMonths: f.constancyIntervalMonths,
      profile: displayProfileOf(profileSource(t)),
      active: f.active,
      version: t.version,
      createdAt: t.created_at,
      updatedAt: t.updated_at,
    };
  }

  /**
   * The terminals the actor may see.
   * @throws AppError forbidden for actors who neither read nor manage
   */
  async list(actor: Actor): Promise<ReadingTerminal[]> {
    const scope = this.scopeOf(actor);
    if (!scope) throw new AppError('forbidden', 'reading terminals are for readers and their managers');
    const names = new Map<string, string | null>();
    return Promise.all((await this.repo.list(scope)).map((t) => this.view(t, names)));
  }

  /** One terminal. @throws AppError forbidden, not_found */
  async get(actor: Actor, id: string): Promise<ReadingTerminal> {
    return this.view(await this.visible(actor, id));
  }

  /**
   * Registers a terminal (audited `terminal.register`).
   * @throws AppError forbidden (not a manager), bad_request (invalid values, unknown facility)
   */
  async register(actor: Actor, input: unknown): Promise<ReadingTerminal> {
    this.requireManager(actor);
    const f = terminalFields(input, this.today());
    if (f.facilityId && !(await this.deps.facilities.exists(f.facilityId))) throw new AppError('bad_request', 'no such facility');
    checkDisplayable(f);
    const nowIso = this.now().toISOString();
    const row: TerminalRow = { id: randomUUID(), ...columnsOf(f), version: 1, last_check_at: null, last_check_on: null, last_check_passed: null, created_at: nowIso, updated_at: nowIso };
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insert(trx, row);
      await this.deps.audit.append(trx, { actor, action: 'terminal.register', object: { type: 'terminal', id: row.id }, facilityId: row.facility_id, details: { grade: f.grade, profile: f.profile, requireDailyCheck: f.requireDailyCheck } });
    });
    return this.view(row);
  }

  /**
   * Changes a terminal: any subset of the registration fields, and `active` (audited
   * `terminal.update` with the names of the changed fields).
   * @throws AppError forbidden, not_found, bad_request
   */
  async update(actor: Actor, id: string, input: unknown): Promise<ReadingTerminal> {
    this.requireManager(actor);
    const current = await this.repo.byId(id);
    if (!current) throw new AppError('not_found', 'no such reading terminal');
    const before = fieldsOf(current);
    const f = terminalFields(input, this.today(), before);
    if (f.facilityId && f.facilityId !== current.facility_id && !(await this.deps.facilities.exists(f.facilityId))) throw new AppError('bad_request', 'no such facility');
    checkDisplayable(f);
    const changed = (Object.keys(f) as Array<keyof TerminalFields>).filter((k) => JSON.stringify(f[k]) !== JSON.stringify(before[k]));
    if (changed.length === 0) return this.view(current);
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.update(trx, id, { ...columnsOf(f), updated_at: this.now().toISOString() }, current.version);
      await this.deps.audit.append(trx, { actor, action: 'terminal.update', object: { type: 'terminal', id }, facilityId: f.facilityId, details: { changed } });
    });
    return this.view((await this.repo.byId(id))!);
  }

  /**
   * Sets the display profile (`PUT /api/terminals/:id/profile`).
   * @throws AppError forbidden, not_found, bad_request (e.g. a GSDF the values cannot give)
   */
  async setProfile(actor: Actor, id: string, profile: unknown): Promise<ReadingTerminal> {
    return this.update(actor, id, { profile });
  }

  /**
   * Records a daily visual check of a terminal by the actor (audited `terminal.daily-check`).
   * @throws AppError forbidden, not_found, conflict (retired terminal), bad_request
   */
  async recordDailyCheck(actor: UserActor, id: string, input: unknown): Promise<DailyCheck> {
    const t = await this.visible(actor, id);
    if (!t.active) throw new AppError('conflict', 'this reading terminal is retired');
    const req = dailyCheckRequest(input);
    const now = this.now();
    const failed = (Object.keys(req.items) as DailyCheckItem[]).filter((k) => !req.items[k]);
    const row: DailyCheckRow = {
      id: randomUUID(),
      terminal_id: id,
      user_id: actor.userId,
      user_name: actor.username,
      pattern: req.pattern,
      items: JSON.stringify(req.items),
      passed: failed.length === 0 ? 1 : 0,
      note: req.note,
      checked_at: now.toISOString(),
      checked_on: tokyoDate(now),
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insertDailyCheck(trx, row);
      await this.deps.audit.append(trx, {
        actor,
        action: 'terminal.daily-check',
        object: { type: 'terminal', id },
        facilityId: t.facility_id,
        outcome: failed.length ? 'failure' : 'success',
        details: { pattern: req.pattern, failed },
      });
    });
    return toDailyCheck(row);
  }

  /** Daily checks of a terminal, newest first. @throws AppError forbidden, not_found */
  async dailyChecks(actor: Actor, id: string, limit = 60): Promise<DailyCheck[]> {
    await this.visible(actor, id);
    return (await this.repo.dailyChecks(id, limit)).map(toDailyCheck);
  }

  /**
   * Records a constancy test, judged against the terminal's grade (JESRA X-0093 §4: Lmax,
   * L'max/L'min, contrast response κδ) and the Lmax change from the acceptance value
   * (§6.5.4), with every number kept (audited `terminal.constancy`).
   * @throws AppError forbidden (not a manager or the facility's technologist), not_found, bad_request
   */
  async recordConstancy(actor: UserActor | Extract<Actor, { kind: 'system' }>, id: string, input: unknown): Promise<ConstancyResult> {
    const t = await this.visible(actor, id);
    if (!this.isManager(actor) && !hasRole(actor, 'technologist', t.facility_id)) {
      throw new AppError('forbidden', 'constancy tests are recorded by the management physician, system administrators or the technologists of the terminal\'s facility');
    }
    const req = constancyRequest(input, this.today());
    let judged;
    try {
      const response = contrastResponse(req.readings, req.lamb);
      const items = judgeConstancy({ grade: t.grade as JesraGradeName, lmax: req.lmax, lmin: req.lmin, lamb: req.lamb, contrastDeviation: response.maxDeviation, acceptanceLmax: t.lmax });
      judged = { response, items };
    } catch (err) {
      if (err instanceof RangeError) throw new AppError('bad_request', err.message);
      throw err;
    }
    const ratio = judged.items.find((i) => i.item === 'luminance-ratio')!.value;
    const row: ConstancyRow = {
      id: randomUUID(),
      terminal_id: id,
      grade: t.grade,
      lmax: req.lmax,
      lmin: req.lmin,
      lamb: req.lamb,
      readings: JSON.stringify([...req.readings].sort((a, b) => a.ddl - b.ddl)),
      contrast_deviation: judged.response.maxDeviation,
      luminance_ratio: ratio,
      items: JSON.stringify(judged.items),
      passed: judged.items.every((i) => i.pass) ? 1 : 0,
      note: req.note,
      tested_on: req.testedOn,
      next_due_on: addMonths(req.testedOn, t.constancy_interval_months),
      recorded_by: actor.kind === 'user' ? actor.userId : actor.name,
      recorded_by_name: actor.kind === 'user' ? actor.username : actor.name,
      recorded_at: this.now().toISOString(),
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insertConstancy(trx, row);
      await this.deps.audit.append(trx, {
        actor,
        action: 'terminal.constancy',
        object: { type: 'terminal', id },
        facilityId: t.facility_id,
        outcome: row.passed ? 'success' : 'failure',
        details: { grade: t.grade, failed: judged.items.filter((i) => !i.pass).map((i) => i.item) },
      });
    });
    return toConstancy(row);
  }

  /** Constancy tests of a terminal, newest first. @throws AppError forbidden, not_found */
  async constancyTests(actor: Actor, id: string, limit = 20): Promise<ConstancyResult[]> {
    await this.visible(actor, id);
    return (await this.repo.constancyTests(id, limit)).map(toConstancy);
  }

  /**
   * Whether a facility's contract makes the daily check a condition of this actor's reading:
   * the contract binds the reading provider, so it applies to the provider's readers
   * (radiologists and management physicians granted at the provider), not to the facility's
   * own staff looking at their images.
   */
  private async contractRequires(actor: UserActor, facilityId: string | undefined): Promise<boolean> {
    if (!facilityId) return false;
    const providerReader = hasRole(actor, 'radiologist', null) || hasRole(actor, 'management-physician', null);
    return providerReader && (await this.monitorCheckRequired(facilityId));
  }

  /** Blockers of reading at a terminal (or without one) for a facility's requirement. */
  private blockers(t: TerminalRow | undefined, boundId: string | null, facilityRequires: boolean, today: string): { blockers: string[]; warnings: string[] } {
    const blockers: string[] = [];
    const warnings: string[] = [];
    if (!t || !t.active) {
      const why = boundId ? 'the reading terminal of this session is retired' : 'no reading terminal is chosen for this session';
      if (facilityRequires) blockers.push(`${why}; the facility requires the daily monitor check before its studies are read: choose your terminal and record today's check`);
      else warnings.push(`${why}: images are not calibrated for the display and no daily check applies`);
      return { blockers, warnings };
    }
    const daily = dailyState(t.last_check_on, t.last_check_passed === null ? null : t.last_check_passed === 1, today);
    if (daily.overdue) {
      const why = daily.failed
        ? `today's daily check of terminal "${t.name}" found a problem; have the display checked and record a passing check`
        : `the daily check of terminal "${t.name}" has not been recorded today (Asia/Tokyo)`;
      const mustBlock = t.require_daily_check === 1 || facilityRequires;
      (mustBlock ? blockers : warnings).push(why);
    }
    return { blockers, warnings };
  }

  /**
   * Whether the actor may read at a terminal (or with none), for a facility's studies when
   * given: blocked when the daily check of today is missing or failed and either the
   * terminal requires it or the facility's contract does (for the provider's readers, see
   * {@link contractRequires}); warned otherwise, and when the constancy test is overdue or
   * failed. API tokens and the system are never blocked.
   * @param terminalId the terminal, or null for a session without one
   * @param facilityId the facility whose study is to be read, when known
   */
  async readingAllowed(actor: Actor, terminalId: string | null, facilityId?: string): Promise<ReadingDecision> {
    if (actor.kind !== 'user') return { allowed: true, blockers: [], warnings: [] };
    const t = terminalId ? await this.repo.byId(terminalId) : undefined;
    const facilityRequires = await this.contractRequires(actor, facilityId);
    const today = this.today();
    const { blockers, warnings } = this.blockers(t, terminalId, facilityRequires, today);
    if (t && t.active) warnings.push(...(await this.constancyWarnings(t, today)));
    return { allowed: blockers.length === 0, blockers, warnings };
  }

  private async constancyState(t: TerminalRow, today: string): Promise<{ last: ConstancyRow | undefined; dueOn: string; overdue: boolean }> {
    const [last] = await this.repo.constancyTests(t.id, 1);
    const dueOn = last ? last.next_due_on : addMonths(t.acceptance_tested_on, t.constancy_interval_months);
    return { last, dueOn, overdue: today > dueOn };
  }

  private async constancyWarnings(t: TerminalRow, today: string): Promise<string[]> {
    const c = await this.constancyState(t, today);
    const out: string[] = [];
    if (c.overdue) out.push(`the constancy test of terminal "${t.name}" was due on ${c.dueOn}`);
    if (c.last && !c.last.passed) out.push(`the last constancy test of terminal "${t.name}" (${c.last.tested_on}) did not meet grade ${c.last.grade}`);
    return out;
  }

  /**
   * The QC status of a terminal: the last daily check and whether today's is missing, the
   * last constancy test and when the next is due, the display profile, and whether the actor
   * may read there. @throws AppError forbidden, not_found
   */
  async status(actor: Actor, id: string): Promise<TerminalStatus> {
    const t = await this.visible(actor, id);
    const today = this.today();
    const [last] = await this.repo.dailyChecks(id, 1);
    const daily = dailyState(t.last_check_on, t.last_check_passed === null ? null : t.last_check_passed === 1, today);
    const c = await this.constancyState(t, today);
    return {
      terminal: await this.view(t),
      today,
      daily: { last: last ? toDailyCheck(last) : null, overdue: daily.overdue, failed: daily.failed },
      constancy: { last: c.last ? toConstancy(c.last) : null, dueOn: c.dueOn, overdue: c.overdue },
      profile: displayProfileOf(profileSource(t)),
      reading: await this.readingAllowed(actor, id),
    };
  }

  /** The terminal bound to the actor's session, its profile and status. */
  async sessionTerminal(actor: UserActor): Promise<SessionTerminal> {
    const id = await this.deps.sessions.terminalOf(actor.sessionId);
    const t = id ? await this.repo.byId(id) : undefined;
    const scope = this.scopeOf(actor);
    if (!t || !t.active || !scope || !this.inScope(scope, t)) return { terminal: null, profile: null, status: null };
    const status = await this.status(actor, t.id);
    return { terminal: status.terminal, profile: status.profile, status };
  }

  /**
   * Binds the actor's login session to a terminal it may see (null unbinds). From then on
   * the session's rendered images carry the terminal's display profile (audited
   * `session.terminal-bind`). @throws AppError forbidden, not_found, conflict (retired)
   */
  async bindSession(actor: UserActor, terminalId: string | null): Promise<SessionTerminal> {
    let facilityId: string | null = null;
    if (terminalId !== null) {
      const t = await this.visible(actor, terminalId);
      if (!t.active) throw new AppError('conflict', 'this reading terminal is retired');
      facilityId = t.facility_id;
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.sessions.bind(actor.sessionId, terminalId, trx);
      await this.deps.audit.append(trx, { actor, action: 'session.terminal-bind', object: { type: 'terminal', id: terminalId ?? 'none' }, facilityId });
    });
    return this.sessionTerminal(actor);
  }

  /**
   * What opening a study for viewing needs to know: the session's terminal, its display
   * profile and whether reading the facility's study is allowed there.
   */
  async forViewing(actor: UserActor, facilityId: string): Promise<{ terminal: { id: string; name: string } | null; profile: DisplayProfile | null; reading: ReadingDecision }> {
    const id = await this.deps.sessions.terminalOf(actor.sessionId);
    const t = id ? await this.repo.byId(id) : undefined;
    const usable = t && t.active ? t : undefined;
    return {
      terminal: usable ? { id: usable.id, name: usable.name } : null,
      profile: usable ? displayProfileOf(profileSource(usable)) : null,
      reading: await this.readingAllowed(actor, id, facilityId),
    };
  }

  /**
   * The output LUT of the session's terminal regardless of any QC state (for showing the
   * test patterns through the calibration the images get: the daily check must stay possible
   * while reading is blocked). Undefined without a usable terminal or for profile `none`.
   */
  async sessionLut(actor: UserActor): Promise<SessionDisplay | undefined> {
    const id = await this.deps.sessions.terminalOf(actor.sessionId);
    const t = id ? await this.repo.byId(id) : undefined;
    if (!t || !t.active) return undefined;
    const { lut, profile } = this.luts.get(t.id, t.version, profileSource(t));
    return { lut, label: profile.label };
  }

  /**
   * The display calibration of rendered images for the actor reading a facility's study:
   * the output LUT of the session's terminal (cached per terminal and version) and its
   * label. Undefined for API tokens and the system (facility systems get no LUT) and for a
   * session without a usable terminal.
   * @throws AppError locked when reading is blocked there (see {@link readingAllowed})
   */
  async displayFor(actor: Actor, facilityId: string): Promise<SessionDisplay | undefined> {
    if (actor.kind !== 'user') return undefined;
    const boundId = await this.deps.sessions.terminalOf(actor.sessionId);
    const t = boundId ? await this.repo.byId(boundId) : undefined;
    const { blockers } = this.blockers(t, boundId, await this.contractRequires(actor, facilityId), this.today());
    if (blockers.length) throw new AppError('locked', `reading is blocked: ${blockers.join('; ')}`);
    if (!t || !t.active) return undefined;
    const { lut, profile } = this.luts.get(t.id, t.version, profileSource(t));
    return { lut, label: profile.label };
  }
}
