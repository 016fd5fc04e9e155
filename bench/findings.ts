/**
 * Findings benchmark (`npm run bench:findings`): critical-findings communication under load.
 * Issue targets: "from raise to the in-app alert on a connected recipient's screen under 1 s
 * at p95 with 1,000 connected users; escalation fires within 5 s of its deadline with 10,000
 * open notices".
 *
 * One run:
 *  1. set-up in this process, through a runtime on a fresh database (a PostgreSQL schema
 *     `bench_…`, dropped at the end; or a temp SQLite database with --sqlite): 20 facilities,
 *     each with a contract whose contact ladder names two of its users (the department head,
 *     then the duty contact); `--users` users (attending physicians, technologists, the two
 *     ladder contacts and other administrators per facility; readers and management
 *     physicians of the provider), one of each role created and signed in through the real
 *     path and the others cloned from those rows (user, grants, full session); three studies
 *     per facility through the image intake, two of them after an order that names one of the
 *     attending physicians as requester; then `--open` − `--escalations` urgent and incidental
 *     notices raised through `FindingsService.raise` (what `POST /api/findings` runs), whose
 *     deadlines lie an hour or days ahead, so that they stay open;
 *  2. `enkaku serve` in a child process on loopback ports, with ENKAKU_FINDINGS_CRITICAL_MINUTES=1
 *     (the shortest step) and its job worker as `serve` starts it (ENKAKU_JOBS_POLL_MS only with
 *     --job-poll-ms); one Server-Sent Events stream per user on `GET /api/findings/events`,
 *     each confirmed by its `ready` event before anything is timed;
 *  3. part 1: `--raises` critical findings raised over HTTP by readers, one at a time, on
 *     studies of changing facilities, each timed from just before the POST is written until
 *     the `raised` alert has arrived on the stream of every step-0 recipient; each is then
 *     acknowledged by one of them (so that it does not escalate); then again with
 *     `--in-flight` raises at once;
 *  4. part 2: `--escalations` critical findings raised over HTTP at a steady rate over
 *     `--spread` seconds (bringing the open notices to `--open`), each escalating one minute
 *     later; measured from each deadline to the `escalated` alert on the stream of the step-1
 *     contact, and to the `escalated` event of the finding's history (`GET /api/findings/:id`);
 *  5. every alert any stream received is checked against the finding's ladder (stray alerts);
 *     the server stops, and the database shows whether each first escalation happened exactly
 *     once (audit trail and job attempts) and whether the audit chain still verifies;
 *  6. prints the table with the targets, writes `.bench/findings-<stamp>.json`, and removes
 *     everything it made (also after an error or Ctrl-C).
 *
 *   node --import tsx bench/findings.ts [--users 1000] [--raises 200] [--in-flight 8] [--open 10000]
 *                                       [--escalations 200] [--spread 60] [--job-poll-ms N]
 *                                       [--database-url postgres://... | --sqlite] [--keep]
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig, type EnkakuConfig } from '../src/server/config.ts';
import { createRuntime, type Runtime } from '../src/server/runtime.ts';
import { createLogger } from '../src/server/platform/log.ts';
import type { Actor } from '../src/server/platform/context.ts';
import { sseReader } from '../src/server/platform/sse-client.ts';
import type { SessionRow, UserRow } from '../src/server/security/repository.ts';
import { orderInput, patient, storeStudy } from '../src/server/orders/test-fixtures.ts';
import { OP, contractWithLadder, person } from '../src/server/findings/test-support.ts';
import type { FindingAlertEvent, FindingStats, FindingView } from '../src/shared/findings.ts';
import {
  BENCH_DIR,
  BenchError,
  ENKAKU_BIN,
  ROOT,
  checkInterrupted,
  cpuSeconds,
  enkakuLogProblems,
  fmt,
  freePort,
  httpGet,
  initRun,
  logTail,
  newPgSchema,
  pad,
  procMemory,
  runMain,
  say,
  sleep,
  stamp,
  startProc,
  stopProc,
  waitFor,
  type Proc,
} from './lib.ts';

const USAGE = `Usage: npm run bench:findings -- [options]

  --users N            logged-in users, each with an open alert stream (default 1000, at least 100)
  --raises N           part 1: timed critical raises, one at a time (default 200; the target wants at least 100)
  --in-flight N        part 1, second variant: the same number of raises with N in flight at once (default 8; 0 skips it)
  --open N             part 2: open notices while escalations are measured, the escalating ones included (default 10000)
  --escalations N      part 2: critical notices whose first escalation is measured (default 200)
  --spread S           part 2: seconds over which those are raised, so their deadlines spread as much (default 60)
  --job-poll-ms N      ENKAKU_JOBS_POLL_MS of the server (default: unset, serve's default of 2000 ms)
  --database-url URL   PostgreSQL (default ENKAKU_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres);
                       Enkaku gets a fresh schema there, dropped at the end
  --sqlite             run on a temp SQLite database instead
  --keep               keep the PostgreSQL schema and the temp folder
  -h, --help           this text`;

/** Issue targets. */
const ALERT_TARGET_P95_MS = 1000;
const ESCALATION_TARGET_MS = 5000;
const FACILITIES = 20;
const STUDIES_PER_FACILITY = 3;
/** The shortest acknowledgement time the configuration accepts (minutes). */
const CRITICAL_MINUTES = 1;
/** How long a raise may take to reach every step-0 screen before it counts as missing. */
const ALERT_TIMEOUT_MS = 15_000;
const MESSAGE = '右緊張性気胸の疑い。至急ご確認ください。';
const CLIENT = { address: '127.0.0.1', userAgent: 'bench-findings' };

interface Options {
  users: number;
  raises: number;
  inFlight: number;
  open: number;
  escalations: number;
  spreadSeconds: number;
  jobPollMs: number | undefined;
  databaseUrl: string | undefined;
  keep: boolean;
}

function parseOptions(): Options {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      users: { type: 'string', default: '1000' },
      raises: { type: 'string', default: '200' },
      'in-flight': { type: 'string', default: '8' },
      open: { type: 'string', default: '10000' },
      escalations: { type: 'string', default: '200' },
      spread: { type: 'string', default: '60' },
      'job-poll-ms': { type: 'string' },
      'database-url': { type: 'string' },
      sqlite: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const fail = (why: string): never => {
    process.stderr.write(`bench: ${why}\n\n${USAGE}\n`);
    process.exit(2);
  };
  const int = (name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got "${raw}"`);
    return n;
  };
  if (v.sqlite && v['database-url']) fail('--sqlite and --database-url exclude each other');
  const url = v.sqlite ? undefined : (v['database-url'] ?? process.env.ENKAKU_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) fail('--database-url must start with postgres://');
  const escalations = int('escalations', v.escalations, 1);
  const o: Options = {
    users: int('users', v.users, 100, 20_000),
    raises: int('raises', v.raises, 1),
    inFlight: int('in-flight', v['in-flight'], 0, 100),
    open: int('open', v.open, 1),
    escalations,
    spreadSeconds: int('spread', v.spread, 1, 3600),
    jobPollMs: v['job-poll-ms'] !== undefined ? int('job-poll-ms', v['job-poll-ms'], 10, 60_000) : undefined,
    databaseUrl: url,
    keep: v.keep,
  };
  if (o.open < o.escalations) fail('--open counts the escalating notices too: it must be at least --escalations');
  return o;
}

// ---------------------------------------------------------------------------------------
// Statistics

interface Stats {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? NaN, median: quantile(s, 0.5), p95: quantile(s, 0.95), max: s.at(-1) ?? NaN };
}

const ms = (n: number): string => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1)) : '-');
const count = (n: number): string => n.toLocaleString('en');

function statLine(label: string, s: Stats, suffix = ''): string {
  return `    ${pad(label, 58)} median ${pad(ms(s.median), 6, true)}  p95 ${pad(ms(s.p95), 6, true)}  max ${pad(ms(s.max), 6, true)} ms  (n=${s.n})${suffix}`;
}

/** The 1-minute load average, and the server's CPU seconds so far. */
function snapshot(pid: number | undefined): { load1: number; serverCpu: number | undefined } {
  return { load1: os.loadavg()[0]!, serverCpu: cpuSeconds(pid) };
}

// ---------------------------------------------------------------------------------------
// Users

type Kind = 'attending' | 'contact' | 'duty' | 'technologist' | 'facility-admin' | 'reader' | 'management';

const ROLE_OF: Record<Kind, string> = {
  attending: 'attending-physician',
  contact: 'facility-admin',
  duty: 'facility-admin',
  technologist: 'technologist',
  'facility-admin': 'facility-admin',
  reader: 'radiologist',
  management: 'management-physician',
};

interface Spec {
  kind: Kind;
  facility: number | null;
  username: string;
  displayName: string;
}

interface BenchUser extends Spec {
  idx: number;
  id: string;
  cookie: string;
  csrf: string;
}

const facilityLabel = (f: number): string => `F${String(f + 1).padStart(2, '0')}`;
const contactName = (f: number): string => `放射線科部長 ${facilityLabel(f)}`;
const dutyName = (f: number): string => `当直責任者 ${facilityLabel(f)}`;

/**
 * The people of one run: 0.5 % management physicians and 7.5 % readers of the provider; the
 * rest spread over the facilities, each with its two ladder contacts, about 10/46 attending
 * physicians, 2/46 other administrators and technologists for the remainder.
 */
function roster(users: number): Spec[] {
  const out: Spec[] = [];
  const management = Math.max(1, Math.round(users * 0.005));
  const readers = Math.max(2, Math.round(users * 0.075));
  for (let i = 1; i <= management; i++) out.push({ kind: 'management', facility: null, username: `mgmt-${i}`, displayName: `管理医 ${i}` });
  for (let i = 1; i <= readers; i++) out.push({ kind: 'reader', facility: null, username: `reader-${i}`, displayName: `読影医 ${i}` });
  const rest = users - management - readers;
  for (let f = 0; f < FACILITIES; f++) {
    const size = Math.floor(rest / FACILITIES) + (f < rest % FACILITIES ? 1 : 0);
    const label = facilityLabel(f);
    const lower = label.toLowerCase();
    const attendings = Math.max(1, Math.round((size * 10) / 46));
    const admins = Math.max(0, Math.min(size - 2 - attendings, Math.round((size * 2) / 46)));
    const technologists = size - 2 - attendings - admins;
    out.push({ kind: 'contact', facility: f, username: `contact-${lower}`, displayName: contactName(f) });
    out.push({ kind: 'duty', facility: f, username: `duty-${lower}`, displayName: dutyName(f) });
    for (let i = 1; i <= attendings; i++) out.push({ kind: 'attending', facility: f, username: `att-${lower}-${i}`, displayName: `${label} 主治医 ${i}` });
    for (let i = 1; i <= admins; i++) out.push({ kind: 'facility-admin', facility: f, username: `fadmin-${lower}-${i}`, displayName: `${label} 事務 ${i}` });
    for (let i = 1; i <= technologists; i++) out.push({ kind: 'technologist', facility: f, username: `tech-${lower}-${i}`, displayName: `${label} 技師 ${i}` });
  }
  return out;
}

const token = (): string => randomBytes(32).toString('base64url');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Creates the users. The first of each role goes through the real path (account, password
 * login, TOTP enrolment where the role needs it: `person()` of the findings tests); the rest
 * are copies of that user's row and full session, written straight to the database with
 * their own id, name, grant, session id and CSRF token (argon2id costs about 0.1 s a hash).
 */
async function createUsers(rt: Runtime, specs: Spec[], facilityIds: string[]): Promise<{ users: BenchUser[]; real: number }> {
  const db = rt.db.kysely;
  const templates = new Map<string, { user: UserRow; session: SessionRow }>();
  const users: BenchUser[] = [];
  const pending: Array<{ user: UserRow; grant: { user_id: string; role: string; facility_id: string; created_at: string }; session: SessionRow }> = [];
  for (const [idx, s] of specs.entries()) {
    const role = ROLE_OF[s.kind];
    const facilityId = s.facility === null ? null : facilityIds[s.facility]!;
    const tpl = templates.get(role);
    if (!tpl) {
      const p = await person(rt, s.username, s.displayName, role, facilityId);
      const user = await db.selectFrom('users').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
      const session = await db.selectFrom('sessions').selectAll().where('id', '=', sha256(p.cookie)).executeTakeFirstOrThrow();
      templates.set(role, { user, session });
      users.push({ ...s, idx, id: p.id, cookie: p.cookie, csrf: p.csrf });
      continue;
    }
    const now = new Date().toISOString();
    const id = randomUUID();
    const cookie = token();
    const csrf = token();
    pending.push({
      user: { ...tpl.user, id, username: s.username, display_name: s.displayName, created_at: now, updated_at: now, last_login_at: now },
      grant: { user_id: id, role, facility_id: facilityId ?? '', created_at: now },
      session: { ...tpl.session, id: sha256(cookie), user_id: id, csrf_token: csrf, created_at: now, last_seen_at: now },
    });
    users.push({ ...s, idx, id, cookie, csrf });
  }
  for (let i = 0; i < pending.length; i += 200) {
    const part = pending.slice(i, i + 200);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(part.map((p) => p.user)).execute();
      await trx.insertInto('user_grants').values(part.map((p) => p.grant)).execute();
      await trx.insertInto('sessions').values(part.map((p) => p.session)).execute();
    });
  }
  // A copied session must resolve to its own user and grant, as a real one does.
  for (const role of templates.keys()) {
    const u = users.find((x) => ROLE_OF[x.kind] === role && x.id !== templates.get(role)!.user.id);
    if (!u) continue;
    const r = await rt.auth.resolve(u.cookie, CLIENT, false);
    const expected = u.facility === null ? null : facilityIds[u.facility]!;
    if (!r || r.actor.userId !== u.id || r.actor.grants.length !== 1 || r.actor.grants[0]!.role !== role || r.actor.grants[0]!.facilityId !== expected) {
      throw new BenchError(`a copied session of role ${role} does not resolve to its user and grant`);
    }
  }
  return { users, real: templates.size };
}

// ---------------------------------------------------------------------------------------
// Alert streams (the screens)

interface Arrival {
  /** performance.now() when the chunk holding the alert arrived. */
  perf: number;
}

interface LoggedAlert {
  user: number;
  type: FindingAlertEvent['type'];
  findingId: string;
}

interface Screen {
  user: BenchUser;
  ended: string | undefined;
  close(): void;
}

/** Every alert received by every screen, with the first arrival per finding, type and user. */
class Screens {
  readonly log: LoggedAlert[] = [];
  readonly list: Screen[] = [];
  /** Same alert (finding, type) twice on one screen, for types that happen once per finding. */
  duplicates = 0;
  private readonly first = new Map<string, Map<number, Arrival>>();
  private readonly waiters = new Map<string, Set<() => void>>();

  record(user: number, a: FindingAlertEvent, perf: number): void {
    this.log.push({ user, type: a.type, findingId: a.findingId });
    const key = `${a.findingId}|${a.type}`;
    let m = this.first.get(key);
    if (!m) this.first.set(key, (m = new Map()));
    if (m.has(user)) {
      if (a.type === 'raised' || a.type === 'acknowledged' || a.type === 'cancelled') this.duplicates++;
      return;
    }
    m.set(user, { perf });
    for (const w of this.waiters.get(key) ?? []) w();
  }

  arrival(findingId: string, type: FindingAlertEvent['type'], user: number): Arrival | undefined {
    return this.first.get(`${findingId}|${type}`)?.get(user);
  }

  /** Waits until every one of `users` has the alert; resolves with those still missing after `timeoutMs`. */
  waitAll(findingId: string, type: FindingAlertEvent['type'], users: readonly number[], timeoutMs: number): Promise<number[]> {
    const key = `${findingId}|${type}`;
    const missing = (): number[] => users.filter((u) => !this.first.get(key)?.has(u));
    if (missing().length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = (left: number[]): void => {
        clearTimeout(timer);
        set.delete(check);
        if (set.size === 0) this.waiters.delete(key);
        resolve(left);
      };
      const check = (): void => {
        if (missing().length === 0) done([]);
      };
      const timer = setTimeout(() => done(missing()), timeoutMs);
      set.add(check);
    });
  }

  /** Opens `GET /api/findings/events` as a user; resolves once the server says `ready`. */
  open(port: number, user: BenchUser): Promise<Screen> {
    return new Promise((resolve, reject) => {
      const screen: Screen = { user, ended: undefined, close: () => req.destroy() };
      let ready = false;
      const req = http.request(
        // The longest stream the server allows, so that none ends by its lifetime during the run.
        { host: '127.0.0.1', port, path: '/api/findings/events?lifetime=3600', method: 'GET', agent: false, headers: { cookie: `enkaku_session=${user.cookie}`, accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new BenchError(`alert stream of ${user.username}: HTTP ${res.statusCode}`));
            res.resume();
            return;
          }
          res.setEncoding('utf8');
          // The arrival time of a chunk is taken before any of its events is handled.
          let perf = 0;
          const read = sseReader((name, data) => {
            if (name === 'ready' && !ready) {
              ready = true;
              clearTimeout(timer);
              this.list.push(screen);
              resolve(screen);
            } else if (name === 'finding' && data) this.record(user.idx, JSON.parse(data) as FindingAlertEvent, perf);
            else if (name === 'end') screen.ended ??= data ? ((JSON.parse(data) as { reason?: string }).reason ?? 'end') : 'end';
          });
          res.on('data', (chunk: string) => {
            perf = performance.now();
            read(chunk);
          });
          res.on('end', () => (screen.ended ??= 'closed'));
          res.on('error', (err) => (screen.ended ??= err.message));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new BenchError(`alert stream of ${user.username}: no "ready" within 30 s`));
      }, 30_000);
      req.on('error', (err) => {
        if (!ready) reject(err);
        else screen.ended ??= err.message;
      });
      req.end();
    });
  }
}

// ---------------------------------------------------------------------------------------
// HTTP API

const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });

interface Answer {
  status: number;
  text: string;
  /** performance.now() just before the request was written, and when its answer was complete. */
  t0: number;
  t1: number;
}

/** One API call as a logged-in user (session cookie; CSRF header on writes). */
function api(port: number, method: 'GET' | 'POST', urlPath: string, user: BenchUser, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { cookie: `enkaku_session=${user.cookie}`, accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = user.csrf;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    let t0 = 0;
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers, agent: apiAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), t0, t1: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    t0 = performance.now();
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------
// The run

/** What the bench knows of a finding it raised (or that was raised during set-up). */
interface Known {
  raiser: number;
  step0: Set<number>;
  /** Every user on its ladder, any step. */
  ladder: Set<number>;
}

interface World {
  port: number;
  users: BenchUser[];
  byId: Map<string, number>;
  facilityIds: string[];
  /** Study UIDs per facility. */
  studies: string[][];
  readers: BenchUser[];
  attendings: number[][];
  contacts: number[];
  managers: BenchUser[];
  screens: Screens;
  known: Map<string, Known>;
  problems: string[];
}

function note(w: World, problem: string): void {
  if (w.problems.length < 50) say(`    problem: ${problem}`);
  w.problems.push(problem);
}

/** Registers a raised finding's ladder (by the answer of POST /api/findings). */
function learn(w: World, v: FindingView, raiser: number): Known {
  const idx = (id: string | null): number | undefined => (id ? w.byId.get(id) : undefined);
  const k: Known = {
    raiser,
    step0: new Set(v.recipients.filter((r) => r.step === 0).map((r) => idx(r.userId)).filter((x): x is number => x !== undefined)),
    ladder: new Set(v.recipients.map((r) => idx(r.userId)).filter((x): x is number => x !== undefined)),
  };
  w.known.set(v.id, k);
  return k;
}

/** The facility and study of the i-th raise: facilities in a scattered order, studies in turn. */
function target(w: World, i: number): { facility: number; studyUid: string } {
  const facility = (i * 7 + Math.floor(i / FACILITIES)) % FACILITIES;
  return { facility, studyUid: w.studies[facility]![i % STUDIES_PER_FACILITY]! };
}

interface RaiseSample {
  findingId: string;
  facility: number;
  recipients: number;
  requesterFirst: boolean;
  /** The POST's answer, each step-0 recipient's arrival and the last one, from just before the POST was written (ms). */
  post: number;
  each: number[];
  last: number;
  raiser: number | undefined;
  missing: number;
}

/**
 * Part 1: one raise, timed until every step-0 screen has the alert; then acknowledged by one
 * of the recipients (untimed), and its `acknowledged` alert awaited on their screens.
 */
async function timedRaise(w: World, i: number): Promise<RaiseSample | undefined> {
  const reader = w.readers[i % w.readers.length]!;
  const { facility, studyUid } = target(w, i);
  const r = await api(w.port, 'POST', '/api/findings', reader, { studyUid, category: 'critical', message: MESSAGE });
  if (r.status !== 201) {
    note(w, `raise ${i}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return undefined;
  }
  const v = JSON.parse(r.text) as FindingView;
  const k = learn(w, v, reader.idx);
  const step0 = [...k.step0];
  const expected = w.attendings[facility]!;
  if (step0.length !== expected.length || !expected.every((u) => k.step0.has(u))) note(w, `raise ${i}: step 0 holds ${step0.length} users, not the facility's ${expected.length} attending physicians`);
  const missing = await w.screens.waitAll(v.id, 'raised', step0, ALERT_TIMEOUT_MS);
  if (missing.length) note(w, `raise ${i}: ${missing.length} of ${step0.length} step-0 screens had no alert after ${ALERT_TIMEOUT_MS / 1000} s`);
  // The reader's own screen is told too (after the recipients), for the record.
  if ((await w.screens.waitAll(v.id, 'raised', [reader.idx], ALERT_TIMEOUT_MS)).length) note(w, `raise ${i}: the raising reader's screen had no alert`);
  const each = step0.flatMap((u) => {
    const a = w.screens.arrival(v.id, 'raised', u);
    return a ? [a.perf - r.t0] : [];
  });
  const own = w.screens.arrival(v.id, 'raised', reader.idx);
  const acker = w.users[step0[0]!]!;
  const ack = await api(w.port, 'POST', `/api/findings/${v.id}/acknowledge`, acker);
  if (ack.status !== 200) note(w, `acknowledge ${i}: HTTP ${ack.status} ${ack.text.slice(0, 200)}`);
  else {
    const left = await w.screens.waitAll(v.id, 'acknowledged', step0, ALERT_TIMEOUT_MS);
    if (left.length) note(w, `acknowledge ${i}: ${left.length} step-0 screens had no "acknowledged" alert`);
  }
  return {
    findingId: v.id,
    facility,
    recipients: step0.length,
    requesterFirst: v.recipients[0]?.role === '依頼医',
    post: r.t1 - r.t0,
    each,
    last: each.length === step0.length ? Math.max(...each) : Infinity,
    raiser: own ? own.perf - r.t0 : undefined,
    missing: missing.length,
  };
}

interface RaisePart {
  inFlight: number;
  seconds: number;
  samples: RaiseSample[];
  last: Stats;
  each: Stats;
  post: Stats;
  raiser: Stats;
  /** Raises that failed or missed a step-0 screen. */
  missing: number;
  recipients: [number, number];
  requesterFirst: number;
  pass: boolean;
}

async function raisePart(w: World, n: number, inFlight: number, offset: number): Promise<RaisePart> {
  const samples: RaiseSample[] = [];
  let next = 0;
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (next < n) {
      checkInterrupted();
      const i = next++;
      const s = await timedRaise(w, offset + i);
      if (s) samples.push(s);
      if (process.stdout.isTTY && samples.length % 10 === 0) process.stdout.write(`\r    ${samples.length}/${n}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  if (process.stdout.isTTY) process.stdout.write('\r');
  const seconds = (performance.now() - t0) / 1000;
  const last = stats(samples.map((s) => s.last));
  const counts = samples.map((s) => s.recipients);
  const missing = samples.filter((s) => s.missing > 0).length + (n - samples.length);
  return {
    inFlight,
    seconds,
    samples,
    last,
    each: stats(samples.flatMap((s) => s.each)),
    post: stats(samples.map((s) => s.post)),
    raiser: stats(samples.flatMap((s) => (s.raiser === undefined ? [] : [s.raiser]))),
    missing,
    recipients: [Math.min(...counts), Math.max(...counts)],
    requesterFirst: samples.filter((s) => s.requesterFirst).length,
    pass: samples.length === n && missing === 0 && last.p95 < ALERT_TARGET_P95_MS,
  };
}

interface EscalationSample {
  findingId: string;
  facility: number;
  raisedAt: string;
  deadlineAt: string;
  /** Deadline → `escalated` alert on the step-1 contact's screen (ms); undefined when it never came. */
  screenLag: number | undefined;
  /** Deadline → the `escalated` event of the history (server clock, ms). */
  historyLag: number | undefined;
  /** POST answer → `raised` alert on the last step-0 screen (ms), for the record. */
  raiseLast: number | undefined;
}

/**
 * Part 2, one notice: raised now (critical, one-minute step). Resolves once the POST is
 * answered, with the wait for its first escalation on the step-1 screen.
 */
async function escalatingRaise(w: World, i: number, pollMs: number): Promise<{ escalation: Promise<EscalationSample> } | undefined> {
  const reader = w.readers[i % w.readers.length]!;
  const { facility, studyUid } = target(w, i);
  const r = await api(w.port, 'POST', '/api/findings', reader, { studyUid, category: 'critical', message: MESSAGE });
  if (r.status !== 201) {
    note(w, `escalation raise ${i}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return undefined;
  }
  const v = JSON.parse(r.text) as FindingView;
  const k = learn(w, v, reader.idx);
  const step1 = v.recipients.filter((x) => x.step === 1 && x.userId).map((x) => w.byId.get(x.userId!)!);
  if (step1.length !== 1 || step1[0] !== w.contacts[facility]) note(w, `escalation raise ${i}: step 1 is not the facility's first ladder contact`);
  const deadline = Date.parse(v.deadlineAt!);
  const step0 = [...k.step0];
  const who = step1[0] ?? w.contacts[facility]!;
  const escalation = (async (): Promise<EscalationSample> => {
    const left = await w.screens.waitAll(v.id, 'escalated', [who], Math.max(0, deadline - Date.now()) + 30_000 + pollMs);
    const a = w.screens.arrival(v.id, 'escalated', who);
    if (left.length || !a) note(w, `escalation ${i}: no "escalated" alert on the step-1 screen within 30 s after the deadline`);
    const raised = step0.map((u) => w.screens.arrival(v.id, 'raised', u));
    return {
      findingId: v.id,
      facility,
      raisedAt: v.raisedAt,
      deadlineAt: v.deadlineAt!,
      screenLag: a ? performance.timeOrigin + a.perf - deadline : undefined,
      historyLag: undefined,
      raiseLast: raised.every(Boolean) ? Math.max(...raised.map((x) => x!.perf - r.t0)) : undefined,
    };
  })();
  return { escalation };
}

// ---------------------------------------------------------------------------------------
// Set-up in this process

/**
 * Studies per facility through the image intake; the even ones after an order naming the
 * facility's first attending physician (spelled without the space of the display name, as a
 * HIS might), so that the notice puts the requester first.
 */
async function createStudies(rt: Runtime, facilityIds: string[], specs: Spec[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const [f, facilityId] of facilityIds.entries()) {
    const uids: string[] = [];
    const firstAttending = specs.find((s) => s.kind === 'attending' && s.facility === f)!;
    for (let s = 0; s < STUDIES_PER_FACILITY; s++) {
      checkInterrupted();
      const pid = `FB${f + 1}-${s + 1}`;
      const accession = `FBA${String(f + 1).padStart(2, '0')}${s + 1}`;
      const name = { alphabetic: `Bench^Patient${f + 1}${s + 1}`, ideographic: '検証^患者', phonetic: 'けんしょう^かんじゃ' };
      if (s % 2 === 0) {
        await rt.orders.receive(OP, orderInput(facilityId, {
          placerOrderNumber: `PL-${accession}`,
          messageId: `MSG-${accession}`,
          accessionNumber: accession,
          patient: patient(pid, { name, birthDate: '19700101', sex: 'O' }),
          requester: { name: firstAttending.displayName.replace(/\s+/g, ''), department: '内科' },
        }));
      }
      uids.push(await storeStudy(rt, facilityId, { patient: { id: pid, name, sex: 'O', birthDate: '19700101' }, accessionNumber: accession }));
    }
    out.push(uids);
  }
  return out;
}

/**
 * The open notices that wait during part 2: urgent and incidental (in turn), raised through
 * `FindingsService.raise` (the code of `POST /api/findings`: ladder, notice, history, audit
 * entry, escalation timer and alert in one transaction), several at once.
 */
async function raiseBackground(rt: Runtime, n: number, readers: BenchUser[], studies: string[][]): Promise<{ seconds: number; perSecond: number }> {
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const actor = (u: BenchUser): Extract<Actor, { kind: 'user' }> => ({ kind: 'user', userId: u.id, username: u.username, grants: [{ role: 'radiologist', facilityId: null }], address: '127.0.0.1', sessionId: 'bench' });
  const loop = async (): Promise<void> => {
    while (next < n) {
      checkInterrupted();
      const i = next++;
      const category = i % 2 === 0 ? 'urgent' : 'incidental';
      await rt.findings.raise(actor(readers[i % readers.length]!), { studyUid: studies[i % FACILITIES]![Math.floor(i / FACILITIES) % STUDIES_PER_FACILITY]!, category, message: MESSAGE });
      done++;
      if (done % 500 === 0 || done === n) {
        const text = `${count(done)}/${count(n)} (${fmt(done / ((performance.now() - t0) / 1000), 0)}/s)`;
        if (process.stdout.isTTY) process.stdout.write(`\r      ${text}${done === n ? '\n' : ''}`);
        else if (done === n || done % 2000 === 0) say(`      ${text}`);
      }
    }
  };
  await Promise.all(Array.from({ length: rt.db.dialect === 'postgres' ? 8 : 1 }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perSecond: n / seconds };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseOptions();
  const started = new Date();
  const runDir = path.join(BENCH_DIR, `run-findings-${stamp()}-${process.pid}`);
  const dataDir = path.join(runDir, 'data');
  await fsp.mkdir(dataDir, { recursive: true });
  initRun({ dir: runDir, keep: o.keep, keepSchemas: o.keep, dcmtkEnv: process.env });
  const pgSchema = o.databaseUrl ? newPgSchema(o.databaseUrl) : undefined;
  const where = o.databaseUrl && pgSchema ? `PostgreSQL at ${o.databaseUrl.replace(/\/\/[^@]*@/, '//')}, schema ${pgSchema.schema}` : `SQLite in ${path.relative(ROOT, dataDir)}`;
  const background = o.open - o.escalations;
  say(
    `Findings bench: ${where}; ${count(o.users)} users over ${FACILITIES} facilities; ${o.raises} raises one at a time` +
      (o.inFlight > 0 ? ` and ${o.raises} with ${o.inFlight} in flight` : '') +
      `; ${count(o.open)} open notices, ${o.escalations} of them escalating (raised over ${o.spreadSeconds} s)`,
  );
  const dbEnv: Record<string, string> = o.databaseUrl && pgSchema ? { ENKAKU_DATABASE_URL: o.databaseUrl, ENKAKU_DATABASE_SCHEMA: pgSchema.schema } : {};
  const settingsEnv: Record<string, string> = { ENKAKU_FINDINGS_CRITICAL_MINUTES: String(CRITICAL_MINUTES), ...(o.jobPollMs !== undefined ? { ENKAKU_JOBS_POLL_MS: String(o.jobPollMs) } : {}) };
  const config: EnkakuConfig = loadConfig({ ENKAKU_DATA_DIR: dataDir, ENKAKU_HTTP_PORT: '0', ENKAKU_DICOM_PORT: '0', ENKAKU_HL7_PORT: '0', ...dbEnv, ...settingsEnv });
  const pollMs = config.jobs.pollMs;
  const loadAtStart = os.loadavg();
  if (pgSchema && o.databaseUrl) {
    const c = new pg.Client({ connectionString: o.databaseUrl });
    await c.connect();
    try {
      const settings = await c.query<{ name: string; setting: string }>("select name, setting from pg_settings where name in ('server_version', 'shared_buffers', 'max_connections', 'synchronous_commit')");
      say(`  PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')} (the bench changes none of them)`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  // 1. Set-up through a runtime in this process (closed before the server starts).
  const setup: Record<string, number> = {};
  let tSetup = performance.now();
  const rt = await createRuntime(config, createLogger('warn'));
  let specs: Spec[];
  let users: BenchUser[];
  let facilityIds: string[];
  let studies: string[][];
  let backgroundRate: { seconds: number; perSecond: number } = { seconds: 0, perSecond: 0 };
  try {
    say('  set-up: facilities, contracts with a two-contact ladder, users and sessions...');
    facilityIds = [];
    for (let f = 0; f < FACILITIES; f++) {
      const id = (await rt.facilities.add(OP, { name: `${facilityLabel(f)} 総合病院`, aets: [`FNB${f + 1}`] })).id;
      await rt.contracts.set(OP, id, contractWithLadder([
        { name: contactName(f), role: '放射線科部長', phone: `090-1000-${String(f + 1).padStart(4, '0')}`, hours: '平日 8:30-17:15' },
        { name: dutyName(f), role: '当直', phone: `03-2000-${String(f + 1).padStart(4, '0')}`, hours: '24時間' },
      ]));
      facilityIds.push(id);
    }
    specs = roster(o.users);
    const made = await createUsers(rt, specs, facilityIds);
    users = made.users;
    setup.usersSeconds = (performance.now() - tSetup) / 1000;
    const byKind = (k: Kind): number => specs.filter((s) => s.kind === k).length;
    say(
      `    ${count(users.length)} users: ${byKind('attending')} attending physicians, ${byKind('technologist')} technologists, ${byKind('contact') + byKind('duty')} ladder contacts, ` +
        `${byKind('facility-admin')} other facility administrators, ${byKind('reader')} readers, ${byKind('management')} management physicians ` +
        `(${made.real} signed in through the real login, the others copied from them with their own session) in ${fmt(setup.usersSeconds, 1)} s`,
    );
    tSetup = performance.now();
    studies = await createStudies(rt, facilityIds, specs);
    setup.studiesSeconds = (performance.now() - tSetup) / 1000;
    say(`    ${FACILITIES * STUDIES_PER_FACILITY} studies through the image intake (${FACILITIES * Math.ceil(STUDIES_PER_FACILITY / 2)} after an order naming the requesting physician) in ${fmt(setup.studiesSeconds, 1)} s`);
    if (background > 0) {
      say(`    ${count(background)} open urgent and incidental notices through FindingsService.raise (${rt.db.dialect === 'postgres' ? '8' : '1'} at a time)...`);
      backgroundRate = await raiseBackground(rt, background, users.filter((u) => u.kind === 'reader'), studies);
      setup.backgroundSeconds = backgroundRate.seconds;
      say(`      in ${fmt(backgroundRate.seconds, 1)} s (${fmt(backgroundRate.perSecond, 0)} raises/s)`);
    }
  } finally {
    await rt.close();
  }

  // 2. The server: `enkaku serve` in a child process.
  const [httpPort, dicomPort, hl7Port] = [await freePort(), await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ENKAKU_')));
  Object.assign(env, {
    ENKAKU_DATA_DIR: dataDir,
    ENKAKU_HTTP_HOST: '127.0.0.1',
    ENKAKU_HTTP_PORT: String(httpPort),
    ENKAKU_DICOM_PORT: String(dicomPort),
    ENKAKU_HL7_PORT: String(hl7Port),
    ENKAKU_LOG_LEVEL: 'warn',
    ...dbEnv,
    ...settingsEnv,
  });
  const logFile = path.join(runDir, 'enkaku.log');
  const server: Proc = startProc('Enkaku', process.execPath, [ENKAKU_BIN, 'serve'], logFile, env);
  await waitFor(server, 'GET /readyz = 200', async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).status === 200);
  const pid = server.child.pid;
  say(
    `  server: \`enkaku serve\` in a child process (pid ${pid}) on 127.0.0.1:${httpPort}; ENKAKU_FINDINGS_CRITICAL_MINUTES=${CRITICAL_MINUTES}, jobs.pollMs ${pollMs} ms` +
      `${o.jobPollMs === undefined ? " (serve's default)" : ' (--job-poll-ms)'}; no outside channel configured. The clients (every screen, every reader) run in this process; ${os.cpus().length} CPUs shared by both`,
  );

  const byId = new Map(users.map((u) => [u.id, u.idx]));
  const w: World = {
    port: httpPort,
    users,
    byId,
    facilityIds,
    studies,
    readers: users.filter((u) => u.kind === 'reader'),
    attendings: facilityIds.map((_, f) => users.filter((u) => u.kind === 'attending' && u.facility === f).map((u) => u.idx)),
    contacts: facilityIds.map((_, f) => users.find((u) => u.kind === 'contact' && u.facility === f)!.idx),
    managers: users.filter((u) => u.kind === 'management'),
    screens: new Screens(),
    known: new Map(),
    problems: [],
  };
  let part1: RaisePart | undefined;
  let part1b: RaisePart | undefined;
  const escalations: EscalationSample[] = [];
  const loads: Record<string, { load1: number; serverCpu: number | undefined }> = {};
  let openAtStart = NaN;
  let openAtEnd = NaN;
  let connectSeconds = 0;
  let serverMemory: { rss: number; hwm: number } | undefined;
  let droppedStreams = 0;
  let logProblems: string[] = [];
  try {
    // Every user's screen, connected and confirmed before anything is timed.
    const tConnect = performance.now();
    let nextUser = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (nextUser < users.length) {
          checkInterrupted();
          await w.screens.open(httpPort, users[nextUser++]!);
        }
      }),
    );
    connectSeconds = (performance.now() - tConnect) / 1000;
    await sleep(1000);
    const live = w.screens.list.filter((s) => s.ended === undefined).length;
    if (live !== users.length) throw new BenchError(`only ${live} of ${users.length} alert streams are open`);
    say(`  ${count(live)} alert streams open (GET /api/findings/events?lifetime=3600, one per user), each confirmed by its "ready" event, in ${fmt(connectSeconds, 1)} s`);

    // 3. Part 1: raise → alert.
    say(`\nPart 1 — raise → in-app alert on every step-0 screen, ${count(users.length)} screens connected; target p95 < ${ALERT_TARGET_P95_MS} ms`);
    say('  each raise: POST /api/findings (critical) by a reader, timed from just before the request is written until the "raised" alert is on the stream of every');
    say('  step-0 recipient (the facility\'s attending physicians, the requester first); then acknowledged by one of them, untimed');
    loads.part1Start = snapshot(pid);
    part1 = await raisePart(w, o.raises, 1, 0);
    loads.part1End = snapshot(pid);
    const printPart = (p: RaisePart): void => {
      say(`  ${p.samples.length} raises ${p.inFlight === 1 ? 'one at a time' : `with ${p.inFlight} in flight`} in ${fmt(p.seconds, 1)} s, ${p.recipients[0]}-${p.recipients[1]} step-0 recipients each (${p.requesterFirst} with the order's requester first)`);
      say(statLine('raise → alert on the last step-0 screen', p.last, `  ${p.pass ? 'PASS' : 'MISS'} (p95 < ${ALERT_TARGET_P95_MS} ms)`));
      say(statLine('raise → alert on each step-0 screen', p.each));
      say(statLine('raise → alert on the raising reader\'s own screen', p.raiser));
      say(statLine('POST /api/findings answered', p.post));
      if (p.missing) say(`    ${p.missing} raise(s) failed or missed a step-0 screen`);
    };
    printPart(part1);
    if (o.inFlight > 0) {
      loads.part1bStart = snapshot(pid);
      part1b = await raisePart(w, o.raises, o.inFlight, o.raises);
      loads.part1bEnd = snapshot(pid);
      printPart(part1b);
    }
    const cpu1 = loads.part1End!.serverCpu !== undefined && loads.part1Start!.serverCpu !== undefined ? loads.part1End!.serverCpu - loads.part1Start!.serverCpu : undefined;
    say(`  1-minute load average ${fmt(loads.part1Start!.load1, 2)} before and ${fmt((loads.part1bEnd ?? loads.part1End!).load1, 2)} after part 1; the server used ${cpu1 === undefined ? '?' : fmt(cpu1, 1)} CPU s in the one-at-a-time raises`);

    // 4. Part 2: escalation with the open notices.
    const stats0 = await api(httpPort, 'GET', '/api/findings/stats', w.managers[0]!);
    if (stats0.status === 200) openAtStart = (JSON.parse(stats0.text) as FindingStats).open;
    const spreadMs = o.spreadSeconds * 1000;
    say(`\nPart 2 — escalation: ${count(openAtStart)} open notices before it starts (GET /api/findings/stats answered in ${ms(stats0.t1 - stats0.t0)} ms); ${o.escalations} critical notices raised over ${o.spreadSeconds} s, each escalating ${CRITICAL_MINUTES} minute later; target within ${ESCALATION_TARGET_MS} ms of the deadline`);
    say(`  lag = arrival of the "escalated" alert on the step-1 contact's stream − deadlineAt, and the "escalated" history event (GET /api/findings/:id) − deadlineAt`);
    loads.part2Start = snapshot(pid);
    const t2 = Date.now() + 200;
    const interval = spreadMs / o.escalations;
    const raising: Array<Promise<{ escalation: Promise<EscalationSample> } | undefined>> = [];
    for (let i = 0; i < o.escalations; i++) {
      checkInterrupted();
      const wait = t2 + i * interval - Date.now();
      if (wait > 0) await sleep(wait);
      // Not awaited here, so that a slow answer does not hold back the next raise.
      raising.push(escalatingRaise(w, 2 * o.raises + i, pollMs));
    }
    const raised = (await Promise.all(raising)).filter((x) => x !== undefined);
    const sAfter = await api(httpPort, 'GET', '/api/findings/stats', w.managers[0]!);
    if (sAfter.status === 200) openAtEnd = (JSON.parse(sAfter.text) as FindingStats).open;
    say(`  raised ${raised.length} in ${fmt((Date.now() - t2) / 1000, 1)} s; ${count(openAtEnd)} open notices after the last raise; waiting for the escalations...`);
    for (const s of await Promise.all(raised.map((x) => x.escalation))) escalations.push(s);
    loads.part2End = snapshot(pid);
    // The server's own record: the `escalated` event in each finding's history.
    for (const s of escalations) {
      const r = await api(httpPort, 'GET', `/api/findings/${s.findingId}`, w.managers[0]!);
      if (r.status !== 200) {
        note(w, `GET /api/findings/${s.findingId}: HTTP ${r.status}`);
        continue;
      }
      const v = JSON.parse(r.text) as FindingView;
      const e = v.events.find((x) => x.kind === 'escalated');
      if (e) s.historyLag = Date.parse(e.at) - Date.parse(s.deadlineAt);
      else note(w, `finding ${s.findingId}: no "escalated" event in its history`);
    }
    serverMemory = pid ? procMemory(pid) : undefined;
    droppedStreams = w.screens.list.filter((s) => s.ended !== undefined).length;
    if (droppedStreams) note(w, `${droppedStreams} alert stream(s) ended before the end of the run`);
  } finally {
    await stopProc(server);
    for (const s of w.screens.list) s.close();
    apiAgent.destroy();
    logProblems = enkakuLogProblems(logFile);
    if (server.exitCode !== 0 && server.exitCode !== undefined) say(`  the server exited with code ${server.exitCode}; its log:\n${logTail(logFile)}`);
  }

  // 5. Checks: stray alerts, then the database (server stopped).
  let strays = 0;
  let strayRaised = 0;
  const strayExamples: string[] = [];
  for (const a of w.screens.log) {
    const k = w.known.get(a.findingId);
    const ok = k !== undefined && (a.user === k.raiser || (a.type === 'raised' ? k.step0.has(a.user) : k.ladder.has(a.user)));
    if (ok) continue;
    strays++;
    if (a.type === 'raised') strayRaised++;
    if (strayExamples.length < 5) strayExamples.push(`${a.type} of ${a.findingId} on the screen of ${w.users[a.user]!.username} (${w.users[a.user]!.kind})`);
  }
  if (strays) note(w, `${strays} stray alert(s) on screens of users who are not recipients, e.g. ${strayExamples.join('; ')}`);
  if (w.screens.duplicates) note(w, `${w.screens.duplicates} alert(s) arrived twice on one screen`);

  const rt2 = await createRuntime(config, createLogger('warn'));
  let firedOnce = 0;
  let auditOk = false;
  let part1Escalated = 0;
  let jobsOk = 0;
  let auditEntries = 0;
  try {
    const ids = escalations.map((s) => s.findingId);
    const entries = ids.length ? await rt2.db.kysely.selectFrom('audit_events').select(['object_id', 'details']).where('action', '=', 'finding.escalate').where('object_id', 'in', ids).execute() : [];
    auditEntries = entries.length;
    const firsts = new Map<string, number>();
    for (const e of entries) if (Number((JSON.parse(e.details) as { escalation?: number }).escalation) === 1) firsts.set(e.object_id, (firsts.get(e.object_id) ?? 0) + 1);
    const jobs = ids.length ? await rt2.db.kysely.selectFrom('jobs').select(['key', 'state', 'attempts']).where('kind', '=', 'finding.escalate').where('key', 'in', ids.map((id) => `${id}:1`)).execute() : [];
    const jobOf = new Map(jobs.map((j) => [j.key, j]));
    for (const id of ids) {
      const j = jobOf.get(`${id}:1`);
      const jobOk = j?.state === 'done' && j.attempts === 1;
      if (jobOk) jobsOk++;
      if (firsts.get(id) === 1 && jobOk) firedOnce++;
      else note(w, `finding ${id}: first escalation audited ${firsts.get(id) ?? 0} time(s), its timer ${j ? `${j.state} after ${j.attempts} attempt(s)` : 'missing'}`);
    }
    // Part 1's notices were acknowledged before their deadline: none of them escalated.
    const part1Ids = [...(part1?.samples ?? []), ...(part1b?.samples ?? [])].map((s) => s.findingId);
    for (let i = 0; i < part1Ids.length; i += 500) {
      const r = await rt2.db.kysely.selectFrom('findings').select('id').where('id', 'in', part1Ids.slice(i, i + 500)).where('escalations', '>', 0).execute();
      part1Escalated += r.length;
    }
    if (part1Escalated) note(w, `${part1Escalated} acknowledged notice(s) of part 1 escalated all the same`);
    const verified = await rt2.audit.verify();
    auditOk = verified.ok;
    if (!verified.ok) note(w, `the audit chain does not verify: ${JSON.stringify(verified).slice(0, 300)}`);
  } finally {
    await rt2.close();
  }
  const screenLag = stats(escalations.flatMap((s) => (s.screenLag === undefined ? [] : [s.screenLag])));
  const historyLag = stats(escalations.flatMap((s) => (s.historyLag === undefined ? [] : [s.historyLag])));
  const raiseDuring = stats(escalations.flatMap((s) => (s.raiseLast === undefined ? [] : [s.raiseLast])));
  const escalationPass = screenLag.n === o.escalations && screenLag.p95 <= ESCALATION_TARGET_MS && screenLag.max <= ESCALATION_TARGET_MS && screenLag.min >= 0;
  const historyPass = historyLag.n === o.escalations && historyLag.p95 <= ESCALATION_TARGET_MS && historyLag.max <= ESCALATION_TARGET_MS && historyLag.min >= 0;
  say(`  ${escalations.length} escalations measured; server CPU ${loads.part2End?.serverCpu !== undefined && loads.part2Start?.serverCpu !== undefined ? fmt(loads.part2End.serverCpu - loads.part2Start.serverCpu, 1) : '?'} s during part 2`);
  say(statLine('deadline → "escalated" alert on the step-1 contact\'s screen', screenLag, `  ${escalationPass ? 'PASS' : 'MISS'} (p95 and max ≤ ${ESCALATION_TARGET_MS} ms); earliest ${ms(screenLag.min)} ms`));
  say(statLine('deadline → "escalated" event in the history (server clock)', historyLag, `  ${historyPass ? 'PASS' : 'MISS'}; earliest ${ms(historyLag.min)} ms`));
  say(statLine('raise → alert on the last step-0 screen, during part 2', raiseDuring));
  say(`  fired exactly once: ${firedOnce}/${escalations.length} (one finding.escalate audit entry for escalation 1, its timer job done after 1 attempt: ${jobsOk}/${escalations.length}; ${auditEntries} finding.escalate entries in all, later escalations included)`);
  say(`  1-minute load average ${fmt(loads.part2Start?.load1 ?? NaN, 2)} before and ${fmt(loads.part2End?.load1 ?? NaN, 2)} after part 2; server memory VmRSS ${serverMemory ? fmt(serverMemory.rss / 1e6, 0) : '?'} MB (peak ${serverMemory ? fmt(serverMemory.hwm / 1e6, 0) : '?'} MB)`);

  // 6. Summary.
  const rows: Array<{ measure: string; median: number; p95: number; max: number; target: string; pass: boolean }> = [];
  if (part1) rows.push({ measure: 'raise → alert, last step-0 screen (one at a time)', median: part1.last.median, p95: part1.last.p95, max: part1.last.max, target: `p95 < ${ALERT_TARGET_P95_MS} ms`, pass: part1.pass });
  if (part1b) rows.push({ measure: `raise → alert, last step-0 screen (${part1b.inFlight} in flight)`, median: part1b.last.median, p95: part1b.last.p95, max: part1b.last.max, target: `p95 < ${ALERT_TARGET_P95_MS} ms`, pass: part1b.pass });
  rows.push({ measure: 'deadline → escalated alert on the step-1 screen', median: screenLag.median, p95: screenLag.p95, max: screenLag.max, target: `p95, max ≤ ${ESCALATION_TARGET_MS} ms`, pass: escalationPass });
  rows.push({ measure: 'deadline → escalated event in the history', median: historyLag.median, p95: historyLag.p95, max: historyLag.max, target: `p95, max ≤ ${ESCALATION_TARGET_MS} ms`, pass: historyPass });
  const missingAlerts = (part1?.missing ?? 0) + (part1b?.missing ?? 0) + escalations.filter((s) => s.raiseLast === undefined).length;
  const checks: Array<{ check: string; value: string; pass: boolean }> = [
    { check: 'raises whose alert missed a step-0 screen', value: String(missingAlerts), pass: missingAlerts === 0 },
    { check: 'stray alerts (users who are not recipients)', value: `${strays} (${strayRaised} of them "raised")`, pass: strays === 0 },
    { check: 'escalations fired exactly once', value: `${firedOnce}/${o.escalations}`, pass: firedOnce === o.escalations },
    { check: 'acknowledged notices that escalated', value: String(part1Escalated), pass: part1Escalated === 0 },
    { check: 'alert streams that ended early', value: String(droppedStreams), pass: droppedStreams === 0 },
    { check: 'audit chain verifies', value: auditOk ? 'yes' : 'no', pass: auditOk },
    { check: 'other problems (HTTP errors, ladders)', value: String(w.problems.length), pass: w.problems.length === 0 },
  ];
  say(`\nSummary (${where}; ${count(users.length)} screens; ${count(openAtStart)} open notices at the start of part 2)`);
  say(`  ${pad('measure', 52)} ${pad('median', 8, true)} ${pad('p95', 8, true)} ${pad('max', 8, true)}   ${pad('target', 20)} verdict`);
  for (const r of rows) say(`  ${pad(r.measure, 52)} ${pad(ms(r.median), 8, true)} ${pad(ms(r.p95), 8, true)} ${pad(ms(r.max), 8, true)}   ${pad(r.target, 20)} ${r.pass ? 'PASS' : 'MISS'}`);
  for (const c of checks) say(`  ${pad(c.check, 52)} ${pad(c.value, 26, true)}   ${pad('', 20)} ${c.pass ? 'ok' : 'PROBLEM'}`);
  say(`  1-minute load average: ${fmt(loadAtStart[0]!, 2)} at the start, ${fmt(loads.part1Start?.load1 ?? NaN, 2)} before part 1, ${fmt(loads.part2End?.load1 ?? NaN, 2)} after part 2 (${os.cpus().length} CPUs; other processes on the machine count too)`);
  if (logProblems.length) say(`  the server logged ${logProblems.length} warning/error line(s), e.g.: ${logProblems.slice(0, 3).join(' | ')}`);

  await fsp.mkdir(BENCH_DIR, { recursive: true });
  const jsonFile = path.join(BENCH_DIR, `findings-${stamp()}.json`);
  const json = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), memoryBytes: os.totalmem(), kernel: os.release(), node: process.version },
    versions: { enkaku: (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version },
    options: { ...o, databaseUrl: o.databaseUrl?.replace(/\/\/[^@]*@/, '//') ?? null, database: o.databaseUrl ? 'postgres' : 'sqlite', jobPollMsInEffect: pollMs, criticalMinutes: CRITICAL_MINUTES },
    targets: { alertP95Ms: ALERT_TARGET_P95_MS, escalationMs: ESCALATION_TARGET_MS },
    setup: { ...setup, backgroundNotices: background, backgroundRaisesPerSecond: backgroundRate.perSecond, connectSeconds, users: users.length },
    loads,
    part1: part1 ? { ...part1, samples: part1.samples.map((s) => ({ ...s, each: s.each.map((x) => Math.round(x * 10) / 10) })) } : null,
    part1InFlight: part1b ? { ...part1b, samples: part1b.samples.map((s) => ({ ...s, each: s.each.map((x) => Math.round(x * 10) / 10) })) } : null,
    part2: { openAtStart, openAfterRaises: openAtEnd, screenLag, historyLag, raiseDuring, firedOnce, jobsOk, auditEntries, samples: escalations },
    checks,
    strays: { count: strays, raised: strayRaised, examples: strayExamples },
    serverMemory,
    serverLogProblems: logProblems.slice(0, 20),
    problems: w.problems,
  };
  await fsp.writeFile(jsonFile, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  say(`\nResults written to ${path.relative(ROOT, jsonFile)}`);
  return rows.every((r) => r.pass) && checks.every((c) => c.pass) ? 0 : 1;
}

await runMain(main);
