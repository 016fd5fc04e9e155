/**
 * Physician credentials (L1, L2, L4; 医師法第17条; guideline 註3): the Japanese medical
 * licence (医籍登録番号) with its verification record, specialist certifications with
 * their domain and expiry, and training records with due dates. Other modules ask
 * {@link CredentialService.mayRead} and {@link CredentialService.maySign} before a
 * physician reads or signs: only a verified Japanese licence qualifies (a foreign licence
 * alone never does), and a valid certification must cover the study's modality.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import { hasRole, type Actor } from '../platform/context.ts';
import type { AccountRepository, CertificationRow, InTx, LicenceRow, TrainingRow } from './repository.ts';
import type { AuditService } from '../audit/index.ts';
import type { Database } from '../platform/db/schema.ts';

/** Licence kinds. */
export const LICENCE_KINDS = ['jp-medical', 'foreign-medical'] as const;

/**
 * Certifications and the modalities they qualify for reading. 放射線診断専門医 covers
 * diagnostic imaging as a whole; the others cover their own domain only.
 */
export const CERTIFICATIONS: Record<string, { ja: string; covers: (modality: string) => boolean }> = {
  'diagnostic-radiology-specialist': { ja: '放射線診断専門医', covers: () => true },
  'nuclear-medicine-specialist': { ja: '核医学専門医', covers: (m) => m === 'NM' || m === 'PT' },
  'mammography-reader': { ja: 'マンモグラフィ読影認定医', covers: (m) => m === 'MG' },
};

/** Roles that read and sign reports. */
const READING_ROLES = ['radiologist', 'management-physician'];

/** Why a physician may or may not read/sign a study. */
export interface Qualification {
  allowed: boolean;
  /** Reasons for refusal (empty when allowed). */
  problems: string[];
  /** Things to fix that do not block, such as overdue training. */
  warnings: string[];
}

/** The date in Japan (Asia/Tokyo) as YYYY-MM-DD: certifications expire at the end of a Japanese day. */
export function tokyoDate(d: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Physician credentials and the qualification checks built on them. */
export class CredentialService {
  constructor(
    private readonly repo: AccountRepository,
    private readonly audit: AuditService<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private audited(actor: Actor, action: string, userId: string, details: Record<string, unknown>): InTx {
    return async (trx) => {
      await this.audit.append(trx, { actor, action, object: { type: 'user', id: userId }, details });
    };
  }

  /** Credential administration is for system administrators and the management physician (L3). */
  private assertAdmin(actor: Actor): string {
    if (actor.kind === 'system') return `system:${actor.name}`;
    if (actor.kind === 'user' && (hasRole(actor, 'system-admin') || hasRole(actor, 'management-physician', null))) return actor.userId;
    throw new AppError('forbidden', 'only system administrators and the management physician may record credentials');
  }

  /**
   * Records a licence that the actor has verified.
   * @param input.evidence - what was checked (e.g. 厚生労働省「医師等資格確認検索」 result, licence copy)
   */
  async recordLicence(actor: Actor, userId: string, input: { kind: string; number: string; country: string; evidence: string }): Promise<string> {
    const by = this.assertAdmin(actor);
    if (!(await this.repo.byId(userId))) throw new AppError('not_found', 'no such user');
    if (!(LICENCE_KINDS as readonly string[]).includes(input.kind)) throw new AppError('bad_request', `licence kind must be one of ${LICENCE_KINDS.join(', ')}`);
    const number = input.number.trim();
    if (input.kind === 'jp-medical') {
      // 医籍登録番号: a number of up to 7 digits.
      if (!/^\d{1,7}$/.test(number)) throw new AppError('bad_request', 'a Japanese medical registration number (医籍登録番号) has up to 7 digits');
      if (input.country !== 'JP') throw new AppError('bad_request', 'a Japanese medical licence has country JP');
    } else if (!number || number.length > 64 || !/^[A-Z]{2}$/.test(input.country) || input.country === 'JP') {
      throw new AppError('bad_request', 'a foreign licence needs its number and a non-JP ISO country code');
    }
    if (!input.evidence.trim()) throw new AppError('bad_request', 'record what was checked as evidence');
    const row: LicenceRow = { id: randomUUID(), user_id: userId, kind: input.kind, number, country: input.country, verified_by: by, verified_at: this.now().toISOString(), evidence: input.evidence.trim(), revoked_at: null };
    await this.repo.insertLicence(row, this.audited(actor, 'credential.licence-verify', userId, { licenceId: row.id, kind: row.kind, country: row.country }));
    return row.id;
  }

  /** Withdraws a licence record (e.g. suspended licence). */
  async revokeLicence(actor: Actor, licenceId: string): Promise<void> {
    this.assertAdmin(actor);
    const revoked = await this.repo.revokeLicence(licenceId, this.now().toISOString(), async (trx) => {
      await this.audit.append(trx, { actor, action: 'credential.licence-revoke', object: { type: 'licence', id: licenceId } });
    });
    if (!revoked) throw new AppError('not_found', 'no such active licence');
  }

  /** Records a verified specialist certification. */
  async recordCertification(actor: Actor, userId: string, input: { kind: string; number: string; issuedOn: string; expiresOn: string; evidence: string }): Promise<string> {
    const by = this.assertAdmin(actor);
    if (!(await this.repo.byId(userId))) throw new AppError('not_found', 'no such user');
    if (!CERTIFICATIONS[input.kind]) throw new AppError('bad_request', `certification kind must be one of ${Object.keys(CERTIFICATIONS).join(', ')}`);
    if (!DATE.test(input.issuedOn) || !DATE.test(input.expiresOn) || input.expiresOn < input.issuedOn) throw new AppError('bad_request', 'issuedOn and expiresOn are dates (YYYY-MM-DD), expiry after issue');
    if (!input.evidence.trim()) throw new AppError('bad_request', 'record what was checked as evidence');
    const row: CertificationRow = { id: randomUUID(), user_id: userId, kind: input.kind, number: input.number.trim(), issued_on: input.issuedOn, expires_on: input.expiresOn, verified_by: by, verified_at: this.now().toISOString(), evidence: input.evidence.trim() };
    await this.repo.insertCertification(row, this.audited(actor, 'credential.certification-verify', userId, { certificationId: row.id, kind: row.kind, expiresOn: row.expires_on }));
    return row.id;
  }

  /** Records a required training course, done or due. */
  async recordTraining(actor: Actor, userId: string, input: { course: string; dueOn: string; completedOn?: string | null }): Promise<string> {
    const by = this.assertAdmin(actor);
    if (!(await this.repo.byId(userId))) throw new AppError('not_found', 'no such user');
    if (!input.course.trim() || !DATE.test(input.dueOn) || (input.completedOn && !DATE.test(input.completedOn))) throw new AppError('bad_request', 'course, dueOn (YYYY-MM-DD) and optional completedOn are required');
    const row: TrainingRow = { id: randomUUID(), user_id: userId, course: input.course.trim(), due_on: input.dueOn, completed_on: input.completedOn ?? null, recorded_by: by, recorded_at: this.now().toISOString() };
    await this.repo.insertTraining(row, this.audited(actor, 'credential.training-record', userId, { trainingId: row.id, dueOn: row.due_on, done: Boolean(row.completed_on) }));
    return row.id;
  }

  /** Everything on record for a user. */
  async credentials(actor: Actor, userId: string): Promise<{ licences: LicenceRow[]; certifications: CertificationRow[]; trainings: TrainingRow[] }> {
    if (!(actor.kind === 'user' && actor.userId === userId)) this.assertAdmin(actor);
    return { licences: await this.repo.licences(userId), certifications: await this.repo.certifications(userId), trainings: await this.repo.trainings(userId) };
  }

  /**
   * Whether a user may read a study of the given modality from the given facility:
   * a reading role there (or at the provider), a verified Japanese licence, and a valid
   * certification covering the modality.
   */
  async mayRead(userId: string, study: { modality: string; facilityId: string }): Promise<Qualification> {
    const problems: string[] = [];
    const warnings: string[] = [];
    const user = await this.repo.byId(userId);
    if (!user || user.disabled) return { allowed: false, problems: ['no active account'], warnings };
    const grants = (await this.repo.grants([userId])).get(userId) ?? [];
    if (!grants.some((g) => READING_ROLES.includes(g.role) && (g.facilityId === null || g.facilityId === study.facilityId))) {
      problems.push('no reading role for this facility');
    }
    const licences = (await this.repo.licences(userId)).filter((l) => !l.revoked_at);
    if (!licences.some((l) => l.kind === 'jp-medical')) {
      problems.push(
        licences.some((l) => l.kind === 'foreign-medical')
          ? 'a foreign medical licence alone does not permit diagnosis in Japan (医師法第17条)'
          : 'no verified Japanese medical licence (医籍登録番号)',
      );
    }
    const today = tokyoDate(this.now());
    const certs = await this.repo.certifications(userId);
    const covering = certs.filter((c) => CERTIFICATIONS[c.kind]?.covers(study.modality));
    if (!covering.some((c) => c.expires_on >= today)) {
      problems.push(covering.length ? `certification for ${study.modality} expired on ${covering.map((c) => c.expires_on).sort().at(-1)}` : `no certification covering ${study.modality}`);
    }
    for (const t of await this.repo.trainings(userId)) {
      if (!t.completed_on && t.due_on < today) warnings.push(`training "${t.course}" overdue since ${t.due_on}`);
    }
    return { allowed: problems.length === 0, problems, warnings };
  }

  /** Whether a user may sign (finalise) a report of the study: the same conditions as reading. */
  async maySign(userId: string, study: { modality: string; facilityId: string }): Promise<Qualification> {
    return this.mayRead(userId, study);
  }
}
