/**
 * Who may do what with reading terminals, as the web application shows it. The server decides
 * (quality/service.ts, ARCHITECTURE rule 2); these mirror its rules so that the page offers
 * only what will be accepted.
 */
import type { ReadingTerminal, SessionUser } from '../../../shared/api.ts';

/** Registering, changing and retiring terminals: system administrators and the management physician. */
export function canManageTerminals(user: Pick<SessionUser, 'grants'>): boolean {
  return user.grants.some((g) => g.role === 'system-admin' || g.role === 'management-physician');
}

/**
 * Recording a terminal's constancy test: the managers, and the technologists of the
 * terminal's facility (a provider terminal: technologists granted at the provider).
 */
export function canRecordConstancy(user: Pick<SessionUser, 'grants'>, terminal: Pick<ReadingTerminal, 'facilityId'>): boolean {
  return canManageTerminals(user) || user.grants.some((g) => g.role === 'technologist' && g.facilityId === terminal.facilityId);
}
