/**
 * The server side of the reader's viewer (issue 6): measurements computed from the original
 * pixel values, key images marked for the report, and viewing sessions, each opening of a
 * study audited with the terminal it was read at (S6: viewing audited per study session;
 * MHLW guideline 6.0: access logs with what was handled and for how long).
 *
 * Readers are whoever may read the study's facility (security's medicalScope); everything
 * outside that scope answers 404, as if it did not exist. Stored files are read through the
 * verified reader, so a file that fails its SHA-256 check is never measured (A6).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KeyImage, MeasurementResult, ViewerSession } from '../../shared/api.ts';
import type { QueryRepository, RenderEngine, VerifiedReader } from '../archive/index.ts';
import type { AuditService } from '../audit/index.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import type { TerminalService } from '../quality/index.ts';
import { medicalScope } from '../security/index.ts';
import { angleOf, checkPoints, lengthOf, roiStatistics, spacingOf, unitOf } from './measure.ts';
import { ReadingRepository, type KeyImageRow, type ViewerSessionRow } from './repository.ts';
import { keyImageRequest, measurementRequest, uid } from './schemas.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** What the reading service needs. */
export interface ReadingServiceDeps {
  db: Kysely<Database>;
  audit: AuditService<Database>;
  queries: QueryRepository;
  files: VerifiedReader;
  renderer: RenderEngine;
  terminals: TerminalService;
  now?: (() => Date) | undefined;
}

const eq = (value: string) => ({ kind: 'equals' as const, value });

function toKeyImage(r: KeyImageRow): KeyImage {
  return {
    id: r.id,
    studyUid: r.study_uid,
    seriesUid: r.series_uid,
    sopInstanceUid: r.sop_instance_uid,
    frame: r.frame,
    note: r.note,
    window: r.window_center !== null && r.window_width !== null ? { center: r.window_center, width: r.window_width, fn: (r.window_fn ?? 'linear') as 'linear' } : null,
    createdBy: r.created_by,
    createdByName: r.created_by_name,
    createdAt: r.created_at,
  };
}

/** Measurements, key images and viewing sessions. */
export class ReadingService {
  readonly repo: ReadingRepository;
  private readonly now: () => Date;

  constructor(private readonly deps: ReadingServiceDeps) {
    this.repo = new ReadingRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
  }

  /** The facilities the actor reads. @throws AppError forbidden when none */
  private scope(actor: Actor): 'all' | string[] {
    const s = medicalScope(actor);
    if (s !== 'all' && s.length === 0) throw new AppError('forbidden', 'your roles do not include reading studies');
    return s;
  }

  /** A study in the actor's scope. @throws AppError forbidden, not_found, bad_request */
  private async study(actor: Actor, studyUid: string): Promise<{ study_uid: string; facility_id: string; patient_ref: string }> {
    const scope = this.scope(actor);
    const [hit] = await this.deps.queries.studies({ scope, studyUid: eq(uid(studyUid, 'studyUid')), limit: 1, offset: 0 });
    if (!hit) throw new AppError('not_found', 'no such study');
    return hit;
  }

  /** An instance of a study and series in the actor's scope. */
  private async instance(scope: 'all' | string[], studyUid: string, seriesUid: string, sopInstanceUid: string) {
    const row = await this.deps.queries.instance({ scope, studyUid, seriesUid, sopInstanceUid });
    if (!row) throw new AppError('not_found', 'no such instance');
    return row;
  }

  /**
   * Measures on the stored pixel values of one frame: a length in mm, an angle in degrees,
   * or the statistics of an ROI in modality units (HU for CT), audited `instance.measure`.
   * @throws AppError forbidden, not_found, bad_request (points, shape), unprocessable (colour ROI, undecodable image)
   */
  async measure(actor: Actor, input: unknown): Promise<MeasurementResult> {
    const scope = this.scope(actor);
    const req = measurementRequest(input);
    const row = await this.instance(scope, req.studyUid, req.seriesUid, req.sopInstanceUid);
    const frame = await this.deps.renderer.modalityValues({ key: row.blob_sha256, bytes: () => this.deps.files.readVerifying(row) }, req.frame);
    checkPoints(req.points, frame.width, frame.height);
    const { spacing, notes } = spacingOf(frame.attributes);
    const result: MeasurementResult = { kind: req.kind, shape: req.shape ?? null, frame: req.frame, points: req.points, spacing, unit: unitOf(frame.attributes), notes };
    if (req.kind === 'length') {
      const l = lengthOf(req.points, spacing);
      result.lengthMm = l.mm;
      result.lengthPixels = l.pixels;
      result.unit = l.mm === null ? 'px' : 'mm';
    } else if (req.kind === 'angle') {
      result.angleDegrees = angleOf(req.points, spacing);
      result.unit = '°';
    } else {
      result.roi = roiStatistics(frame, req.shape!, req.points, spacing);
    }
    await this.deps.audit.record({
      actor,
      action: 'instance.measure',
      object: { type: 'instance', id: row.sop_instance_uid },
      facilityId: row.facility_id,
      details: { study: row.study_uid, series: row.series_uid, frame: req.frame, kind: req.kind, ...(req.shape ? { shape: req.shape } : {}) },
    });
    return result;
  }

  /** The key images of a study (audited `key-image.list`). @throws AppError forbidden, not_found */
  async keyImages(actor: Actor, studyUid: string): Promise<KeyImage[]> {
    const study = await this.study(actor, studyUid);
    const rows = await this.repo.keyImages(study.study_uid);
    await this.deps.audit.record({ actor, action: 'key-image.list', object: { type: 'study', id: study.study_uid }, facilityId: study.facility_id, patientRef: study.patient_ref, details: { count: rows.length } });
    return rows.map(toKeyImage);
  }

  /**
   * Marks a frame of an instance of the study as a key image, with the reader's note and
   * window (audited `key-image.add`). Marking the same frame again returns the existing one.
   * @throws AppError forbidden, not_found, bad_request
   */
  async addKeyImage(actor: UserActor, studyUid: string, input: unknown): Promise<{ created: boolean; keyImage: KeyImage }> {
    const study = await this.study(actor, studyUid);
    const req = keyImageRequest(input);
    const row = await this.instance(this.scope(actor), study.study_uid, req.seriesUid, req.sopInstanceUid);
    const frames = row.frames ?? 1;
    if (req.frame > frames) throw new AppError('bad_request', `frame ${req.frame} does not exist: the instance has ${frames}`);
    return this.deps.db.transaction().execute(async (trx) => {
      const existing = await this.repo.activeKeyImage(trx, study.study_uid, row.sop_instance_uid, req.frame);
      if (existing) return { created: false, keyImage: toKeyImage(existing) };
      const ki: KeyImageRow = {
        id: randomUUID(),
        study_uid: study.study_uid,
        facility_id: study.facility_id,
        series_uid: row.series_uid,
        sop_instance_uid: row.sop_instance_uid,
        frame: req.frame,
        note: req.note,
        window_center: req.window?.center ?? null,
        window_width: req.window?.width ?? null,
        window_fn: req.window?.fn ?? null,
        created_by: actor.userId,
        created_by_name: actor.username,
        created_at: this.now().toISOString(),
        removed_by: null,
        removed_at: null,
      };
      await this.repo.insertKeyImage(trx, ki);
      await this.deps.audit.append(trx, {
        actor,
        action: 'key-image.add',
        object: { type: 'study', id: study.study_uid },
        facilityId: study.facility_id,
        patientRef: study.patient_ref,
        details: { keyImage: ki.id, instance: ki.sop_instance_uid, frame: ki.frame },
      });
      return { created: true, keyImage: toKeyImage(ki) };
    });
  }

  /**
   * Removes a key image: its author or a management physician (audited `key-image.remove`;
   * the row is kept as history).
   * @throws AppError forbidden, not_found
   */
  async removeKeyImage(actor: UserActor, studyUid: string, id: string): Promise<void> {
    const study = await this.study(actor, studyUid);
    const ki = await this.repo.keyImage(id);
    if (!ki || ki.study_uid !== study.study_uid || ki.removed_at) throw new AppError('not_found', 'no such key image');
    if (ki.created_by !== actor.userId && !hasRole(actor, 'management-physician')) throw new AppError('forbidden', 'only its author or a management physician removes a key image');
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.removeKeyImage(trx, id, actor.userId, this.now().toISOString());
      await this.deps.audit.append(trx, {
        actor,
        action: 'key-image.remove',
        object: { type: 'study', id: study.study_uid },
        facilityId: study.facility_id,
        patientRef: study.patient_ref,
        details: { keyImage: id, instance: ki.sop_instance_uid, frame: ki.frame },
      });
    });
  }

  private toViewerSession(r: ViewerSessionRow, terminalName: string | null, profile: ViewerSession['profile'], reading: ViewerSession['reading']): ViewerSession {
    return { id: r.id, studyUid: r.study_uid, terminalId: r.terminal_id, terminalName, profile, startedAt: r.started_at, endedAt: r.ended_at, reading };
  }

  /**
   * Opens a study in the viewer: audited `study.view` with the terminal and display profile.
   * When reading is blocked at the session's terminal (daily check missing or failed where
   * it is required) the opening is refused with 423 and audited as a failure.
   * @throws AppError forbidden, not_found, locked
   */
  async openViewer(actor: UserActor, studyUid: unknown): Promise<ViewerSession> {
    const study = await this.study(actor, typeof studyUid === 'string' ? studyUid : '');
    const view = await this.deps.terminals.forViewing(actor, study.facility_id);
    const row: ViewerSessionRow = {
      id: randomUUID(),
      user_id: actor.userId,
      session_id: actor.sessionId,
      study_uid: study.study_uid,
      facility_id: study.facility_id,
      terminal_id: view.terminal?.id ?? null,
      profile: view.profile?.label ?? null,
      started_at: this.now().toISOString(),
      ended_at: null,
    };
    const entry = {
      actor,
      action: 'study.view',
      object: { type: 'study', id: study.study_uid },
      facilityId: study.facility_id,
      patientRef: study.patient_ref,
    };
    if (!view.reading.allowed) {
      await this.deps.audit.record({ ...entry, outcome: 'failure', details: { terminal: row.terminal_id, reason: 'monitor QC', blockers: view.reading.blockers.length } });
      throw new AppError('locked', `reading is blocked: ${view.reading.blockers.join('; ')}`);
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insertViewerSession(trx, row);
      await this.deps.audit.append(trx, { ...entry, details: { viewerSession: row.id, terminal: row.terminal_id, profile: view.profile?.kind ?? null } });
    });
    return this.toViewerSession(row, view.terminal?.name ?? null, view.profile, view.reading);
  }

  /**
   * Ends a viewing session of the actor's (audited `study.view-end` with its duration);
   * ending it again changes nothing. @throws AppError not_found
   */
  async endViewer(actor: UserActor, id: string): Promise<ViewerSession> {
    this.scope(actor);
    const row = await this.repo.viewerSession(id);
    if (!row || row.user_id !== actor.userId) throw new AppError('not_found', 'no such viewing session');
    const endedAt = this.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await this.repo.endViewerSession(trx, id, endedAt))) return;
      await this.deps.audit.append(trx, {
        actor,
        action: 'study.view-end',
        object: { type: 'study', id: row.study_uid },
        facilityId: row.facility_id,
        details: { viewerSession: id, seconds: Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(row.started_at)) / 1000)) },
      });
    });
    const ended = (await this.repo.viewerSession(id))!;
    const terminal = ended.terminal_id ? await this.deps.terminals.repo.byId(ended.terminal_id) : undefined;
    return this.toViewerSession(ended, terminal?.name ?? null, null, { allowed: true, blockers: [], warnings: [] });
  }
}
