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
import type { FindingAlertEvent } from '../../shared/findings.ts';
import type { Actor } from '../platform/context.ts';
import { SseStreams, sseLifetime } from '../platform/sse.ts';
import { sessionRecheck, type AuthService } from '../security/index.ts';
import type { FindingsService } from './service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;
type Id = { Params: { id: string } };
type Query = { Querystring: Record<string, string | undefined> };

/** Options of {@link registerFindingRoutes}. */
export interface FindingRouteOptions {
  /** Resolves the session cookie again (without extending it) while a stream is open. */
  auth?: Pick<AuthService, 'resolve'> | undefined;
  /** Seconds between pings (and session checks) on a stream. Default 25. */
  heartbeatSeconds?: number | undefined;
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

  const sse = new SseStreams(app, { heartbeatSeconds: opts.heartbeatSeconds, resolveSession: opts.auth ? sessionRecheck(opts.auth) : undefined });
  app.get<{ Querystring: { lifetime?: string } }>('/api/findings/events', async (req, reply) => {
    const actor = currentUser(req);
    await sse.serve(req, reply, {
      lifetime: sseLifetime(req.query?.lifetime),
      event: 'finding',
      subscribe: (send) => findings.subscribe(actor, (alert: FindingAlertEvent) => send(alert)),
      ready: () => findings.events.ready(),
      // The stream ends with its session, or when the session is another user's.
      recheck: (user) => user?.userId === actor.userId,
    });
  });
}
