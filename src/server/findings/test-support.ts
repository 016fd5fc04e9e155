/**
 * Helpers for the findings tests: signed-in people with chosen display names, a facility
 * with a contract ladder, a study (with an order naming its requester) whose patient has
 * names in all three component groups, local stand-ins for the outside channels (an HTTP
 * server for the webhook and the SMS gateway, a small SMTP listener) and an SSE reader of
 * `GET /api/findings/events`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { generate } from 'otplib';
import type { FindingAlertEvent } from '../../shared/findings.ts';
import type { Actor } from '../platform/context.ts';
import { openEventStream } from '../platform/sse-client.ts';
import type { Runtime } from '../runtime.ts';
import { orderInput, patient, storeStudy } from '../orders/test-fixtures.ts';

export const OP = { kind: 'system', name: 'test' } as const;
export const PASSWORD = 'Correct-Horse-9-Battery';

/** A signed-in user. */
export interface Person {
  id: string;
  cookie: string;
  csrf: string;
  actor: Extract<Actor, { kind: 'user' }>;
}

/** Creates a user with one grant and a display name, and signs in (enrolling TOTP where needed). */
export async function person(rt: Runtime, username: string, displayName: string, role: string, facilityId: string | null): Promise<Person> {
  const id = await rt.accounts.create(OP, { username, displayName, password: PASSWORD, grants: [{ role, facilityId }], mustChangePassword: false });
  await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
  const client = { address: '127.0.0.1', userAgent: 'findings-test' };
  const first = await rt.auth.login(username, PASSWORD, client);
  let cookie = first.cookie;
  if (first.response.status === 'mfa-enrolment-required') {
    ({ cookie } = await rt.auth.secondFactor(cookie, await generate({ secret: first.response.enrolment.secret }), client));
  }
  const info = await rt.auth.session(cookie, client);
  assert.ok(info, `${username} signed in`);
  return { id, cookie, csrf: info.csrfToken, actor: { kind: 'user', userId: id, username, grants: [{ role, facilityId }], address: '127.0.0.1', sessionId: 'test' } };
}

/** The patient whose data must never leave Enkaku by an outside channel. */
export const SECRET_PATIENT = {
  id: 'PID-778899',
  accession: 'ACC-445566',
  name: { alphabetic: 'Kanazawa^Hanako', ideographic: '金沢^花子', phonetic: 'かなざわ^はなこ' },
  birthDate: '19700102',
} as const;

/** Every fragment of the patient's identity that an outside message must not contain. */
export const PHI_FRAGMENTS = [
  SECRET_PATIENT.id,
  SECRET_PATIENT.accession,
  ...Object.values(SECRET_PATIENT.name).flatMap((g) => [g, ...g.split('^')]),
  SECRET_PATIENT.birthDate,
];

/** Contract terms with a two-step contact ladder (the second is the duty contact). */
export function contractWithLadder(ladder: Array<{ name: string; role: string; phone: string; hours: string }>) {
  return {
    scope: { modalities: [], bodyParts: [] },
    dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
    retentionDays: 1825,
    contactLadder: ladder,
    delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
    onwardSharing: false,
    monitorCheckRequired: false,
    optOutNotice: 'お知らせ',
  };
}

/**
 * Stores a study of the secret patient at a facility, after an order with its accession
 * number naming `requester`, so that the study is linked to the order on arrival.
 */
export async function studyWithOrder(rt: Runtime, facilityId: string, requester: string, suffix: string): Promise<string> {
  const accession = `${SECRET_PATIENT.accession}${suffix}`;
  await rt.orders.receive(OP, orderInput(facilityId, {
    placerOrderNumber: `PL-${suffix}`,
    messageId: `MSG-${suffix}`,
    accessionNumber: accession,
    patient: patient(SECRET_PATIENT.id, { name: { ...SECRET_PATIENT.name }, birthDate: SECRET_PATIENT.birthDate, sex: 'F' }),
    requester: { name: requester, department: '内科' },
  }));
  return storeStudy(rt, facilityId, {
    patient: { id: SECRET_PATIENT.id, name: { ...SECRET_PATIENT.name }, sex: 'F', birthDate: SECRET_PATIENT.birthDate },
    accessionNumber: accession,
  });
}

/** A request received by {@link CaptureServer}. */
export interface Captured {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP server that records every request (webhook receiver, SMS gateway). */
export class CaptureServer {
  readonly requests: Captured[] = [];
  /** The status answered; tests may make it fail. */
  status = 200;
  private server: http.Server | undefined;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        this.requests.push({ path: req.url ?? '', headers: req.headers, body });
        res.writeHead(this.status, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** One message received by {@link SmtpTestServer}. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The DATA as sent (headers and encoded body). */
  raw: string;
}

/** A small SMTP listener (RFC 5321 without extensions): enough for nodemailer to deliver to. */
export class SmtpTestServer {
  readonly messages: ReceivedMail[] = [];
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  async start(): Promise<this> {
    this.server = net.createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => undefined);
      sock.setEncoding('utf8');
      let buf = '';
      let inData = false;
      let cur: ReceivedMail = { from: '', to: [], raw: '' };
      sock.write('220 smtp.test ESMTP\r\n');
      sock.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          if (inData) {
            const end = buf.indexOf('\r\n.\r\n');
            if (end < 0) return;
            cur.raw = buf.slice(0, end).replace(/^\.\./gm, '.');
            buf = buf.slice(end + 5);
            inData = false;
            this.messages.push(cur);
            cur = { from: '', to: [], raw: '' };
            sock.write('250 2.0.0 queued\r\n');
            continue;
          }
          const i = buf.indexOf('\r\n');
          if (i < 0) return;
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const verb = line.split(' ')[0]!.toUpperCase();
          if (verb === 'EHLO') sock.write('250-smtp.test\r\n250 8BITMIME\r\n');
          else if (verb === 'HELO') sock.write('250 smtp.test\r\n');
          else if (verb === 'MAIL') {
            cur.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
            sock.write('250 2.1.0 ok\r\n');
          } else if (verb === 'RCPT') {
            cur.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
            sock.write('250 2.1.5 ok\r\n');
          } else if (verb === 'DATA') {
            inData = true;
            sock.write('354 end with <CRLF>.<CRLF>\r\n');
          } else if (verb === 'QUIT') {
            sock.end('221 2.0.0 bye\r\n');
            return;
          } else if (verb === 'RSET' || verb === 'NOOP') sock.write('250 ok\r\n');
          else sock.write('502 5.5.2 not implemented\r\n');
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

/** Decodes RFC 2047 encoded words (=?UTF-8?B?...?= and =?UTF-8?Q?...?=). */
function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*/g, (_m, _cs: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQp(text.replace(/_/g, ' ')),
  );
}

function decodeQp(s: string): string {
  const bytes: number[] = [];
  const src = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < src.length; i++) {
    if (src[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(src[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The subject and text of a received mail, decoded (base64, quoted-printable, encoded words). */
export function decodeMail(raw: string): { headers: string; subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const subject = decodeWords(/^Subject: (.*)$/im.exec(headers)?.[1] ?? '');
  const cte = /^Content-Transfer-Encoding: (.*)$/im.exec(headers)?.[1]?.trim().toLowerCase() ?? '7bit';
  const text = cte === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : cte === 'quoted-printable' ? decodeQp(body) : body;
  return { headers: decodeWords(headers), subject, text };
}

/** An open alert stream and the alerts received so far. */
export interface AlertStream {
  alerts: FindingAlertEvent[];
  /** Resolves when an alert matching `pred` has arrived (rejects after `ms`). */
  waitFor(pred: (a: FindingAlertEvent) => boolean, ms?: number): Promise<FindingAlertEvent>;
  close(): void;
}

/** Opens `GET /api/findings/events` as a user; resolves once the server says `ready`. */
export async function openAlerts(port: number, cookie: string): Promise<AlertStream> {
  const s = await openEventStream<FindingAlertEvent>({ port, path: '/api/findings/events', cookie, event: 'finding', waitMs: 10_000 });
  return { alerts: s.received, waitFor: s.waitFor, close: s.close };
}

/** Polls until `check` returns a value (or fails after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`${what} not reached in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
