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
import type { WorklistEvent } from '../../shared/worklist.ts';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { SseStreams, sseLifetime } from '../platform/sse.ts';
import { sessionRecheck, type AuthService } from '../security/index.ts';
import type { WorklistService } from './worklist-service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** Options of {@link registerWorklistRoutes}. */
export interface WorklistRouteOptions {
  /** Resolves a session cookie again (without extending it) while a stream is open. */
  auth?: Pick<AuthService, 'resolve'> | undefined;
  /** Seconds between pings (and session checks) on a stream. Default 25. */
  heartbeatSeconds?: number | undefined;
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

  const sse = new SseStreams(app, { heartbeatSeconds: opts.heartbeatSeconds, resolveSession: opts.auth ? sessionRecheck(opts.auth) : undefined });
  app.get<{ Querystring: { lifetime?: string } }>('/api/worklist/events', async (req, reply) => {
    const actor = currentUser(req);
    const lifetime = sseLifetime(req.query?.lifetime);
    if (!worklist.scopeOf(actor)) throw new AppError('forbidden', 'your roles do not include the reading worklist');
    await sse.serve(req, reply, {
      lifetime,
      event: 'worklist',
      subscribe: (send) => worklist.subscribe(actor, (event: WorklistEvent) => send(event)),
      ready: () => worklist.events.ready(),
      // The stream ends with its session and follows changes of the user's roles.
      recheck: (user, sub) => {
        const scope = user ? worklist.scopeOf(user) : null;
        if (!scope) return false;
        sub.setScope(scope);
        return true;
      },
    });
  });
}
