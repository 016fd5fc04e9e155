/**
 * Who is acting. Every service call receives an actor; services decide from it what
 * is allowed and which facilities' data it may touch (ARCHITECTURE rule 2).
 */

/** The acting party of a service call. */
export type Actor =
  /** An operator at the server's console (the `enkaku` CLI) or Enkaku itself. */
  | { kind: 'system'; name: string }
  /** A facility's DICOM device, identified by its registered calling AE title. */
  | { kind: 'device'; facilityId: string; aet: string; address: string }
  /** A facility system using a scoped API token. */
  | { kind: 'token'; facilityId: string; tokenId: string; scopes: readonly string[]; address: string };

/** The facility an actor acts for, or undefined for the system. */
export function facilityOf(actor: Actor): string | undefined {
  return actor.kind === 'system' ? undefined : actor.facilityId;
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
  }
}
