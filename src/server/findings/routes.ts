/**
 * HTTP routes of critical and incidental findings under `/api/findings` (contract:
 * src/shared/findings.ts). Routes only authenticate; FindingsService decides (ARCHITECTURE
 * rule 2).
 *
 * `GET /api/findings/events` is a Server-Sent Events stream (text/event-stream) of the alerts
 * addressed to the logged-in user: `event: ready` once listening, then `event: finding` with a
 * {@link FindingAlertEvent} as data, `: ping` comments, and `event: end` before the server
 * closes it. A stream lasts at most `lifetime` seconds (default 10 minutes; the browser's
 * EventSource reconnects by itself), and the session is checked again at every ping: a stream
 * ends with its session.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { FindingAlertEvent } from '../../shared/findings.ts';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { SESSION_COOKIE, type AuthService } from '../security/index.ts';
import type { FindingsService } from './service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;
type Id = { Params: { id: string } };
type Query = { Querystring: Record<string, string | undefined> };

const MAX_LIFETIME = 3600;
const DEFAULT_LIFETIME = 600;

/** Options of {@link registerFindingRoutes}. */
export interface FindingRouteOptions {
  /** Resolves the session cookie again (without extending it) while a stream is open. */
  auth?: Pick<AuthService, 'resolve'> | undefined;
  /** Seconds between pings (and session checks) on a stream. Default 25. */
  heartbeatSeconds?: number | undefined;
}

function lifetimeOf(v: unknown): number {
  if (v === undefined || v === '') return DEFAULT_LIFETIME;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_LIFETIME) throw new AppError('bad_request', `lifetime must be 0-${MAX_LIFETIME} seconds`);
  return n;
}

/**
 * Registers `POST|GET /api/findings`, `GET /api/findings/events` (SSE),
 * `GET /api/findings/stats`, `GET /api/findings/reviews`,
 * `GET|PUT /api/findings/settings/:facilityId`, `GET /api/findings/:id` and
 * `POST /api/findings/:id/{acknowledge,phone,follow-up,cancel}`.
 */
export function registerFindingRoutes(app: FastifyInstance, findings: FindingsService, currentUser: (req: FastifyRequest) => UserActor, opts: FindingRouteOptions = {}): void {
  app.post('/api/findings', async (req, reply) => reply.code(201).send(await findings.raise(currentUser(req), req.body)));
  app.get<Query>('/api/findings', async (req) => findings.list(currentUser(req), req.query ?? {}));
  app.get<Query>('/api/findings/stats', async (req) => findings.stats(currentUser(req), req.query ?? {}));
  app.get<Query>('/api/findings/reviews', async (req) => findings.reviews(currentUser(req), req.query ?? {}));
  app.get<{ Params: { facilityId: string } }>('/api/findings/settings/:facilityId', async (req) => findings.settings(currentUser(req), req.params.facilityId));
  app.put<{ Params: { facilityId: string } }>('/api/findings/settings/:facilityId', async (req) => findings.setSettings(currentUser(req), req.params.facilityId, req.body));
  app.get<Id>('/api/findings/:id', async (req) => findings.get(currentUser(req), req.params.id));
  app.post<Id>('/api/findings/:id/acknowledge', async (req) => findings.acknowledge(currentUser(req), req.params.id));
  app.post<Id>('/api/findings/:id/phone', async (req, reply) => reply.code(201).send(await findings.phone(currentUser(req), req.params.id, req.body)));
  app.post<Id>('/api/findings/:id/follow-up', async (req) => findings.followUp(currentUser(req), req.params.id, req.body));
  app.post<Id>('/api/findings/:id/cancel', async (req) => findings.cancel(currentUser(req), req.params.id, req.body));

  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) {
      res.write('event: end\ndata: {"reason":"shutdown"}\n\n');
      res.end();
    }
  });

  app.get<{ Querystring: { lifetime?: string } }>('/api/findings/events', async (req, reply) => {
    const actor = currentUser(req);
    const lifetime = lifetimeOf(req.query?.lifetime);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      // Never cached or buffered on the way (S6; proxies such as nginx buffer otherwise).
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    streams.add(res);
    let ended = false;
    const timers: NodeJS.Timeout[] = [];
    const send = (alert: FindingAlertEvent): void => {
      if (!ended) res.write(`event: finding\ndata: ${JSON.stringify(alert)}\n\n`);
    };
    const sub = findings.subscribe(actor, send);
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      sub.close();
      for (const t of timers) clearTimeout(t);
      streams.delete(res);
      if (!res.writableEnded) {
        res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        res.end();
      }
    };
    req.raw.on('close', () => end('closed'));
    res.on('close', () => end('closed'));
    // Ready once this node hears the alerts (PostgreSQL: its LISTEN is in place).
    await Promise.race([findings.events.ready(), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (ended) return;
    res.write(`event: ready\ndata: ${JSON.stringify({ serverTime: new Date().toISOString(), lifetime })}\n\n`);
    if (lifetime === 0) return end('lifetime');
    timers.push(setTimeout(() => end('lifetime'), lifetime * 1000));
    const cookie = req.cookies?.[SESSION_COOKIE] ?? '';
    const client = { address: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
    const beat = async (): Promise<void> => {
      if (ended) return;
      if (opts.auth) {
        const resolved = await opts.auth.resolve(cookie, client, false).catch(() => undefined);
        if (!resolved || resolved.actor.userId !== actor.userId) return end('session');
      }
      if (ended) return;
      res.write(': ping\n\n');
      timers.push(setTimeout(() => void beat(), (opts.heartbeatSeconds ?? 25) * 1000));
    };
    timers.push(setTimeout(() => void beat(), (opts.heartbeatSeconds ?? 25) * 1000));
  });
}
