/**
 * HTTP routes of the quality module under `/api` (contract: src/shared/api.ts): reading
 * terminals and their QC, the session's terminal, and the test patterns. Routes only
 * authenticate; TerminalService decides what the actor may do (ARCHITECTURE rule 2).
 * Everything under `/api` is sent with `Cache-Control: no-store` (app.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BindTerminalRequest, QcPatternInfo } from '../../shared/api.ts';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { patternNames, patternPng, renderPattern, type PatternName } from './patterns.ts';
import type { TerminalService } from './service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;
type Id = { Params: { id: string } };

function limitOf(v: string | undefined, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > max) throw new AppError('bad_request', `limit must be 1-${max}`);
  return Number(v);
}

function patternOf(name: string): PatternName {
  if (!(patternNames as readonly string[]).includes(name)) throw new AppError('not_found', `no such test pattern; there are ${patternNames.join(', ')}`);
  return name as PatternName;
}

/** The uncalibrated pattern PNGs, made once (they never change). */
const pngs = new Map<PatternName, Promise<Buffer>>();

/**
 * Registers `/api/terminals*`, `/api/me/terminal` and `/api/qc/patterns*`.
 * @param currentUser the logged-in user or a 401 (requireUser)
 */
export function registerQualityRoutes(app: FastifyInstance, terminals: TerminalService, currentUser: (req: FastifyRequest) => UserActor): void {
  app.get('/api/terminals', async (req) => terminals.list(currentUser(req)));
  app.post('/api/terminals', async (req, reply) => reply.code(201).send(await terminals.register(currentUser(req), req.body)));
  app.get<Id>('/api/terminals/:id', async (req) => terminals.get(currentUser(req), req.params.id));
  app.put<Id>('/api/terminals/:id', async (req) => terminals.update(currentUser(req), req.params.id, req.body));
  app.put<Id & { Body: { profile?: unknown } }>('/api/terminals/:id/profile', async (req) => terminals.setProfile(currentUser(req), req.params.id, req.body?.profile));
  app.get<Id>('/api/terminals/:id/status', async (req) => terminals.status(currentUser(req), req.params.id));
  app.post<Id>('/api/terminals/:id/daily-checks', async (req, reply) => reply.code(201).send(await terminals.recordDailyCheck(currentUser(req), req.params.id, req.body)));
  app.get<Id & { Querystring: { limit?: string } }>('/api/terminals/:id/daily-checks', async (req) =>
    terminals.dailyChecks(currentUser(req), req.params.id, limitOf(req.query.limit, 1000)),
  );
  app.post<Id>('/api/terminals/:id/constancy', async (req, reply) => reply.code(201).send(await terminals.recordConstancy(currentUser(req), req.params.id, req.body)));
  app.get<Id & { Querystring: { limit?: string } }>('/api/terminals/:id/constancy', async (req) =>
    terminals.constancyTests(currentUser(req), req.params.id, limitOf(req.query.limit, 200)),
  );

  app.get('/api/me/terminal', async (req) => terminals.sessionTerminal(currentUser(req)));
  app.put<{ Body: BindTerminalRequest }>('/api/me/terminal', async (req) => {
    const id = req.body?.terminalId;
    if (id !== null && typeof id !== 'string') throw new AppError('bad_request', 'terminalId must be a terminal id or null');
    return terminals.bindSession(currentUser(req), id);
  });

  app.get('/api/qc/patterns', async (req): Promise<QcPatternInfo[]> => {
    currentUser(req);
    return patternNames.map((name) => {
      const p = renderPattern(name);
      return { name, width: p.width, height: p.height, regions: p.regions.map((r) => ({ name: r.name, x: r.x, y: r.y, w: r.w, h: r.h, fill: r.fill })) };
    });
  });
  app.get<{ Params: { name: string }; Querystring: { calibrated?: string } }>('/api/qc/patterns/:name', async (req, reply) => {
    const user = currentUser(req);
    const name = patternOf(req.params.name);
    let body: Buffer;
    if (req.query.calibrated === '1' || req.query.calibrated === 'true') {
      const display = await terminals.sessionLut(user);
      body = await patternPng(name, display?.lut);
      if (display) reply.header('x-enkaku-display-profile', encodeURIComponent(display.label));
    } else {
      let png = pngs.get(name);
      if (!png) {
        png = patternPng(name);
        pngs.set(name, png);
      }
      body = await png;
    }
    return reply.header('content-type', 'image/png').header('cache-control', 'no-store').send(body);
  });
}
