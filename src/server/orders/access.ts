/**
 * Who may do what in the orders module (ARCHITECTURE rule 2: the services decide, routes
 * only authenticate). Medical data follow the facility scope of src/server/security/scope.ts;
 * administration of contracts, the master patient index and the reconciliation queue have
 * their own role lists, written down here so that every service asks the same question.
 */
import { hasRole, type Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { medicalScope } from '../security/index.ts';

/** Roles of a facility's staff who send orders by the web form (W1). */
const ORDER_FORM_ROLES = ['technologist', 'attending-physician'];
/** Facility roles that work the reconciliation queue of their facility (W2). */
const RECONCILE_ROLES = ['facility-admin', 'technologist', 'attending-physician', 'radiologist'];
/** Facility roles that record a patient's opt-out declared at their facility (S1). */
const OPT_OUT_ROLES = ['facility-admin', 'attending-physician'];
/** Roles that write protocol instructions (W5): radiologists, at the provider or at the order's facility. */
const PROTOCOL_ROLES = ['radiologist', 'management-physician'];

/** 'all' or the facilities whose orders, patients and clinical data the actor may read. */
export function readScope(actor: Actor): 'all' | string[] {
  return medicalScope(actor, 'orders:read');
}

/**
 * Refuses an actor who reads no facility's data at all (403), and hides what lies outside
 * the actor's facilities (404), so that ids of other facilities' records reveal nothing.
 * @throws AppError forbidden or not_found
 */
export function assertReadable(actor: Actor, facilityId: string, what: string): void {
  const scope = readScope(actor);
  if (scope === 'all') return;
  if (scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading orders or patient data');
  if (!scope.includes(facilityId)) throw new AppError('not_found', `no such ${what}`);
}

/** Refuses, before anything is looked up, an actor who reads no facility's data. */
export function assertReadsSomething(actor: Actor): void {
  const scope = readScope(actor);
  if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading orders or patient data');
}

/**
 * Whether the actor may send orders, patient updates and clinical items for a facility:
 * operators and Enkaku's interfaces (system), the facility's devices bound to it (the MLLP
 * connection), its systems with an `orders:write` token, and its technologists and
 * attending physicians (the web form).
 */
export function maySendFor(actor: Actor, facilityId: string, users: 'form' | 'none' = 'form'): boolean {
  switch (actor.kind) {
    case 'system':
      return true;
    case 'device':
      return actor.facilityId === facilityId;
    case 'token':
      return actor.facilityId === facilityId && actor.scopes.includes('orders:write');
    case 'user':
      return users === 'form' && ORDER_FORM_ROLES.some((r) => hasRole(actor, r, facilityId));
  }
}

/** Throws forbidden unless {@link maySendFor}. */
export function assertMaySendFor(actor: Actor, facilityId: string, users: 'form' | 'none' = 'form'): void {
  if (!maySendFor(actor, facilityId, users)) throw new AppError('forbidden', 'you may not send orders or patient data for this facility');
}

/** Whether a user may use the order form at some facility (checked before the body is read). */
export function mayUseOrderForm(actor: Actor): boolean {
  return actor.kind === 'user' && actor.grants.some((g) => g.facilityId !== null && ORDER_FORM_ROLES.includes(g.role));
}

/**
 * Contract readers (L5): system administrators, the management physician and the provider's
 * radiologists, and the facility's own administrators.
 */
export function mayReadContract(actor: Actor, facilityId: string): boolean {
  if (actor.kind === 'system') return true;
  return hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null) || hasRole(actor, 'radiologist', null) || hasRole(actor, 'facility-admin', facilityId);
}

/**
 * Who changes a contract: 'all' terms for operators, system administrators and the
 * management physician (the provider's side of the contract); 'ladder' (the contact ladder
 * only: the facility's own people and numbers) for the facility's administrators;
 * 'none' for anyone else.
 */
export function contractChangeRight(actor: Actor, facilityId: string): 'all' | 'ladder' | 'none' {
  if (actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null)) return 'all';
  if (hasRole(actor, 'facility-admin', facilityId)) return 'ladder';
  return 'none';
}

/**
 * Master patient index stewards (W3): operators, system administrators and the management
 * physician, who link and unlink records of different facilities.
 */
export function isMpiSteward(actor: Actor): boolean {
  return actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null);
}

/** Who records or withdraws a patient's opt-out (S1): MPI stewards and the patient's facility administrators and attending physicians. */
export function mayRecordOptOut(actor: Actor, facilityId: string): boolean {
  return isMpiSteward(actor) || OPT_OUT_ROLES.some((r) => hasRole(actor, r, facilityId));
}

/** Whether the actor records opt-outs anywhere (checked before the patient is looked up). */
export function mayRecordOptOuts(actor: Actor): boolean {
  return isMpiSteward(actor) || (actor.kind === 'user' && actor.grants.some((g) => g.facilityId !== null && OPT_OUT_ROLES.includes(g.role)));
}

/** 'all', or the facilities whose reconciliation queue the actor works (W2). */
export function reconcileScope(actor: Actor): 'all' | string[] {
  if (actor.kind === 'system' || hasRole(actor, 'system-admin')) return 'all';
  if (actor.kind !== 'user') return [];
  return [...new Set(actor.grants.filter((g) => g.facilityId && RECONCILE_ROLES.includes(g.role)).map((g) => g.facilityId!))];
}

/** Whether the actor writes protocol instructions for an order of this facility (W5). */
export function mayWriteProtocol(actor: Actor, facilityId: string): boolean {
  return PROTOCOL_ROLES.some((r) => hasRole(actor, r, null) || hasRole(actor, r, facilityId));
}

/** The display name of an actor for threads and protocols. */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return actor.username;
    case 'system':
      return actor.name;
    case 'device':
      return actor.aet;
    case 'token':
      return `token ${actor.tokenId}`;
  }
}
