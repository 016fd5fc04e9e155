/**
 * Security module: personal accounts and role grants, login with a second factor,
 * sessions, API tokens for facility systems.
 */
export { TokenService, TOKEN_SCOPES, type TokenScope } from './tokens.ts';
export { AccountService, PHYSICIAN_ROLES, randomInitialPassword } from './accounts.ts';
export { AuthService, DEFAULT_AUTH, LockedError, type AuthEvent, type AuthSettings, type ClientInfo } from './auth.ts';
export { AccountRepository } from './repository.ts';
export { medicalScope } from './scope.ts';
export { SecurityAlerts, DEFAULT_THRESHOLDS, type AlertThresholds } from './alerts.ts';
export { CredentialService, CERTIFICATIONS, LICENCE_KINDS, tokyoDate, type Qualification } from './credentials.ts';
export { registerSecurityRoutes, registerSessionHook, requireUser, SESSION_COOKIE } from './routes.ts';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import type { AuthService } from './auth.ts';
import { SESSION_COOKIE } from './routes.ts';
import type { TokenService } from './tokens.ts';

/**
 * Authenticates a facility system by its `Authorization: Bearer` API token and checks
 * that the token carries `scope`.
 * @throws AppError unauthenticated (no or bad token) or forbidden (scope missing)
 */
export async function bearerActor(tokens: TokenService, req: FastifyRequest, scope: string): Promise<Extract<Actor, { kind: 'token' }>> {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new AppError('unauthenticated', 'an API token is required (Authorization: Bearer ...)');
  const actor = await tokens.authenticate(m[1]!, req.ip);
  if (!actor) throw new AppError('unauthenticated', 'the API token is unknown or revoked');
  if (!actor.scopes.includes(scope)) throw new AppError('forbidden', `the API token lacks the ${scope} scope`);
  return actor;
}

/**
 * For long-lived streams: resolves a request's session cookie again, without extending
 * the session, to the user it now stands for (undefined once it has ended).
 */
export function sessionRecheck(auth: Pick<AuthService, 'resolve'>): (req: FastifyRequest) => Promise<Extract<Actor, { kind: 'user' }> | undefined> {
  return async (req) => {
    const cookie = req.cookies?.[SESSION_COOKIE] ?? '';
    const client = { address: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
    return (await auth.resolve(cookie, client, false))?.actor;
  };
}
