/**
 * HTTP routes of report delivery. Routes only authenticate; DeliveryService decides what the
 * actor may see and do (ARCHITECTURE rule 2). URLs carry internal ids only (no PHI).
 *
 * `/api` (signed-in users):
 * - `GET  /api/facilities/:id/delivery-endpoints`, `POST` the same (register an HL7
 *   receiver or FHIR server), `POST /api/delivery-endpoints/:id/retire`, `…/activate`;
 * - `GET  /api/deliveries?facilityId&status&route&limit&offset`, `GET /api/deliveries/:id`,
 *   `GET /api/report-versions/:id/deliveries` (every attempt);
 * - manual route: `GET /api/deliveries/:id/pdf`, `POST /api/deliveries/:id/transcribed`,
 *   `POST /api/deliveries/:id/confirmed`.
 * FHIR (`/fhir/R4`, a facility API token): `POST /fhir/R4/Communication`, the read confirmation.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendFhir, useFhirJson } from '../../interop/fhir/index.ts';
import type { Actor } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { receiveFhirReadConfirmation } from './confirmations.ts';
import type { EndpointInput } from './endpoints.ts';
import type { DeliveryService } from './service.ts';

type Query = Record<string, string | undefined>;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new AppError('bad_request', `${name} must be a whole number`);
  return Number(v);
}

function opt(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** Registers the `/api` routes of report delivery (see the module comment). */
export function registerDeliveryRoutes(app: FastifyInstance, service: DeliveryService, currentUser: (req: FastifyRequest) => Actor): void {
  app.get<{ Params: { id: string } }>('/api/facilities/:id/delivery-endpoints', async (req) => service.endpoints(currentUser(req), req.params.id));
  app.post<{ Params: { id: string }; Body: EndpointInput }>('/api/facilities/:id/delivery-endpoints', async (req, reply) =>
    reply.code(201).send(await service.addEndpoint(currentUser(req), req.params.id, req.body ?? ({} as EndpointInput))),
  );
  app.post<{ Params: { id: string } }>('/api/delivery-endpoints/:id/retire', async (req) => service.setEndpointActive(currentUser(req), req.params.id, false));
  app.post<{ Params: { id: string } }>('/api/delivery-endpoints/:id/activate', async (req) => service.setEndpointActive(currentUser(req), req.params.id, true));

  app.get<{ Querystring: Query }>('/api/deliveries', async (req) => service.list(currentUser(req), {
    facilityId: opt(req.query.facilityId), status: opt(req.query.status), route: opt(req.query.route), limit: int(req.query.limit, 'limit'), offset: int(req.query.offset, 'offset'),
  }));
  app.get<{ Params: { id: string } }>('/api/deliveries/:id', async (req) => service.delivery(currentUser(req), req.params.id));
  app.get<{ Params: { id: string } }>('/api/report-versions/:id/deliveries', async (req) => service.deliveriesOfVersion(currentUser(req), req.params.id));

  app.get<{ Params: { id: string } }>('/api/deliveries/:id/pdf', async (req, reply) => {
    const { pdf, fileName } = await service.manualPdf(currentUser(req), req.params.id);
    return reply.header('content-type', 'application/pdf').header('content-disposition', `attachment; filename="${fileName}"`).send(pdf);
  });
  app.post<{ Params: { id: string } }>('/api/deliveries/:id/transcribed', async (req) => service.recordTranscription(currentUser(req), req.params.id));
  app.post<{ Params: { id: string } }>('/api/deliveries/:id/confirmed', async (req) => service.confirmTranscription(currentUser(req), req.params.id));
}

/** What the FHIR read-confirmation route needs. */
export interface DeliveryFhirOptions {
  service: DeliveryService;
  /**
   * Authenticates the facility's API token with the given scope. Read confirmations are writes
   * of a facility system into Enkaku and use the `orders:write` scope.
   */
  authenticate: (req: FastifyRequest, scope: 'orders:write') => Promise<Extract<Actor, { kind: 'token' }>>;
}

/**
 * `POST /fhir/R4/Communication` (register inside an encapsulated plugin with prefix `/fhir/R4`,
 * next to the orders' FHIR plugin): FHIR JSON in, the Communication or an OperationOutcome out.
 */
export async function deliveryFhirPlugin(app: FastifyInstance, options: DeliveryFhirOptions): Promise<void> {
  useFhirJson(app, { bodyLimit: 1024 * 1024, what: 'FHIR read confirmation' });
  app.post('/Communication', async (req, reply) => {
    const actor = await options.authenticate(req, 'orders:write');
    const communication = await receiveFhirReadConfirmation(options.service, actor, req.body);
    return sendFhir(reply, 200, communication);
  });
}
