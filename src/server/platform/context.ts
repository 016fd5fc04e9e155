/**
 * Who is acting. Every service call receives an actor; services decide from it what
 * is allowed and which facilities' data it may touch (ARCHITECTURE rule 2).
 */

/** A role held at a facility, or at the reading provider (`facilityId` null). */
export interface Grant {
  role: string;
  facilityId: string | null;
}

/** The acting party of a service call. */
export type Actor =
  /** A person logged in to the web application. */
  | { kind: 'user'; userId: string; username: string; grants: readonly Grant[]; address: string; sessionId: string }
  /** An operator at the server's console (the `enkaku` CLI) or Enkaku itself. */
  | { kind: 'system'; name: string }
  /** A facility's DICOM device, identified by its registered calling AE title. */
  | { kind: 'device'; facilityId: string; aet: string; address: string }
  /** A facility system using a scoped API token. */
  | { kind: 'token'; facilityId: string; tokenId: string; scopes: readonly string[]; address: string };

/** Whether the actor holds a role, at the given facility (or at any facility / the provider when omitted). */
export function hasRole(actor: Actor, role: string, facilityId?: string | null): boolean {
  if (actor.kind !== 'user') return false;
  return actor.grants.some((g) => g.role === role && (facilityId === undefined || g.facilityId === facilityId));
}

/** A short, PHI-free description of the actor for logs. */
export function describeActor(actor: Actor): string {
  switch (actor.kind) {
    case 'system':
      return `system:${actor.name}`;
    case 'device':
      return `aet:${actor.aet}`;
    case 'token':
      return `token:${actor.tokenId}`;
    case 'user':
      return `user:${actor.userId}`;
  }
}
