/**
 * STOW-RS (PS3.18 §10.5): `POST /dicomweb/studies[/{study}]` with a
 * multipart/related body of application/dicom parts. Each part streams to the blob store
 * and is ingested as it completes; the answer lists every instance as stored
 * (ReferencedSOPSequence) or failed with its reason (FailedSOPSequence).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../../platform/context.ts';
import type { BlobStore } from '../../platform/blobs/index.ts';
import type { IntakeResult, IntakeService } from '../service.ts';
import { Intake } from '../intake.ts';
import { FAILURE_STATUS } from '../status.ts';
import { parseMediaType, readMultipart, type PartSink } from './multipart.ts';

/** What the STOW-RS routes need. */
export interface StowDeps {
  intake: IntakeService;
  blobs: BlobStore;
  maxUploadBytes: number;
  maxInstanceBytes: number;
  /** Resolves the request's credentials to an actor, or throws AppError unauthenticated/forbidden. */
  authenticate(req: FastifyRequest, scope: string): Promise<Extract<Actor, { kind: 'token' }>>;
}

/** Parts of one request being made durable at the same time. */
const IN_FLIGHT = 4;

type JsonAttr = { vr: string; Value?: unknown[] };
type JsonDataset = Record<string, JsonAttr>;

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}/dicomweb`;
}

/** Builds the STOW-RS response data set (PS3.18 Table 10.5.3-1). */
export function stowResponse(results: IntakeResult[], base: string, studyUid?: string): JsonDataset {
  const ok = results.filter((r): r is Extract<IntakeResult, { ok: true }> => r.ok);
  const failed = results.filter((r): r is Extract<IntakeResult, { ok: false }> => !r.ok);
  const out: JsonDataset = {};
  const studies = new Set(ok.map((r) => r.studyInstanceUid));
  const only = studyUid ?? (studies.size === 1 ? [...studies][0] : undefined);
  if (only) out['00081190'] = { vr: 'UR', Value: [`${base}/studies/${only}`] };
  if (failed.length) {
    out['00081198'] = {
      vr: 'SQ',
      Value: failed.map((r) => ({
        '00081150': r.sopClassUid ? { vr: 'UI', Value: [r.sopClassUid] } : { vr: 'UI' },
        '00081155': r.sopInstanceUid ? { vr: 'UI', Value: [r.sopInstanceUid] } : { vr: 'UI' },
        '00081197': { vr: 'US', Value: [FAILURE_STATUS[r.failure]] },
        // Error Comment, so a person reading the response learns why.
        '00000902': { vr: 'LO', Value: [r.message.slice(0, 64)] },
      })),
    };
  }
  if (ok.length) {
    out['00081199'] = {
      vr: 'SQ',
      Value: ok.map((r) => ({
        '00081150': { vr: 'UI', Value: [r.sopClassUid] },
        '00081155': { vr: 'UI', Value: [r.sopInstanceUid] },
        '00081190': { vr: 'UR', Value: [`${base}/studies/${r.studyInstanceUid}/series/${r.seriesInstanceUid}/instances/${r.sopInstanceUid}`] },
      })),
    };
  }
  return out;
}

/** Registers the STOW-RS routes on a Fastify scope. */
export function registerStow(app: FastifyInstance, deps: StowDeps): void {
  app.addContentTypeParser('multipart/related', (_req, payload, done) => done(null, payload));

  const handler = async (req: FastifyRequest<{ Params: { study?: string } }>, reply: FastifyReply): Promise<void> => {
    const actor = await deps.authenticate(req, 'dicomweb:write');
    const media = parseMediaType(req.headers['content-type']);
    if (media.type !== 'multipart/related') throw new AppError('unsupported_media_type', 'STOW-RS needs a multipart/related body');
    const partType = (media.params.type ?? 'application/dicom').toLowerCase();
    if (partType !== 'application/dicom') {
      throw new AppError('unsupported_media_type', `multipart/related type "${partType}" is not supported; send application/dicom parts`);
    }
    const boundary = media.params.boundary;
    if (!boundary) throw new AppError('bad_request', 'multipart/related Content-Type has no boundary parameter');
    const studyUid = req.params.study;
    const origin = { actor, facilityId: actor.facilityId, callingAet: `token:${actor.tokenId}`, source: 'stow' as const };
    // Each part's result, in request order. Parts are ingested while later parts are still
    // arriving (up to IN_FLIGHT at once): their fsyncs and commits overlap, and the response
    // is sent only when every one of them is durable.
    const results: Array<Promise<IntakeResult>> = [];
    const inFlight = new Set<Promise<IntakeResult>>();
    let total = 0;
    let current: Intake | undefined;

    const counted = async function* (src: Readable): AsyncGenerator<Buffer> {
      for await (const chunk of src) {
        total += (chunk as Buffer).length;
        if (total > deps.maxUploadBytes) throw new AppError('payload_too_large', `request body exceeds ${deps.maxUploadBytes} bytes`);
        yield chunk as Buffer;
      }
    };

    try {
      await readMultipart(counted(req.body as Readable), boundary, async (headers): Promise<PartSink> => {
        const type = parseMediaType(headers['content-type'] ?? 'application/dicom').type;
        const intake = await Intake.start(deps.blobs, deps.maxInstanceBytes);
        current = intake;
        return {
          write: (chunk) => intake.write(chunk),
          end: async () => {
            current = undefined;
            if (type !== 'application/dicom') {
              await intake.discard();
              results.push(Promise.resolve({ ok: false, failure: 'malformed', message: `part of type ${type} is not application/dicom`, sopClassUid: '', sopInstanceUid: '' }));
              return;
            }
            if (intake.exceeded) {
              results.push(Promise.resolve({ ok: false, failure: 'too-large', message: `instance exceeds ${deps.maxInstanceBytes} bytes`, sopClassUid: '', sopInstanceUid: '' }));
              return;
            }
            const obj = await intake.finish();
            const done = deps.intake.ingestPart10(obj, origin, studyUid);
            results.push(done);
            inFlight.add(done);
            void done.finally(() => inFlight.delete(done));
            if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
          },
        };
      });
    } catch (err) {
      await current?.discard();
      // Parts already handed over finish (they are whole and valid); only then answer.
      await Promise.allSettled(results);
      throw err;
    }
    if (results.length === 0) throw new AppError('bad_request', 'the request contained no parts');
    const settled = await Promise.all(results);
    const stored = settled.filter((r) => r.ok).length;
    const status = stored === settled.length ? 200 : stored === 0 ? 409 : 202;
    reply.code(status).header('content-type', 'application/dicom+json').send(stowResponse(settled, baseUrl(req), studyUid));
  };

  app.post('/studies', handler);
  app.post<{ Params: { study: string } }>('/studies/:study', handler);
}
