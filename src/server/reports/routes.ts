/**
 * HTTP routes of the reports module under `/api` (contract: src/shared/reports.ts). Routes
 * only authenticate; ReportService decides (ARCHITECTURE rule 2). Signed files are served
 * with `Cache-Control: no-store` and a filename without patient data.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../platform/context.ts';
import type { ReportService } from './service.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;
type Id = { Params: { id: string } };
type Study = { Params: { studyUid: string } };

const FILES = {
  pdf: { type: 'application/pdf', ext: 'pdf' },
  cms: { type: 'application/pkcs7-signature', ext: 'p7s' },
  canonical: { type: 'application/json; charset=utf-8', ext: 'json' },
} as const;

/** Registers the report editor's, signing and confirmation routes. */
export function registerReportRoutes(app: FastifyInstance, reports: ReportService, currentUser: (req: FastifyRequest) => UserActor): void {
  app.get<Study>('/api/studies/:studyUid/report', async (req) => reports.studyView(currentUser(req), req.params.studyUid));
  app.post<Study>('/api/studies/:studyUid/report', async (req, reply) => reply.code(201).send(await reports.start(currentUser(req), req.params.studyUid, req.body)));
  app.get<Study>('/api/studies/:studyUid/report/physicians', async (req) => reports.physicians(currentUser(req), req.params.studyUid));
  app.post<Study>('/api/studies/:studyUid/ai-findings', async (req, reply) => reply.code(201).send(await reports.addAiFinding(currentUser(req), req.params.studyUid, req.body)));
  app.put<Id>('/api/reports/:id/draft', async (req) => reports.saveDraft(currentUser(req), req.params.id, req.body));
  app.post<Id>('/api/reports/:id/finalise', async (req) => reports.finalise(currentUser(req), req.params.id, req.body));
  app.post<Id>('/api/reports/:id/amend', async (req) => reports.amend(currentUser(req), req.params.id, req.body));
  app.get('/api/reports/unconfirmed', async (req) => reports.unconfirmed(currentUser(req)));
  app.get('/api/report-templates', async (req) => reports.templates(currentUser(req)));
  app.post<Id>('/api/report-versions/:id/confirm', async (req) => reports.confirmRead(currentUser(req), req.params.id));
  for (const which of ['pdf', 'cms', 'canonical'] as const) {
    app.get<Id>(`/api/report-versions/:id/${which}`, async (req, reply: FastifyReply) => {
      const bytes = await reports.signedFile(currentUser(req), req.params.id, which);
      return reply
        .header('content-type', FILES[which].type)
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="report-${req.params.id.replace(/[^A-Za-z0-9-]/g, '')}.${FILES[which].ext}"`)
        .send(bytes);
    });
  }
}
