/**
 * A delivering process for the crash test (crash.test.ts): the real database (SQLite file or
 * PostgreSQL schema from the environment), the real job queue and worker, the delivery
 * service. It delivers until it is killed. Not a test by itself.
 *
 * Environment: ENKAKU_DATA_DIR, ENKAKU_DATABASE_URL, ENKAKU_DATABASE_SCHEMA (as `enkaku`),
 * DELIVERY_LEASE_MS (short, so that the next process reclaims the killed one's jobs soon).
 */
import { AuditService } from '../../audit/index.ts';
import { openDatabase } from '../../platform/db/index.ts';
import { createLogger } from '../../platform/log.ts';
import { JobQueue, JobWorker } from '../../platform/outbox/index.ts';
import { SecretBox } from '../../platform/secrets.ts';
import { sampleReportDocument } from '../test-document.ts';
import { DeliveryService } from './service.ts';

const dataDir = process.env.ENKAKU_DATA_DIR!;
const db = await openDatabase({ dataDir, url: process.env.ENKAKU_DATABASE_URL || undefined, schema: process.env.ENKAKU_DATABASE_SCHEMA || undefined });
const log = createLogger(process.env.ENKAKU_LOG_LEVEL ?? 'silent');
const audit = new AuditService(db.kysely, { dialect: db.dialect, source: { aet: 'ENKAKU' } });
const queue = new JobQueue(db.kysely, db.dialect, { backoff: { baseMs: 100, maxMs: 300 } });
const service = new DeliveryService({ db: db.kysely, queue, audit, secrets: SecretBox.open(dataDir), log, facilityExists: async () => true });
const worker = new JobWorker(queue, { log, pollMs: 50, concurrency: 2, leaseMs: Number(process.env.DELIVERY_LEASE_MS ?? 1500) });
service.registerHandlers(worker, {
  loadVersion: async (versionId) => ({
    document: sampleReportDocument({ versionId, reportId: `rpt-${versionId}` }),
    pdf: Buffer.from(`%PDF-1.7 ${versionId}`, 'latin1'),
  }),
});
worker.start();
process.stdout.write(`ready ${process.pid}\n`);
process.on('SIGTERM', () => {
  void worker.stop().then(() => db.close()).then(() => process.exit(0));
});
