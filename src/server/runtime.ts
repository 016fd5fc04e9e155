/**
 * The services of one Enkaku process, wired once: database, blob store, logger and the
 * module services. Both the HTTP app and the DIMSE listener take their services from here.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { EnkakuConfig } from './config.ts';
import { openDatabase, pingDatabase, type Database, type Db } from './platform/db/index.ts';
import { AuditService } from './audit/index.ts';
import { BlobStore, ReadThreads } from './platform/blobs/index.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { ClinicalService, ContractService, FacilityService, Hl7SenderRegistry, OrderService, PatientService, ReconciliationService } from './orders/index.ts';
import { AccountRepository, AccountService, AuthService, CredentialService, SecurityAlerts, TokenService, type AuthEvent } from './security/index.ts';
import { SecretBox } from './platform/secrets.ts';
import { PriorsService } from './archive/priors/index.ts';
import { JobQueue, JobService } from './platform/outbox/index.ts';
import { hasRole } from './platform/context.ts';
import { medicalScope } from './security/index.ts';
import { IntakeService, QueryRepository, RenderEngine, VerifiedReader } from './archive/index.ts';
import { TerminalService } from './quality/index.ts';
import { ReadingService, WorklistService } from './reading/index.ts';
import { ReportService, studyReported } from './reports/index.ts';
import { SigningService } from './reports/signing/index.ts';
import { DeliveryService } from './reports/delivery/index.ts';
import { FindingsService } from './findings/index.ts';

/** Everything a running Enkaku needs. */
export interface Runtime {
  config: EnkakuConfig;
  log: Logger;
  db: Db;
  blobs: BlobStore;
  facilities: FacilityService;
  /** HL7 senders (MSH-4/MSH-3) registered per facility; the HL7 listener accepts only these. */
  hl7Senders: Hl7SenderRegistry;
  tokens: TokenService;
  accounts: AccountService;
  auth: AuthService;
  credentials: CredentialService;
  alerts: SecurityAlerts;
  audit: AuditService<Database>;
  intake: IntakeService;
  queries: QueryRepository;
  /** Reads stored instances with their SHA-256 checked; mismatches raise an integrity alert. */
  files: VerifiedReader;
  /** Server-side rendering of stored images (bounded memory cache, ENKAKU_RENDER_CACHE_MB). */
  renderer: RenderEngine;
  /** The durable job queue (outbox); `serve` runs its worker. */
  jobs: JobQueue;
  /** Jobs as users see them (scoped by facility) and the administrators' retry. */
  jobViews: JobService;
  /** Prior studies from the facility's PACS: intake hook and `priors.fetch` handler. */
  priors: PriorsService;
  /** Facility contracts (L5, A5): scope, due times, contact ladder, delivery, sharing. */
  contracts: ContractService;
  /** Master patient index, links and opt-outs (W3, S1); implements PatientUpdates. */
  patients: PatientService;
  /** Exam orders (W1, W5); implements OrderIntake for the HL7, FHIR and form interfaces. */
  orders: OrderService;
  /** Clinical context (W4); implements ClinicalIntake for SS-MIX2 and HL7. */
  clinical: ClinicalService;
  /** Study-order reconciliation (W2): intake hook and the queue. */
  reconciliation: ReconciliationService;
  /** Reading terminals, monitor QC and the display calibration of sessions (Q1, Q2). */
  terminals: TerminalService;
  /** Measurements, key images and viewing sessions of the viewer (issue 6). */
  reading: ReadingService;
  /** The reading worklist (W6): items, claims, assignment, live events; intake hook after reconciliation. */
  worklist: WorklistService;
  /** Physicians' signing certificates, Enkaku's CA and the time-stamping authority (A4). */
  signing: SigningService;
  /** Delivery of final reports (HL7, FHIR, manual) and read confirmations coming back (W7, W8, A5). */
  deliveries: DeliveryService;
  /** Reports: drafts, finalising and signing, versions, confirmation (W7-W9, A2-A4). */
  reports: ReportService;
  /** Critical and incidental findings (C1-C3, L3, W11): notices, escalation, follow-up, live alerts. */
  findings: FindingsService;
  /** Database and blob store reachable and writable. */
  ready(): Promise<{ ok: boolean; checks: Record<string, string> }>;
  close(): Promise<void>;
}

/** Opens the database (migrating it) and the blob store, and builds the services. */
export async function createRuntime(config: EnkakuConfig, log: Logger = createLogger(config.logLevel)): Promise<Runtime> {
  await fsp.mkdir(config.dataDir, { recursive: true });
  const db = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
  const blobs = await BlobStore.open(config.dataDir);
  const ready = async (): Promise<{ ok: boolean; checks: Record<string, string> }> => {
    const checks: Record<string, string> = {};
    try {
      await pingDatabase(db);
      checks.database = 'ok';
    } catch (err) {
      checks.database = `unreachable: ${(err as Error).message}`;
    }
    try {
      const probe = path.join(blobs.tempDir, `.ready-${process.pid}`);
      await fsp.writeFile(probe, 'ok');
      await fsp.rm(probe);
      checks.storage = 'ok';
    } catch (err) {
      checks.storage = `not writable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  };
  const facilities = new FacilityService(db.kysely);
  const audit = new AuditService(db.kysely, { dialect: db.dialect, source: { aet: config.dicom.aet } });
  const accounts = new AccountService(new AccountRepository(db.kysely), (id) => facilities.exists(id), (id) => facilities.nameOf(id), audit);
  const alerts = new SecurityAlerts(db.kysely, log);
  const onAuthEvent = async (e: AuthEvent): Promise<void> => {
    log.info({ event: e.action, outcome: e.outcome, userId: e.userId, address: e.address, ...e.details }, 'authentication event');
    await audit.record({
      actor: { kind: 'user', id: e.userId ?? `unknown:${e.username.slice(0, 200)}`, name: e.username.slice(0, 256), role: '', address: e.address },
      action: e.action,
      object: { type: 'user', id: e.userId ?? 'unknown' },
      outcome: e.outcome,
      clientAddress: e.address,
      ...(e.details ? { details: e.details } : {}),
    });
    if (e.action === 'auth.login' && e.outcome === 'failure') {
      // Bursts against one account and bursts from one address (password spraying) both count.
      await alerts.note('failed-logins', `user:${e.userId ?? e.username}`, { userId: e.userId, address: e.address });
      await alerts.note('failed-logins', `address:${e.address}`, { address: e.address });
    }
  };
  const auth = new AuthService(new AccountRepository(db.kysely), accounts, SecretBox.open(config.dataDir), onAuthEvent);
  const intake = new IntakeService(db.kysely, blobs, log, audit);
  const jobs = new JobQueue(db.kysely, db.dialect);
  // Jobs concern one facility's studies: seen like its medical data, and by system administrators.
  const jobViews = new JobService(db.kysely, jobs, audit, (actor) => (actor.kind === 'system' || hasRole(actor, 'system-admin') ? 'all' : medicalScope(actor)));
  const priors = new PriorsService({ db: db.kysely, config, facilities, intake, blobs, jobs, audit, log });
  intake.onNewStudy(priors);
  const facilityExists = (id: string): Promise<boolean> => facilities.exists(id);
  const contracts = new ContractService(db.kysely, audit, facilityExists);
  const patients = new PatientService(db.kysely, audit, contracts, facilityExists);
  const clinical = new ClinicalService(db.kysely, audit, patients, facilityExists);
  const reconciliation = new ReconciliationService(db.kysely, audit, log, { dialect: db.dialect, studyReported });
  intake.onNewStudy(reconciliation);
  // After reconciliation, so that an order linked on arrival sets the item's priority and due time.
  const credentials = new CredentialService(new AccountRepository(db.kysely), audit);
  const worklist = new WorklistService({
    db: db.kysely,
    dialect: db.dialect,
    audit,
    credentials,
    log,
    claimMinutes: config.worklist.claimMinutes,
    listen: config.databaseUrl ? { url: config.databaseUrl, schema: config.databaseSchema } : undefined,
  });
  intake.onNewStudy(worklist);
  const orders = new OrderService({
    db: db.kysely,
    dialect: db.dialect,
    audit,
    log,
    patients,
    contracts,
    clinical,
    reconciliation,
    facilityExists,
    thresholds: { warn: config.protocol.egfrWarn, contraindicate: config.protocol.egfrContraindicate },
  });
  const accountRepo = new AccountRepository(db.kysely);
  const terminals = new TerminalService({
    db: db.kysely,
    audit,
    facilities,
    sessions: { terminalOf: (id) => accountRepo.sessionTerminal(id), bind: (id, terminalId, trx) => accountRepo.bindSessionTerminal(id, terminalId, trx) },
    monitorCheckRequired: async (facilityId) => (await contracts.current(facilityId)).monitorCheckRequired,
  });
  const queries = new QueryRepository(db.kysely);
  const renderer = new RenderEngine({ cacheBytes: config.renderCacheBytes });
  const readThreads = new ReadThreads();
  const files = new VerifiedReader(blobs, async (sopInstanceUid, blobSha256) => {
    log.error({ event: 'integrity.mismatch', sopInstanceUid, blobSha256 }, 'stored instance does not match its SHA-256');
    await alerts.raise('integrity', 'a stored instance no longer matches its SHA-256 digest; it is not served', { sopInstanceUid, blobSha256 });
  }, readThreads);
  const reading = new ReadingService({ db: db.kysely, audit, queries, files, renderer, terminals });
  const secrets = SecretBox.open(config.dataDir);
  const signing = await SigningService.open({ db: db.kysely, dataDir: config.dataDir, secrets, audit, tsaUrl: config.tsa.url });
  const deliveries = new DeliveryService({ db: db.kysely, queue: jobs, audit, secrets, log, facilityExists });
  const reports = new ReportService({
    db: db.kysely,
    audit,
    blobs,
    credentials,
    signer: {
      // A physician signs with their own certificate, issued by Enkaku's CA on first use unless one was imported.
      sign: async (doc, userId) => {
        await signing.ensureCertificate({ id: userId, displayName: doc.reader.displayName });
        return signing.sign(doc, userId);
      },
      prepare: async (userId) => {
        const name = (await accounts.repo.byId(userId))?.display_name ?? userId;
        return signing.ensureCertificate({ id: userId, displayName: name });
      },
    },
    deliveries,
    workflow: worklist,
    secondFactor: auth,
    orders,
    communications: (reportId) => findings.communicationsOfReport(reportId),
  });
  deliveries.onReadConfirmation(async (c) => {
    await reports.confirmFromFacility(c);
  });
  // Critical and incidental findings: notices up the contract's contact ladder (findings module).
  const findings = new FindingsService({
    db: db.kysely,
    dialect: db.dialect,
    audit,
    queue: jobs,
    contracts,
    log,
    defaults: config.findings,
    transportConfig: config.findings,
    publicUrl: config.publicUrl,
    listen: config.databaseUrl ? { url: config.databaseUrl, schema: config.databaseSchema } : undefined,
  });
  return {
    config,
    log,
    db,
    blobs,
    facilities,
    hl7Senders: new Hl7SenderRegistry(db.kysely, audit),
    tokens: new TokenService(db.kysely, (id) => facilities.exists(id)),
    accounts,
    auth,
    credentials,
    alerts,
    audit,
    intake,
    jobs,
    jobViews,
    priors,
    contracts,
    patients,
    orders,
    clinical,
    reconciliation,
    queries,
    renderer,
    files,
    terminals,
    reading,
    worklist,
    signing,
    deliveries,
    reports,
    findings,
    ready,
    close: async () => {
      await worklist.close();
      await findings.close();
      await readThreads.close();
      await db.close();
    },
  };
}
