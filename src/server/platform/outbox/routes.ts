/**
 * `/api/jobs`: background jobs for signed-in users (what the priors fetch of a study is
 * doing), and the system administrator's retry. Routes only authenticate; JobService
 * decides what the actor may see and do (ARCHITECTURE rule 2).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JobView } from '../../../shared/api.ts';
import type { Actor } from '../context.ts';
import { AppError } from '../errors.ts';
import type { JobService } from './service.ts';

type Query = Record<string, string | undefined>;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new AppError('bad_request', `${name} must be a whole number`);
  return Number(v);
}

/** Registers `GET /api/jobs`, `GET /api/jobs/:id` and `POST /api/jobs/:id/retry`. */
export function registerJobRoutes(app: FastifyInstance, jobs: JobService, currentUser: (req: FastifyRequest) => Actor): void {
  app.get<{ Querystring: Query }>('/api/jobs', async (req): Promise<JobView[]> =>
    jobs.list(currentUser(req), { kind: req.query.kind, state: req.query.state, limit: int(req.query.limit, 'limit'), offset: int(req.query.offset, 'offset') }),
  );
  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (req): Promise<JobView> => jobs.get(currentUser(req), req.params.id));
  app.post<{ Params: { id: string } }>('/api/jobs/:id/retry', async (req): Promise<JobView> => jobs.retry(currentUser(req), req.params.id));
}
