/**
 * The finalise-sign-deliver measurement of the reporting benchmark (`bench/reporting.ts`),
 * issue 7: "finalise-sign-deliver (HL7 to a test MLLP receiver) under 2 s at p95 including
 * the timestamp".
 *
 * It runs on the bench's runtime, PostgreSQL schema, data and HTTP app, through the real code:
 *  - every facility gets contract route `hl7` (ContractService) and one HL7 endpoint
 *    (DeliveryService.addEndpoint) pointing at a test MLLP receiver on a loopback port
 *    ({@link MllpTestReceiver}: it frames MLLP itself and answers AA); the endpoint keeps its
 *    defaults (ISO-2022-JP, the signed PDF embedded in the ORU^R01);
 *  - a {@link JobWorker} on the runtime's queue, as `enkaku serve` starts it (src/server/main.ts),
 *    with `rt.deliveries.registerHandlers(worker, { loadVersion: (id) => rt.reports.loadVersion(id) })`
 *    and the configured `jobs.pollMs` (serve's default unless `--job-poll-ms` says otherwise);
 *  - physicians with a jp-medical licence, a diagnostic radiology certification (covers every
 *    modality) and an enrolled TOTP secret, signed in as the web application does;
 *  - for each report, over real HTTP as that physician: claim the worklist item
 *    (`POST /api/worklist/:id/claim`), start the report (`POST /api/studies/:uid/report`), save
 *    the draft (`PUT /api/reports/:id/draft`), then the timed `POST /api/reports/:id/finalise`
 *    with a fresh TOTP code: second factor, qualification check, document, PAdES PDF and detached
 *    CMS signed with the physician's certificate and time-stamped by the built-in RFC 3161 TSA,
 *    blobs stored, version + worklist status + delivery job + audit committed in one transaction.
 *
 * Timed, per report, from just before the finalise request is sent:
 *  - the finalise HTTP answer (sign + time-stamp + store + enqueue);
 *  - the ORU^R01 received and parsed by the MLLP receiver (it answers AA at once);
 *  - the delivery recorded as delivered: the moment the worker's `report.deliver` handler
 *    returns, which is after its transaction has committed `report_deliveries.status =
 *    'delivered'` with the attempt and the audit entry. The handler is the real one, wrapped only
 *    to note that moment; each delivery is then checked in the database (delivered, AA, one
 *    attempt) and at the receiver (one ORU^R01 with its MSH-10, answered AA) before the next report.
 * Reports go one at a time. The client, the HTTP server, the worker and the receiver share this
 * process (as the server and worker share `enkaku serve`).
 */
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { generate } from 'otplib';
import type pg from 'pg';
import type { Runtime } from '../src/server/runtime.ts';
import { JobWorker, type JobHandler } from '../src/server/platform/outbox/index.ts';
import { MllpTestReceiver } from '../src/server/reports/delivery/test-support.ts';
import type { ReportView } from '../src/shared/reports.ts';
import { BenchError, checkInterrupted, pad, say, timedRequest } from './lib.ts';

/** The issue's target: p95 of finalise → delivered, in ms. */
export const FSD_TARGET_P95_MS = 2000;
/** Reports for a p95 worth judging (the issue asks for at least 100). */
const MIN_JUDGED = 100;
const OP = { kind: 'system', name: 'bench' } as const;
const PASSWORD = 'Correct-Horse-9-Battery';
/** Physicians who sign in turn; the first report of each is a warm-up (untimed). */
const PHYSICIANS = 4;
/** How long one delivery may take before the bench gives up on it. */
const DELIVERY_TIMEOUT_MS = 60_000;
const SECTIONS = {
  clinicalInformation: '咳嗽が続く。精査目的。',
  technique: '単純撮影。',
  comparison: '前回検査と比較。',
  findings: '右上葉に径12mmの結節を認める。辺縁は平滑。縦隔・肺門リンパ節の腫大なし。胸水なし。',
  impression: '右上葉結節。3か月後の経過観察CTを推奨。',
};

/** What the measurement needs from the bench. */
export interface FsdInput {
  rt: Runtime;
  /** The HTTP app's base URL (loopback). */
  base: string;
  /** The bench's own PostgreSQL connection (search_path set to the bench schema). */
  client: pg.Client;
  facilities: string[];
  /** Timed reports. */
  reports: number;
}

/** Median, p95 and max of one measured span, in ms. */
export interface Stat {
  median: number;
  p95: number;
  max: number;
}

/** The figures of a run. */
export interface FsdResult {
  reports: number;
  /** Finalise request → delivered recorded. */
  endToEnd: Stat;
  /** The finalise HTTP request alone. */
  finalise: Stat;
  /** Finalise answer → delivered recorded. */
  lag: Stat;
  errors: number;
  pass: boolean;
}

interface Physician {
  id: string;
  name: string;
  cookie: string;
  csrf: string;
  secret: string;
}

interface Item {
  id: string;
  study_uid: string;
  facility_id: string;
  modality: string;
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function stat(xs: readonly number[]): Stat {
  return { median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: xs.length ? Math.max(...xs) : NaN };
}

const ms = (n: number): string => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1)) : '-');

/**
 * A physician as reports.test.ts makes one: account, agreement, first login with TOTP
 * enrolment (the secret is kept to sign later), licence and certification verified.
 */
async function physician(rt: Runtime, n: number): Promise<Physician> {
  const username = `signer${n}`;
  const name = `署名医${n}`;
  const id = await rt.accounts.create(OP, { username, displayName: name, password: PASSWORD, grants: [{ role: 'radiologist', facilityId: null }], mustChangePassword: false });
  await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
  const client = { address: '127.0.0.1', userAgent: 'bench' };
  const first = await rt.auth.login(username, PASSWORD, client);
  if (first.response.status !== 'mfa-enrolment-required') throw new BenchError(`${username}: expected TOTP enrolment at the first login, got ${first.response.status}`);
  const secret = first.response.enrolment.secret;
  const { cookie } = await rt.auth.secondFactor(first.cookie, await generate({ secret }), client);
  const info = await rt.auth.session(cookie, client);
  if (!info) throw new BenchError(`${username} could not sign in`);
  // jp-medical licence numbers have at most 7 digits.
  await rt.credentials.recordLicence(OP, id, { kind: 'jp-medical', number: String(600000 + n), country: 'JP', evidence: 'bench' });
  await rt.credentials.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: `S-${n}`, issuedOn: '2024-04-01', expiresOn: '2099-03-31', evidence: 'bench' });
  return { id, name, cookie, csrf: info.csrfToken, secret };
}

/**
 * Runs the measurement and prints its lines. Returns undefined when `reports` is 0.
 * @throws BenchError when the setup fails
 */
export async function measureFsd(input: FsdInput): Promise<FsdResult | undefined> {
  const { rt, base, client: c, facilities } = input;
  if (input.reports <= 0) return undefined;
  const pollMs = rt.config.jobs.pollMs;

  // The receiver: notes when each ORU^R01 arrives (keyed by OBR-20, the version id) and answers AA.
  const receiver = new MllpTestReceiver();
  const arrivals = new Map<string, { at: number; controlId: string; type: string }>();
  receiver.answer = (m) => {
    const at = performance.now();
    const versionId = m.segments.find((s) => s.name === 'OBR')?.get(20) ?? '';
    arrivals.set(versionId, { at, controlId: m.header.controlId, type: `${m.header.messageType.code}^${m.header.messageType.trigger}` });
    return 'AA';
  };
  await receiver.start();

  // The job worker of `serve`, its report.deliver handler noting when it has recorded a delivery.
  const delivered = new Map<string, number>();
  const attemptErrors = new Map<string, string>();
  const waiters = new Map<string, () => void>();
  const worker = new JobWorker(rt.jobs, { log: rt.log, pollMs });
  const observed = {
    register(kind: string, handler: JobHandler): unknown {
      return worker.register(kind, async (ctx) => {
        const versionId = String(ctx.payload.versionId ?? '');
        try {
          const out = await handler(ctx);
          delivered.set(versionId, performance.now());
          waiters.get(versionId)?.();
          return out;
        } catch (err) {
          attemptErrors.set(versionId, (err as Error).message);
          throw err;
        }
      });
    },
  };
  rt.deliveries.registerHandlers(observed, { loadVersion: (id) => rt.reports.loadVersion(id) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  try {
    // Facilities: contract route hl7 and one HL7 endpoint each, all at the test receiver.
    for (const [i, facilityId] of facilities.entries()) {
      await rt.contracts.set(OP, facilityId, {
        scope: { modalities: [], bodyParts: [] },
        dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
        retentionDays: 1825,
        contactLadder: [{ name: '山田 一郎', role: '依頼医', phone: '03-1234-5678', hours: '平日 8:30-17:15' }],
        delivery: { route: 'hl7', transcriptionConfirmer: '' },
        onwardSharing: false,
        monitorCheckRequired: false,
        optOutNotice: '当院は画像診断を外部の遠隔画像診断事業者に委託しています。',
      });
      await rt.deliveries.addEndpoint(OP, facilityId, {
        kind: 'hl7', name: '放射線科RIS', host: '127.0.0.1', port: receiver.port, receivingApplication: 'RIS', receivingFacility: `FAC${i + 1}`, timeoutSeconds: 10,
      });
    }
    worker.start();

    const physicians: Physician[] = [];
    for (let n = 1; n <= PHYSICIANS; n++) physicians.push(await physician(rt, n));
    // The first signing of a physician issues their certificate (RSA key generation): done here, untimed.
    const tCert = performance.now();
    for (const p of physicians) await rt.signing.ensureCertificate({ id: p.id, displayName: p.name });
    const certSeconds = (performance.now() - tCert) / 1000;

    const wanted = PHYSICIANS + input.reports;
    const items = (
      await c.query<Item>(
        `select id, study_uid, facility_id, modality from reading_items
         where status = 'unread' and assigned_to is null and claimed_by is null and reading_mode = 'single'
         order by md5(id || 'fsd') limit $1`,
        [wanted],
      )
    ).rows;
    if (items.length <= PHYSICIANS) throw new BenchError(`finalise-sign-deliver: only ${items.length} unread, unassigned items (load more studies)`);
    const timed = items.length - PHYSICIANS;
    say(
      `  finalise-sign-deliver: ${timed} reports, one at a time, by ${PHYSICIANS} physicians in turn; HL7 ORU^R01 (ISO-2022-JP, signed PDF embedded) over MLLP to a test receiver on 127.0.0.1:${receiver.port} that answers AA; built-in RFC 3161 TSA; target p95 < ${FSD_TARGET_P95_MS} ms` +
        (timed < input.reports ? ` (asked for ${input.reports}; only ${items.length} unread, unassigned items)` : ''),
    );
    say(`    every facility (${facilities.length}) has contract route hl7 and one HL7 endpoint; job worker as in \`serve\` with jobs.pollMs = ${pollMs} ms (serve's default is 2000 ms; the worker also wakes as soon as a job enqueued in its process has committed)`);
    say(`    untimed warm-up: signing certificates issued (RSA key generation) for the ${PHYSICIANS} physicians in ${(certSeconds).toFixed(1)} s, then one full report per physician`);
    say('    TOTP codes are accepted once per 30 s step: before each signing the bench resets the physician\'s totp_last_step to null (as the tests do) and generates a fresh code');
    say('    per report, untimed: claim (POST /api/worklist/:id/claim), start (POST /api/studies/:uid/report), draft save (PUT /api/reports/:id/draft); timed: POST /api/reports/:id/finalise until the delivery is recorded as delivered');

    const send = async (p: Physician, method: 'POST' | 'PUT', url: string, body?: unknown) => {
      const headers: Record<string, string> = { cookie: `enkaku_session=${p.cookie}`, 'x-csrf-token': p.csrf, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await timedRequest(`${base}${url}`, { method, headers, agent, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, text: r.body.toString('utf8'), ms: r.ms };
    };
    const expect = (r: { status: number; text: string }, status: number, what: string): void => {
      if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    };
    const whenDelivered = (versionId: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const done = delivered.get(versionId);
        if (done !== undefined) return resolve(done);
        const timer = setTimeout(() => {
          waiters.delete(versionId);
          reject(new Error(`not delivered within ${DELIVERY_TIMEOUT_MS / 1000} s${attemptErrors.has(versionId) ? ` (last attempt: ${attemptErrors.get(versionId)})` : ''}`));
        }, DELIVERY_TIMEOUT_MS);
        waiters.set(versionId, () => {
          clearTimeout(timer);
          waiters.delete(versionId);
          resolve(delivered.get(versionId)!);
        });
      });

    /** One report through the whole path; the times of the timed part. */
    const oneReport = async (item: Item, p: Physician, n: number) => {
      expect(await send(p, 'POST', `/api/worklist/${item.id}/claim`), 200, 'claim');
      const started = await send(p, 'POST', `/api/studies/${item.study_uid}/report`, { templateId: 'tpl-generic', location: 'on-site' });
      expect(started, 201, 'start');
      const draft = JSON.parse(started.text) as ReportView;
      const saved = await send(p, 'PUT', `/api/reports/${draft.id}/draft`, { revision: draft.revision, sections: { ...SECTIONS, findings: `${SECTIONS.findings}（${n}）` }, location: 'on-site' });
      expect(saved, 200, 'draft save');
      const ready = JSON.parse(saved.text) as ReportView;
      await rt.accounts.repo.updateUser(p.id, { totp_last_step: null });
      const totp = await generate({ secret: p.secret });

      const t0 = performance.now();
      const fin = await send(p, 'POST', `/api/reports/${ready.id}/finalise`, { totp, revision: ready.revision, location: 'on-site' });
      const t1 = performance.now();
      expect(fin, 200, 'finalise');
      const report = JSON.parse(fin.text) as ReportView;
      const version = report.versions.at(-1);
      if (report.status !== 'final' || !version?.timestamp.time) throw new Error('finalise: the answer has no signed, time-stamped version');
      const t3 = await whenDelivered(version.id);

      // Checks (untimed): recorded as delivered with AA in one attempt; the receiver got one ORU^R01 with its MSH-10, answered AA.
      const rows = await rt.deliveries.deliveriesOfVersion(OP, version.id);
      const d = rows.find((x) => x.route === 'hl7');
      if (rows.length !== 1 || !d || d.status !== 'delivered' || d.lastCode !== 'AA' || !d.deliveredAt) {
        throw new Error(`delivery not recorded as delivered: ${JSON.stringify(rows.map((x) => ({ route: x.route, status: x.status, code: x.lastCode, error: x.lastError })))}`);
      }
      const arrived = arrivals.get(version.id);
      const got = receiver.received.filter((m) => m.controlId === d.controlId);
      if (!arrived || arrived.type !== 'ORU^R01' || got.length !== 1 || got[0]!.answered !== 'AA') {
        throw new Error(`the receiver has ${got.length} message(s) with MSH-10 ${d.controlId ?? '?'} (${arrived?.type ?? 'none'}, ${got[0]?.answered ?? '-'})`);
      }
      return { endToEnd: t3 - t0, finalise: t1 - t0, lag: t3 - t1, toReceiver: arrived.at - t1, ackToRecorded: t3 - arrived.at, attempts: d.attempts };
    };

    for (let i = 0; i < PHYSICIANS; i++) await oneReport(items[i]!, physicians[i]!, i);

    const load0 = os.loadavg()[0]!;
    const xs = { endToEnd: [] as number[], finalise: [] as number[], lag: [] as number[], toReceiver: [] as number[], ackToRecorded: [] as number[] };
    let errors = 0;
    let retried = 0;
    for (let i = PHYSICIANS; i < items.length; i++) {
      checkInterrupted();
      try {
        const r = await oneReport(items[i]!, physicians[i % PHYSICIANS]!, i);
        for (const k of Object.keys(xs) as Array<keyof typeof xs>) xs[k].push(r[k]);
        if (r.attempts > 1) retried++;
      } catch (err) {
        if (errors++ < 3) say(`    report ${i - PHYSICIANS + 1}: ${(err as Error).message}`);
      }
      if (process.stdout.isTTY) process.stdout.write(`\r    ${i - PHYSICIANS + 1}/${timed}`);
    }
    if (process.stdout.isTTY) process.stdout.write('\r');

    const result: FsdResult = {
      reports: xs.endToEnd.length,
      endToEnd: stat(xs.endToEnd),
      finalise: stat(xs.finalise),
      lag: stat(xs.lag),
      errors,
      pass: false,
    };
    result.pass = errors === 0 && result.endToEnd.p95 < FSD_TARGET_P95_MS;
    const load1 = os.loadavg()[0]!;
    const line = (label: string, s: Stat, verdict = ''): void =>
      say(`    ${pad(label, 56)} median ${pad(ms(s.median), 6, true)}  p95 ${pad(ms(s.p95), 6, true)}  max ${pad(ms(s.max), 6, true)} ms${verdict}`);
    line(`finalise → delivered, end to end (${result.reports} reports)`, result.endToEnd, `  ${result.pass ? 'PASS' : 'FAIL'} (p95 < ${FSD_TARGET_P95_MS} ms${result.reports < MIN_JUDGED ? `; only ${result.reports} reports, the issue asks for ≥ ${MIN_JUDGED}` : ''})`);
    line('  finalise HTTP alone (sign, time-stamp, store, enqueue)', result.finalise);
    line('  delivery lag (finalise answer → recorded delivered)', result.lag);
    line('    answer → ORU^R01 received by the test receiver', stat(xs.toReceiver));
    line('    receiver\'s AA → delivery recorded as delivered', stat(xs.ackToRecorded));
    say(`    ${errors} error(s); ${retried} delivery(ies) needed more than one attempt; the receiver got ${receiver.received.length} messages (${PHYSICIANS} of them warm-up), ${receiver.received.filter((m) => m.answered === 'AA').length} answered AA`);
    say(`    1-minute load average ${load0.toFixed(2)} before and ${load1.toFixed(2)} after the timed reports (${os.cpus().length} CPUs)`);
    return result;
  } finally {
    agent.destroy();
    await worker.stop();
    await receiver.stop();
  }
}
