/**
 * WADO-RS metadata (PS3.18 §10.4.1.1.2) and bulk data (§10.4.1.1.5): the DICOM JSON
 * Model of every instance of a study, series or instance, with Pixel Data and other
 * large binary values as BulkDataURIs. Metadata carries no pixels, so signed-in readers
 * get it as well as facility systems; bulk data (pixels) goes to facility tokens only (S6).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { datasetToJson, type JsonDataset } from '../dicom/json.ts';
import { DicomParseError } from '../dicom/parse.ts';
import { parseMediaType } from './multipart.ts';

/** What the metadata routes need. */
export interface MetadataDeps {
  queries: QueryRepository;
  audit: AuditService<any>;
  files: VerifiedReader;
  /** Readers (users and tokens) of the facilities they may read. */
  reader(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /** Facility systems (dicomweb:read tokens). */
  retriever(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /** Public base URL of the server (ENKAKU_PUBLIC_URL), used in BulkDataURIs. */
  publicUrl: string | undefined;
}

/** The most instances one metadata request describes. */
const MAX_INSTANCES = 5000;
/** Stored files read at once while building metadata. */
const READ_CONCURRENCY = 8;

/**
 * A small, bounded cache of instance metadata, keyed by the file's SHA-256: the JSON was
 * built from bytes that passed their integrity check, and content-addressed files never
 * change under the same digest. Bounded by an estimate of the JSON size.
 */
class MetadataCache {
  private readonly map = new Map<string, { json: JsonDataset; size: number }>();
  private bytes = 0;
  constructor(private readonly limit: number) {}

  get(key: string): JsonDataset | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.json;
  }

  set(key: string, json: JsonDataset, size: number): void {
    if (size > this.limit) return;
    this.map.set(key, { json, size });
    this.bytes += size;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.limit) break;
      this.map.delete(k);
      this.bytes -= v.size;
    }
  }
}

/** True when the Accept header allows DICOM JSON (PS3.18 §8.7.3.2). */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((p) => ['application/dicom+json', 'application/json', '*/*', 'application/*'].includes(parseMediaType(p).type));
}

/** Runs `fn` over `items` with at most `n` in flight, keeping order. */
async function mapLimited<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Registers WADO-RS metadata and bulk data routes (full paths under `/dicomweb`). */
export function registerMetadata(app: FastifyInstance, deps: MetadataDeps): void {
  const cache = new MetadataCache(64 * 1024 * 1024);
  const base = (req: FastifyRequest): string => deps.publicUrl ? `${deps.publicUrl}/dicomweb` : `${req.protocol}://${req.host}/dicomweb`;

  const metadata = async (req: FastifyRequest, reply: FastifyReply, where: { studyUid: string; seriesUid?: string; sopInstanceUid?: string }): Promise<void> => {
    if (!acceptsJson(req.headers.accept)) {
      reply.code(406).send({ error: 'not_acceptable', message: 'metadata is served as application/dicom+json' });
      return;
    }
    const { actor, scope } = await deps.reader(req);
    const eq = (v: string | undefined) => (v ? { kind: 'equals' as const, value: v } : undefined);
    const rows = await deps.queries.instances({ scope, studyUid: eq(where.studyUid), seriesUid: eq(where.seriesUid), sopInstanceUid: eq(where.sopInstanceUid), limit: MAX_INSTANCES, offset: 0 });
    if (rows.length === 0) throw new AppError('not_found', 'no such study, series or instance');
    const root = base(req);
    const body = await mapLimited(rows, READ_CONCURRENCY, async (r) => {
      const cached = cache.get(r.blob_sha256);
      if (cached) return cached;
      // The header is turned into JSON (strings and numbers only: nothing keeps the lent
      // bytes) while the file's digest is checked; it is used only once the check has passed.
      const instanceUrl = `${root}/studies/${r.study_uid}/series/${r.series_uid}/instances/${r.sop_instance_uid}`;
      const json: JsonDataset = await deps.files.withFile(r, (bytes) => {
        try {
          return datasetToJson(bytes, { bulkDataUri: (tag) => `${instanceUrl}/bulkdata/${tag}` });
        } catch (err) {
          if (err instanceof DicomParseError) throw new AppError('internal', `a stored instance could not be read: ${err.message}`);
          throw err;
        }
      });
      // Rough size: the JSON of a CT header is a few kilobytes.
      cache.set(r.blob_sha256, json, 2048 + Object.keys(json).length * 96);
      return json;
    });
    await deps.audit.record({
      actor,
      action: 'instance.metadata',
      object: { type: where.sopInstanceUid ? 'instance' : where.seriesUid ? 'series' : 'study', id: where.sopInstanceUid ?? where.seriesUid ?? where.studyUid },
      facilityId: rows[0]!.facility_id,
      details: { instances: body.length },
    });
    reply.header('content-type', 'application/dicom+json').send(body);
  };

  app.get<{ Params: { study: string } }>('/dicomweb/studies/:study/metadata', (req, reply) => metadata(req, reply, { studyUid: req.params.study }));
  app.get<{ Params: { study: string; series: string } }>('/dicomweb/studies/:study/series/:series/metadata', (req, reply) =>
    metadata(req, reply, { studyUid: req.params.study, seriesUid: req.params.series }),
  );
  app.get<{ Params: { study: string; series: string; instance: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance/metadata', (req, reply) =>
    metadata(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }),
  );

  // Bulk data of one top-level attribute (PS3.18 §10.4.1.1.5), as stored, in one
  // application/octet-stream part. Pixel Data is served through the frames resource.
  app.get<{ Params: { study: string; series: string; instance: string; tag: string } }>(
    '/dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/:tag',
    async (req, reply) => {
      const tag = req.params.tag.toUpperCase();
      if (!/^[0-9A-F]{8}$/.test(tag)) throw new AppError('bad_request', 'the bulk data tag must be 8 hexadecimal digits');
      const { actor, scope } = await deps.retriever(req);
      const row = await deps.queries.instance({ scope, studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance });
      if (!row) throw new AppError('not_found', 'no such instance');
      if (tag === '7FE00010') {
        reply.redirect(`${base(req)}/studies/${row.study_uid}/series/${row.series_uid}/instances/${row.sop_instance_uid}/frames/1`, 303);
        return;
      }
      const bytes = await deps.files.read(row);
      const value = topLevelValue(bytes, tag);
      if (!value) throw new AppError('not_found', `the instance has no bulk data at ${tag}`);
      await deps.audit.record({ actor, action: 'instance.retrieve', object: { type: 'instance', id: row.sop_instance_uid }, facilityId: row.facility_id, details: { bulkdata: tag, bytes: value.length } });
      const boundary = `enkaku-${randomBytes(12).toString('hex')}`;
      reply
        .header('content-type', `multipart/related; type="application/octet-stream"; boundary=${boundary}`)
        .send(Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`), value, Buffer.from(`\r\n--${boundary}--\r\n`)]));
    },
  );
}

/** The raw value of a top-level binary attribute other than Pixel Data, if present. */
function topLevelValue(file: Buffer, tag: string): Buffer | undefined {
  const a = datasetToJson(file, { bulkDataUri: (t) => t, inlineLimit: Number.POSITIVE_INFINITY })[tag];
  return a?.InlineBinary !== undefined ? Buffer.from(a.InlineBinary, 'base64') : undefined;
}
