/**
 * Which findings screens a user's roles open. Display only: the findings service decides
 * who may see, acknowledge or raise a notice (ARCHITECTURE rule 2).
 */
import type { SessionUser } from '../../../shared/api.ts';
import { hasAnyRole } from '../../app/access.ts';

type Grants = Pick<SessionUser, 'grants'>;

/**
 * The findings page and the in-app alert: the roles that may stand on a notice's ladder
 * (attending physicians and facility contacts), the readers who raise notices, and the
 * management physician (the server's LADDER_USER_ROLES; anyone else is refused).
 */
export function canSeeFindings(user: Grants): boolean {
  return hasAnyRole(user, 'attending-physician', 'technologist', 'facility-admin', 'radiologist', 'management-physician');
}

/** Raising a finding from the report editor: the physicians who read. */
export function canRaiseFindings(user: Grants): boolean {
  return hasAnyRole(user, 'radiologist', 'management-physician');
}

/** The management view (L3): management physicians and system administrators. */
export function canManageFindings(user: Grants): boolean {
  return hasAnyRole(user, 'management-physician', 'system-admin');
}
