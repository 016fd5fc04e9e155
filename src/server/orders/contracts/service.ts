/**
 * Facility contracts (L5, A5): what the provider reads for a facility and how, who is
 * called for a critical finding, how reports reach the EMR and who confirms a manual
 * transcription, how long the reading copy is kept, whether the facility's records may be
 * shown to other facilities (W3, S1), whether readers pass the daily monitor check first,
 * and the opt-out notice for patients. Every change is a new version, audited in the same
 * transaction (ARCHITECTURE rule 3).
 *
 * Who changes what (the provider's terms are the provider's): operators, system
 * administrators and the management physician change every term; a facility administrator
 * changes the contact ladder of their own facility only (its people and numbers are theirs
 * to keep current); nobody else changes anything.
 */
import type { Kysely } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import type { FacilityContractTerms, FacilityContractVersionView, FacilityContractView } from '../../../shared/api.ts';
import { describeActor, type Actor } from '../../platform/context.ts';
import type { Database, FacilityContract } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import { contractChangeRight, mayReadContract } from '../access.ts';
import { isUniqueViolation } from '../db-errors.ts';
import { ContractRepository } from './repository.ts';
import { DEFAULT_TERMS, changedFields, validateTerms } from './validate.ts';

/** Terms of a stored row. */
function termsOf(row: FacilityContract): FacilityContractTerms {
  return {
    scope: { modalities: row.modalities ? row.modalities.split(',') : [], bodyParts: JSON.parse(row.body_parts) as string[] },
    dueMinutes: { stat: row.due_stat_minutes, urgent: row.due_urgent_minutes, routine: row.due_routine_minutes },
    retentionDays: row.retention_days,
    contactLadder: JSON.parse(row.contact_ladder) as FacilityContractTerms['contactLadder'],
    delivery: { route: row.delivery_route as FacilityContractTerms['delivery']['route'], transcriptionConfirmer: row.transcription_confirmer },
    onwardSharing: row.onward_sharing === 1,
    monitorCheckRequired: row.monitor_check_required === 1,
    doubleReading: row.double_reading === 1,
    optOutNotice: row.opt_out_notice,
  };
}

function defaults(): FacilityContractTerms {
  return structuredClone(DEFAULT_TERMS) as FacilityContractTerms;
}

/** Facility contracts: reading, changing (versioned, audited) and the terms other services need. */
export class ContractService {
  private readonly repo: ContractRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService<Database>,
    private readonly facilityExists: (id: string) => Promise<boolean>,
  ) {
    this.repo = new ContractRepository(db);
  }

  /**
   * The contract of a facility as its readers see it (defaults while none is on record).
   * @throws AppError forbidden (not a contract reader of this facility), not_found (no such facility)
   */
  async get(actor: Actor, facilityId: string): Promise<FacilityContractView> {
    if (!mayReadContract(actor, facilityId)) throw new AppError('forbidden', 'only administrators and the provider\'s physicians read facility contracts');
    if (!(await this.facilityExists(facilityId))) throw new AppError('not_found', 'no such facility');
    return this.current(facilityId);
  }

  /** Every version of a facility's contract, newest first (same readers as {@link get}). */
  async history(actor: Actor, facilityId: string): Promise<FacilityContractVersionView[]> {
    if (!mayReadContract(actor, facilityId)) throw new AppError('forbidden', 'only administrators and the provider\'s physicians read facility contracts');
    if (!(await this.facilityExists(facilityId))) throw new AppError('not_found', 'no such facility');
    return (await this.repo.versions(facilityId)).map((v) => ({ version: v.version, terms: JSON.parse(v.terms) as FacilityContractTerms, changedAt: v.changed_at, changedBy: v.changed_by }));
  }

  /**
   * Replaces a facility's contract terms with a new version, audited in the same
   * transaction. Sending the terms in force changes nothing.
   * @throws AppError forbidden (see the module notes for who changes what), not_found,
   *         bad_request naming the field at fault, conflict when changed meanwhile
   */
  async set(actor: Actor, facilityId: string, body: unknown): Promise<FacilityContractView> {
    const right = contractChangeRight(actor, facilityId);
    if (right === 'none') throw new AppError('forbidden', 'only system administrators and the management physician change facility contracts');
    if (!(await this.facilityExists(facilityId))) throw new AppError('not_found', 'no such facility');
    const terms = validateTerms(body);
    try {
      await this.db.transaction().execute(async (trx) => {
        const repo = new ContractRepository(trx);
        const current = await repo.get(facilityId);
        const changed = changedFields(current ? termsOf(current) : defaults(), terms);
        if (right === 'ladder' && changed.some((f) => f !== 'contactLadder')) {
          throw new AppError('forbidden', `a facility administrator may change the contact ladder only; ${changed.filter((f) => f !== 'contactLadder').join(', ')} are terms of the reading provider (L5)`);
        }
        if (current && changed.length === 0) return;
        const version = (current?.version ?? 0) + 1;
        const now = new Date().toISOString();
        const by = describeActor(actor);
        await repo.save({
          facility_id: facilityId,
          modalities: terms.scope.modalities.join(','),
          body_parts: JSON.stringify(terms.scope.bodyParts),
          due_stat_minutes: terms.dueMinutes.stat,
          due_urgent_minutes: terms.dueMinutes.urgent,
          due_routine_minutes: terms.dueMinutes.routine,
          retention_days: terms.retentionDays,
          contact_ladder: JSON.stringify(terms.contactLadder),
          delivery_route: terms.delivery.route,
          transcription_confirmer: terms.delivery.transcriptionConfirmer,
          onward_sharing: terms.onwardSharing ? 1 : 0,
          monitor_check_required: terms.monitorCheckRequired ? 1 : 0,
          double_reading: terms.doubleReading ? 1 : 0,
          opt_out_notice: terms.optOutNotice,
          version,
          updated_at: now,
          updated_by: by,
        });
        await repo.addVersion({ facility_id: facilityId, version, terms: JSON.stringify(terms), changed_at: now, changed_by: by });
        await this.audit.append(trx, {
          actor,
          action: 'facility.contract-change',
          object: { type: 'facility', id: facilityId },
          facilityId,
          details: { version, changed: current ? changed : ['(first version)', ...changed], onwardSharing: terms.onwardSharing, deliveryRoute: terms.delivery.route },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'the contract was changed meanwhile; reload it and try again');
      throw err;
    }
    return this.current(facilityId);
  }

  /** The terms in force for a facility (defaults while none is on record), without an access check: for other services. */
  async current(facilityId: string): Promise<FacilityContractView> {
    const row = await this.repo.get(facilityId);
    if (!row) return { facilityId, configured: false, version: 0, updatedAt: null, updatedBy: null, ...defaults() };
    return { facilityId, configured: true, version: row.version, updatedAt: row.updated_at, updatedBy: row.updated_by, ...termsOf(row) };
  }

  /** Which of these facilities allow onward sharing of their records (W3, S1); unknown or unconfigured ones do not. */
  async sharingFacilities(facilityIds: readonly string[]): Promise<Set<string>> {
    const rows = await this.repo.many([...new Set(facilityIds)]);
    return new Set(rows.filter((r) => r.onward_sharing === 1).map((r) => r.facility_id));
  }
}
