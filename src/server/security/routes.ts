/**
 * HTTP routes of the security module under `/api` (contract: src/shared/api.ts). Route
 * hooks only authenticate (session cookie, CSRF header); the services decide what the
 * actor may do (ARCHITECTURE rule 2).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { AppError } from '../platform/errors.ts';
import type { Actor } from '../platform/context.ts';
import type { CreateUserRequest, FacilitySummary, LoginRequest, MfaRequest, PasswordChangeRequest, SetGrantsRequest, SetupRequest } from '../../shared/api.ts';
import type { AccountService } from './accounts.ts';
import type { AuthService, ClientInfo, RelyingParty } from './auth.ts';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { CredentialService } from './credentials.ts';
import type { SecurityAlerts } from './alerts.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'enkaku_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in user, when the request carries a valid session. */
    user?: Extract<Actor, { kind: 'user' }>;
  }
}

/** What the routes need. */
export interface SecurityRouteDeps {
  auth: AuthService;
  accounts: AccountService;
  credentials: CredentialService;
  alerts: SecurityAlerts;
  publicUrl: string | undefined;
  facilities: (actor: Actor) => Promise<FacilitySummary[]>;
  secureCookies: boolean;
}

const str = (v: unknown, name: string, max = 500): string => {
  if (typeof v !== 'string' || v.length > max) throw new AppError('bad_request', `${name} is required`);
  return v;
};

function client(req: FastifyRequest): ClientInfo {
  return { address: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Paths a user may reach before accepting the agreement or changing a forced password. */
const GATE_FREE = new Set(['/api/session', '/api/me/agreement', '/api/me/password', '/api/auth/logout']);

/**
 * Resolves the session cookie of every `/api` request into `req.user` and enforces the
 * CSRF header on state-changing requests made with a session.
 */
export function registerSessionHook(app: FastifyInstance, auth: AuthService): void {
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/') && !req.url.startsWith('/dicomweb/')) return;
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (!cookie) return;
    const resolved = await auth.resolve(cookie, client(req));
    if (!resolved) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const header = String(req.headers['x-csrf-token'] ?? '');
      if (!header || !sameToken(header, resolved.csrf)) throw new AppError('forbidden', 'missing or wrong CSRF token (x-csrf-token)');
    }
    const path = req.url.split('?')[0]!;
    if (!GATE_FREE.has(path)) {
      if (resolved.info.user.mustAcceptAgreement) throw new AppError('forbidden', 'the confidentiality agreement must be accepted first');
      if (resolved.info.user.mustChangePassword) throw new AppError('forbidden', 'the password must be changed first');
    }
    req.user = resolved.actor;
  });
}

/** The logged-in user or a 401. */
export function requireUser(req: FastifyRequest): Extract<Actor, { kind: 'user' }> {
  if (!req.user) throw new AppError('unauthenticated', 'not logged in');
  return req.user;
}

/** Registers `/api/setup`, `/api/auth/*`, `/api/session`, `/api/me/*` and `/api/admin/*`. */
export function registerSecurityRoutes(app: FastifyInstance, deps: SecurityRouteDeps): void {
  const { auth, accounts } = deps;
  const setCookie = (reply: FastifyReply, value: string): void => {
    reply.setCookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: deps.secureCookies, path: '/' });
  };

  app.get('/api/setup', async () => ({ needed: await auth.setupNeeded() }));
  app.post<{ Body: SetupRequest }>('/api/setup', async (req, reply) => {
    const b = req.body ?? ({} as SetupRequest);
    await auth.completeSetup(
      { token: str(b.token, 'token'), username: str(b.username, 'username', 64), displayName: str(b.displayName, 'displayName', 100), password: str(b.password, 'password', 256) },
      client(req),
    );
    return reply.code(201).send({ ok: true });
  });

  app.post<{ Body: LoginRequest }>('/api/auth/login', async (req, reply) => {
    const b = req.body ?? ({} as LoginRequest);
    const { cookie, response } = await auth.login(str(b.username, 'username', 64), str(b.password, 'password', 256), client(req));
    setCookie(reply, cookie);
    return response;
  });
  app.post<{ Body: MfaRequest }>('/api/auth/mfa', async (req, reply) => {
    const cookie = req.cookies?.[SESSION_COOKIE] ?? '';
    const { cookie: fresh, response } = await auth.secondFactor(cookie, str(req.body?.code, 'code', 12), client(req));
    setCookie(reply, fresh);
    return response;
  });
  app.post('/api/auth/logout', async (req, reply) => {
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (cookie) await auth.logout(cookie, client(req));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/session', async (req) => {
    const cookie = req.cookies?.[SESSION_COOKIE] ?? '';
    const info = await auth.session(cookie, client(req));
    if (!info) throw new AppError('unauthenticated', 'not logged in');
    return info;
  });
  app.post('/api/me/agreement', async (req) => {
    const user = requireUser(req);
    if ((req.body as { accept?: unknown } | undefined)?.accept !== true) throw new AppError('bad_request', 'accept must be true');
    await auth.acceptAgreement(user);
    return { ok: true };
  });
  app.post<{ Body: { password?: unknown } }>('/api/me/reauth', async (req) => {
    await auth.reauthenticate(requireUser(req), str(req.body?.password, 'password', 256));
    return { ok: true };
  });
  app.post<{ Body: PasswordChangeRequest }>('/api/me/password', async (req) => {
    const user = requireUser(req);
    await auth.changePassword(user, str(req.body?.currentPassword, 'currentPassword', 256), str(req.body?.newPassword, 'newPassword', 256));
    return { ok: true };
  });

  app.get('/api/admin/users', async (req) => accounts.list(requireUser(req)));
  app.post<{ Body: CreateUserRequest }>('/api/admin/users', async (req, reply) => {
    const user = requireUser(req);
    const b = req.body ?? ({} as CreateUserRequest);
    if (!Array.isArray(b.grants)) throw new AppError('bad_request', 'grants must be a list');
    const id = await accounts.create(user, {
      username: str(b.username, 'username', 64),
      displayName: str(b.displayName, 'displayName', 100),
      password: str(b.password, 'password', 256),
      grants: b.grants.map((g) => ({ role: str(g?.role, 'role', 40), facilityId: g?.facilityId ?? null })),
    });
    return reply.code(201).send({ id });
  });
  app.put<{ Params: { id: string }; Body: SetGrantsRequest }>('/api/admin/users/:id/grants', async (req) => {
    const user = requireUser(req);
    const b = req.body ?? ({} as SetGrantsRequest);
    if (!Array.isArray(b.grants)) throw new AppError('bad_request', 'grants must be a list');
    await auth.reauthenticate(user, str(b.reauthPassword, 'reauthPassword', 256));
    await accounts.setGrants(user, req.params.id, b.grants.map((g) => ({ role: str(g?.role, 'role', 40), facilityId: g?.facilityId ?? null })));
    return { ok: true };
  });
  app.post<{ Params: { id: string } }>('/api/admin/users/:id/unlock', async (req) => {
    await accounts.unlock(requireUser(req), req.params.id);
    return { ok: true };
  });
  app.post<{ Params: { id: string }; Body: { reauthPassword?: unknown } }>('/api/admin/users/:id/reset-mfa', async (req) => {
    const user = requireUser(req);
    await auth.reauthenticate(user, str(req.body?.reauthPassword, 'reauthPassword', 256));
    await accounts.resetSecondFactors(user, req.params.id);
    return { ok: true };
  });
  app.post<{ Params: { id: string } }>('/api/admin/users/:id/revoke-sessions', async (req) => {
    await accounts.revokeSessions(requireUser(req), req.params.id);
    return { ok: true };
  });
  app.get('/api/admin/facilities', async (req) => deps.facilities(requireUser(req)));

  // Passkeys (WebAuthn): the relying party is the configured public address, or the request's host.
  const rp = (req: FastifyRequest): RelyingParty => {
    const origin = deps.publicUrl ?? `${req.protocol}://${req.host}`;
    return { origin, id: new URL(origin).hostname };
  };
  app.post('/api/me/passkeys/options', async (req) => auth.passkeyRegistrationOptions(requireUser(req), rp(req)));
  app.post<{ Body: { name?: unknown; response?: unknown } }>('/api/me/passkeys', async (req, reply) => {
    const user = requireUser(req);
    if (!req.body?.response || typeof req.body.response !== 'object') throw new AppError('bad_request', 'response is required');
    const id = await auth.registerPasskey(user, typeof req.body.name === 'string' ? req.body.name : '', req.body.response as RegistrationResponseJSON, rp(req));
    return reply.code(201).send({ id });
  });
  app.get('/api/me/passkeys', async (req) => auth.listPasskeys(requireUser(req)));
  app.delete<{ Params: { id: string } }>('/api/me/passkeys/:id', async (req) => {
    await auth.deletePasskey(requireUser(req), req.params.id);
    return { ok: true };
  });
  app.post('/api/auth/passkey/options', async (req) => auth.passkeyLoginOptions(req.cookies?.[SESSION_COOKIE] ?? '', rp(req)));
  app.post<{ Body: { response?: unknown } }>('/api/auth/passkey', async (req, reply) => {
    if (!req.body?.response || typeof req.body.response !== 'object') throw new AppError('bad_request', 'response is required');
    const { cookie, response } = await auth.passkeyLogin(req.cookies?.[SESSION_COOKIE] ?? '', req.body.response as AuthenticationResponseJSON, rp(req), client(req));
    setCookie(reply, cookie);
    return response;
  });

  app.get('/api/alerts', async (req) => deps.alerts.list(requireUser(req)));
  app.post<{ Params: { id: string } }>('/api/alerts/:id/ack', async (req) => {
    await deps.alerts.acknowledge(requireUser(req), req.params.id);
    return { ok: true };
  });

  const { credentials } = deps;
  type Body = Record<string, unknown> | undefined;
  app.get<{ Params: { id: string } }>('/api/admin/users/:id/credentials', async (req) => credentials.credentials(requireUser(req), req.params.id));
  app.post<{ Params: { id: string }; Body: Body }>('/api/admin/users/:id/licences', async (req, reply) => {
    const b = req.body ?? {};
    const id = await credentials.recordLicence(requireUser(req), req.params.id, { kind: str(b.kind, 'kind', 40), number: str(b.number, 'number', 64), country: str(b.country, 'country', 2), evidence: str(b.evidence, 'evidence', 2000) });
    return reply.code(201).send({ id });
  });
  app.post<{ Params: { id: string } }>('/api/admin/licences/:id/revoke', async (req) => {
    await credentials.revokeLicence(requireUser(req), req.params.id);
    return { ok: true };
  });
  app.post<{ Params: { id: string }; Body: Body }>('/api/admin/users/:id/certifications', async (req, reply) => {
    const b = req.body ?? {};
    const id = await credentials.recordCertification(requireUser(req), req.params.id, {
      kind: str(b.kind, 'kind', 60),
      number: str(b.number, 'number', 64),
      issuedOn: str(b.issuedOn, 'issuedOn', 10),
      expiresOn: str(b.expiresOn, 'expiresOn', 10),
      evidence: str(b.evidence, 'evidence', 2000),
    });
    return reply.code(201).send({ id });
  });
  app.post<{ Params: { id: string }; Body: Body }>('/api/admin/users/:id/trainings', async (req, reply) => {
    const b = req.body ?? {};
    const id = await credentials.recordTraining(requireUser(req), req.params.id, { course: str(b.course, 'course', 200), dueOn: str(b.dueOn, 'dueOn', 10), completedOn: typeof b.completedOn === 'string' ? b.completedOn : null });
    return reply.code(201).send({ id });
  });
  app.get<{ Params: { id: string }; Querystring: { modality?: string; facilityId?: string } }>('/api/admin/users/:id/qualification', async (req) => {
    const user = requireUser(req);
    await credentials.credentials(user, req.params.id); // same visibility as the credentials themselves
    return credentials.mayRead(req.params.id, { modality: str(req.query.modality, 'modality', 16), facilityId: str(req.query.facilityId, 'facilityId', 64) });
  });
}
