/**
 * Reports (W7, W8, W9, A2, A3, A4, B2, I1): drafts written beside the viewer and saved
 * continuously, drafts by transcriptionists for a named physician, finalising with the
 * second factor by a physician whose licence and certification cover the study, signing
 * (PAdES PDF and detached CMS with an RFC 3161 timestamp), versions that are never edited
 * (corrections and addenda are new signed versions), delivery through the durable outbox,
 * and the attending physician's read confirmation.
 *
 * Every read and change of a report is audited in the transaction that does it. Reports of
 * studies outside the caller's facilities answer 404, as if they did not exist.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type {
  ReportSectionsView,
  ReportTemplateView,
  ReportVersionView,
  ReportView,
  StudyReportingView,
  UnconfirmedReportView,
} from '../../shared/reports.ts';
import type { AuditService } from '../audit/index.ts';
import type { BlobStore } from '../platform/blobs/index.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import { medicalScope, tokyoDate, type CredentialService } from '../security/index.ts';
import { CERTIFICATIONS } from '../security/credentials.ts';
import { canonicalReport, type ReaderLocation, type ReportCommunication, type ReportDocument, type ReportSections, type ReportVersionKind } from './document.ts';
import { ReportRepository, type ReportRow, type ReportVersionRow, type StudyFacts } from './repository.ts';
import * as v from './schemas.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** What signing a final version yields (reports/signing). */
export interface SignedReport {
  pdf: Buffer;
  cms: Buffer;
  canonical: Buffer;
  timestamp: { token: Buffer; time: string; tsa: string };
  certificate: { subject: string; serial: string; fingerprint: string };
}

/** Signs a report document with the physician's certificate and a timestamp. */
export interface ReportSigner {
  sign(doc: ReportDocument, signerUserId: string): Promise<SignedReport>;
  /** Makes sure the physician has a signing certificate before they sign (optional). */
  prepare?(userId: string): Promise<unknown>;
}

/** Queues a final version's deliveries in the finalising transaction (reports/delivery). */
export interface ReportDeliveryQueue {
  enqueueDeliveries(trx: Transaction<Database>, input: { facilityId: string; versionId: string }): Promise<unknown>;
}

/** The worklist's side of reporting (reading module). */
export interface ReadingWorkflow {
  /** Refuses unless the actor holds the study's claim (no two readers report one study). */
  assertClaimedBy(actor: Actor, studyId: string): Promise<unknown>;
  /** Moves the study's worklist item, in the caller's transaction. */
  setStatus(trx: Transaction<Database>, studyId: string, status: 'draft' | 'final', reportId: string): Promise<unknown>;
  /** The study's item: its reading mode and who reads it in which place (W9). */
  itemOfStudy(studyId: string): Promise<{ status: string; reading_mode: string; first_reader: string | null; second_reader: string | null; arbiter: string | null } | undefined>;
  /** Ends the current reader's claim, leaving the study `preliminary` for the next reader of a double reading. */
  endClaim(trx: Transaction<Database>, studyId: string, status: 'preliminary', reportId: string): Promise<unknown>;
}

/** Checks the user's second factor again (A4: finalising needs it). */
export interface SecondFactorCheck {
  verifySecondFactor(actor: UserActor, code: string): Promise<void>;
}

/** What the report service needs. */
export interface ReportServiceDeps {
  db: Kysely<Database>;
  audit: AuditService<Database>;
  blobs: BlobStore;
  credentials: CredentialService;
  signer: ReportSigner;
  deliveries: ReportDeliveryQueue;
  workflow: ReadingWorkflow;
  secondFactor: SecondFactorCheck;
  /** The order read for becomes completed when its study's report is final (orders module). */
  orders?: { markReported(trx: Transaction<Database>, studyId: string, actor: Actor): Promise<unknown> } | undefined;
  /** Who was told of the report's findings, when and how (findings module), carried on the signed report. */
  communications?: ((reportId: string) => Promise<ReportCommunication[]>) | undefined;
  now?: (() => Date) | undefined;
}

const PHYSICIAN_ROLES = ['radiologist', 'management-physician'];
const EMPTY: ReportSections = { clinicalInformation: '', technique: '', comparison: '', findings: '', impression: '' };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Reports of studies: drafts, finalising and signing, versions, confirmation. */
export class ReportService {
  readonly repo: ReportRepository;
  private readonly now: () => Date;
  private seeded: Promise<void> | undefined;

  constructor(private readonly deps: ReportServiceDeps) {
    this.repo = new ReportRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
  }

  private iso(): string {
    return this.now().toISOString();
  }

  private scope(actor: Actor): 'all' | string[] {
    const s = medicalScope(actor);
    if (s !== 'all' && s.length === 0) throw new AppError('forbidden', 'your roles do not include reading studies');
    return s;
  }

  private async study(actor: Actor, studyUid: string): Promise<StudyFacts> {
    const s = await this.repo.study(String(studyUid), this.scope(actor));
    if (!s) throw new AppError('not_found', 'no such study');
    return s;
  }

  /** A report the actor may see (404 otherwise). */
  private async report(actor: Actor, id: string): Promise<ReportRow> {
    const r = await this.repo.report(this.deps.db, String(id));
    const scope = this.scope(actor);
    if (!r || (scope !== 'all' && !scope.includes(r.facility_id))) throw new AppError('not_found', 'no such report');
    return r;
  }

  private isPhysician(actor: Actor, facilityId: string): boolean {
    return PHYSICIAN_ROLES.some((role) => hasRole(actor, role, null) || hasRole(actor, role, facilityId));
  }

  private isTranscriptionist(actor: Actor, facilityId: string): boolean {
    return hasRole(actor, 'transcriptionist', null) || hasRole(actor, 'transcriptionist', facilityId);
  }

  /** Whether the actor may see the working text of a report (not only its signed versions). */
  private maySeeDraft(actor: UserActor, r: ReportRow): boolean {
    return r.physician_id === actor.userId || r.created_by === actor.userId || (this.isTranscriptionist(actor, r.facility_id) && r.status === 'draft');
  }

  private async views(rows: ReportRow[], withDraft: (r: ReportRow) => boolean): Promise<ReportView[]> {
    const versions = await this.repo.versions(rows.map((r) => r.id));
    const names = await this.repo.userNames([...rows.flatMap((r) => [r.physician_id, r.saved_by ?? '']).filter(Boolean)]);
    return rows.map((r) => {
      const own = versions.filter((x) => x.report_id === r.id).map(versionView);
      const draft = withDraft(r);
      return {
        id: r.id,
        studyUid: r.study_uid,
        facilityId: r.facility_id,
        readingRole: r.reading_role as ReportView['readingRole'],
        physician: { id: r.physician_id, name: names.get(r.physician_id) ?? '' },
        status: r.status as ReportView['status'],
        sections: draft || r.status === 'final' ? (JSON.parse(r.sections) as ReportSectionsView) : EMPTY,
        assessment: (draft || r.status === 'final' ? r.assessment : null) as ReportView['assessment'],
        templateId: r.template_id,
        location: r.location as ReportView['location'],
        startedAt: r.started_at,
        revision: r.revision,
        savedBy: r.saved_by ? { id: r.saved_by, name: names.get(r.saved_by) ?? '' } : null,
        savedAt: r.saved_at,
        versions: own,
      };
    });
  }

  /**
   * What the report editor shows beside the viewer: the caller's report, the other reports
   * it may see, the patient's prior reports, AI findings and whether the caller may sign.
   * In double reading, neither independent reader sees the other's report before both are final.
   */
  async studyView(actor: UserActor, studyUid: string): Promise<StudyReportingView> {
    const study = await this.study(actor, studyUid);
    const all = await this.repo.reportsOfStudy(study.id);
    const mine = all.find((r) => r.physician_id === actor.userId) ?? (this.isTranscriptionist(actor, study.facility_id) ? all.find((r) => r.status === 'draft' && r.created_by === actor.userId) : undefined);
    const independent = (r: ReportRow): boolean => r.reading_role === 'first' || r.reading_role === 'second';
    const bothDone = all.filter(independent).length === 2 && all.filter(independent).every((r) => r.status === 'final');
    // An independent read is seen only by its own author until both reads are final (W9).
    const others = all.filter((r) => r !== mine).filter((r) => !independent(r) || bothDone || r.physician_id === actor.userId || r.created_by === actor.userId);
    const [mineView] = mine ? await this.views([mine], (r) => this.maySeeDraft(actor, r)) : [null];
    const otherViews = await this.views(others, (r) => this.maySeeDraft(actor, r) || (r.reading_role !== 'single' && r.status === 'final'));
    const priorRows = await this.repo.priorReports(study.patient_ref, study.id, 10);
    const priorVersions = new Map((await Promise.all(priorRows.map((p) => this.repo.version(this.deps.db, p.version_id)))).filter((x): x is ReportVersionRow => Boolean(x)).map((x) => [x.id, x]));
    const priors = priorRows
      .filter((p) => priorVersions.has(p.version_id))
      .map((p) => ({ studyUid: p.study_uid, studyDate: p.study_date, description: p.description, modalities: p.modalities.split('\\').filter(Boolean), version: versionView(priorVersions.get(p.version_id)!) }));
    const ai = await this.repo.aiFindings(study.study_uid);
    const signing = this.isPhysician(actor, study.facility_id)
      ? await this.deps.credentials.maySign(actor.userId, { modality: primaryModality(study), facilityId: study.facility_id })
      : { allowed: false, problems: ['only a physician may finalise a report'] };
    await this.deps.audit.record({
      actor,
      action: 'report.view',
      object: { type: 'study', id: study.study_uid },
      facilityId: study.facility_id,
      patientRef: study.patient_ref,
      details: { reports: all.length, priors: priors.length },
    });
    return {
      report: mineView ?? null,
      others: otherViews,
      priors,
      aiFindings: ai.map((a) => ({ id: a.id, source: a.source, text: a.text, receivedAt: a.received_at })),
      signing: { allowed: signing.allowed, problems: signing.problems },
    };
  }

  /**
   * Starts the report of a study. A physician must hold the study's claim; a transcriptionist
   * names the physician the draft is for (A3), who alone may finalise it.
   */
  async start(actor: UserActor, studyUid: string, input: unknown): Promise<ReportView> {
    if (!actor.grants.some((g) => [...PHYSICIAN_ROLES, 'transcriptionist'].includes(g.role))) throw new AppError('forbidden', 'only physicians and transcriptionists write reports');
    const study = await this.study(actor, studyUid);
    const b = v.body(input);
    let physicianId: string;
    if (this.isPhysician(actor, study.facility_id)) {
      physicianId = actor.userId;
      await this.deps.workflow.assertClaimedBy(actor, study.id);
    } else if (this.isTranscriptionist(actor, study.facility_id)) {
      physicianId = v.text(b.physicianId, 'physicianId', 64, true);
      const q = await this.deps.credentials.mayRead(physicianId, { modality: primaryModality(study), facilityId: study.facility_id });
      if (!q.allowed) throw new AppError('bad_request', `the named physician may not report this study: ${q.problems.join('; ')}`);
    } else {
      throw new AppError('forbidden', 'only physicians and transcriptionists write reports');
    }
    const reports = await this.repo.reportsOfStudy(study.id);
    const existing = reports.find((r) => r.physician_id === physicianId || (r.reading_role === 'single' && r.status === 'draft'));
    if (existing) {
      if (existing.physician_id !== physicianId) throw new AppError('conflict', 'another physician is already reporting this study');
      return (await this.views([existing], () => true))[0]!;
    }
    const role = await this.readingRole(study.id, physicianId, reports);
    const templateId = b.templateId === undefined || b.templateId === null ? null : v.text(b.templateId, 'templateId', 64);
    await this.ensureTemplates();
    const template = templateId ? await this.repo.template(templateId) : undefined;
    if (templateId && !template) throw new AppError('bad_request', 'no such template');
    const order = await this.repo.order(this.deps.db, study.id);
    const base: ReportSections = template ? { ...EMPTY, ...(JSON.parse(template.sections) as ReportSections) } : { ...EMPTY };
    if (order && !base.clinicalInformation) base.clinicalInformation = [order.reason, order.clinical_notes].filter((s) => s.trim()).join('\n');
    const at = this.iso();
    const row: ReportRow = {
      id: randomUUID(),
      study_id: study.id,
      study_uid: study.study_uid,
      facility_id: study.facility_id,
      patient_ref: study.patient_ref,
      reading_role: role,
      physician_id: physicianId,
      status: 'draft',
      sections: JSON.stringify(base),
      assessment: null,
      template_id: templateId,
      location: v.location(b.location, false),
      revision: 0,
      saved_by: actor.userId,
      saved_at: at,
      current_version: 0,
      created_by: actor.userId,
      started_at: at,
      updated_at: at,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await this.repo.insertReport(trx, row);
        await this.deps.workflow.setStatus(trx, study.id, 'draft', row.id);
        await this.deps.audit.append(trx, {
          actor,
          action: 'report.start',
          object: { type: 'report', id: row.id },
          facilityId: study.facility_id,
          patientRef: study.patient_ref,
          details: { study: study.study_uid, physician: physicianId, proxy: physicianId !== actor.userId, template: templateId, readingRole: row.reading_role },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'this study already has a report being written');
      throw err;
    }
    // Issuing a new physician's certificate takes a moment: do it now, not when they sign.
    this.deps.signer.prepare?.(physicianId).catch(() => undefined);
    return (await this.views([row], () => true))[0]!;
  }

  /**
   * The place of a physician's report (W9): `single`, or in a double reading the first or
   * second independent reader (the worklist claim decided which), or the arbiter, who reads
   * only where the two independent reads disagree.
   */
  private async readingRole(studyId: string, physicianId: string, reports: ReportRow[]): Promise<ReportRow['reading_role']> {
    const item = await this.deps.workflow.itemOfStudy(studyId);
    if (item?.reading_mode !== 'double') return 'single';
    if (item.first_reader === physicianId) return 'first';
    if (item.second_reader === physicianId) return 'second';
    if (item.arbiter === physicianId) {
      const reads = reports.filter((r) => r.reading_role === 'first' || r.reading_role === 'second');
      if (reads.length < 2 || reads.some((r) => r.status !== 'final')) throw new AppError('conflict', 'the arbiter reads once both independent reads are final');
      if (reads[0]!.assessment === reads[1]!.assessment) throw new AppError('conflict', 'the two independent reads agree: no arbiter is needed');
      return 'arbiter';
    }
    throw new AppError('conflict', 'claim the study on the worklist first: the claim decides your place in the double reading');
  }

  /**
   * Saves the draft (autosave). The save names the revision it started from; a save from a
   * stale revision is refused (409) so two editors never overwrite each other silently.
   */
  async saveDraft(actor: UserActor, reportId: string, input: unknown): Promise<ReportView> {
    const r = await this.report(actor, reportId);
    if (!this.maySeeDraft(actor, r)) throw new AppError('forbidden', 'only the physician and the transcriptionist of this report may edit it');
    if (r.status !== 'draft') throw new AppError('conflict', 'a final report is never edited: write a correction or an addendum');
    const b = v.body(input);
    const rev = v.revision(b.revision);
    const sections = v.sections(b.sections);
    const assessment = v.assessment(b.assessment);
    const location = b.location === undefined ? (r.location as ReaderLocation | null) : v.location(b.location, false);
    const at = this.iso();
    const ok = await this.deps.db.transaction().execute(async (trx) => {
      const changed = await this.repo.updateReportIf(trx, r.id, { status: 'draft', revision: rev }, {
        sections: JSON.stringify(sections),
        assessment,
        location,
        revision: rev + 1,
        saved_by: actor.userId,
        saved_at: at,
        updated_at: at,
      });
      if (!changed) return false;
      await this.deps.audit.append(trx, { actor, action: 'report.draft-save', object: { type: 'report', id: r.id }, facilityId: r.facility_id, patientRef: r.patient_ref, details: { revision: rev + 1 } });
      return true;
    });
    if (!ok) throw new AppError('conflict', 'the draft was changed meanwhile (in another window or by another editor); reload it');
    const fresh = await this.repo.report(this.deps.db, r.id);
    return (await this.views([fresh!], () => true))[0]!;
  }

  /** Checks that the actor may sign this study now: physician, qualified, second factor. */
  private async assertMaySign(actor: UserActor, r: ReportRow, study: StudyFacts, code: unknown): Promise<void> {
    if (!this.isPhysician(actor, r.facility_id)) throw new AppError('forbidden', 'only a physician may finalise a report (a transcriptionist prepares drafts for the physician)');
    const q = await this.deps.credentials.maySign(actor.userId, { modality: primaryModality(study), facilityId: study.facility_id });
    if (!q.allowed) throw new AppError('forbidden', `you may not sign this study: ${q.problems.join('; ')}`);
    await this.deps.secondFactor.verifySecondFactor(actor, v.totp(code));
  }

  /**
   * Finalises the draft: re-authentication with the second factor, qualification check,
   * signing (PAdES + CMS + timestamp), then in one transaction the version, the worklist
   * status, the deliveries and the audit entry.
   */
  async finalise(actor: UserActor, reportId: string, input: unknown): Promise<ReportView> {
    const r = await this.report(actor, reportId);
    if (r.status !== 'draft') throw new AppError('conflict', 'the report is already final: write a correction or an addendum');
    if (r.physician_id !== actor.userId) throw new AppError('forbidden', 'only the physician named on this report may finalise it');
    const b = v.body(input);
    const rev = v.revision(b.revision);
    const location = v.location(b.location, true)!;
    if (rev !== r.revision) throw new AppError('conflict', 'the draft was changed meanwhile; reload it before finalising');
    const sections = JSON.parse(r.sections) as ReportSections;
    if (!sections.findings.trim() && !sections.impression.trim()) throw new AppError('unprocessable', 'a report needs findings or an impression before it is finalised');
    const independent = r.reading_role === 'first' || r.reading_role === 'second';
    if (independent && !r.assessment) throw new AppError('unprocessable', 'a double reading needs your assessment (negative, benign, probably-benign, suspicious, malignant) before it is finalised');
    const study = (await this.repo.studyById(this.deps.db, r.study_id))!;
    await this.assertMaySign(actor, r, study, b.totp);
    const at = this.iso();
    const version = await this.signVersion(actor, r, study, { version: 1, kind: 'final', reason: '', sections, location, at });
    await this.deps.db.transaction().execute(async (trx) => {
      const moved = await this.repo.updateReportIf(trx, r.id, { status: 'draft', revision: rev }, { status: 'final', current_version: 1, location, revision: rev + 1, updated_at: at });
      if (!moved) throw new AppError('conflict', 'the draft was changed meanwhile; reload it before finalising');
      if (!independent) return this.commitVersion(trx, actor, r, version, 'report.finalise');
      // Double reading (W9): an independent read is delivered only when the other read is final
      // and agrees; until then, or where they disagree, the study waits (for the other reader or
      // the arbiter) and nothing leaves Enkaku.
      const other = (await this.repo.reportsOfStudy(r.study_id, trx)).find((o) => o.id !== r.id && (o.reading_role === 'first' || o.reading_role === 'second'));
      const outcome = !other || other.status !== 'final' ? 'awaiting-other-reader' : other.assessment === r.assessment ? 'concordant' : 'discordant';
      if (outcome === 'concordant') return this.commitVersion(trx, actor, r, version, 'report.finalise', { doubleReading: outcome, otherReport: other!.id });
      await this.repo.insertVersion(trx, version);
      await this.deps.workflow.endClaim(trx, r.study_id, 'preliminary', r.id);
      await this.deps.audit.append(trx, {
        actor,
        action: 'report.independent-read',
        object: { type: 'report', id: r.id },
        facilityId: r.facility_id,
        patientRef: r.patient_ref,
        details: { versionId: version.id, readingRole: r.reading_role, assessment: r.assessment, doubleReading: outcome, ...(other ? { otherReport: other.id } : {}) },
      });
    });
    return (await this.views([(await this.repo.report(this.deps.db, r.id))!], () => true))[0]!;
  }

  /**
   * A correction or an addendum (A2): a new signed version with its reason; the earlier
   * versions stay as they were, and the facility receives the new one (recipients are told).
   */
  async amend(actor: UserActor, reportId: string, input: unknown): Promise<ReportView> {
    const r = await this.report(actor, reportId);
    if (r.status !== 'final') throw new AppError('conflict', 'only a final report is corrected or amended; edit the draft instead');
    if ((r.reading_role === 'first' || r.reading_role === 'second') && (await this.deps.workflow.itemOfStudy(r.study_id))?.status !== 'final') {
      throw new AppError('conflict', 'an independent read of a double reading is not amended while the reading is open; the arbiter decides where the reads disagree');
    }
    const b = v.body(input);
    const kind = b.kind === 'correction' || b.kind === 'addendum' ? b.kind : undefined;
    if (!kind) throw new AppError('bad_request', 'kind must be correction or addendum');
    const reason = v.text(b.reason, 'reason', 2000, true);
    const given = v.sections(b.sections);
    const location = v.location(b.location, true)!;
    const current = JSON.parse(r.sections) as ReportSections;
    const at = this.iso();
    const sections = kind === 'correction' ? given : appendAddendum(current, given, tokyoDate(this.now()));
    if (kind === 'addendum' && JSON.stringify(sections) === JSON.stringify(current)) throw new AppError('bad_request', 'an addendum needs text in at least one section');
    const study = (await this.repo.studyById(this.deps.db, r.study_id))!;
    await this.assertMaySign(actor, r, study, b.totp);
    const next = r.current_version + 1;
    const version = await this.signVersion(actor, r, study, { version: next, kind, reason, sections, location, at });
    await this.deps.db.transaction().execute(async (trx) => {
      const moved = await this.repo.advanceVersion(trx, r.id, r.current_version, { current_version: next, sections: JSON.stringify(sections), location, updated_at: at });
      if (!moved) throw new AppError('conflict', 'another version was signed meanwhile; reload the report');
      await this.commitVersion(trx, actor, r, version, kind === 'correction' ? 'report.correct' : 'report.addendum');
    });
    return (await this.views([(await this.repo.report(this.deps.db, r.id))!], () => true))[0]!;
  }

  private async signVersion(
    actor: UserActor,
    r: ReportRow,
    study: StudyFacts,
    v1: { version: number; kind: ReportVersionKind; reason: string; sections: ReportSections; location: ReaderLocation; at: string },
  ): Promise<ReportVersionRow> {
    const versionId = randomUUID();
    const doc = await this.document(actor, r, study, { ...v1, versionId });
    const signed = await this.deps.signer.sign(doc, actor.userId);
    const [pdf, cms] = await Promise.all([this.deps.blobs.put(signed.pdf), this.deps.blobs.put(signed.cms)]);
    return {
      id: versionId,
      report_id: r.id,
      facility_id: r.facility_id,
      version: v1.version,
      kind: v1.kind,
      reason: v1.reason,
      document: JSON.stringify(doc),
      canonical_sha256: sha256(signed.canonical),
      pdf_sha256: pdf.sha256,
      cms_sha256: cms.sha256,
      timestamp_time: signed.timestamp.time,
      tsa: signed.timestamp.tsa,
      certificate: JSON.stringify(signed.certificate),
      signed_by: actor.userId,
      signed_by_name: doc.reader.displayName,
      finalised_at: v1.at,
      confirmed_by: null,
      confirmed_at: null,
      confirm_source: null,
    };
  }

  private async commitVersion(trx: Transaction<Database>, actor: UserActor, r: ReportRow, row: ReportVersionRow, action: string, extra: Record<string, string> = {}): Promise<void> {
    await this.repo.insertVersion(trx, row);
    await this.deps.workflow.setStatus(trx, r.study_id, 'final', r.id);
    // Before this transaction's first audit entry (it holds the audit head until commit).
    await this.deps.orders?.markReported(trx, r.study_id, actor);
    await this.deps.deliveries.enqueueDeliveries(trx, { facilityId: r.facility_id, versionId: row.id });
    await this.deps.audit.append(trx, {
      actor,
      action,
      object: { type: 'report', id: r.id },
      facilityId: r.facility_id,
      patientRef: r.patient_ref,
      details: { version: row.version, versionId: row.id, kind: row.kind, canonicalSha256: row.canonical_sha256, pdfSha256: row.pdf_sha256, timestamp: row.timestamp_time, tsa: row.tsa, readingRole: r.reading_role, ...extra },
    });
  }

  /** Builds the document of a version from the stored facts. */
  private async document(
    actor: UserActor,
    r: ReportRow,
    study: StudyFacts,
    x: { versionId: string; version: number; kind: ReportVersionKind; reason: string; sections: ReportSections; location: ReaderLocation; at: string },
  ): Promise<ReportDocument> {
    const ex = this.deps.db;
    const [patient, series, order, keyImages, names, licence, certs, ai] = await Promise.all([
      this.repo.patient(ex, study.patient_ref),
      this.repo.series(ex, study.id),
      this.repo.order(ex, study.id),
      this.repo.keyImages(ex, study.study_uid),
      this.repo.userNames([actor.userId, r.created_by]),
      this.repo.licenceNumber(actor.userId),
      this.repo.certificationKinds(actor.userId, tokyoDate(this.now())),
      this.repo.aiFindings(study.study_uid),
    ]);
    // The other readers of a double reading whose reads are done (W9: the final report names all three).
    const others = (await this.repo.reportsOfStudy(study.id)).filter((o) => o.id !== r.id && o.reading_role !== 'single' && o.status === 'final');
    const otherNames = await this.repo.userNames(others.map((o) => o.physician_id));
    const roleName = { first: 'first-reader', second: 'second-reader', arbiter: 'arbiter' } as const;
    return {
      reportId: r.id,
      versionId: x.versionId,
      version: x.version,
      kind: x.kind,
      reason: x.reason,
      finalisedAt: x.at,
      facility: { id: study.facility_id, name: study.facility_name },
      patient: {
        patientId: patient?.patient_id ?? '',
        issuer: patient?.issuer ?? '',
        name: { alphabetic: patient?.name_alphabetic ?? '', ideographic: patient?.name_ideographic ?? '', phonetic: patient?.name_phonetic ?? '' },
        sex: patient?.sex ?? '',
        birthDate: patient?.birth_date ?? '',
      },
      study: {
        studyUid: study.study_uid,
        accessionNumber: study.accession_number,
        studyDate: study.study_date,
        studyTime: study.study_time,
        modalities: study.modalities.split('\\').filter(Boolean),
        description: study.description,
        numSeries: study.num_series,
        numInstances: study.num_instances,
        series: series.map((s) => ({ seriesUid: s.series_uid, modality: s.modality, number: s.series_number, description: s.description, numInstances: s.num_instances, bodyPart: s.body_part })),
      },
      order: order
        ? {
            placerOrderNumber: order.placer_order_number,
            fillerOrderNumber: order.filler_order_number,
            jj1017: order.jj1017,
            procedureText: order.procedure_text,
            priority: order.priority,
            requesterName: order.requester_name,
            requesterDepartment: order.requester_department,
            requestedAt: order.requested_at,
          }
        : null,
      sections: x.sections,
      reader: {
        userId: actor.userId,
        displayName: names.get(actor.userId) ?? actor.username,
        licenceNumber: licence,
        certifications: certs.map((c) => CERTIFICATIONS[c]?.ja ?? c),
      },
      transcribedBy: r.created_by !== r.physician_id ? { userId: r.created_by, displayName: names.get(r.created_by) ?? '' } : null,
      otherReaders: others
        .filter((o) => o.reading_role in roleName)
        .map((o) => ({ userId: o.physician_id, displayName: otherNames.get(o.physician_id) ?? '', role: roleName[o.reading_role as keyof typeof roleName] })),
      keyImages: keyImages.map((k) => ({ sopInstanceUid: k.sop_instance_uid, seriesUid: k.series_uid, frame: k.frame, note: k.note })),
      aiFindings: ai.map((a) => ({ source: a.source, text: a.text })),
      reading: { location: x.location, startedAt: r.started_at, finalisedAt: x.at },
      communications: (await this.deps.communications?.(r.id)) ?? [],
    };
  }

  /** A stored version with its document, PDF and CMS, for delivery. */
  async loadVersion(versionId: string): Promise<{ document: ReportDocument; pdf: Buffer; cms: Buffer } | undefined> {
    const row = await this.repo.version(this.deps.db, versionId);
    if (!row) return undefined;
    const [pdf, cms] = await Promise.all([this.deps.blobs.read(row.pdf_sha256), this.deps.blobs.read(row.cms_sha256)]);
    if (sha256(pdf) !== row.pdf_sha256 || sha256(cms) !== row.cms_sha256) throw new Error('a signed report no longer matches its SHA-256');
    return { document: JSON.parse(row.document) as ReportDocument, pdf, cms };
  }

  /**
   * The physicians who may report the study (licence and certification cover it), for a
   * transcriptionist naming the physician of a draft (A3).
   */
  async physicians(actor: UserActor, studyUid: string): Promise<Array<{ id: string; name: string }>> {
    if (!actor.grants.some((g) => [...PHYSICIAN_ROLES, 'transcriptionist'].includes(g.role))) throw new AppError('forbidden', 'only physicians and transcriptionists write reports');
    const study = await this.study(actor, studyUid);
    const out: Array<{ id: string; name: string }> = [];
    for (const p of await this.repo.physiciansOf(study.facility_id)) {
      if ((await this.deps.credentials.mayRead(p.id, { modality: primaryModality(study), facilityId: study.facility_id })).allowed) out.push({ id: p.id, name: p.display_name });
    }
    return out;
  }

  /** The signed PDF (or detached CMS) of a version, audited as a read of the report. */
  async signedFile(actor: Actor, versionId: string, which: 'pdf' | 'cms' | 'canonical'): Promise<Buffer> {
    const row = await this.repo.version(this.deps.db, String(versionId));
    const scope = this.scope(actor);
    if (!row || (scope !== 'all' && !scope.includes(row.facility_id))) throw new AppError('not_found', 'no such report version');
    const r = (await this.repo.report(this.deps.db, row.report_id))!;
    const loaded = await this.loadVersion(row.id);
    if (!loaded) throw new AppError('not_found', 'no such report version');
    await this.deps.audit.record({ actor, action: 'report.download', object: { type: 'report', id: r.id }, facilityId: r.facility_id, patientRef: r.patient_ref, details: { versionId: row.id, file: which } });
    if (which === 'pdf') return loaded.pdf;
    if (which === 'cms') return loaded.cms;
    return canonicalReport(loaded.document);
  }

  /** The attending physician confirms having read a version (W8). */
  async confirmRead(actor: UserActor, versionId: string): Promise<ReportVersionView> {
    const row = await this.repo.version(this.deps.db, String(versionId));
    const scope = this.scope(actor);
    if (!row || (scope !== 'all' && !scope.includes(row.facility_id))) throw new AppError('not_found', 'no such report version');
    if (!hasRole(actor, 'attending-physician', row.facility_id)) throw new AppError('forbidden', 'the read confirmation is given by an attending physician of the facility');
    const r = (await this.repo.report(this.deps.db, row.report_id))!;
    const at = this.iso();
    await this.deps.db.transaction().execute(async (trx) => {
      const first = await this.repo.confirm(trx, row.id, actor.userId, at, 'web');
      await this.deps.audit.append(trx, { actor, action: 'report.confirm-read', object: { type: 'report', id: r.id }, facilityId: r.facility_id, patientRef: r.patient_ref, details: { versionId: row.id, version: row.version, first } });
    });
    return versionView((await this.repo.version(this.deps.db, row.id))!);
  }

  /** A read confirmation sent back by the facility's system (HL7 or FHIR). */
  async confirmFromFacility(input: { versionId: string; by: string; at: string; source: 'hl7' | 'fhir'; facilityId?: string }): Promise<boolean> {
    const row = await this.repo.version(this.deps.db, input.versionId);
    if (!row || (input.facilityId !== undefined && row.facility_id !== input.facilityId)) return false;
    const r = (await this.repo.report(this.deps.db, row.report_id))!;
    return this.deps.db.transaction().execute(async (trx) => {
      const first = await this.repo.confirm(trx, row.id, input.by.slice(0, 200), input.at, input.source);
      await this.deps.audit.append(trx, {
        actor: { kind: 'system', name: `${input.source}-confirmation` },
        action: 'report.confirm-read',
        object: { type: 'report', id: r.id },
        facilityId: r.facility_id,
        patientRef: r.patient_ref,
        details: { versionId: row.id, version: row.version, first, source: input.source },
      });
      return true;
    });
  }

  /** Final versions still unconfirmed by the attending physician, for the caller's facilities. */
  async unconfirmed(actor: UserActor): Promise<UnconfirmedReportView[]> {
    const rows = await this.repo.unconfirmed(this.scope(actor), 500);
    await this.deps.audit.record({ actor, action: 'report.list-unconfirmed', object: { type: 'report', id: '*' }, details: { count: rows.length } });
    return rows.map((x) => ({
      versionId: x.id,
      reportId: x.report_id,
      studyUid: x.study_uid,
      facilityId: x.facility_id,
      facilityName: x.facility_name,
      version: x.version,
      kind: x.kind as UnconfirmedReportView['kind'],
      finalisedAt: x.finalised_at,
      signedBy: x.signed_by_name,
      description: x.description,
    }));
  }

  private ensureTemplates(): Promise<void> {
    this.seeded ??= this.repo.seedTemplates(this.iso()).catch((err: unknown) => {
      this.seeded = undefined;
      throw err;
    });
    return this.seeded;
  }

  /** Report templates with their macros. */
  async templates(actor: UserActor): Promise<ReportTemplateView[]> {
    this.scope(actor);
    await this.ensureTemplates();
    return (await this.repo.templates()).map((t) => ({ id: t.id, name: t.name, modality: t.modality, bodyPart: t.body_part, sections: JSON.parse(t.sections) as ReportSectionsView, macros: JSON.parse(t.macros) as ReportTemplateView['macros'] }));
  }

  /** Attaches an AI result to a study (I1): shown to readers labelled as AI output, never a report by itself. */
  async addAiFinding(actor: Actor, studyUid: string, input: unknown): Promise<{ id: string }> {
    if (actor.kind === 'user' && !actor.grants.some((g) => PHYSICIAN_ROLES.includes(g.role))) throw new AppError('forbidden', 'AI results are attached by the AI system or a physician');
    if (actor.kind === 'token' && !actor.scopes.includes('ai:write')) throw new AppError('forbidden', 'the API token lacks the ai:write scope');
    // An AI system's token attaches results to its own facility's studies only.
    const found = actor.kind === 'token' ? await this.repo.study(String(studyUid), [actor.facilityId]) : await this.study(actor, studyUid);
    if (!found) throw new AppError('not_found', 'no such study');
    const study = found;
    if (actor.kind === 'user' && !this.isPhysician(actor, study.facility_id)) throw new AppError('forbidden', 'AI results are attached by the AI system or a physician');
    const b = v.body(input);
    const row = { id: randomUUID(), study_uid: study.study_uid, facility_id: study.facility_id, source: v.text(b.source, 'source', 200, true), text: v.text(b.text, 'text', 20_000, true), received_by: actor.kind === 'user' ? actor.userId : actor.kind, received_at: this.iso() };
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insertAiFinding(trx, row);
      await this.deps.audit.append(trx, { actor, action: 'report.ai-finding', object: { type: 'study', id: study.study_uid }, facilityId: study.facility_id, patientRef: study.patient_ref, details: { id: row.id, source: row.source } });
    });
    return { id: row.id };
  }
}

function versionView(x: ReportVersionRow): ReportVersionView {
  const doc = JSON.parse(x.document) as ReportDocument;
  return {
    id: x.id,
    version: x.version,
    kind: x.kind as ReportVersionView['kind'],
    reason: x.reason,
    sections: doc.sections,
    signedBy: { id: x.signed_by, name: x.signed_by_name },
    finalisedAt: x.finalised_at,
    timestamp: { time: x.timestamp_time, tsa: x.tsa },
    certificate: JSON.parse(x.certificate) as ReportVersionView['certificate'],
    readConfirmation: x.confirmed_at ? { by: x.confirmed_by ?? '', at: x.confirmed_at, source: (x.confirm_source ?? 'web') as 'web' } : null,
  };
}

/** The modality that decides qualification: the first image modality of the study. */
function primaryModality(study: StudyFacts): string {
  const list = study.modalities.split('\\').filter(Boolean);
  return list.find((m) => !['SR', 'PR', 'KO', 'DOC', 'OT'].includes(m)) ?? list[0] ?? '';
}

/** An addendum keeps every section and appends the new text, dated, where text was given. */
function appendAddendum(current: ReportSections, added: ReportSections, date: string): ReportSections {
  const out = { ...current };
  for (const k of Object.keys(added) as Array<keyof ReportSections>) {
    const t = added[k].trim();
    if (t) out[k] = `${current[k].trimEnd()}${current[k].trim() ? '\n\n' : ''}【追記 ${date}】\n${t}`;
  }
  return out;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(String(e.message));
}
