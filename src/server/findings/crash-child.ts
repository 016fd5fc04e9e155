/**
 * An escalating process for the crash test (crash.test.ts): the real database (SQLite file or
 * PostgreSQL schema from the environment), the real job queue and worker, and the findings
 * service's job handlers. It runs escalation timers until it is killed. Not a test by itself.
 *
 * Environment: ENKAKU_DATA_DIR, ENKAKU_DATABASE_URL, ENKAKU_DATABASE_SCHEMA (as `enkaku`),
 * FINDINGS_LEASE_MS (short, so that another process reclaims a killed one's jobs soon),
 * FINDINGS_WORKER (the worker's name).
 */
import { AuditService } from '../audit/index.ts';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../platform/db/index.ts';
import { createLogger } from '../platform/log.ts';
import { JobQueue, JobWorker } from '../platform/outbox/index.ts';
import { FindingsService } from './service.ts';

const config = loadConfig();
const db = await openDatabase({ dataDir: config.dataDir, url: config.databaseUrl, schema: config.databaseSchema });
const log = createLogger(config.logLevel);
const audit = new AuditService(db.kysely, { dialect: db.dialect, source: { aet: 'ENKAKU' } });
const queue = new JobQueue(db.kysely, db.dialect);
const findings = new FindingsService({
  db: db.kysely,
  dialect: db.dialect,
  audit,
  queue,
  // Escalation reads the ladder stored with each notice; the contract is not needed here.
  contracts: { current: async () => ({ contactLadder: [] }) },
  log,
  defaults: config.findings,
});
const worker = new JobWorker(queue, { log, pollMs: 50, concurrency: 2, leaseMs: Number(process.env.FINDINGS_LEASE_MS ?? 1000), id: process.env.FINDINGS_WORKER });
findings.registerHandlers(worker);
worker.start();
process.stdout.write(`ready ${process.pid}\n`);
process.on('SIGTERM', () => {
  void worker.stop().then(() => findings.close()).then(() => db.close()).then(() => process.exit(0));
});
