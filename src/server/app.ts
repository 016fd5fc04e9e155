/**
 * buildApp: the Fastify application. It registers the module plugins, the health
 * endpoints and the one error handler; nothing else.
 */
import fs from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { isLoopback } from './config.ts';
import { AppError, httpStatusOf } from './platform/errors.ts';
import type { Runtime } from './runtime.ts';
import path from 'node:path';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { archivePlugin, retrievalPlugin, type ArchivePluginOptions } from './archive/index.ts';
import { bearerActor, medicalScope, registerSecurityRoutes, registerSessionHook, requireUser } from './security/index.ts';
import { registerAuditRoutes } from './audit/index.ts';
import { registerJobRoutes } from './platform/outbox/index.ts';
import { registerQualityRoutes } from './quality/index.ts';
import { registerReadingRoutes, registerWorklistRoutes } from './reading/index.ts';
import { registerOrderRoutes } from './orders/index.ts';
import { registerReportRoutes } from './reports/index.ts';
import { registerTsaRoutes } from './reports/signing/index.ts';
import { deliveryFhirPlugin, registerDeliveryRoutes } from './reports/delivery/index.ts';
import { fhirPlugin, fhirViewOfOrder } from './interop/fhir/index.ts';
import { aiFindingsFhirPlugin } from './interop/fhir/ai-findings.ts';
import { registerFindingRoutes } from './findings/index.ts';

/** Where the built web application lives (`vite build` output). */
export const WEB_DIST = path.resolve(import.meta.dirname, '..', '..', 'dist', 'web');

/** Builds the HTTP application over a runtime. */
export async function buildApp(rt: Runtime): Promise<FastifyInstance> {
  const { host, tlsCert, tlsKey } = rt.config.http;
  const tls = Boolean(tlsCert && tlsKey);
  if (!tls && !isLoopback(host)) {
    throw new Error(`refusing to serve plain HTTP on ${host}: set ENKAKU_TLS_CERT and ENKAKU_TLS_KEY, or bind to 127.0.0.1`);
  }
  const app = Fastify({
    loggerInstance: rt.log as FastifyBaseLogger,
    ...(tls ? { https: { key: fs.readFileSync(tlsKey!), cert: fs.readFileSync(tlsCert!), minVersion: rt.config.tlsMinVersion } } : {}),
    // Request logs carry method, route and status; URLs never hold PHI (ARCHITECTURE rule 8).
    trustProxy: false,
    bodyLimit: 10 * 1024 * 1024,
  });

  await app.register(cookie);
  await app.register(helmet, {
    // The web app loads only its own scripts; images may be data: (QR codes) or blob: (rendered frames).
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
    strictTransportSecurity: tls ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  if (rt.config.dicomwebCorsOrigins.length) {
    // Cross-origin access for a DICOMweb client in another origin (an OHIF deployment),
    // for the listed origins and the DICOMweb paths only. Credentials (cookies) are never
    // allowed cross-origin: such clients authenticate with a bearer token.
    const origins = rt.config.dicomwebCorsOrigins;
    await app.register(cors, {
      hook: 'onRequest',
      delegator: (req, cb) => {
        const url = req.url ?? '';
        const dicomweb = url.startsWith('/dicomweb/') || url.startsWith('/wado?') || url === '/wado';
        cb(null, dicomweb
          ? { origin: origins, methods: ['GET', 'POST'], allowedHeaders: ['Authorization', 'Accept', 'Content-Type'], exposedHeaders: ['Content-Type', 'Content-Length', 'Warning'], credentials: false, maxAge: 600 }
          : { origin: false });
      },
    });
  }

  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof AppError) {
      // A logged-in user refused for lack of rights: count it towards an out-of-scope alert (S11).
      if (err.code === 'forbidden' && req.user) {
        await rt.alerts.note('out-of-scope', `user:${req.user.userId}`, { userId: req.user.userId, address: req.ip, route: req.routeOptions.url }).catch(() => undefined);
      }
      if (err.code === 'unauthenticated' && req.url.startsWith('/dicomweb')) reply.header('www-authenticate', 'Bearer');
      return reply.code(httpStatusOf(err.code)).send({ error: err.code, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'bad_request', message: (err as Error).message });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await rt.ready();
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'not ready', checks: r.checks });
  });

  registerSessionHook(app as unknown as FastifyInstance, rt.auth);
  registerSecurityRoutes(app as unknown as FastifyInstance, {
    auth: rt.auth,
    accounts: rt.accounts,
    credentials: rt.credentials,
    alerts: rt.alerts,
    publicUrl: rt.config.publicUrl,
    facilities: async (actor) => (await rt.facilities.list(actor)).map((f) => ({ id: f.id, name: f.name, aets: f.aets })),
    secureCookies: tls,
  });
  registerAuditRoutes(app as unknown as FastifyInstance, rt.audit, requireUser, async (actor, req) => {
    if (actor.kind !== 'user') return;
    await rt.auth.assertRecentReauth(actor);
    await rt.alerts.note('mass-export', `user:${actor.userId}`, { userId: actor.userId, address: req.ip, route: req.routeOptions.url });
  });
  registerJobRoutes(app as unknown as FastifyInstance, rt.jobViews, requireUser);
  registerQualityRoutes(app as unknown as FastifyInstance, rt.terminals, requireUser);
  registerReadingRoutes(app as unknown as FastifyInstance, rt.reading, requireUser);
  registerWorklistRoutes(app as unknown as FastifyInstance, rt.worklist, requireUser, { auth: rt.auth });
  registerOrderRoutes(app as unknown as FastifyInstance, { contracts: rt.contracts, patients: rt.patients, orders: rt.orders, reconciliation: rt.reconciliation }, requireUser);
  registerReportRoutes(app as unknown as FastifyInstance, rt.reports, requireUser);
  await registerTsaRoutes(app as unknown as FastifyInstance, rt.signing.localTsa);
  registerDeliveryRoutes(app as unknown as FastifyInstance, rt.deliveries, requireUser);
  // Critical and incidental findings (C1-C3, L3, W11), with the live alert stream.
  registerFindingRoutes(app as unknown as FastifyInstance, rt.findings, requireUser, { auth: rt.auth });
  app.addHook('onSend', async (req, reply) => {
    // Medical data and session state are never cached by browsers or proxies (S6).
    if (req.url.startsWith('/api/') || req.url.startsWith('/dicomweb/')) reply.header('cache-control', 'no-store');
    // The page itself is revalidated on every load so a new release takes effect at once.
    else if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('cache-control', 'no-cache');
  });

  const archiveOptions: ArchivePluginOptions = {
    intake: rt.intake,
    blobs: rt.blobs,
    maxUploadBytes: rt.config.maxUploadBytes,
    maxInstanceBytes: rt.config.dicom.maxInstanceBytes,
    authenticate: (req, scope) => bearerActor(rt.tokens, req, scope),
    queries: rt.queries,
    audit: rt.audit,
    reader: async (req) => {
      const actor = req.headers.authorization ? await bearerActor(rt.tokens, req, 'dicomweb:read') : req.user;
      if (!actor) throw new AppError('unauthenticated', 'log in, or send an API token with the dicomweb:read scope');
      const scope = medicalScope(actor);
      if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading studies');
      return { actor, scope };
    },
    retriever: async (req) => {
      const actor = await bearerActor(rt.tokens, req, 'dicomweb:read');
      return { actor, scope: medicalScope(actor) };
    },
    files: rt.files,
    publicUrl: rt.config.publicUrl,
    renderer: rt.renderer,
    // The reader's terminal calibrates rendered images (Q2); API tokens get none.
    outputLutFor: (actor, facilityId) => rt.terminals.displayFor(actor, facilityId),
  };
  await app.register(archivePlugin, { prefix: '/dicomweb', ...archiveOptions });
  // FHIR R4 orders (JP Core ServiceRequest) for facility systems' API tokens.
  // AI results attached to studies (I1): POST /fhir/R4/Observation with an ai:write token.
  await app.register(aiFindingsFhirPlugin, {
    prefix: '/fhir/R4',
    authenticate: (req, scope) => bearerActor(rt.tokens, req, scope),
    attach: (actor, f) => rt.reports.addAiFinding(actor, f.studyUid, { source: f.source, text: f.text }),
  });
  // Read confirmations of delivered reports (W8): POST /fhir/R4/Communication.
  await app.register(deliveryFhirPlugin, { prefix: '/fhir/R4', service: rt.deliveries, authenticate: (req, scope) => bearerActor(rt.tokens, req, scope) });
  await app.register(fhirPlugin, {
    prefix: '/fhir/R4',
    authenticate: (req, scope) => bearerActor(rt.tokens, req, scope),
    orders: rt.orders,
    // The writer reads back what it wrote (its token may hold orders:write only).
    read: async (actor, id) => {
      const reader = actor.kind === 'token' && !actor.scopes.includes('orders:read') ? { ...actor, scopes: [...actor.scopes, 'orders:read'] } : actor;
      return rt.orders.detail(reader, id).then(fhirViewOfOrder, (e: unknown) => {
        if (e instanceof AppError && e.code === 'not_found') return undefined;
        throw e;
      });
    },
  });
  await app.register(retrievalPlugin, archiveOptions);
  // The web application, with history fallback for its client-side routes.
  await app.register(fastifyStatic, { root: WEB_DIST, wildcard: false, index: ['index.html'] });
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/dicomweb/') && !req.url.startsWith('/fhir/')) {
      return reply.sendFile('index.html');
    }
    return reply.code(404).send({ error: 'not_found', message: 'no such resource' });
  });
  return app as unknown as FastifyInstance;
}
