/**
 * Which parts of the application a user's roles open. This only decides what the web
 * application shows: the server authorises every request itself (ARCHITECTURE rule 2).
 */
import type { Role, SessionUser } from '../../shared/api.ts';

/** Whether the user holds any of `roles` (at any facility or at the reading provider). */
export function hasAnyRole(user: Pick<SessionUser, 'grants'>, ...roles: Role[]): boolean {
  return user.grants.some((grant) => roles.includes(grant.role));
}

/** User administration: system administrators, and facility administrators for their facility. */
export function canManageUsers(user: Pick<SessionUser, 'grants'>): boolean {
  return hasAnyRole(user, 'system-admin', 'facility-admin');
}

/** The audit trail: auditors and system administrators (S4). */
export function canReadAudit(user: Pick<SessionUser, 'grants'>): boolean {
  return hasAnyRole(user, 'system-admin', 'auditor');
}

/** Security alerts (S11): the same people who read the audit trail. */
export function canSeeAlerts(user: Pick<SessionUser, 'grants'>): boolean {
  return hasAnyRole(user, 'system-admin', 'auditor');
}

/**
 * Physician credentials (licences, certifications, training) and the qualification check:
 * system administrators and the management physician at the reading provider (L3).
 * Facility administrators manage accounts, not credentials.
 */
export function canManageCredentials(user: Pick<SessionUser, 'grants'>): boolean {
  return user.grants.some(
    (grant) => grant.role === 'system-admin' || (grant.role === 'management-physician' && grant.facilityId === null),
  );
}

/**
 * The users page: account administrators, and the management physician, who opens the
 * credentials of physicians from there.
 */
export function canOpenUsersPage(user: Pick<SessionUser, 'grants'>): boolean {
  return canManageUsers(user) || canManageCredentials(user);
}

/**
 * Studies and the viewer: the roles that read a facility's images (the server's medical
 * scope decides which facilities).
 */
export function canReadImages(user: Pick<SessionUser, 'grants'>): boolean {
  return hasAnyRole(user, 'attending-physician', 'technologist', 'radiologist', 'management-physician', 'transcriptionist');
}

/**
 * Monitor QC (Q1): the physicians who read at a terminal record its daily check; system
 * administrators and the management physician look after the terminals; the facility's
 * technologists record its constancy tests.
 */
export function canUseMonitorQc(user: Pick<SessionUser, 'grants'>): boolean {
  return hasAnyRole(user, 'radiologist', 'management-physician', 'system-admin', 'technologist');
}
