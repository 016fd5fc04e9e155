/**
 * HTTP routes of the orders module under `/api` (contract: src/shared/api.ts). Routes only
 * authenticate (session, CSRF by the session hook); the services decide what the actor may
 * do and see (ARCHITECTURE rule 2). Patients and orders appear in URLs by internal id only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {
  ConsultationPostRequest,
  OptOutRequest,
  OptOutWithdrawRequest,
  OrderFormRequest,
  PatientLinkRequest,
  ProtocolRequest,
  ReconcileLinkRequest,
  ReconcileUnlinkRequest,
} from '../../shared/api.ts';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import type { ContractService } from './contracts/service.ts';
import type { OrderService } from './exam-orders/service.ts';
import type { PatientService } from './mpi/service.ts';
import type { ReconciliationService } from './reconcile/service.ts';

type Query = Record<string, string | undefined>;

/** The services behind the routes. */
export interface OrderRouteServices {
  contracts: ContractService;
  patients: PatientService;
  orders: OrderService;
  reconciliation: ReconciliationService;
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new AppError('bad_request', `${name} must be a whole number`);
  return Number(v);
}

function opt(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Registers the facility contract, patient, order and reconciliation routes:
 * `GET|PUT /api/facilities/:id/contract`, `GET /api/facilities/:id/contract/history`,
 * `GET /api/patients/:id`, `POST /api/patients/links`, `DELETE /api/patients/links/:id`,
 * `POST /api/patients/:id/opt-out`, `POST /api/patients/:id/opt-out/withdraw`,
 * `GET|POST /api/orders`, `GET /api/orders/:id`, `PUT /api/orders/:id/protocol`,
 * `GET|POST /api/orders/:id/messages`, `GET /api/reconciliation`,
 * `POST /api/reconciliation/link`, `POST /api/reconciliation/unlink`.
 */
export function registerOrderRoutes(app: FastifyInstance, s: OrderRouteServices, currentUser: (req: FastifyRequest) => Actor): void {
  app.get<{ Params: { id: string } }>('/api/facilities/:id/contract', async (req) => s.contracts.get(currentUser(req), req.params.id));
  app.put<{ Params: { id: string } }>('/api/facilities/:id/contract', async (req) => s.contracts.set(currentUser(req), req.params.id, req.body));
  app.get<{ Params: { id: string } }>('/api/facilities/:id/contract/history', async (req) => s.contracts.history(currentUser(req), req.params.id));

  app.get<{ Params: { id: string } }>('/api/patients/:id', async (req) => s.patients.get(currentUser(req), req.params.id));
  app.post<{ Body: PatientLinkRequest }>('/api/patients/links', async (req, reply) => reply.code(201).send(await s.patients.link(currentUser(req), req.body ?? ({} as PatientLinkRequest))));
  app.delete<{ Params: { id: string }; Body: { reason?: string } | undefined }>('/api/patients/links/:id', async (req) => s.patients.unlink(currentUser(req), req.params.id, req.body?.reason));
  app.post<{ Params: { id: string }; Body: OptOutRequest }>('/api/patients/:id/opt-out', async (req, reply) =>
    reply.code(201).send(await s.patients.recordOptOut(currentUser(req), req.params.id, req.body ?? ({} as OptOutRequest))),
  );
  app.post<{ Params: { id: string }; Body: OptOutWithdrawRequest }>('/api/patients/:id/opt-out/withdraw', async (req) =>
    s.patients.withdrawOptOut(currentUser(req), req.params.id, req.body ?? ({} as OptOutWithdrawRequest)),
  );

  app.get<{ Querystring: Query }>('/api/orders', async (req) => {
    const q = req.query;
    return s.orders.list(currentUser(req), {
      status: opt(q.status),
      modality: opt(q.modality),
      priority: opt(q.priority),
      facilityId: opt(q.facilityId),
      from: opt(q.from),
      to: opt(q.to),
      limit: int(q.limit, 'limit'),
      offset: int(q.offset, 'offset'),
    });
  });
  app.post<{ Body: OrderFormRequest }>('/api/orders', async (req, reply) => {
    const r = await s.orders.submitForm(currentUser(req), req.body ?? ({} as OrderFormRequest));
    return reply.code(r.outcome === 'created' ? 201 : 200).send(r);
  });
  app.get<{ Params: { id: string } }>('/api/orders/:id', async (req) => s.orders.detail(currentUser(req), req.params.id));
  app.put<{ Params: { id: string }; Body: ProtocolRequest }>('/api/orders/:id/protocol', async (req) => s.orders.setProtocol(currentUser(req), req.params.id, req.body ?? ({} as ProtocolRequest)));
  app.get<{ Params: { id: string } }>('/api/orders/:id/messages', async (req) => s.orders.messages(currentUser(req), req.params.id));
  app.post<{ Params: { id: string }; Body: ConsultationPostRequest }>('/api/orders/:id/messages', async (req, reply) =>
    reply.code(201).send(await s.orders.postMessage(currentUser(req), req.params.id, req.body ?? ({} as ConsultationPostRequest))),
  );

  app.get<{ Querystring: Query }>('/api/reconciliation', async (req) => s.reconciliation.queue(currentUser(req), { facilityId: opt(req.query.facilityId), limit: int(req.query.limit, 'limit') }));
  app.post<{ Body: ReconcileLinkRequest }>('/api/reconciliation/link', async (req) => s.reconciliation.link(currentUser(req), req.body ?? ({} as ReconcileLinkRequest)));
  app.post<{ Body: ReconcileUnlinkRequest }>('/api/reconciliation/unlink', async (req) => s.reconciliation.unlink(currentUser(req), req.body ?? ({} as ReconcileUnlinkRequest)));
}
