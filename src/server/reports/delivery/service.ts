/**
 * Delivery of final report versions to the requesting facility (W7) by the route its contract
 * names (A5): HL7 v2.5 ORU^R01 over MLLP, a FHIR R4 transaction, or by hand (the facility
 * transcribes the signed PDF into its EMR and a second person confirms it). Read
 * confirmations (参照確認, W8) come back over HL7 or FHIR and are handed to the report service.
 *
 * - Queuing happens in the transaction that finalises the report: one job of kind
 *   `report.deliver` per active endpoint of the route (key `<versionId>:<endpointId>`), or a
 *   manual task; the durable queue keeps them across restarts (platform/outbox).
 * - Each job attempt is recorded before it is sent and after it is answered, so every attempt is
 *   visible; the queue retries with its backoff until the receiver acknowledges (up to
 *   {@link DELIVERY_MAX_ATTEMPTS} attempts), and an operator can retry a failed job.
 * - Delivered once: a delivery that is recorded as delivered is never sent again. A message
 *   whose answer was lost (crash, timeout) is sent again with the same MSH-10 / the same
 *   conditional FHIR requests, so the receiver can recognise the repeat.
 * - Service calls take the actor and are authorised per facility (ARCHITECTURE rule 2);
 *   every change is audited in its transaction (rule 3).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import { diagnosticReportBundle } from '../../interop/fhir/diagnostic-report.ts';
import { encodeOruR01 } from '../../interop/hl7/oru.ts';
import { describeActor, hasRole, type Actor } from '../../platform/context.ts';
import type { Database } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { PermanentJobError, type JobContext, type JobHandler, type JobQueue } from '../../platform/outbox/index.ts';
import type { SecretBox } from '../../platform/secrets.ts';
import { medicalScope } from '../../security/index.ts';
import type { ReportDocument } from '../document.ts';
import { refusalOf, validateEndpoint, type EndpointInput } from './endpoints.ts';
import { DeliveryRepository, type Executor } from './repository.ts';
import type { DeliveryEndpoint, ReportDelivery, ReportDeliveryAttempt, ReportDeliveryTable } from './schema.ts';
import type { DeliveryAttemptView, DeliveryEndpointView, DeliveryView } from './schemas.ts';
import { sendFhirTransaction, sendHl7, type SendResult } from './transport.ts';

/** The job kind of every online delivery. */
export const DELIVERY_JOB_KIND = 'report.deliver';

/** Attempts before a delivery fails for good (the queue's maximum; with its backoff capped at 30 min, about two days). */
export const DELIVERY_MAX_ATTEMPTS = 100;

/** A final version as the report service stores it: the signed document and its signed PDF. */
export type ReportVersionLoader = (versionId: string) => Promise<{ document: ReportDocument; pdf: Buffer } | undefined>;

/** A read confirmation (参照確認) of a report version by the facility's physician. */
export interface ReadConfirmation {
  versionId: string;
  /** The physician, as the facility system names them. */
  by: string;
  /** ISO 8601 UTC. */
  at: string;
  source: 'hl7' | 'fhir';
}

/** Records a read confirmation (supplied by the report service). */
export type ConfirmRead = (confirmation: ReadConfirmation) => Promise<void>;

/** What the delivery service needs. */
export interface DeliveryServiceDeps {
  db: Kysely<Database>;
  queue: JobQueue;
  audit: AuditService<Database>;
  /** Seals FHIR bearer tokens at rest (the data folder's key). */
  secrets: SecretBox;
  log: Logger;
  facilityExists: (facilityId: string) => Promise<boolean>;
  /** Loads a version for sending and for the manual route's PDF (also given to {@link DeliveryService.registerHandlers}). */
  loadVersion?: ReportVersionLoader | undefined;
  /** Default {@link DELIVERY_MAX_ATTEMPTS}. */
  maxAttempts?: number | undefined;
  now?: (() => Date) | undefined;
}

/** What {@link DeliveryService.enqueueDeliveries} queued (or found already queued). */
export interface QueuedDelivery {
  deliveryId: string;
  route: 'hl7' | 'fhir' | 'manual';
  endpointId: string | null;
  jobId: string | null;
  created: boolean;
}

/** The actor of work done by Enkaku itself. */
const DELIVERY_SYSTEM: Actor = { kind: 'system', name: 'report-delivery' };

/** MSH-10 of a delivery: the same on every attempt (≤ 20 characters, HL7 v2.5 MSH-10). */
export function controlIdOf(deliveryKey: string): string {
  return `ENK${createHash('sha256').update(deliveryKey).digest('hex').slice(0, 17).toUpperCase()}`;
}

function endpointView(e: DeliveryEndpoint): DeliveryEndpointView {
  return {
    id: e.id,
    facilityId: e.facility_id,
    kind: e.kind as 'hl7' | 'fhir',
    name: e.name,
    active: e.active === 1,
    host: e.host,
    port: e.port,
    tls: e.tls === 1,
    clientCertificate: Boolean(e.tls_cert && e.tls_key),
    allowPlain: e.allow_plain === 1,
    sendingApplication: e.sending_application,
    sendingFacility: e.sending_facility,
    receivingApplication: e.receiving_application,
    receivingFacility: e.receiving_facility,
    charset: e.charset as 'iso-2022-jp' | 'utf-8',
    textType: e.text_type as 'FT' | 'TX',
    embedPdf: e.embed_pdf === 1,
    baseUrl: e.base_url,
    hasToken: Boolean(e.auth_token_sealed),
    patientIdSystem: e.patient_id_system,
    timeoutSeconds: e.timeout_seconds,
    createdAt: e.created_at,
    createdBy: e.created_by,
    updatedAt: e.updated_at,
  };
}

function attemptView(a: ReportDeliveryAttempt): DeliveryAttemptView {
  return {
    attempt: a.attempt,
    startedAt: a.started_at,
    finishedAt: a.finished_at,
    outcome: a.outcome,
    ackCode: a.ack_code,
    httpStatus: a.http_status,
    error: a.error,
    durationMs: a.duration_ms,
  };
}

function deliveryView(d: ReportDelivery, endpointName: string | null, attempts?: ReportDeliveryAttempt[]): DeliveryView {
  return {
    id: d.id,
    versionId: d.version_id,
    reportId: d.report_id,
    version: d.version_number,
    facilityId: d.facility_id,
    route: d.route as DeliveryView['route'],
    endpointId: d.endpoint_id,
    endpointName,
    jobId: d.job_id,
    status: d.status,
    attempts: d.attempts,
    controlId: d.control_id,
    lastCode: d.last_code,
    lastError: d.last_error,
    deliveredAt: d.delivered_at,
    manual: d.route === 'manual'
      ? {
          reason: d.manual_reason,
          confirmerRole: d.confirmer_role,
          transcribedBy: d.transcribed_by ? { userId: d.transcribed_by, name: d.transcribed_by_name ?? '', at: d.transcribed_at ?? '' } : null,
          confirmedBy: d.confirmed_by ? { userId: d.confirmed_by, name: d.confirmed_by_name ?? '', at: d.confirmed_at ?? '' } : null,
        }
      : null,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
    ...(attempts ? { attemptLog: attempts.map(attemptView) } : {}),
  };
}

/** Delivery endpoints, deliveries of report versions, manual transcription and read confirmations. */
export class DeliveryService {
  readonly repo = new DeliveryRepository();
  private readonly db: Kysely<Database>;
  private readonly maxAttempts: number;
  private readonly now: () => Date;
  private loadVersion: ReportVersionLoader | undefined;
  private confirmRead: ConfirmRead | undefined;

  constructor(private readonly deps: DeliveryServiceDeps) {
    this.db = deps.db;
    this.maxAttempts = deps.maxAttempts ?? DELIVERY_MAX_ATTEMPTS;
    this.now = deps.now ?? (() => new Date());
    this.loadVersion = deps.loadVersion;
  }

  private iso(): string {
    return this.now().toISOString();
  }

  // Authorisation ------------------------------------------------------------------------

  /** Operators, system administrators and the facility's administrators manage its endpoints. */
  private assertAdmin(actor: Actor, facilityId: string): void {
    if (actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'facility-admin', facilityId)) return;
    throw new AppError('forbidden', 'only system administrators and the facility\'s administrators manage its delivery endpoints');
  }

  /** Whose deliveries an actor may see: 'all', or facility ids (readers of its reports, its administrators). */
  private viewScope(actor: Actor): 'all' | string[] {
    if (actor.kind === 'system' || hasRole(actor, 'system-admin')) return 'all';
    const scope = medicalScope(actor);
    if (scope === 'all') return 'all';
    const admins = actor.kind === 'user' ? actor.grants.filter((g) => g.role === 'facility-admin' && g.facilityId).map((g) => g.facilityId!) : [];
    return [...new Set([...scope, ...admins])];
  }

  private assertView(actor: Actor, facilityId: string): void {
    const s = this.viewScope(actor);
    if (s !== 'all' && !s.includes(facilityId)) throw new AppError('not_found', 'no such delivery');
  }

  /** Who may transcribe or confirm a manual delivery: a person who reads the facility's reports, or its administrator. */
  private assertManual(actor: Actor, facilityId: string): Extract<Actor, { kind: 'user' }> {
    if (actor.kind !== 'user') throw new AppError('forbidden', 'manual transcription is recorded by a person (log in)');
    const s = medicalScope(actor);
    if (s === 'all' || s.includes(facilityId) || hasRole(actor, 'facility-admin', facilityId)) return actor;
    throw new AppError('forbidden', 'you do not read this facility\'s reports');
  }

  // Endpoints ----------------------------------------------------------------------------

  /**
   * Registers an HL7 receiver or a FHIR server of a facility (audited). Plain text off loopback
   * is refused unless explicitly allowed for the endpoint.
   * @throws AppError forbidden, not_found (no such facility), bad_request, conflict (name taken)
   */
  async addEndpoint(actor: Actor, facilityId: string, input: EndpointInput): Promise<DeliveryEndpointView> {
    this.assertAdmin(actor, facilityId);
    if (!(await this.deps.facilityExists(facilityId))) throw new AppError('not_found', 'no such facility');
    const v = validateEndpoint(input);
    const at = this.iso();
    const row = {
      id: randomUUID(),
      facility_id: facilityId,
      kind: v.kind,
      name: v.name,
      active: 1,
      host: v.host,
      port: v.port,
      tls: v.tls ? 1 : 0,
      tls_ca: v.tlsCa,
      tls_cert: v.tlsCert,
      tls_key: v.tlsKey,
      allow_plain: v.allowPlain ? 1 : 0,
      sending_application: v.sendingApplication,
      sending_facility: v.sendingFacility,
      receiving_application: v.receivingApplication,
      receiving_facility: v.receivingFacility,
      charset: v.charset,
      text_type: v.textType,
      embed_pdf: v.embedPdf ? 1 : 0,
      base_url: v.baseUrl,
      auth_token_sealed: v.token ? this.deps.secrets.seal(v.token) : null,
      patient_id_system: v.patientIdSystem,
      timeout_seconds: v.timeoutSeconds,
      created_at: at,
      created_by: describeActor(actor),
      updated_at: at,
    };
    await this.db.transaction().execute(async (trx) => {
      if (await this.repo.endpointByName(trx, facilityId, v.name)) throw new AppError('conflict', `the facility already has an endpoint named "${v.name}"`);
      await this.repo.insertEndpoint(trx, row);
      await this.deps.audit.append(trx, {
        actor,
        action: 'report.delivery-endpoint.add',
        object: { type: 'delivery-endpoint', id: row.id },
        facilityId,
        details: {
          kind: v.kind, name: v.name, tls: v.tls, allowPlain: v.allowPlain,
          ...(v.kind === 'hl7' ? { host: v.host, port: v.port, clientCertificate: Boolean(v.tlsCert) } : { baseUrl: v.baseUrl, hasToken: Boolean(v.token) }),
        },
      });
    });
    return endpointView(row);
  }

  /**
   * Retires an endpoint (no more deliveries are queued to it; queued ones fail when they run) or
   * puts it back into use. Audited.
   * @throws AppError forbidden, not_found
   */
  async setEndpointActive(actor: Actor, endpointId: string, active: boolean): Promise<DeliveryEndpointView> {
    if (!(actor.kind === 'system' || hasRole(actor, 'system-admin') || hasRole(actor, 'facility-admin'))) throw new AppError('forbidden', 'only system administrators and the facility\'s administrators manage its delivery endpoints');
    const e = await this.repo.endpoint(this.db, endpointId);
    if (!e) throw new AppError('not_found', 'no such endpoint');
    this.assertAdmin(actor, e.facility_id);
    if (active && refusalOf(e)) throw new AppError('bad_request', refusalOf(e)!);
    const at = this.iso();
    await this.db.transaction().execute(async (trx) => {
      await this.repo.setEndpointActive(trx, endpointId, active, at);
      await this.deps.audit.append(trx, { actor, action: active ? 'report.delivery-endpoint.activate' : 'report.delivery-endpoint.retire', object: { type: 'delivery-endpoint', id: endpointId }, facilityId: e.facility_id, details: { name: e.name } });
    });
    return endpointView({ ...e, active: active ? 1 : 0, updated_at: at });
  }

  /**
   * The delivery endpoints of a facility (tokens are never shown).
   * @throws AppError forbidden
   */
  async endpoints(actor: Actor, facilityId: string): Promise<DeliveryEndpointView[]> {
    this.assertAdmin(actor, facilityId);
    return (await this.repo.endpoints(this.db, facilityId)).map(endpointView);
  }

  // Queuing ------------------------------------------------------------------------------

  /**
   * Queues the deliveries of a finalised version, in the caller's transaction `trx` (call it in
   * the transaction that finalises the version): one `report.deliver` job per active endpoint of
   * the route the facility's contract names (key `<versionId>:<endpointId>`), or a manual
   * transcription task when the route is manual, or when the route has no active endpoint
   * (then the task says so). Idempotent: calling it again for the same version queues nothing
   * new. Audited in `trx` when something was queued.
   *
   * @param input.reportId, input.version - optional; when given, versions of one report reach
   *   each endpoint in order (a correction waits while its original is still on its way)
   */
  async enqueueDeliveries(
    trx: Executor,
    input: { facilityId: string; versionId: string; reportId?: string | undefined; version?: number | undefined; actor?: Actor | undefined },
  ): Promise<QueuedDelivery[]> {
    const { facilityId, versionId } = input;
    if (!versionId || versionId.length > 200) throw new AppError('internal', 'a report version id (1-200 characters) is required');
    const terms = await this.repo.deliveryTerms(trx, facilityId);
    const at = this.iso();
    const base = (key: string): ReportDeliveryTable => ({
      id: randomUUID(), key, version_id: versionId, report_id: input.reportId ?? null, version_number: input.version ?? null, facility_id: facilityId,
      route: 'manual', endpoint_id: null, job_id: null, status: 'awaiting-transcription', attempts: 0, control_id: null, last_code: null, last_error: null,
      delivered_at: null, confirmer_role: null, manual_reason: null, transcribed_by: null, transcribed_by_name: null, transcribed_at: null,
      confirmed_by: null, confirmed_by_name: null, confirmed_at: null, created_at: at, updated_at: at,
    });
    const queued: QueuedDelivery[] = [];
    const manual = async (reason: 'contract' | 'no-endpoint'): Promise<void> => {
      const { delivery, created } = await this.repo.insertDeliveryIfAbsent(trx, {
        ...base(`report.manual:${versionId}`), confirmer_role: terms.transcriptionConfirmer || null, manual_reason: reason,
      });
      queued.push({ deliveryId: delivery.id, route: 'manual', endpointId: null, jobId: null, created });
    };
    if (terms.route === 'manual') {
      await manual('contract');
    } else {
      // Every active endpoint of the facility receives the version: the contract's route is the
      // one that must exist (else a manual task), and a facility may run both, e.g. its RIS over
      // HL7 and its EMR over FHIR.
      const endpoints = await this.repo.endpoints(trx, facilityId, { activeOnly: true });
      for (const e of endpoints) {
        const route = e.kind as 'hl7' | 'fhir';
        const key = `${DELIVERY_JOB_KIND}:${versionId}:${e.id}`;
        const { delivery, created } = await this.repo.insertDeliveryIfAbsent(trx, {
          ...base(key), route, endpoint_id: e.id, status: 'pending', control_id: route === 'hl7' ? controlIdOf(key) : null,
        });
        const job = await this.deps.queue.enqueue(trx, {
          kind: DELIVERY_JOB_KIND,
          key: `${versionId}:${e.id}`,
          facilityId,
          payload: { deliveryId: delivery.id, versionId, endpointId: e.id, route },
          maxAttempts: this.maxAttempts,
        });
        if (delivery.job_id !== job.job.id) await this.repo.updateDelivery(trx, delivery.id, { job_id: job.job.id });
        queued.push({ deliveryId: delivery.id, route, endpointId: e.id, jobId: job.job.id, created });
      }
      if (!endpoints.some((e) => e.kind === terms.route)) await manual('no-endpoint');
    }
    if (queued.some((q) => q.created)) {
      await this.deps.audit.append(trx, {
        actor: input.actor ?? DELIVERY_SYSTEM,
        action: 'report.delivery.queue',
        object: { type: 'report-version', id: versionId },
        facilityId,
        details: { route: terms.route, deliveries: queued.map((q) => ({ id: q.deliveryId, route: q.route, endpointId: q.endpointId })) },
      });
    }
    return queued;
  }

  // Sending ------------------------------------------------------------------------------

  /**
   * Registers the `report.deliver` handler on a job worker (before it starts). `loadVersion`
   * gives the signed document and PDF of a version.
   */
  registerHandlers(worker: { register(kind: string, handler: JobHandler): unknown }, deps: { loadVersion: ReportVersionLoader }): void {
    this.loadVersion = deps.loadVersion;
    worker.register(DELIVERY_JOB_KIND, (ctx) => this.runDelivery(ctx));
  }

  /** Records the end of a delivery (delivered, or failed for good) with its audit entry. */
  private async settle(d: ReportDelivery, attemptId: string, started: number, r: SendResult, final: 'delivered' | 'failed' | 'retry', attemptOutcome: string): Promise<void> {
    const at = this.iso();
    await this.db.transaction().execute(async (trx) => {
      await this.repo.finishAttempt(trx, attemptId, {
        finished_at: at, outcome: attemptOutcome, ack_code: r.ackCode ?? null, http_status: r.httpStatus ?? null, error: r.error ?? null, duration_ms: Math.max(0, Date.now() - started),
      });
      await this.repo.updateDelivery(trx, d.id, {
        status: final === 'retry' ? 'pending' : final,
        last_code: r.ackCode ?? (r.httpStatus !== undefined ? String(r.httpStatus) : null),
        last_error: final === 'delivered' ? null : r.error ?? null,
        ...(final === 'delivered' ? { delivered_at: at } : {}),
        updated_at: at,
      });
      if (final !== 'retry') {
        await this.deps.audit.append(trx, {
          actor: DELIVERY_SYSTEM,
          action: final === 'delivered' ? 'report.delivery.delivered' : 'report.delivery.failed',
          object: { type: 'report-version', id: d.version_id },
          facilityId: d.facility_id,
          outcome: final === 'delivered' ? 'success' : 'failure',
          details: { deliveryId: d.id, route: d.route, endpointId: d.endpoint_id, attempts: d.attempts, code: r.ackCode ?? r.httpStatus ?? null, ...(r.error ? { reason: r.error } : {}) },
        });
      }
    });
  }

  /** One attempt of a `report.deliver` job. */
  private async runDelivery(ctx: JobContext): Promise<Record<string, unknown>> {
    const deliveryId = String(ctx.payload.deliveryId ?? '');
    const d0 = await this.repo.delivery(this.db, deliveryId);
    if (!d0) throw new PermanentJobError(`delivery ${deliveryId} does not exist`);
    if (d0.status === 'delivered') return { deliveryId, delivered: true };
    const at = this.iso();
    await this.repo.interruptRunning(this.db, d0.id, at);
    const attemptNo = await this.repo.nextAttemptNumber(this.db, d0.id);
    const attemptId = randomUUID();
    await this.db.transaction().execute(async (trx) => {
      await this.repo.insertAttempt(trx, { id: attemptId, delivery_id: d0.id, attempt: attemptNo, started_at: at, finished_at: null, outcome: 'running', ack_code: null, http_status: null, error: null, duration_ms: null });
      await this.repo.updateDelivery(trx, d0.id, { attempts: attemptNo, status: 'pending', updated_at: at });
    });
    const d = { ...d0, attempts: attemptNo, status: 'pending' };
    const started = Date.now();
    const lastAttempt = ctx.attempt >= ctx.job.max_attempts;
    // A failure that retrying cannot fix, or the last attempt: the delivery fails for good.
    const giveUp = async (r: SendResult): Promise<never> => {
      await this.settle(d, attemptId, started, r, 'failed', 'failed');
      throw new PermanentJobError(r.error ?? 'failed');
    };

    const e = d.endpoint_id ? await this.repo.endpoint(this.db, d.endpoint_id) : undefined;
    if (!e) return giveUp({ outcome: 'failed', error: 'the endpoint no longer exists' });
    if (e.active !== 1) return giveUp({ outcome: 'failed', error: `endpoint "${e.name}" was retired; put it back into use, then retry the job` });
    const refusal = refusalOf(e);
    if (refusal) return giveUp({ outcome: 'failed', error: refusal });
    if (!this.loadVersion) return giveUp({ outcome: 'failed', error: 'no report version loader is registered' });
    let loaded: Awaited<ReturnType<ReportVersionLoader>>;
    try {
      loaded = await this.loadVersion(d.version_id);
    } catch (err) {
      const r: SendResult = { outcome: 'retry', error: `the report version could not be loaded (${(err as Error).name})` };
      await this.settle(d, attemptId, started, r, lastAttempt ? 'failed' : 'retry', lastAttempt ? 'failed' : 'retry');
      throw new Error(r.error);
    }
    if (!loaded) return giveUp({ outcome: 'failed', error: `report version ${d.version_id} was not found` });
    const { document: doc, pdf } = loaded;
    if (d.report_id === null || d.version_number === null) {
      await this.repo.updateDelivery(this.db, d.id, { report_id: doc.reportId, version_number: doc.version });
    }
    // Versions of one report reach an endpoint in order: a correction waits for its original.
    const earlier = await this.repo.pendingEarlier(this.db, doc.reportId, e.id, doc.version);
    if (earlier.length) {
      const r: SendResult = { outcome: 'retry', error: `waiting until version ${Math.min(...earlier.map((x) => x.version_number ?? 0))} of this report is delivered to this endpoint` };
      await this.settle(d, attemptId, started, r, lastAttempt ? 'failed' : 'retry', lastAttempt ? 'failed' : 'deferred');
      throw lastAttempt ? new PermanentJobError(r.error!) : new Error(r.error);
    }

    let r: SendResult;
    if (e.kind === 'hl7') {
      const controlId = d.control_id ?? controlIdOf(d.key);
      let encoded: ReturnType<typeof encodeOruR01>;
      try {
        encoded = encodeOruR01(doc, {
          controlId,
          sendingApplication: e.sending_application,
          sendingFacility: e.sending_facility,
          receivingApplication: e.receiving_application,
          receivingFacility: e.receiving_facility,
          charset: e.charset === 'utf-8' ? 'utf-8' : 'iso-2022-jp',
          textType: e.text_type === 'TX' ? 'TX' : 'FT',
          pdf: e.embed_pdf === 1 ? pdf : null,
          dateTime: this.now(),
        });
      } catch (err) {
        return giveUp({ outcome: 'failed', error: `the ORU^R01 could not be written (${(err as Error).name}); the report document needs fixing` });
      }
      r = await sendHl7({ host: e.host!, port: e.port!, tls: e.tls === 1, tlsCa: e.tls_ca, tlsCert: e.tls_cert, tlsKey: e.tls_key, timeoutMs: e.timeout_seconds * 1000 }, encoded.bytes, controlId, ctx.signal);
      if (encoded.substituted && r.outcome === 'delivered') {
        r = { ...r, error: `${encoded.substituted} character(s) outside JIS X 0208 were written as U+3013 (the embedded PDF has the exact text)` };
      }
    } else {
      let token: string | null = null;
      try {
        token = e.auth_token_sealed ? this.deps.secrets.open(e.auth_token_sealed) : null;
      } catch {
        return giveUp({ outcome: 'failed', error: 'the endpoint token cannot be opened with this data folder\'s key; register the token again' });
      }
      let bundle: ReturnType<typeof diagnosticReportBundle>;
      try {
        bundle = diagnosticReportBundle(doc, pdf, { patientIdSystem: e.patient_id_system });
      } catch (err) {
        return giveUp({ outcome: 'failed', error: `the FHIR Bundle could not be written (${(err as Error).name}); the report document needs fixing` });
      }
      r = await sendFhirTransaction({ baseUrl: e.base_url!, token, tlsCa: e.tls_ca, timeoutMs: e.timeout_seconds * 1000 }, bundle, ctx.signal);
    }

    if (r.outcome === 'delivered') {
      await this.settle(d, attemptId, started, r, 'delivered', 'delivered');
      this.deps.log.info({ event: 'report.delivered', deliveryId: d.id, versionId: d.version_id, route: d.route, endpointId: e.id, attempt: attemptNo, code: r.ackCode ?? r.httpStatus }, 'report delivered');
      return { deliveryId: d.id, delivered: true, attempt: attemptNo, code: r.ackCode ?? r.httpStatus ?? null };
    }
    this.deps.log.warn({ event: 'report.delivery-attempt', deliveryId: d.id, route: d.route, endpointId: e.id, attempt: attemptNo, outcome: r.outcome, code: r.ackCode ?? r.httpStatus }, 'report delivery attempt failed');
    if (ctx.signal.aborted) {
      // The worker is stopping: the job goes back to the queue; the attempt is marked interrupted.
      await this.settle(d, attemptId, started, { ...r, error: 'the worker stopped during this attempt' }, 'retry', 'interrupted');
      throw new Error('the worker is stopping');
    }
    if (r.outcome === 'failed' || lastAttempt) return giveUp(r.outcome === 'failed' ? r : { ...r, error: `${r.error ?? 'failed'}; no attempt left` });
    await this.settle(d, attemptId, started, r, 'retry', 'retry');
    throw new Error(r.error ?? 'delivery attempt failed');
  }

  // Views --------------------------------------------------------------------------------

  private async views(rows: ReportDelivery[], withAttempts: boolean, ex: Executor = this.db): Promise<DeliveryView[]> {
    const endpointIds = [...new Set(rows.map((r) => r.endpoint_id).filter((x): x is string => Boolean(x)))];
    const names = new Map<string, string>();
    for (const id of endpointIds) {
      const e = await this.repo.endpoint(ex, id);
      if (e) names.set(id, e.name);
    }
    const attempts = withAttempts ? await this.repo.attempts(ex, rows.map((r) => r.id)) : [];
    return rows.map((r) => deliveryView(r, r.endpoint_id ? names.get(r.endpoint_id) ?? null : null, withAttempts ? attempts.filter((a) => a.delivery_id === r.id) : undefined));
  }

  /**
   * The deliveries of a report version with every attempt (A5: logged per delivery).
   * @throws AppError forbidden when the actor sees no facility's deliveries
   */
  async deliveriesOfVersion(actor: Actor, versionId: string): Promise<DeliveryView[]> {
    const scope = this.viewScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading report deliveries');
    return this.snapshot(async (ex) => {
      const rows = (await this.repo.deliveriesOfVersion(ex, versionId)).filter((r) => scope === 'all' || scope.includes(r.facility_id));
      return this.views(rows, true, ex);
    });
  }

  /**
   * Runs the reads of one view in a single snapshot, so that a delivery and its attempts agree
   * (an attempt that has ended is never shown beside the delivery's state from before it).
   */
  private snapshot<T>(read: (ex: Executor) => Promise<T>): Promise<T> {
    return this.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(read);
  }

  /**
   * One delivery with every attempt.
   * @throws AppError not_found (also for another facility's delivery)
   */
  async delivery(actor: Actor, deliveryId: string): Promise<DeliveryView> {
    const scope = this.viewScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading report deliveries');
    return this.snapshot(async (ex) => {
      const d = await this.repo.delivery(ex, deliveryId);
      if (!d) throw new AppError('not_found', 'no such delivery');
      this.assertView(actor, d.facility_id);
      return (await this.views([d], true, ex))[0]!;
    });
  }

  /**
   * Deliveries the actor may see, newest first (e.g. status=failed, or awaiting-transcription).
   * @throws AppError forbidden, bad_request
   */
  async list(actor: Actor, q: { facilityId?: string | undefined; status?: string | undefined; route?: string | undefined; limit?: number | undefined; offset?: number | undefined } = {}): Promise<DeliveryView[]> {
    const scope = this.viewScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'your roles do not include reading report deliveries');
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AppError('bad_request', 'limit must be 1-1000');
    if (!Number.isInteger(offset) || offset < 0) throw new AppError('bad_request', 'offset must be 0 or more');
    const rows = await this.repo.list(this.db, { facilities: scope, facilityId: q.facilityId, status: q.status, route: q.route, limit, offset });
    return this.views(rows, false);
  }

  // Manual route -------------------------------------------------------------------------

  /** Refuses, before any lookup, an actor who could transcribe or confirm at no facility. */
  private assertMayTranscribe(actor: Actor): void {
    if (actor.kind !== 'user') throw new AppError('forbidden', 'manual transcription is recorded by a person (log in)');
    const s = medicalScope(actor);
    if (s === 'all' || s.length > 0 || hasRole(actor, 'facility-admin')) return;
    throw new AppError('forbidden', 'you do not read any facility\'s reports');
  }

  private async manualDelivery(deliveryId: string): Promise<ReportDelivery> {
    const d = await this.repo.delivery(this.db, deliveryId);
    if (!d || d.route !== 'manual') throw new AppError('not_found', 'no such manual delivery');
    return d;
  }

  /**
   * The signed PDF of a manual delivery, to transcribe into the EMR. Reading it is audited.
   * @throws AppError forbidden, not_found, unavailable (no loader registered)
   */
  async manualPdf(actor: Actor, deliveryId: string): Promise<{ pdf: Buffer; fileName: string }> {
    this.assertMayTranscribe(actor);
    const d = await this.manualDelivery(deliveryId);
    this.assertManual(actor, d.facility_id);
    if (!this.loadVersion) throw new AppError('unavailable', 'report versions cannot be loaded yet');
    const loaded = await this.loadVersion(d.version_id);
    if (!loaded) throw new AppError('not_found', 'the report version was not found');
    await this.deps.audit.record({ actor, action: 'report.pdf.view', object: { type: 'report-version', id: d.version_id }, facilityId: d.facility_id, details: { deliveryId: d.id, purpose: 'manual-transcription' } });
    return { pdf: loaded.pdf, fileName: `report-${d.version_id}.pdf` };
  }

  /**
   * Records that the actor transcribed the report into the facility's EMR (A5). Audited.
   * @throws AppError forbidden, not_found, conflict (already transcribed)
   */
  async recordTranscription(actor: Actor, deliveryId: string): Promise<DeliveryView> {
    this.assertMayTranscribe(actor);
    const d = await this.manualDelivery(deliveryId);
    const user = this.assertManual(actor, d.facility_id);
    const at = this.iso();
    await this.db.transaction().execute(async (trx) => {
      const ok = await this.repo.advanceManual(trx, d.id, 'awaiting-transcription', {
        status: 'transcribed', transcribed_by: user.userId, transcribed_by_name: user.username, transcribed_at: at, updated_at: at,
      });
      if (!ok) throw new AppError('conflict', 'this delivery is not waiting for transcription');
      await this.deps.audit.append(trx, { actor, action: 'report.delivery.transcribed', object: { type: 'report-version', id: d.version_id }, facilityId: d.facility_id, details: { deliveryId: d.id } });
    });
    return this.delivery(actor, d.id);
  }

  /**
   * Records that the actor confirmed the transcription (A5): a second person, as the contract
   * names the confirmer (the name is recorded with the confirmation). Audited.
   * @throws AppError forbidden (the transcriber cannot confirm their own transcription), not_found, conflict
   */
  async confirmTranscription(actor: Actor, deliveryId: string): Promise<DeliveryView> {
    this.assertMayTranscribe(actor);
    const d = await this.manualDelivery(deliveryId);
    const user = this.assertManual(actor, d.facility_id);
    if (d.status === 'transcribed' && d.transcribed_by === user.userId) {
      throw new AppError('forbidden', 'the transcription must be confirmed by another person than the one who transcribed it');
    }
    const at = this.iso();
    await this.db.transaction().execute(async (trx) => {
      const ok = await this.repo.advanceManual(trx, d.id, 'transcribed', {
        status: 'confirmed', confirmed_by: user.userId, confirmed_by_name: user.username, confirmed_at: at, delivered_at: at, updated_at: at,
      });
      if (!ok) throw new AppError('conflict', 'this delivery is not waiting for confirmation of its transcription');
      await this.deps.audit.append(trx, {
        actor, action: 'report.delivery.confirmed', object: { type: 'report-version', id: d.version_id }, facilityId: d.facility_id,
        details: { deliveryId: d.id, confirmerRole: d.confirmer_role, transcribedBy: d.transcribed_by },
      });
    });
    return this.delivery(actor, d.id);
  }

  // Read confirmations (W8) --------------------------------------------------------------

  /** Sets the callback that records read confirmations (the report service's). */
  onReadConfirmation(callback: ConfirmRead): void {
    this.confirmRead = callback;
  }

  /**
   * Takes a read confirmation from a facility system (its HL7 sender or API token): the version
   * must have been delivered (or queued) to that facility. Calls the registered callback, then
   * records it in the audit trail.
   * @throws AppError forbidden (not a facility system), not_found (no such version for this
   *   facility), unavailable (no callback registered)
   */
  async receiveReadConfirmation(actor: Actor, facilityId: string, c: ReadConfirmation): Promise<void> {
    if ((actor.kind === 'device' || actor.kind === 'token') && actor.facilityId !== facilityId) throw new AppError('forbidden', 'a facility confirms its own reports only');
    if (actor.kind === 'user') throw new AppError('forbidden', 'read confirmations come from the facility\'s systems');
    const mine = (await this.repo.deliveriesOfVersion(this.db, c.versionId)).some((d) => d.facility_id === facilityId);
    if (!mine) throw new AppError('not_found', `no report version ${c.versionId.slice(0, 80)} was delivered to this facility`);
    if (!this.confirmRead) throw new AppError('unavailable', 'read confirmations are not taken yet');
    await this.confirmRead(c);
    await this.deps.audit.record({
      actor, action: 'report.read-confirmation.receive', object: { type: 'report-version', id: c.versionId }, facilityId,
      details: { source: c.source, readAt: c.at, readBy: c.by.slice(0, 200) },
    });
  }
}
