/**
 * FHIR R4 REST endpoints for exam orders under `/fhir/R4` (FHIR R4 §3.1.0 RESTful API):
 * - `POST /fhir/R4/ServiceRequest` create (201, or 200 when the same request was already applied),
 * - `PUT /fhir/R4/ServiceRequest/:id` update or cancel (status revoked),
 * - `GET /fhir/R4/ServiceRequest/:id` read,
 * - `POST /fhir/R4` a transaction Bundle with one ServiceRequest and its Patient,
 * - `GET /fhir/R4/metadata` the CapabilityStatement of the whole FHIR interface (capability.ts),
 *   public as FHIR servers publish theirs (FHIR R4 §3.1.0.15).
 * Facility systems authenticate with an API token (`Authorization: Bearer`, scope orders:write
 * or orders:read); the token's facility is the order's facility. Bodies and answers are
 * `application/fhir+json`; every error is an OperationOutcome.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, ServiceRequest } from '@medplum/fhirtypes';
import type { Actor } from '../../platform/context.ts';
import { AppError, httpStatusOf } from '../../platform/errors.ts';
import type { OrderIntake, OrderOutcome } from '../../orders/index.ts';
import { capabilityStatement } from './capability.ts';
import { FhirError, issueTypeOf, operationOutcome } from './outcome.ts';
import { orderToServiceRequest, serviceRequestOfBundle, serviceRequestToOrder, type FhirOrderView, type Resolver } from './servicerequest.ts';

/** The content type of FHIR JSON (FHIR R4 §3.1.0.1.6). */
export const FHIR_JSON = 'application/fhir+json';

/** What the FHIR routes need. */
export interface FhirRouteOptions {
  /** Authenticates the request's API token and checks its scope (orders:write / orders:read). */
  authenticate: (req: FastifyRequest, scope: 'orders:write' | 'orders:read') => Promise<Extract<Actor, { kind: 'token' }>>;
  orders: OrderIntake;
  /** Reads an order as the actor may see it; undefined when absent or outside the actor's facilities. */
  read: (actor: Actor, id: string) => Promise<FhirOrderView | undefined>;
  /** The public base URL of this interface (`https://…/fhir/R4`), named in the CapabilityStatement when given. */
  baseUrl?: string | undefined;
}

/** `W/"version"` (FHIR R4 §3.1.0.5.3 ETag). */
function etag(versionId: string): string {
  return `W/"${versionId}"`;
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', `${FHIR_JSON}; charset=utf-8`).send(JSON.stringify(body));
}

/** The request's identity for duplicate detection: the resource version, else a digest of the body. */
function messageIdOf(resource: ServiceRequest, method: string): string {
  if (resource?.id && resource.meta?.versionId) return `fhir:${method}:ServiceRequest/${resource.id}/_history/${resource.meta.versionId}`;
  return `fhir:${method}:sha256:${createHash('sha256').update(JSON.stringify(resource)).digest('hex').slice(0, 40)}`;
}

/** Registers the FHIR routes (call inside an encapsulated plugin with prefix `/fhir/R4`). */
export async function fhirPlugin(app: FastifyInstance, options: FhirRouteOptions): Promise<void> {
  // Only FHIR JSON is read here (this plugin's own parsers; the rest of the app keeps its own).
  app.removeAllContentTypeParsers();
  for (const type of [FHIR_JSON, 'application/json', 'application/json+fhir']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new FhirError(400, [{ code: 'structure', diagnostics: 'the body is not valid JSON' }]), undefined);
      }
    });
  }
  // Any other body type is refused in FHIR's own words.
  app.addContentTypeParser('*', (_req, _payload, done) => {
    done(new FhirError(415, [{ code: 'not-supported', diagnostics: `send ${FHIR_JSON}` }]), undefined);
  });

  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof FhirError) return send(reply, err.status, operationOutcome(err.issues));
    if (err instanceof AppError) {
      if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
      // AppError messages carry no PHI (platform/errors.ts).
      return send(reply, httpStatusOf(err.code), operationOutcome([{ code: issueTypeOf(err.code), diagnostics: err.message }]));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return send(reply, status, operationOutcome([{ code: status === 413 ? 'too-costly' : 'invalid', diagnostics: (err as Error).message }]));
    req.log.error({ err }, 'FHIR request failed');
    return send(reply, 500, operationOutcome([{ code: 'exception', severity: 'fatal', diagnostics: 'internal error' }]));
  });

  /** Take one ServiceRequest and answer with the stored resource (FHIR R4 §3.1.0.6 create, §3.1.0.4 update). */
  const apply = async (actor: Extract<Actor, { kind: 'token' }>, resource: ServiceRequest, mode: 'create' | 'update', resolve: Resolver | undefined, id?: string): Promise<{ status: number; view: FhirOrderView; outcome: OrderOutcome }> => {
    let current: FhirOrderView | undefined;
    if (mode === 'update') {
      if (resource && typeof resource === 'object' && resource.id !== undefined && resource.id !== id) {
        throw new FhirError(400, [{ code: 'invariant', expression: 'ServiceRequest.id', diagnostics: 'the resource id must equal the id in the URL' }]);
      }
      // Enkaku assigns the ids: an update names an order that exists and is the facility's own.
      current = id ? await options.read(actor, id) : undefined;
      if (!current || current.facilityId !== actor.facilityId) throw new FhirError(404, [{ code: 'not-found', diagnostics: `no ServiceRequest ${id ?? ''}; create orders with POST` }]);
    }
    const input = serviceRequestToOrder(resource, { facilityId: actor.facilityId, mode, messageId: messageIdOf(resource, mode), ...(resolve ? { resolve } : {}) });
    if (current) {
      if (current.placerOrderNumber !== input.placerOrderNumber) {
        throw new FhirError(409, [{ code: 'conflict', expression: 'ServiceRequest.identifier', diagnostics: `ServiceRequest ${id} has another placer order number` }]);
      }
    }
    const outcome = await options.orders.receive(actor, input);
    const view = await options.read(actor, outcome.orderId);
    if (!view) throw new AppError('internal', 'the stored order could not be read back');
    return { status: outcome.kind === 'created' ? 201 : 200, view, outcome };
  };

  const answer = (reply: FastifyReply, r: { status: number; view: FhirOrderView }): FastifyReply => {
    reply.header('location', `/fhir/R4/ServiceRequest/${r.view.id}/_history/${r.view.versionId}`);
    reply.header('etag', etag(r.view.versionId));
    reply.header('last-modified', new Date(r.view.lastUpdated).toUTCString());
    return send(reply, r.status, orderToServiceRequest(r.view));
  };

  // The CapabilityStatement (FHIR R4 §3.1.0.15): no token, it names no patient or facility.
  const capabilities = JSON.stringify(capabilityStatement(options.baseUrl));
  app.get('/metadata', async (_req, reply) => reply.code(200).header('content-type', `${FHIR_JSON}; charset=utf-8`).send(capabilities));

  app.post('/ServiceRequest', async (req, reply) => {
    const actor = await options.authenticate(req, 'orders:write');
    return answer(reply, await apply(actor, req.body as ServiceRequest, 'create', undefined));
  });

  app.put<{ Params: { id: string } }>('/ServiceRequest/:id', async (req, reply) => {
    const actor = await options.authenticate(req, 'orders:write');
    const ifMatch = req.headers['if-match'];
    if (ifMatch) {
      const current = await options.read(actor, req.params.id);
      if (current && ifMatch !== etag(current.versionId)) {
        throw new FhirError(412, [{ code: 'conflict', diagnostics: `If-Match ${ifMatch} does not match the current version ${etag(current.versionId)}` }]);
      }
    }
    return answer(reply, await apply(actor, req.body as ServiceRequest, 'update', undefined, req.params.id));
  });

  app.get<{ Params: { id: string } }>('/ServiceRequest/:id', async (req, reply) => {
    const actor = await options.authenticate(req, 'orders:read');
    const view = await options.read(actor, req.params.id);
    if (!view) throw new FhirError(404, [{ code: 'not-found', diagnostics: `no ServiceRequest ${req.params.id}` }]);
    reply.header('etag', etag(view.versionId));
    reply.header('last-modified', new Date(view.lastUpdated).toUTCString());
    return send(reply, 200, orderToServiceRequest(view));
  });

  // A transaction Bundle: the ServiceRequest with its Patient as entries (FHIR R4 §3.1.0.11).
  app.post('/', { prefixTrailingSlash: 'no-slash' }, async (req, reply) => {
    const actor = await options.authenticate(req, 'orders:write');
    const { serviceRequest, resolve, method } = serviceRequestOfBundle(req.body);
    const mode = method === 'PUT' ? 'update' : 'create';
    const id = mode === 'update' ? serviceRequest.id : undefined;
    const r = await apply(actor, serviceRequest, mode, resolve, id);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: (req.body as Bundle).type === 'batch' ? 'batch-response' : 'transaction-response',
      entry: [{
        response: {
          status: `${r.status} ${r.status === 201 ? 'Created' : 'OK'}`,
          location: `ServiceRequest/${r.view.id}/_history/${r.view.versionId}`,
          etag: etag(r.view.versionId),
          lastModified: r.view.lastUpdated,
        },
        resource: orderToServiceRequest(r.view),
      }],
    };
    return send(reply, 200, bundle);
  });
}
