/**
 * WADO-RS rendered and thumbnail resources (PS3.18 §10.4.1.1.4, §10.4.1.1.6): display-ready
 * PNG or JPEG made on the server, so that a reading terminal never holds DICOM (thin
 * client, §5-1 (1), S6). Signed-in readers and facility systems may ask, within the
 * facilities they may read. The stored file's SHA-256 is checked whenever it is read for
 * rendering (A6); decoded frames stay in a bounded memory cache and never touch the disk.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { NotAcceptableError, parseRenderedParams, type OutputLut, type RenderEngine, type RenderRequest, type RenderSource } from '../render/index.ts';

/** What the rendered routes need. */
export interface RenderedDeps {
  queries: QueryRepository;
  audit: AuditService<any>;
  files: VerifiedReader;
  renderer: RenderEngine;
  reader(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /**
   * The display calibration for this reader and facility (Q2, PS3.14): the output LUT of the
   * reading terminal the caller's session is bound to and the label of its profile, sent in
   * `X-Enkaku-Display-Profile` (percent-encoded UTF-8). Undefined when none applies (API
   * tokens, no terminal). Throws AppError `locked` when reading is blocked at the terminal.
   */
  outputLutFor?(actor: Actor, facilityId: string): Promise<{ lut: OutputLut | undefined; label: string } | undefined>;
}

/**
 * Viewing a series frame by frame makes hundreds of requests a minute. The audit trail
 * records who viewed which series (not each frame): one entry per reader and series per
 * window, with the first instance viewed.
 */
const VIEW_AUDIT_WINDOW_MS = 10 * 60 * 1000;

class ViewAuditThrottle {
  private readonly seen = new Map<string, number>();

  /** True when this reader's view of this series has not been recorded within the window. */
  due(actorKey: string, seriesUid: string, now = Date.now()): boolean {
    const key = `${actorKey}\u0000${seriesUid}`;
    const last = this.seen.get(key);
    if (last !== undefined && now - last < VIEW_AUDIT_WINDOW_MS) return false;
    this.seen.set(key, now);
    if (this.seen.size > 50_000) {
      for (const [k, t] of this.seen) if (now - t >= VIEW_AUDIT_WINDOW_MS) this.seen.delete(k);
    }
    return true;
  }
}

function actorKey(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.userId}`;
    case 'token':
      return `token:${actor.tokenId}`;
    case 'device':
      return `device:${actor.aet}`;
    case 'system':
      return `system:${actor.name}`;
  }
}

type Where = { studyUid: string; seriesUid?: string; sopInstanceUid?: string };
type InstanceRow = Awaited<ReturnType<QueryRepository['instances']>>[number];

/** Slices rendered ahead of a reader who moves through a series or a multi-frame instance. */
const READ_AHEAD = 4;
/** How long a series' slice order is reused for read-ahead before it is looked up again. */
const SERIES_ORDER_TTL_MS = 30_000;

/**
 * Where each reader is in each series, and the slice order of recently viewed series, for
 * read-ahead: after slice i is shown, slices i+1 … i+4 (or i−1 … i−4 when the reader moves
 * backwards) are rendered in the background with the same parameters, when the reader opens
 * the series, asks for the same slice again (another window), or scrolls: moves by at most
 * eight slices, having opened the series, scrolled or stayed on a slice just before. A longer jump renders
 * nothing ahead, and neither does the first short move after it: a reader jumping around
 * the series would not use what was rendered, and it would slow their next request. Only
 * hints live here: every request is still authorised, looked up and audited on its own.
 */
class ReadAheadPlanner {
  private readonly orders = new Map<string, { at: number; rows: Promise<InstanceRow[]> }>();
  /** The reader's last slice, direction, and whether they got there by scrolling, opening the series or staying. */
  private readonly positions = new Map<string, { index: number; step: 1 | -1; scrolling: boolean }>();

  constructor(private readonly list: (scope: 'all' | string[], row: InstanceRow) => Promise<InstanceRow[]>) {}

  /** The slices to render next for this reader after `row`, nearest first. */
  async next(reader: string, scope: 'all' | string[], row: InstanceRow): Promise<InstanceRow[]> {
    const scopeKey = scope === 'all' ? '*' : [...scope].sort().join(',');
    const orderKey = `${scopeKey}\u0000${row.series_uid}`;
    const now = Date.now();
    let order = this.orders.get(orderKey);
    if (!order || now - order.at > SERIES_ORDER_TTL_MS) {
      order = { at: now, rows: this.list(scope, row) };
      this.orders.set(orderKey, order);
      if (this.orders.size > 500) for (const [k, o] of this.orders) if (now - o.at > SERIES_ORDER_TTL_MS || this.orders.size > 500) this.orders.delete(k);
      order.rows.catch(() => this.orders.delete(orderKey));
    }
    const rows = await order.rows;
    const index = rows.findIndex((r) => r.sop_instance_uid === row.sop_instance_uid);
    if (index < 0) return [];
    const posKey = `${reader}\u0000${row.series_uid}`;
    const last = this.positions.get(posKey);
    // At either end there is one way to go; otherwise the way the reader last moved.
    const moved = last && index !== last.index ? (index > last.index ? 1 : -1) : undefined;
    const step: 1 | -1 = index === 0 ? 1 : index === rows.length - 1 ? -1 : (moved ?? last?.step ?? 1);
    // A jump of more than a few slices is not scrolling; a short move counts as scrolling
    // only after the reader opened the series, scrolled, or stayed on a slice.
    const distance = last ? Math.abs(index - last.index) : 0;
    const scrolling = distance <= 2 * READ_AHEAD;
    const ahead = !last || distance === 0 || (scrolling && last.scrolling);
    this.positions.delete(posKey);
    this.positions.set(posKey, { index, step, scrolling });
    if (this.positions.size > 5000) this.positions.delete(this.positions.keys().next().value!);
    if (!ahead) return [];
    const out: InstanceRow[] = [];
    for (let i = 1; i <= READ_AHEAD; i++) {
      const r = rows[index + i * step];
      if (r) out.push(r);
    }
    return out;
  }
}

/** Registers rendered and thumbnail routes (full paths under `/dicomweb`). */
export function registerRendered(app: FastifyInstance, deps: RenderedDeps): void {
  const throttle = new ViewAuditThrottle();
  const planner = new ReadAheadPlanner(async (scope, row) => {
    const rows = await deps.queries.instances({ scope, studyUid: { kind: 'equals', value: row.study_uid }, seriesUid: { kind: 'equals', value: row.series_uid }, limit: 5000, offset: 0 });
    return rows.sort((a, b) => (a.instance_number ?? 0) - (b.instance_number ?? 0));
  });

  /** Renders what the reader will probably ask for next, in the background (see ReadAheadPlanner). */
  const readAhead = async (actor: Actor, scope: 'all' | string[], row: InstanceRow, request: RenderRequest, frames: number): Promise<void> => {
    if (frames > 1) {
      const next = Array.from({ length: READ_AHEAD }, (_, i) => request.frame + 1 + i).filter((f) => f <= frames);
      deps.renderer.readAhead(next.map((frame) => ({ source: sourceOf(row), req: { ...request, frame } })));
      return;
    }
    const next = await planner.next(actorKey(actor), scope, row);
    deps.renderer.readAhead(next.map((r) => ({ source: sourceOf(r), req: request })));
  };
  /** An instance to render; its file may be lent from reused memory (see VerifiedReader.withFile). */
  const sourceOf = (r: InstanceRow): RenderSource => ({ key: r.blob_sha256, bytes: () => deps.files.readVerifying(r), lend: (use, now) => deps.files.withFile(r, use, now) });

  /** The instance to show for a study, series or instance: for more than one, the middle one of the first series. */
  const pick = async (scope: 'all' | string[], where: Where): Promise<InstanceRow> => {
    if (where.sopInstanceUid) {
      const row = await deps.queries.instance({ scope, studyUid: where.studyUid, seriesUid: where.seriesUid, sopInstanceUid: where.sopInstanceUid });
      if (!row) throw new AppError('not_found', 'no such study, series or instance');
      return row;
    }
    const eq = (v: string | undefined) => (v ? { kind: 'equals' as const, value: v } : undefined);
    const rows = await deps.queries.instances({ scope, studyUid: eq(where.studyUid), seriesUid: eq(where.seriesUid), limit: 5000, offset: 0 });
    if (rows.length === 0) throw new AppError('not_found', 'no such study, series or instance');
    if (rows.length === 1) return rows[0]!;
    const firstSeries = rows[0]!.series_uid;
    const inSeries = rows.filter((r) => r.series_uid === firstSeries).sort((a, b) => (a.instance_number ?? 0) - (b.instance_number ?? 0));
    return inSeries[Math.floor((inSeries.length - 1) / 2)]!;
  };

  const answer = async (req: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply: FastifyReply, where: Where, kind: 'rendered' | 'thumbnail', frame: number): Promise<void> => {
    let request: RenderRequest;
    try {
      request = parseRenderedParams(req.query, req.headers.accept, kind);
    } catch (err) {
      if (err instanceof NotAcceptableError) {
        reply.code(406).send({ error: 'not_acceptable', message: err.message });
        return;
      }
      throw err;
    }
    request.frame = frame;
    const { actor, scope } = await deps.reader(req);
    const row = await pick(scope, where);
    const display = await deps.outputLutFor?.(actor, row.facility_id);
    if (display?.lut) request.outputLut = display.lut;
    const image = await deps.renderer.render(sourceOf(row), request);
    if (throttle.due(actorKey(actor), row.series_uid)) {
      await deps.audit.record({
        actor,
        action: 'series.view',
        object: { type: 'series', id: row.series_uid },
        facilityId: row.facility_id,
        details: { study: row.study_uid, firstInstance: row.sop_instance_uid, resource: kind },
      });
    }
    // PS3.18 §8.3.5.1.1: unsupported annotation values are ignored with a warning.
    if (request.ignoredAnnotations.length) reply.header('warning', `299 ${req.host}: The following annotation values are not supported: ${request.ignoredAnnotations.join(',')}`);
    if (display) reply.header('x-enkaku-display-profile', encodeURIComponent(display.label));
    reply.header('content-type', image.contentType).send(image.body);
    if (kind === 'rendered' && where.sopInstanceUid) {
      readAhead(actor, scope, row, request, image.frames).catch((err: unknown) => req.log.warn({ event: 'render.read-ahead-failed', err: (err as Error).message }, 'read-ahead failed'));
    }
  };

  type Q = { Querystring: Record<string, unknown> };
  const frameNumber = (text: string): number => {
    if (!/^\d{1,6}$/.test(text)) throw new AppError('bad_request', 'rendered frames: give one frame number (1-based)');
    const n = Number(text);
    if (n < 1) throw new AppError('bad_request', 'frame numbers start at 1');
    return n;
  };

  app.get<Q & { Params: { study: string; series: string; instance: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance/rendered', (req, reply) =>
    answer(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }, 'rendered', 1),
  );
  app.get<Q & { Params: { study: string; series: string; instance: string; frames: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/rendered', (req, reply) =>
    answer(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }, 'rendered', frameNumber(req.params.frames)),
  );
  app.get<Q & { Params: { study: string; series: string; instance: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance/thumbnail', (req, reply) =>
    answer(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }, 'thumbnail', 1),
  );
  app.get<Q & { Params: { study: string; series: string; instance: string; frames: string } }>('/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail', (req, reply) =>
    answer(req, reply, { studyUid: req.params.study, seriesUid: req.params.series, sopInstanceUid: req.params.instance }, 'thumbnail', frameNumber(req.params.frames)),
  );
  app.get<Q & { Params: { study: string; series: string } }>('/dicomweb/studies/:study/series/:series/thumbnail', (req, reply) =>
    answer(req, reply, { studyUid: req.params.study, seriesUid: req.params.series }, 'thumbnail', 1),
  );
  app.get<Q & { Params: { study: string } }>('/dicomweb/studies/:study/thumbnail', (req, reply) => answer(req, reply, { studyUid: req.params.study }, 'thumbnail', 1));
}
