/**
 * `/api/audit`: the audit log screen's search (auditors only; each search is itself
 * audited by the service), and `/api/audit/fhir`: the same entries as a FHIR R4 Bundle of
 * AuditEvent resources for outside review.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../platform/errors.ts';
import type { Actor } from '../platform/context.ts';
import type { AuditPage } from '../../shared/api.ts';
import type { AuditService } from './service.ts';
import type { AuditSearchQuery } from './model.ts';
import { toFhirAuditEvent } from './fhir.ts';

type Query = Record<string, string | undefined>;

function parseQuery(q: Query): AuditSearchQuery {
  const num = (v: string | undefined, d: number): number => (v === undefined || v === '' ? d : Number(v));
  const iso = (v: string | undefined, name: string): string | undefined => {
    if (!v) return undefined;
    if (Number.isNaN(Date.parse(v))) throw new AppError('bad_request', `${name} must be an ISO date or time`);
    return new Date(v).toISOString();
  };
  const outcome = q.outcome;
  if (outcome !== undefined && outcome !== '' && outcome !== 'success' && outcome !== 'failure') throw new AppError('bad_request', 'outcome is success or failure');
  return {
    from: iso(q.from, 'from'),
    to: iso(q.to, 'to'),
    actorId: q.actor || undefined,
    action: q.action || undefined,
    outcome: (outcome || undefined) as AuditSearchQuery['outcome'],
    objectType: q.objectType || undefined,
    objectId: q.objectId || undefined,
    limit: num(q.limit, 100),
    offset: num(q.offset, 0),
  };
}

/** Registers the audit routes. */
export function registerAuditRoutes(
  app: FastifyInstance,
  audit: AuditService<any>,
  currentUser: (req: FastifyRequest) => Actor,
  /** Export guard: a recent re-authentication, and counting towards mass-export alerts. */
  beforeExport: (actor: Actor, req: FastifyRequest) => Promise<void>,
): void {
  app.get<{ Querystring: Query }>('/api/audit', async (req): Promise<AuditPage> => {
    const result = await audit.search(currentUser(req), parseQuery(req.query));
    return {
      total: result.total,
      entries: result.records.map((r) => ({
        seq: r.seq,
        recordedAt: r.recordedAt,
        actorName: r.actor.name,
        actorRole: r.actor.role,
        action: r.action,
        objectType: r.object.type,
        objectId: r.object.id,
        facilityId: r.facilityId,
        outcome: r.outcome,
        clientAddress: r.clientAddress,
      })),
    };
  });
  app.get<{ Querystring: Query }>('/api/audit/fhir', async (req, reply) => {
    const actor = currentUser(req);
    await beforeExport(actor, req);
    const result = await audit.search(actor, parseQuery(req.query));
    reply.header('content-type', 'application/fhir+json; charset=utf-8');
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: result.total,
      entry: result.records.map((r) => ({ resource: toFhirAuditEvent(r) })),
    };
  });
}
