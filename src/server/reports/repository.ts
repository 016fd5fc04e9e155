/**
 * SQL of the reports module: reports, signed versions, templates and AI findings, and the
 * read-only lookups of the study facts a signed report carries.
 */
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Database } from '../platform/db/schema.ts';
import type { AiFindingTable, ReportTable, ReportTemplateTable, ReportVersionTable } from './migration.ts';
import { DEFAULT_TEMPLATES } from './templates.ts';

export type ReportRow = Selectable<ReportTable>;
export type ReportVersionRow = Selectable<ReportVersionTable>;
export type ReportTemplateRow = Selectable<ReportTemplateTable>;
export type AiFindingRow = Selectable<AiFindingTable>;
export type Executor = Kysely<Database> | Transaction<Database>;

/** The study facts a report needs. */
export interface StudyFacts {
  id: string;
  study_uid: string;
  facility_id: string;
  facility_name: string;
  patient_ref: string;
  accession_number: string;
  study_date: string;
  study_time: string;
  modalities: string;
  description: string;
  num_series: number;
  num_instances: number;
}

/** Reports, versions, templates and AI findings. */
/** Whether a report of the study has been finalised (it may since have been corrected or amended). */
export async function studyReported(ex: Executor, studyId: string): Promise<boolean> {
  const r = await ex.selectFrom('reports').select('id').where('study_id', '=', studyId).where('status', '=', 'final').executeTakeFirst();
  return r !== undefined;
}

export class ReportRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A study by UID within the facilities given ('all' for every one). */
  async study(studyUid: string, scope: 'all' | string[]): Promise<StudyFacts | undefined> {
    if (scope !== 'all' && scope.length === 0) return undefined;
    let q = this.db
      .selectFrom('studies as s')
      .innerJoin('facilities as f', 'f.id', 's.facility_id')
      .select(['s.id', 's.study_uid', 's.facility_id', 'f.name as facility_name', 's.patient_ref', 's.accession_number', 's.study_date', 's.study_time', 's.modalities', 's.description', 's.num_series', 's.num_instances'])
      .where('s.study_uid', '=', studyUid);
    if (scope !== 'all') q = q.where('s.facility_id', 'in', scope);
    return q.executeTakeFirst();
  }

  async studyById(ex: Executor, id: string): Promise<StudyFacts | undefined> {
    return ex
      .selectFrom('studies as s')
      .innerJoin('facilities as f', 'f.id', 's.facility_id')
      .select(['s.id', 's.study_uid', 's.facility_id', 'f.name as facility_name', 's.patient_ref', 's.accession_number', 's.study_date', 's.study_time', 's.modalities', 's.description', 's.num_series', 's.num_instances'])
      .where('s.id', '=', id)
      .executeTakeFirst();
  }

  async patient(ex: Executor, id: string) {
    return ex.selectFrom('patients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async series(ex: Executor, studyId: string) {
    return ex.selectFrom('series').select(['series_uid', 'modality', 'series_number', 'description', 'body_part', 'num_instances']).where('study_ref', '=', studyId).orderBy('series_number').orderBy('series_uid').execute();
  }

  /** The order linked to the study now, if any. */
  async order(ex: Executor, studyId: string) {
    return ex
      .selectFrom('order_study_links as l')
      .innerJoin('orders as o', 'o.id', 'l.order_id')
      .select(['o.id', 'o.placer_order_number', 'o.filler_order_number', 'o.jj1017', 'o.procedure_text', 'o.priority', 'o.requester_name', 'o.requester_department', 'o.requested_at', 'o.reason', 'o.clinical_notes', 'o.body_part'])
      .where('l.study_id', '=', studyId)
      .where('l.unlinked_at', 'is', null)
      .orderBy('l.linked_at', 'desc')
      .executeTakeFirst();
  }

  async keyImages(ex: Executor, studyUid: string) {
    return ex.selectFrom('key_images').select(['sop_instance_uid', 'series_uid', 'frame', 'note']).where('study_uid', '=', studyUid).where('removed_at', 'is', null).orderBy('created_at').execute();
  }

  async userNames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('users').select(['id', 'display_name']).where('id', 'in', [...new Set(ids)]).execute();
    return new Map(rows.map((r) => [r.id, r.display_name]));
  }

  /** Active users holding a physician role at the provider or at the facility. */
  async physiciansOf(facilityId: string): Promise<Array<{ id: string; display_name: string }>> {
    return this.db
      .selectFrom('users as u')
      .innerJoin('user_grants as g', 'g.user_id', 'u.id')
      .select(['u.id', 'u.display_name'])
      .distinct()
      .where('u.disabled', '=', 0)
      .where('g.role', 'in', ['radiologist', 'management-physician'])
      // A grant at the reading provider is stored with an empty facility id.
      .where((eb) => eb.or([eb('g.facility_id', '=', ''), eb('g.facility_id', '=', facilityId)]))
      .orderBy('u.display_name')
      .execute();
  }

  async licenceNumber(userId: string): Promise<string> {
    const row = await this.db.selectFrom('licences').select('number').where('user_id', '=', userId).where('kind', '=', 'jp-medical').where('revoked_at', 'is', null).orderBy('verified_at', 'desc').executeTakeFirst();
    return row?.number ?? '';
  }

  async certificationKinds(userId: string, today: string): Promise<string[]> {
    const rows = await this.db.selectFrom('certifications').select('kind').where('user_id', '=', userId).where('expires_on', '>=', today).execute();
    return [...new Set(rows.map((r) => r.kind))];
  }

  async reportsOfStudy(studyId: string, ex: Executor = this.db): Promise<ReportRow[]> {
    return ex.selectFrom('reports').selectAll().where('study_id', '=', studyId).orderBy('started_at').execute();
  }

  async report(ex: Executor, id: string): Promise<ReportRow | undefined> {
    return ex.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertReport(ex: Executor, row: ReportRow): Promise<void> {
    await ex.insertInto('reports').values(row).execute();
  }

  /** Updates a report only while it still has the expected status and revision; false when it had moved on. */
  async updateReportIf(ex: Executor, id: string, expect: { status: string; revision: number }, values: Updateable<ReportTable>): Promise<boolean> {
    const r = await ex.updateTable('reports').set(values).where('id', '=', id).where('status', '=', expect.status).where('revision', '=', expect.revision).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Moves a final report to its next version only if no other version was added meanwhile. */
  async advanceVersion(ex: Executor, id: string, from: number, values: Updateable<ReportTable>): Promise<boolean> {
    const r = await ex.updateTable('reports').set(values).where('id', '=', id).where('status', '=', 'final').where('current_version', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async versions(reportIds: string[]): Promise<ReportVersionRow[]> {
    if (!reportIds.length) return [];
    return this.db.selectFrom('report_versions').selectAll().where('report_id', 'in', reportIds).orderBy('version').execute();
  }

  async version(ex: Executor, id: string): Promise<ReportVersionRow | undefined> {
    return ex.selectFrom('report_versions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertVersion(ex: Executor, row: ReportVersionRow): Promise<void> {
    await ex.insertInto('report_versions').values(row).execute();
  }

  /** Records the first read confirmation of a version; false when it was already confirmed. */
  async confirm(ex: Executor, versionId: string, by: string, at: string, source: string): Promise<boolean> {
    const r = await ex.updateTable('report_versions').set({ confirmed_by: by, confirmed_at: at, confirm_source: source }).where('id', '=', versionId).where('confirmed_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Final versions not yet confirmed, oldest first. */
  async unconfirmed(scope: 'all' | string[], limit: number) {
    let q = this.db
      .selectFrom('report_versions as v')
      .innerJoin('reports as r', 'r.id', 'v.report_id')
      .innerJoin('studies as s', 's.id', 'r.study_id')
      .innerJoin('facilities as f', 'f.id', 'v.facility_id')
      .select(['v.id', 'v.report_id', 'r.study_uid', 'v.facility_id', 'f.name as facility_name', 'v.version', 'v.kind', 'v.finalised_at', 'v.signed_by_name', 's.description'])
      .where('v.confirmed_at', 'is', null)
      // Only versions that went to the facility: an independent read of a double reading that
      // was not delivered (W9) is nobody's to confirm.
      .where(({ exists, selectFrom }) => exists(selectFrom('report_deliveries as d').select('d.id').whereRef('d.version_id', '=', 'v.id')))
      .orderBy('v.finalised_at')
      .limit(limit);
    if (scope !== 'all') q = q.where('v.facility_id', 'in', scope.length ? scope : ['-']);
    return q.execute();
  }

  /** The patient's other studies with a final report, newest first. */
  async priorReports(patientRef: string, excludeStudyId: string, limit: number) {
    return this.db
      .selectFrom('reports as r')
      .innerJoin('studies as s', 's.id', 'r.study_id')
      .innerJoin('report_versions as v', (j) => j.onRef('v.report_id', '=', 'r.id').onRef('v.version', '=', 'r.current_version'))
      .select(['s.study_uid', 's.study_date', 's.description', 's.modalities', 'v.id as version_id'])
      .where('r.patient_ref', '=', patientRef)
      .where('r.study_id', '!=', excludeStudyId)
      .where('r.status', '=', 'final')
      .orderBy('s.study_date', 'desc')
      .limit(limit)
      .execute();
  }

  async templates(): Promise<ReportTemplateRow[]> {
    return this.db.selectFrom('report_templates').selectAll().where('active', '=', 1).orderBy('modality').orderBy('body_part').orderBy('name').execute();
  }

  async template(id: string): Promise<ReportTemplateRow | undefined> {
    return this.db.selectFrom('report_templates').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Inserts the built-in templates into an empty table. */
  async seedTemplates(at: string): Promise<void> {
    const any = await this.db.selectFrom('report_templates').select('id').limit(1).executeTakeFirst();
    if (any) return;
    await this.db
      .insertInto('report_templates')
      .values(DEFAULT_TEMPLATES.map((t) => ({ id: t.id, name: t.name, modality: t.modality, body_part: t.bodyPart, sections: JSON.stringify(t.sections), macros: JSON.stringify(t.macros), active: 1, updated_by: 'system', updated_at: at })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async upsertTemplate(ex: Executor, row: ReportTemplateRow): Promise<void> {
    await ex
      .insertInto('report_templates')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, modality: row.modality, body_part: row.body_part, sections: row.sections, macros: row.macros, active: row.active, updated_by: row.updated_by, updated_at: row.updated_at }))
      .execute();
  }

  async aiFindings(studyUid: string): Promise<AiFindingRow[]> {
    return this.db.selectFrom('ai_findings').selectAll().where('study_uid', '=', studyUid).orderBy('received_at').execute();
  }

  async insertAiFinding(ex: Executor, row: AiFindingRow): Promise<void> {
    await ex.insertInto('ai_findings').values(row).execute();
  }
}
