/**
 * QIDO-RS (PS3.18 §10.6): searches for studies, series and instances, answered in DICOM
 * JSON (PS3.18 Annex F) with the attributes of PS3.18 Table 10.6.3-3 and those asked for
 * with `includefield`. Results are limited to the facilities the caller may read, and
 * every search is recorded in the audit trail (without the query values, which may be
 * names).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository, StudyHit } from '../repository.ts';
import { dateCondition, nameCondition, stringCondition, uidCondition } from './qido-match.ts';

type Json = Record<string, { vr: string; Value?: unknown[] }>;
type Query = Record<string, string | string[] | undefined>;

/** What the QIDO routes need. */
export interface QidoDeps {
  queries: QueryRepository;
  audit: AuditService<any>;
  /** The caller (API token or user session) with the facilities it may read. */
  reader(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
}

/** Query keys by attribute keyword or tag (PS3.18 §8.3.4.1 allows both). */
const KEY_ALIASES: Record<string, string> = {
  '00100010': 'PatientName',
  '00100020': 'PatientID',
  '00080020': 'StudyDate',
  '00080050': 'AccessionNumber',
  '00200010': 'StudyID',
  '00081030': 'StudyDescription',
  '00080090': 'ReferringPhysicianName',
  '0020000D': 'StudyInstanceUID',
  '00080061': 'ModalitiesInStudy',
  '0020000E': 'SeriesInstanceUID',
  '00080060': 'Modality',
  '00200011': 'SeriesNumber',
  '00080016': 'SOPClassUID',
  '00080018': 'SOPInstanceUID',
  '00200013': 'InstanceNumber',
};

const CONTROL = new Set(['limit', 'offset', 'fuzzymatching', 'includefield']);

function keys(query: Query): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, raw] of Object.entries(query)) {
    if (CONTROL.has(k)) continue;
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined) continue;
    out.set(KEY_ALIASES[k.toUpperCase()] ?? k, v);
  }
  return out;
}

function paging(query: Query): { limit: number; offset: number } {
  const n = (v: unknown, d: number): number => {
    const x = Number(Array.isArray(v) ? v[0] : (v ?? d));
    if (!Number.isInteger(x) || x < 0) throw new AppError('bad_request', 'limit and offset are non-negative integers');
    return x;
  };
  const limit = Math.min(n(query.limit, 100), 1000);
  return { limit: limit === 0 ? 100 : limit, offset: n(query.offset, 0) };
}

const text = (vr: string, v: string | number | null | undefined): { vr: string; Value?: unknown[] } =>
  v === null || v === undefined || v === '' ? { vr } : { vr, Value: [v] };

function pn(alphabetic: string, ideographic: string, phonetic: string): { vr: string; Value?: unknown[] } {
  if (!alphabetic && !ideographic && !phonetic) return { vr: 'PN' };
  const value: Record<string, string> = {};
  if (alphabetic) value.Alphabetic = alphabetic;
  if (ideographic) value.Ideographic = ideographic;
  if (phonetic) value.Phonetic = phonetic;
  return { vr: 'PN', Value: [value] };
}

function pnText(dicom: string): { vr: string; Value?: unknown[] } {
  const [a = '', i = '', p = ''] = dicom.split('=');
  return pn(a, i, p);
}

function studyJson(s: StudyHit, base: string): Json {
  return {
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080020': text('DA', s.study_date),
    '00080030': text('TM', s.study_time),
    '00080050': text('SH', s.accession_number),
    '00080056': { vr: 'CS', Value: ['ONLINE'] },
    '00080061': s.modalities ? { vr: 'CS', Value: s.modalities.split('\\') } : { vr: 'CS' },
    '00080090': pnText(s.referring_physician),
    '00081030': text('LO', s.description),
    '00081190': { vr: 'UR', Value: [`${base}/studies/${s.study_uid}`] },
    '00100010': pn(s.name_alphabetic, s.name_ideographic, s.name_phonetic),
    '00100020': text('LO', s.patient_id),
    '00100021': text('LO', s.issuer),
    '00100030': text('DA', s.birth_date),
    '00100040': text('CS', s.sex),
    '0020000D': { vr: 'UI', Value: [s.study_uid] },
    '00200010': text('SH', s.study_id),
    '00201206': { vr: 'IS', Value: [s.num_series] },
    '00201208': { vr: 'IS', Value: [s.num_instances] },
  };
}

/** Registers the QIDO-RS routes under the current prefix (`/dicomweb`). */
export function registerQido(app: FastifyInstance, deps: QidoDeps): void {
  const base = (req: FastifyRequest): string => `${req.protocol}://${req.host}/dicomweb`;
  const send = (reply: FastifyReply, body: Json[]): void => {
    // PS3.18 §8.3.4.4: no match is 204 No Content.
    if (body.length === 0) reply.code(204).send();
    else reply.header('content-type', 'application/dicom+json').send(body);
  };
  const audit = async (actor: Actor, level: string, used: string[], count: number): Promise<void> => {
    await deps.audit.record({ actor, action: `${level}.search`, object: { type: level, id: 'query' }, details: { keys: used, results: count } });
  };

  app.get<{ Querystring: Query }>('/studies', async (req, reply) => {
    const { actor, scope } = await deps.reader(req);
    const k = keys(req.query);
    const fuzzy = String(req.query.fuzzymatching ?? '') === 'true';
    const hits = await deps.queries.studies({
      scope,
      patientName: nameCondition(k.get('PatientName') ?? '', fuzzy),
      patientId: stringCondition(k.get('PatientID') ?? ''),
      studyDate: dateCondition(k.get('StudyDate') ?? '', 'StudyDate'),
      accessionNumber: stringCondition(k.get('AccessionNumber') ?? ''),
      studyId: stringCondition(k.get('StudyID') ?? ''),
      studyDescription: stringCondition(k.get('StudyDescription') ?? ''),
      referringPhysician: stringCondition(k.get('ReferringPhysicianName') ?? ''),
      studyUid: uidCondition(k.get('StudyInstanceUID') ?? ''),
      modalities: k.get('ModalitiesInStudy')?.split(/[\\,]/).map((m) => m.trim()).filter(Boolean),
      ...paging(req.query),
    });
    await audit(actor, 'study', [...k.keys()], hits.length);
    send(reply, hits.map((s) => studyJson(s, base(req))));
  });

  const seriesHandler = async (req: FastifyRequest<{ Params: { study?: string }; Querystring: Query }>, reply: FastifyReply): Promise<void> => {
    const { actor, scope } = await deps.reader(req);
    const k = keys(req.query);
    const rows = await deps.queries.series({
      scope,
      studyUid: uidCondition(req.params.study ?? k.get('StudyInstanceUID') ?? ''),
      seriesUid: uidCondition(k.get('SeriesInstanceUID') ?? ''),
      modality: stringCondition(k.get('Modality') ?? ''),
      seriesNumber: k.get('SeriesNumber') ? { kind: 'equals', value: String(Number(k.get('SeriesNumber'))) } : undefined,
      ...paging(req.query),
    });
    await audit(actor, 'series', [...k.keys()], rows.length);
    send(
      reply,
      rows.map((r) => ({
        '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
        '00080056': { vr: 'CS', Value: ['ONLINE'] },
        '00080060': text('CS', r.modality),
        '0008103E': text('LO', r.description),
        '00081190': { vr: 'UR', Value: [`${base(req)}/studies/${r.study_uid}/series/${r.series_uid}`] },
        '00180015': text('CS', r.body_part),
        '0020000D': { vr: 'UI', Value: [r.study_uid] },
        '0020000E': { vr: 'UI', Value: [r.series_uid] },
        '00200011': text('IS', r.series_number),
        '00201209': { vr: 'IS', Value: [r.num_instances] },
      })),
    );
  };
  app.get('/series', seriesHandler);
  app.get('/studies/:study/series', seriesHandler);

  const instancesHandler = async (req: FastifyRequest<{ Params: { study?: string; series?: string }; Querystring: Query }>, reply: FastifyReply): Promise<void> => {
    const { actor, scope } = await deps.reader(req);
    const k = keys(req.query);
    const rows = await deps.queries.instances({
      scope,
      studyUid: uidCondition(req.params.study ?? k.get('StudyInstanceUID') ?? ''),
      seriesUid: uidCondition(req.params.series ?? k.get('SeriesInstanceUID') ?? ''),
      sopClassUid: uidCondition(k.get('SOPClassUID') ?? ''),
      sopInstanceUid: uidCondition(k.get('SOPInstanceUID') ?? ''),
      instanceNumber: k.get('InstanceNumber') ? { kind: 'equals', value: String(Number(k.get('InstanceNumber'))) } : undefined,
      ...paging(req.query),
    });
    await audit(actor, 'instance', [...k.keys()], rows.length);
    send(
      reply,
      rows.map((r) => ({
        '00080016': { vr: 'UI', Value: [r.sop_class_uid] },
        '00080018': { vr: 'UI', Value: [r.sop_instance_uid] },
        '00080056': { vr: 'CS', Value: ['ONLINE'] },
        '00081190': { vr: 'UR', Value: [`${base(req)}/studies/${r.study_uid}/series/${r.series_uid}/instances/${r.sop_instance_uid}`] },
        '00083002': { vr: 'UI', Value: [r.transfer_syntax_uid] },
        '0020000D': { vr: 'UI', Value: [r.study_uid] },
        '0020000E': { vr: 'UI', Value: [r.series_uid] },
        '00200013': text('IS', r.instance_number),
        '00280008': text('IS', r.frames),
        '00280010': text('US', r.rows),
        '00280011': text('US', r.columns),
      })),
    );
  };
  app.get('/instances', instancesHandler);
  app.get('/studies/:study/instances', instancesHandler);
  app.get('/studies/:study/series/:series/instances', instancesHandler);
}
