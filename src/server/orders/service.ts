/**
 * Requesting facilities and the calling AE titles bound to them. Full contracts (scope,
 * due times, contact ladders) extend this service.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError } from '../platform/errors.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { Database, DicomNode, Facility } from '../platform/db/schema.ts';
import { FacilityRepository } from './repository.ts';

/** AE title rules of PS3.5 §6.2 (AE VR): 1-16 characters, no backslash or control characters, not all spaces. */
export function validateAet(aet: string): string {
  const t = aet.trim();
  if (!t || t.length > 16 || !/^[\x20-\x5b\x5d-\x7e]+$/.test(t)) {
    throw new AppError('bad_request', `invalid AE title "${aet}": 1-16 printable ASCII characters without a backslash`);
  }
  return t;
}

/** A DICOM node to register for a facility. */
export interface NodeInput {
  aet: string;
  host: string;
  port: number;
  tls: boolean;
  /** The facility's PACS: queried and retrieved for prior studies. */
  query: boolean;
  /** May be named as C-MOVE destination by the facility. */
  destination: boolean;
}

/** The prior-study policy of a facility, as callers see it. */
export interface PriorPolicyView {
  enabled: boolean;
  years: number;
  modalities: string[];
  maxStudies: number;
  retrieve: 'get' | 'move';
}

/** Default prior policy: off until the facility's PACS and limits are registered. */
export const DEFAULT_PRIOR_POLICY: PriorPolicyView = { enabled: false, years: 5, modalities: [], maxStudies: 5, retrieve: 'get' };

/** Facility administration and AE title lookup. */
export class FacilityService {
  private readonly repo: FacilityRepository;
  /**
   * Facilities known to exist. Facilities are never removed, so a facility found once exists
   * for good; one not found is looked up again next time (another process may add it).
   */
  private readonly known = new Set<string>();

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

  /** Whether a facility exists (asked for every message an interface delivers). */
  async exists(id: string): Promise<boolean> {
    if (this.known.has(id)) return true;
    const found = Boolean(await this.repo.byId(id));
    if (found) this.known.add(id);
    return found;
  }

  /** A facility's name. */
  async nameOf(id: string): Promise<string | undefined> {
    return (await this.repo.byId(id))?.name;
  }

  /**
   * Registers a DICOM node of a facility: its PACS (queried for priors) and/or a C-MOVE
   * destination. Only registered nodes are ever called (PS3.4 C.4.2: the move destination
   * is looked up, never taken from the request's address).
   */
  async addNode(actor: Actor, facilityName: string, input: NodeInput): Promise<DicomNode> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may register DICOM nodes');
    const facility = await this.repo.byName(facilityName);
    if (!facility) throw new AppError('not_found', `no facility named "${facilityName}"`);
    const aet = validateAet(input.aet);
    const host = input.host.trim();
    if (!host || host.length > 253 || !/^[A-Za-z0-9.:_-]+$/.test(host)) throw new AppError('bad_request', `invalid host "${input.host}"`);
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new AppError('bad_request', `invalid port ${input.port}`);
    if (!input.query && !input.destination) throw new AppError('bad_request', 'a node must be the facility PACS (--query), a move destination (--destination), or both');
    if (await this.repo.node(facility.id, aet)) throw new AppError('conflict', `AE title ${aet} is already registered as a node of "${facilityName}"`);
    const node: DicomNode = {
      id: randomUUID(),
      facility_id: facility.id,
      aet,
      host,
      port: input.port,
      tls: input.tls ? 1 : 0,
      query: input.query ? 1 : 0,
      destination: input.destination ? 1 : 0,
      created_at: new Date().toISOString(),
    };
    await this.repo.insertNode(node);
    return node;
  }

  /** The DICOM nodes registered for a facility. */
  async nodes(facilityId: string): Promise<DicomNode[]> {
    return this.repo.nodes(facilityId);
  }

  /** The registered C-MOVE destination with this AE title for a facility, if any. */
  async moveDestination(facilityId: string, aet: string): Promise<DicomNode | undefined> {
    const n = await this.repo.node(facilityId, aet.trim());
    return n && n.destination ? n : undefined;
  }

  /** The facility's PACS queried for priors (the first node registered with `query`). */
  async priorSource(facilityId: string): Promise<DicomNode | undefined> {
    return (await this.repo.nodes(facilityId)).find((n) => n.query === 1);
  }

  /** The facility's prior-study policy (defaults when none was set). */
  async priorPolicy(facilityId: string): Promise<PriorPolicyView> {
    const p = await this.repo.priorPolicy(facilityId);
    if (!p) return { ...DEFAULT_PRIOR_POLICY };
    return {
      enabled: p.enabled === 1,
      years: p.years,
      modalities: p.modalities ? p.modalities.split(',') : [],
      maxStudies: p.max_studies,
      retrieve: p.retrieve === 'move' ? 'move' : 'get',
    };
  }

  /** Sets how far back and which prior studies are pulled from a facility's PACS (W3, §3-1). */
  async setPriorPolicy(actor: Actor, facilityName: string, input: Partial<PriorPolicyView>): Promise<PriorPolicyView> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may set the prior-study policy');
    const facility = await this.repo.byName(facilityName);
    if (!facility) throw new AppError('not_found', `no facility named "${facilityName}"`);
    const next = { ...(await this.priorPolicy(facility.id)), ...input };
    if (!Number.isInteger(next.years) || next.years < 0 || next.years > 100) throw new AppError('bad_request', 'years must be 0-100');
    if (!Number.isInteger(next.maxStudies) || next.maxStudies < 1 || next.maxStudies > 100) throw new AppError('bad_request', 'max studies must be 1-100');
    const modalities = [...new Set(next.modalities.map((m) => m.trim().toUpperCase()).filter(Boolean))];
    for (const m of modalities) if (!/^[A-Z0-9]{1,16}$/.test(m)) throw new AppError('bad_request', `invalid modality "${m}"`);
    if (next.retrieve !== 'get' && next.retrieve !== 'move') throw new AppError('bad_request', 'retrieve must be get or move');
    if (next.enabled && !(await this.priorSource(facility.id))) throw new AppError('bad_request', `register the PACS of "${facilityName}" first (facility add-node --query)`);
    await this.repo.savePriorPolicy({
      facility_id: facility.id,
      enabled: next.enabled ? 1 : 0,
      years: next.years,
      modalities: modalities.join(','),
      max_studies: next.maxStudies,
      retrieve: next.retrieve,
      updated_at: new Date().toISOString(),
    });
    return { ...next, modalities };
  }
}
