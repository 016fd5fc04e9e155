/**
 * Orders benchmark (`npm run bench:orders`): sustained HL7 order intake over MLLP with a
 * durable commit before every acknowledgment (issue target: at least 500 messages/s), and the
 * SS-MIX2 import rate (target 200 files/s), on SQLite and on PostgreSQL.
 *
 * HL7 part, per database:
 *  1. a fresh Enkaku runtime (new data folder; on PostgreSQL a new schema `bench_…`, dropped
 *     afterwards), one facility and its registered HL7 sender;
 *  2. the MLLP listener of `enkaku serve` (startHl7Listener) on a loopback port, in this process;
 *  3. `--messages` synthetic JAHIS OMG^O19 orders (ISO-2022-JP, each its own placer order number,
 *     patients drawn from a pool of 500) encoded beforehand, then sent over `--connections`
 *     concurrent MLLP connections (several senders), each waiting for its ACK before the next
 *     message (as a HIS does); the ACK comes only after the transaction that carried the
 *     message committed (the listener commits the messages that arrive together in one
 *     transaction, OrderService.receiveMany; SQLite synchronous=FULL);
 *  4. checks every answer is AA and the database holds exactly one order per message;
 *  5. prints messages/s and ACK latency (median, 99th percentile), with the 1-minute load
 *     average before and after the run; `--runs N` repeats this N times per database (a fresh
 *     runtime each time) and prints the median and the range.
 * Clients and server share this process, so the figures include the clients' own work.
 *
 *   node --import tsx bench/orders.ts [--messages 3000] [--connections 16] [--runs 1] [--max-batch 64] [--database-url postgres://...]
 *                                     [--sqlite-only] [--no-ssmix2] [--ssmix2-patients 200] [--keep]
 *
 * `--max-batch 1` commits every message in a transaction of its own (no group commit), for comparison.
 *
 * Without --database-url, PostgreSQL is taken from ENKAKU_BENCH_DATABASE_URL, else skipped.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/server/config.ts';
import { createRuntime } from '../src/server/runtime.ts';
import { createLogger } from '../src/server/platform/log.ts';
import { Hl7Message, MllpClient, decodeHl7, startHl7Listener } from '../src/server/interop/hl7/index.ts';
import { syntheticOmgO19 } from '../src/server/interop/hl7/synthetic.ts';
import { benchSsmix2, formatBenchSsmix2, type BenchSsmix2Result } from './ssmix2.ts';

/** The issue's target for HL7 order intake. */
export const HL7_TARGET_MESSAGES_PER_SECOND = 500;

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OPERATOR = { kind: 'system', name: 'bench' } as const;
const SENDING_FACILITY = '1399999999';

interface Hl7Result {
  db: 'sqlite' | 'postgresql';
  messages: number;
  connections: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** 1-minute load average before and after the run. */
  load: [number, number];
  problems: string[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function benchHl7(opts: { messages: number; connections: number; maxBatch: number; databaseUrl?: string | undefined; keep: boolean; log: (l: string) => void }): Promise<Hl7Result> {
  const parent = path.join(ROOT, '.bench');
  await fsp.mkdir(parent, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(parent, 'orders-'));
  const schema = opts.databaseUrl ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const db = opts.databaseUrl ? 'postgresql' : 'sqlite';
  try {
    const config = loadConfig({
      ENKAKU_DATA_DIR: path.join(dir, 'data'),
      ...(opts.databaseUrl ? { ENKAKU_DATABASE_URL: opts.databaseUrl, ENKAKU_DATABASE_SCHEMA: schema } : {}),
      ENKAKU_HTTP_PORT: '0',
      ENKAKU_DICOM_PORT: '0',
      ENKAKU_HL7_PORT: '0',
    });
    const rt = await createRuntime(config, createLogger('silent'));
    try {
      await rt.facilities.add(OPERATOR, { name: 'HL7 BENCH', aets: [] });
      await rt.hl7Senders.add(OPERATOR, 'HL7 BENCH', { sendingFacility: SENDING_FACILITY });
      const listener = await startHl7Listener(config, { senders: rt.hl7Senders, orders: rt.orders, patients: rt.patients, clinical: rt.clinical, log: rt.log, maxBatch: opts.maxBatch });
      try {
        opts.log(`${db}: encoding ${opts.messages} OMG^O19 messages`);
        const run = randomBytes(3).toString('hex');
        const messages = Array.from({ length: opts.messages }, (_, i) => syntheticOmgO19({
          seed: i + 1,
          controlId: `B${run}${i}`,
          sendingFacility: SENDING_FACILITY,
          patient: { id: String(20_000_000 + (i % 500)) },
          order: { placerOrderNumber: `B${run}-${i}`, accessionNumber: `A${run}-${i}` },
        }).bytes);
        // One warm-up message per connection (connect, first statements), not timed.
        const clients = Array.from({ length: opts.connections }, () => new MllpClient({ host: '127.0.0.1', port: listener.port, timeoutMs: 60_000 }));
        for (const [i, c] of clients.entries()) {
          await c.send(syntheticOmgO19({ seed: 900_000 + i, controlId: `W${run}${i}`, sendingFacility: SENDING_FACILITY, order: { placerOrderNumber: `W${run}-${i}` } }).bytes);
        }
        opts.log(`${db}: sending over ${opts.connections} connection(s)`);
        const latencies: number[] = [];
        const problems: string[] = [];
        let next = 0;
        const loadBefore = os.loadavg()[0]!;
        const started = performance.now();
        await Promise.all(clients.map(async (client) => {
          for (;;) {
            const i = next++;
            if (i >= messages.length) return;
            const t = performance.now();
            const reply = await client.send(messages[i]!);
            latencies.push(performance.now() - t);
            const ack = Hl7Message.parse(decodeHl7(reply).text);
            if (ack.get('MSA-1') !== 'AA' && problems.length < 5) problems.push(`message ${i}: ${ack.get('MSA-1')} ${ack.get('ERR-3') ?? ''} ${ack.get('ERR-7') ?? ''}`);
          }
        }));
        const seconds = (performance.now() - started) / 1000;
        const loadAfter = os.loadavg()[0]!;
        await Promise.all(clients.map((c) => c.close()));
        const stored = Number((await rt.db.kysely.selectFrom('orders').select((e) => e.fn.countAll().as('n')).where('placer_order_number', 'like', `B${run}-%`).executeTakeFirstOrThrow()).n);
        if (stored !== opts.messages) problems.push(`${stored} orders stored for ${opts.messages} messages`);
        latencies.sort((a, b) => a - b);
        return { db, messages: opts.messages, connections: opts.connections, seconds, perSecond: opts.messages / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), load: [loadBefore, loadAfter], problems };
      } finally {
        await listener.close();
      }
    } finally {
      await rt.close();
    }
  } finally {
    if (!opts.keep) {
      await fsp.rm(dir, { recursive: true, force: true });
      if (schema && opts.databaseUrl) {
        const c = new pg.Client({ connectionString: opts.databaseUrl });
        try {
          await c.connect();
          await c.query(`drop schema if exists ${schema} cascade`);
        } finally {
          await c.end().catch(() => undefined);
        }
      }
    } else opts.log(`kept ${dir}${schema ? ` and PostgreSQL schema ${schema}` : ''}`);
  }
}

const dbName = (db: Hl7Result['db']): string => (db === 'sqlite' ? 'SQLite' : 'PostgreSQL');

function formatHl7(results: readonly Hl7Result[]): string[] {
  const lines = [
    `HL7 MLLP intake      Messages  Conns  Seconds   Msg/s  ACK p50  ACK p99  Target  Result   Load (1 min, ${os.cpus().length} CPUs)`,
    '-----------------------------------------------------------------------------------------------------------',
  ];
  for (const r of results) {
    const pass = r.problems.length === 0 && r.perSecond >= HL7_TARGET_MESSAGES_PER_SECOND;
    lines.push(
      `${`Enkaku ${dbName(r.db)}`.padEnd(18)} ${String(r.messages).padStart(10)} ${String(r.connections).padStart(6)} ${r.seconds.toFixed(2).padStart(8)} `
        + `${r.perSecond.toFixed(0).padStart(7)} ${`${r.p50Ms.toFixed(1)}ms`.padStart(8)} ${`${r.p99Ms.toFixed(1)}ms`.padStart(8)}  >= ${HL7_TARGET_MESSAGES_PER_SECOND}  ${(pass ? 'PASS' : 'MISS').padStart(6)}`
        + `   ${r.load[0].toFixed(2)} -> ${r.load[1].toFixed(2)}`,
    );
    for (const p of r.problems) lines.push(`  problem: ${p}`);
  }
  // Several runs per database: the median and the spread.
  for (const db of ['sqlite', 'postgresql'] as const) {
    const runs = results.filter((r) => r.db === db);
    if (runs.length < 2) continue;
    const med = (xs: number[]): number => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.floor((sorted.length - 1) / 2)]!;
    };
    const rates = runs.map((r) => r.perSecond);
    lines.push(
      `${dbName(db)}: ${runs.length} runs, msg/s median ${med(rates).toFixed(0)} (${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}), `
        + `ACK p50 median ${med(runs.map((r) => r.p50Ms)).toFixed(1)} ms, p99 median ${med(runs.map((r) => r.p99Ms)).toFixed(1)} ms`,
    );
  }
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '3000' },
      connections: { type: 'string', default: '16' },
      runs: { type: 'string', default: '1' },
      'max-batch': { type: 'string', default: '64' },
      'database-url': { type: 'string' },
      'sqlite-only': { type: 'boolean', default: false },
      'no-ssmix2': { type: 'boolean', default: false },
      'ssmix2-patients': { type: 'string', default: '200' },
      keep: { type: 'boolean', default: false },
    },
  });
  const messages = Number(values.messages);
  const connections = Number(values.connections);
  const runs = Number(values.runs);
  const maxBatch = Number(values['max-batch']);
  if (!Number.isInteger(messages) || messages < 1 || !Number.isInteger(connections) || connections < 1 || connections > 32 || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(maxBatch) || maxBatch < 1) {
    process.stderr.write('--messages, --runs and --max-batch must be positive integers and --connections 1-32\n');
    return 2;
  }
  // bench/ is outside the server: its own environment variable names the PostgreSQL to use.
  const pgUrl = values['sqlite-only'] ? undefined : values['database-url'] ?? (process.env.ENKAKU_BENCH_DATABASE_URL || undefined);
  const databases: Array<string | undefined> = [undefined, ...(pgUrl ? [pgUrl] : [])];
  const log = (l: string): void => void process.stdout.write(`  ${l}\n`);

  const hl7: Hl7Result[] = [];
  for (const databaseUrl of databases) {
    for (let run = 0; run < runs; run++) hl7.push(await benchHl7({ messages, connections, maxBatch, databaseUrl, keep: values.keep, log }));
  }

  // ---- SS-MIX2 import rate (bench/ssmix2.ts, maintained with the SS-MIX2 import) ----
  const ssmix2: BenchSsmix2Result[] = [];
  if (!values['no-ssmix2']) {
    for (const databaseUrl of databases) ssmix2.push(await benchSsmix2({ patients: Number(values['ssmix2-patients']), ...(databaseUrl ? { databaseUrl } : {}), keep: values.keep, log }));
  }

  process.stdout.write('\n');
  for (const line of formatHl7(hl7)) process.stdout.write(`${line}\n`);
  if (ssmix2.length) {
    process.stdout.write('\n');
    for (const line of formatBenchSsmix2(ssmix2)) process.stdout.write(`${line}\n`);
  }
  if (!pgUrl) process.stdout.write('\nPostgreSQL skipped: pass --database-url postgres://... or set ENKAKU_BENCH_DATABASE_URL.\n');
  const failed = hl7.some((r) => r.problems.length) || ssmix2.some((r) => r.problems.length);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench:orders failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
