/**
 * WADO-RS retrieval of DICOM instances (PS3.18 §10.4) and WADO-URI for legacy viewers
 * (PS3.18 §9): the stored bytes, exactly as received, as multipart/related
 * application/dicom parts. Every file's SHA-256 is checked before it is sent; a mismatch
 * is refused, raises a security alert and is never served (A6). The thin-client rule
 * (S6) keeps DICOM away from reading terminals: this path answers facility systems with a
 * `dicomweb:read` token, not browser sessions.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { BlobStore } from '../../platform/blobs/index.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository } from '../repository.ts';
import { parseMediaType } from './multipart.ts';
import type { VerifiedReader } from '../read.ts';

/** What the retrieval routes need. */
export interface WadoDeps {
  queries: QueryRepository;
  blobs: BlobStore;
  audit: AuditService<any>;
  /** A facility system's token with dicomweb:read, and the facilities it may read. */
  retriever(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /** Reads stored files with their SHA-256 checked (A6). */
  files: VerifiedReader;
}

/** The most instances one WADO-RS request returns. */
const MAX_INSTANCES = 5000;

/**
 * Checks the Accept header: multipart/related with type application/dicom (or any) and a
 * transfer-syntax parameter that is `*` or the stored one. Enkaku serves what it stored.
 */
function acceptable(accept: string | undefined, storedTs: string): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const m = parseMediaType(part);
    if (m.type === '*/*') return true;
    if (m.type !== 'multipart/related' && m.type !== 'application/dicom') return false;
    const type = (m.params.type ?? 'application/dicom').toLowerCase();
    if (m.type === 'multipart/related' && type !== 'application/dicom') return false;
    const ts = m.params['transfer-syntax'];
    return ts === undefined || ts === '*' || ts === storedTs;
  });
}

/** Registers WADO-RS instance retrieval under `/dicomweb` and WADO-URI at `/wado`. */
export function registerWado(app: FastifyInstance, deps: WadoDeps): void {
  const serve = async (req: FastifyRequest, reply: FastifyReply, where: { studyUid: string; seriesUid?: string; sopInstanceUid?: string }, single: boolean): Promise<void> => {
    const { actor, scope } = await deps.retriever(req);
    const eq = (v: string | undefined) => (v ? { kind: 'equals' as const, value: v } : undefined);
    const rows = await deps.queries.instances({ scope, studyUid: eq(where.studyUid), seriesUid: eq(where.seriesUid), sopInstanceUid: eq(where.sopInstanceUid), limit: MAX_INSTANCES, offset: 0 });
    if (rows.length === 0) throw new AppError('not_found', 'no such study, series or instance');
    const accept = req.headers.accept;
    const refusedTs = rows.filter((r) => !acceptable(accept, r.transfer_syntax_uid));
    if (refusedTs.length === rows.length) {
      reply.code(406).send({ error: 'not_acceptable', message: `stored transfer syntax ${rows[0]!.transfer_syntax_uid} not acceptable; ask for transfer-syntax=* or that one` });
      return;
    }
    const files: Buffer[] = [];
    for (const r of rows.filter((x) => acceptable(accept, x.transfer_syntax_uid))) {
      files.push(await deps.files.read(r));
    }
    await deps.audit.record({
      actor,
      action: 'instance.retrieve',
      object: { type: single ? 'instance' : where.seriesUid ? 'series' : 'study', id: where.sopInstanceUid ?? where.seriesUid ?? where.studyUid },
      facilityId: rows[0]!.facility_id,
      details: { instances: files.length, bytes: files.reduce((a, b) => a + b.length, 0) },
    });
    const boundary = `enkaku-${randomBytes(12).toString('hex')}`;
    const parts: Buffer[] = [];
    for (const f of files) parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f, Buffer.from('\r\n'));
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    reply.header('content-type', `multipart/related; type="application/dicom"; boundary=${boundary}`).send(Buffer.concat(parts));
  };

  app.get<{ Params: { study: string } }>('/dicomweb/studies/:study', (req, reply) => serve(req, reply, { studyUid: req.params.study }, false));
  app.get<{ Params: { study: string; series: string } }>('/dicomweb/studies/:study/series/:series', (req, reply) =>
    serve(req, reply, { studyUid: req.params.study, seriesUid: req.params.series }, false),
  );
  app.get<{ Params: { study: string; series: string; instance: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance', (req, reply) =>
    serve(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }, true),
  );

  // WADO-URI (PS3.18 §9): one object as application/dicom.
  app.get<{ Querystring: Record<string, string | undefined> }>('/wado', async (req, reply) => {
    const q = req.query;
    if (q.requestType !== 'WADO') throw new AppError('bad_request', 'requestType must be WADO');
    if (!q.studyUID || !q.seriesUID || !q.objectUID) throw new AppError('bad_request', 'studyUID, seriesUID and objectUID are required');
    const contentType = q.contentType ?? 'application/dicom';
    if (contentType !== 'application/dicom') {
      reply.code(406).send({ error: 'not_acceptable', message: 'only contentType=application/dicom is served here; rendered images come from the rendering service' });
      return;
    }
    const { actor, scope } = await deps.retriever(req);
    const row = await deps.queries.instance({ scope, studyUid: q.studyUID, seriesUid: q.seriesUID, sopInstanceUid: q.objectUID });
    if (!row) throw new AppError('not_found', 'no such object');
    const bytes = await deps.files.read(row);
    await deps.audit.record({ actor, action: 'instance.retrieve', object: { type: 'instance', id: row.sop_instance_uid }, facilityId: row.facility_id, details: { instances: 1, bytes: bytes.length, wadoUri: true } });
    reply.header('content-type', 'application/dicom').send(bytes);
  });
}
