/**
 * WADO-RS Retrieve Frames (PS3.18 §10.4.1.1.3): the stored bytes of one or more frames,
 * as multipart/related bulk data. Native pixels are served uncompressed in explicit VR
 * little endian byte order (application/octet-stream); compressed frames as stored, with
 * the media type of their transfer syntax (PS3.18 Table 8.7.3-5). Enkaku does not
 * transcode frames: a request for another syntax is refused with 406. Pixels leave only
 * to facility systems' tokens (S6); readers get rendered images instead.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { TS } from '../dicom/uids.ts';
import { readImageInfo } from '../render/image-info.ts';
import { frameOf } from '../render/frames.ts';
import { parseMediaType } from './multipart.ts';

/** What the frames route needs. */
export interface FramesDeps {
  queries: QueryRepository;
  audit: AuditService<any>;
  files: VerifiedReader;
  retriever(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
}

/** Media types of compressed frames by transfer syntax (PS3.18 Table 8.7.3-5). */
const COMPRESSED_MEDIA: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

/** Frame numbers of a frame list ("1", "1,3,5"): 1-based, at most 1000. */
function parseFrameList(list: string): number[] {
  const parts = list.split(',');
  if (parts.length > 1000) throw new AppError('bad_request', 'at most 1000 frames per request');
  return parts.map((p) => {
    if (!/^\d{1,6}$/.test(p.trim())) throw new AppError('bad_request', `frame list: "${p}" is not a frame number`);
    const n = Number(p);
    if (n < 1) throw new AppError('bad_request', 'frame numbers start at 1');
    return n;
  });
}

/**
 * The media type and transfer syntax to answer with, or undefined when the Accept header
 * allows neither what Enkaku has: native frames as application/octet-stream in explicit
 * VR little endian, compressed frames in their stored syntax.
 */
function negotiate(accept: string | undefined, storedTs: string): { media: string; ts: string } | undefined {
  const compressed = COMPRESSED_MEDIA[storedTs];
  const offer = compressed ? { media: compressed, ts: storedTs } : { media: 'application/octet-stream', ts: TS.ExplicitVRLittleEndian };
  if (!accept) return offer;
  for (const range of accept.split(',')) {
    const m = parseMediaType(range);
    if (m.params.q !== undefined && Number(m.params.q) === 0) continue;
    if (m.type === '*/*') return offer;
    const type = m.type === 'multipart/related' ? (m.params.type ?? 'application/octet-stream').toLowerCase() : m.type;
    const ts = m.params['transfer-syntax'];
    if (type === 'application/octet-stream') {
      // Native frames: explicit VR little endian is the default (PS3.18 §8.7.3.5.1); a
      // compressed frame goes out as stored only when the client accepts any syntax.
      if (!compressed && (ts === undefined || ts === '*' || ts === TS.ExplicitVRLittleEndian)) return offer;
      if (compressed && ts === '*') return { media: 'application/octet-stream', ts: storedTs };
      continue;
    }
    if (compressed && (type === compressed || type === 'image/*') && (ts === undefined || ts === '*' || ts === storedTs)) return offer;
  }
  return undefined;
}

/** Swaps 16- or 32-bit words to little endian (frames of explicit VR big endian files). */
function toLittleEndian(data: Buffer, bitsAllocated: number): Buffer {
  const copy = Buffer.from(data);
  if (bitsAllocated === 16) copy.swap16();
  else if (bitsAllocated === 32) copy.swap32();
  return copy;
}

/** Registers the WADO-RS frames route. */
export function registerFrames(app: FastifyInstance, deps: FramesDeps): void {
  app.get<{ Params: { study: string; series: string; instance: string; frames: string } }>(
    '/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames',
    async (req, reply) => {
      const numbers = parseFrameList(req.params.frames);
      const { actor, scope } = await deps.retriever(req);
      const row = await deps.queries.instance({ scope, studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance });
      if (!row) throw new AppError('not_found', 'no such instance');
      const chosen = negotiate(req.headers.accept, row.transfer_syntax_uid);
      if (!chosen) {
        reply.code(406).send({ error: 'not_acceptable', message: `frames are stored in ${row.transfer_syntax_uid}; ask for ${COMPRESSED_MEDIA[row.transfer_syntax_uid] ?? 'application/octet-stream'} or transfer-syntax=*` });
        return;
      }
      const info = readImageInfo(await deps.files.read(row));
      const frames = numbers.map((n) => {
        const f = frameOf(info, n);
        return info.bigEndian && !COMPRESSED_MEDIA[row.transfer_syntax_uid] ? toLittleEndian(f.data, info.bitsAllocated) : f.data;
      });
      await deps.audit.record({
        actor,
        action: 'instance.retrieve',
        object: { type: 'instance', id: row.sop_instance_uid },
        facilityId: row.facility_id,
        details: { frames: numbers.length, bytes: frames.reduce((a, b) => a + b.length, 0) },
      });
      const boundary = `enkaku-${randomBytes(12).toString('hex')}`;
      const partType = chosen.media === 'application/octet-stream' && chosen.ts === TS.ExplicitVRLittleEndian ? chosen.media : `${chosen.media}; transfer-syntax=${chosen.ts}`;
      const body: Buffer[] = [];
      for (const f of frames) body.push(Buffer.from(`--${boundary}\r\nContent-Type: ${partType}\r\n\r\n`), f, Buffer.from('\r\n'));
      body.push(Buffer.from(`--${boundary}--\r\n`));
      reply.header('content-type', `multipart/related; type="${chosen.media}"; boundary=${boundary}`).send(Buffer.concat(body));
    },
  );
}
