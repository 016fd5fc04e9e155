/**
 * HTTP routes of the reading worklist under `/api/worklist` (contract:
 * src/shared/worklist.ts). Routes only authenticate; WorklistService decides
 * (ARCHITECTURE rule 2).
 *
 * `GET /api/worklist/events` is a Server-Sent Events stream (text/event-stream) of the
 * worklist events of the facilities the user sees: `event: ready` once listening, then
 * `event: worklist` with a {@link WorklistEvent} as data, `: ping` comments to keep proxies
 * from closing it, and `event: end` before the server closes it. A stream lasts at most
 * `lifetime` seconds (default 10 minutes); the browser's EventSource then reconnects by
 * itself (`retry`), and the session is checked again, as it is at every ping: a stream ends
 * with its session and follows changes of the user's roles.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { WorklistEvent } from '../../shared/worklist.ts';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { SESSION_COOKIE, type AuthService } from '../security/index.ts';
import type { WorklistService } from './worklist-service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** Longest and default stream lifetime, in seconds. */
const MAX_LIFETIME = 3600;
const DEFAULT_LIFETIME = 600;

/** Options of {@link registerWorklistRoutes}. */
export interface WorklistRouteOptions {
  /** Resolves a session cookie again (without extending it) while a stream is open. */
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
 * Registers `GET /api/worklist`, `POST /api/worklist/:id/{claim,renew,release,assign}`,
 * `GET|POST /api/worklist/views`, `DELETE /api/worklist/views/:id`,
 * `GET|PUT /api/worklist/settings` and `GET /api/worklist/events` (SSE).
 */
export function registerWorklistRoutes(app: FastifyInstance, worklist: WorklistService, currentUser: (req: FastifyRequest) => UserActor, opts: WorklistRouteOptions = {}): void {
  app.get('/api/worklist', async (req) => worklist.list(currentUser(req), (req.query ?? {}) as Record<string, unknown>));

  type Item = { Params: { id: string } };
  app.post<Item>('/api/worklist/:id/claim', async (req) => worklist.claim(currentUser(req), req.params.id));
  app.post<Item>('/api/worklist/:id/renew', async (req) => worklist.renew(currentUser(req), req.params.id));
  app.post<Item>('/api/worklist/:id/release', async (req) => worklist.release(currentUser(req), req.params.id));
  app.post<Item>('/api/worklist/:id/assign', async (req) => worklist.assign(currentUser(req), req.params.id, req.body));

  app.get('/api/worklist/views', async (req) => worklist.views(currentUser(req)));
  app.post('/api/worklist/views', async (req, reply) => reply.code(201).send(await worklist.saveView(currentUser(req), req.body)));
  app.delete<Item>('/api/worklist/views/:id', async (req) => {
    await worklist.deleteView(currentUser(req), req.params.id);
    return { ok: true };
  });

  app.get('/api/worklist/settings', async (req) => worklist.settings(currentUser(req)));
  app.put('/api/worklist/settings', async (req) => worklist.setSettings(currentUser(req), req.body));

  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) {
      res.write('event: end\ndata: {"reason":"shutdown"}\n\n');
      res.end();
    }
  });

  app.get<{ Querystring: { lifetime?: string } }>('/api/worklist/events', async (req, reply) => {
    const actor = currentUser(req);
    const lifetime = lifetimeOf(req.query?.lifetime);
    if (!worklist.scopeOf(actor)) throw new AppError('forbidden', 'your roles do not include the reading worklist');
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
    const send = (event: WorklistEvent): void => {
      if (!ended) res.write(`event: worklist\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const sub = worklist.subscribe(actor, send);
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
    // Ready once this node hears the events (PostgreSQL: its LISTEN is in place).
    await Promise.race([worklist.events.ready(), new Promise((r) => setTimeout(r, 2000).unref())]);
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
        const scope = resolved ? worklist.scopeOf(resolved.actor) : null;
        if (!scope) return end('session');
        sub.setScope(scope);
      }
      if (ended) return;
      res.write(': ping\n\n');
      timers.push(setTimeout(() => void beat(), (opts.heartbeatSeconds ?? 25) * 1000));
    };
    timers.push(setTimeout(() => void beat(), (opts.heartbeatSeconds ?? 25) * 1000));
  });
}
