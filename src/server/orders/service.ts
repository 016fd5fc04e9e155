/**
 * Requesting facilities and the calling AE titles bound to them. Full contracts (scope,
 * due times, contact ladders) extend this service.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError } from '../platform/errors.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database, Facility } from '../platform/db/schema.ts';
import { FacilityRepository } from './repository.ts';

/** AE title rules of PS3.5 §6.2 (AE VR): 1-16 characters, no backslash or control characters, not all spaces. */
export function validateAet(aet: string): string {
  const t = aet.trim();
  if (!t || t.length > 16 || !/^[\x20-\x5b\x5d-\x7e]+$/.test(t)) {
    throw new AppError('bad_request', `invalid AE title "${aet}": 1-16 printable ASCII characters without a backslash`);
  }
  return t;
}

/** Facility administration and AE title lookup. */
export class FacilityService {
  private readonly repo: FacilityRepository;

  constructor(db: Kysely<Database>) {
    this.repo = new FacilityRepository(db);
  }

  /**
   * Registers a requesting facility with the calling AE titles it may use.
   * @throws AppError conflict when the name or an AE title is already registered
   */
  async add(actor: Actor, input: { name: string; aets: string[] }): Promise<Facility & { aets: string[] }> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may register facilities');
    const name = input.name.trim();
    if (!name || name.length > 200) throw new AppError('bad_request', 'facility name must be 1-200 characters');
    const aets = [...new Set(input.aets.map(validateAet))];
    if (await this.repo.byName(name)) throw new AppError('conflict', `a facility named "${name}" already exists`);
    const taken = await this.repo.existingAets(aets);
    if (taken.length) throw new AppError('conflict', `AE title already registered: ${taken.join(', ')}`);
    const facility: Facility = { id: randomUUID(), name, created_at: new Date().toISOString() };
    await this.repo.insert(facility, aets);
    return { ...facility, aets };
  }

  /** Binds more calling AE titles to a facility. */
  async addAets(actor: Actor, facilityName: string, aets: string[]): Promise<void> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may register AE titles');
    const facility = await this.repo.byName(facilityName);
    if (!facility) throw new AppError('not_found', `no facility named "${facilityName}"`);
    const clean = [...new Set(aets.map(validateAet))];
    const taken = await this.repo.existingAets(clean);
    if (taken.length) throw new AppError('conflict', `AE title already registered: ${taken.join(', ')}`);
    await this.repo.addAets(facility.id, clean, new Date().toISOString());
  }

  /** The facility a calling AE title belongs to, or undefined when the AE is unknown. */
  async byCallingAet(aet: string): Promise<Facility | undefined> {
    return this.repo.byAet(aet.trim());
  }

  /** Looks a facility up by name. */
  async byName(name: string): Promise<Facility | undefined> {
    return this.repo.byName(name);
  }

  /**
   * Lists facilities with their AE titles: all of them for operators, system
   * administrators and the management physician, their own for facility administrators.
   */
  async list(actor: Actor): Promise<Array<Facility & { aets: string[] }>> {
    const all = await this.repo.list();
    if (actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null)) return all;
    if (actor.kind === 'user') {
      const own = new Set(actor.grants.filter((g) => g.role === 'facility-admin').map((g) => g.facilityId));
      if (own.size) return all.filter((f) => own.has(f.id));
    }
    throw new AppError('forbidden', 'only administrators may list facilities');
  }

  /** Whether a facility exists. */
  async exists(id: string): Promise<boolean> {
    return Boolean(await this.repo.byId(id));
  }

  /** A facility's name. */
  async nameOf(id: string): Promise<string | undefined> {
    return (await this.repo.byId(id))?.name;
  }
}
