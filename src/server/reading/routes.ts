/**
 * HTTP routes of the reading module under `/api` (contract: src/shared/api.ts):
 * measurements, key images and viewing sessions. Routes only authenticate; ReadingService
 * decides (ARCHITECTURE rule 2).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ViewerSessionRequest } from '../../shared/api.ts';
import type { Actor } from '../platform/context.ts';
import type { ReadingService } from './service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/**
 * Registers `POST /api/measurements`, `/api/studies/:studyUid/key-images[/:id]` and
 * `/api/viewer/sessions[/:id/end]`.
 */
export function registerReadingRoutes(app: FastifyInstance, reading: ReadingService, currentUser: (req: FastifyRequest) => UserActor): void {
  app.post('/api/measurements', async (req) => reading.measure(currentUser(req), req.body));

  type Study = { Params: { studyUid: string } };
  app.get<Study>('/api/studies/:studyUid/key-images', async (req) => reading.keyImages(currentUser(req), req.params.studyUid));
  app.post<Study>('/api/studies/:studyUid/key-images', async (req, reply) => {
    const { created, keyImage } = await reading.addKeyImage(currentUser(req), req.params.studyUid, req.body);
    return reply.code(created ? 201 : 200).send(keyImage);
  });
  app.delete<{ Params: { studyUid: string; id: string } }>('/api/studies/:studyUid/key-images/:id', async (req) => {
    await reading.removeKeyImage(currentUser(req), req.params.studyUid, req.params.id);
    return { ok: true };
  });

  app.post<{ Body: ViewerSessionRequest }>('/api/viewer/sessions', async (req, reply) => reply.code(201).send(await reading.openViewer(currentUser(req), req.body?.studyUid)));
  app.post<{ Params: { id: string } }>('/api/viewer/sessions/:id/end', async (req) => reading.endViewer(currentUser(req), req.params.id));
}
