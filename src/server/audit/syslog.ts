/**
 * Sends DICOM audit messages (PS3.15 A.5) to a remote audit repository as RFC 5424
 * syslog messages over TLS (RFC 5425, octet-counting framing), the transport of IHE ATNA
 * [ITI-20]. The remote copy is what makes rewriting of the local chain detectable.
 *
 * Delivery: messages wait in a bounded in-memory queue; a message leaves the queue when
 * TLS has written it to the network. When the connection breaks, messages not yet
 * written are re-sent after reconnecting (with exponential backoff), so the collector may
 * see a message twice (the record id and seq identify it) and may miss one that was on
 * the wire. When the queue is full the oldest unsent message is dropped and counted. The
 * database stays the authoritative trail.
 */
import os from 'node:os';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { outcomeIndicatorOf } from './codes.ts';
import { toDicomAuditMessage } from './dicom-audit.ts';
import type { AuditRecord, AuditSource } from './model.ts';

/** Minimal logger (pino-compatible); messages carry no PHI. */
export interface SyslogLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Settings of a {@link SyslogSender}. */
export interface SyslogSenderOptions {
  host: string;
  /** RFC 5425 §4.1 assigns 6514. */
  port: number;
  /** PEM CA certificate(s) that the collector's certificate must chain to. */
  ca: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key (IHE ATNA requires mutual authentication, ITI-19). */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Name checked against the collector's certificate; defaults to `host` when it is a name. */
  servername?: string | undefined;
  /** HOSTNAME field; defaults to `os.hostname()`. */
  hostname?: string | undefined;
  /** APP-NAME field; default `enkaku`. */
  appName?: string | undefined;
  /** MSGID field; default `IHE+RFC-3881` (IHE ITI TF-2 3.20.4.2). */
  msgId?: string | undefined;
  /**
   * SD-ID (`name@<IANA enterprise number>`, RFC 5424 §6.3.2) under which seq, id and hash
   * of each entry are sent as structured data, letting the collector check the chain.
   * Without it, STRUCTURED-DATA is the NILVALUE.
   */
  structuredDataId?: string | undefined;
  /** How Enkaku names itself in the messages. */
  source?: AuditSource | undefined;
  /** Queue bound (messages); default 10 000. */
  maxQueue?: number | undefined;
  /** First reconnect delay; default 500 ms, doubling up to {@link maxBackoffMs}. */
  initialBackoffMs?: number | undefined;
  /** Longest reconnect delay; default 60 s. */
  maxBackoffMs?: number | undefined;
  /** Default 10 s. */
  connectTimeoutMs?: number | undefined;
  log?: SyslogLog | undefined;
}

/** Counters of a sender. */
export interface SyslogStats {
  queued: number;
  sent: number;
  dropped: number;
  connected: boolean;
  connects: number;
  lastError: string | undefined;
}

/** Fields of one RFC 5424 message. */
export interface SyslogFields {
  /** Facility * 8 + severity (RFC 5424 §6.2.1). */
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

/** A header field: PRINTUSASCII only (RFC 5424 §6), cut to its maximum, `-` when empty. */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v || '-';
}

/** Escapes an SD-PARAM value (RFC 5424 §6.3.3): `"`, `\` and `]`. */
export function sdEscape(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`, the MSG
 * in UTF-8 preceded by the BOM as §6.4 requires for UTF-8 text.
 */
export function formatSyslogMessage(f: SyslogFields): Buffer {
  const header = [
    `<${f.pri}>1`,
    headerField(f.timestamp, 64),
    headerField(f.hostname, 255),
    headerField(f.appName, 48),
    headerField(f.procId, 128),
    headerField(f.msgId, 32),
    f.structuredData || '-',
  ].join(' ');
  return Buffer.concat([Buffer.from(`${header} `, 'ascii'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(f.msg, 'utf8')]);
}

/** RFC 5425 §4.3 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`. */
export function frameOctetCounting(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

/**
 * Severity by outcome, facility 10 (security/authorization, authpriv): success notice
 * (5), minor failure warning (4), serious failure error (3).
 */
export function syslogPriOf(record: Pick<AuditRecord, 'outcome' | 'action'>): number {
  const sev = { '0': 5, '4': 4, '8': 3 }[outcomeIndicatorOf(record)];
  return 10 * 8 + sev;
}

/** Sends audit records to one collector over TLS; see the module comment for delivery. */
export class SyslogSender {
  private readonly opts: SyslogSenderOptions;
  private readonly maxQueue: number;
  private readonly queue: Buffer[] = [];
  /** Leading queue entries written on the current socket whose write has not completed. */
  private inFlight = 0;
  private socket: tls.TLSSocket | undefined;
  private connected = false;
  private waitingDrain = false;
  /** Incremented per connection, so that events of an old socket are ignored. */
  private generation = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private sent = 0;
  private dropped = 0;
  private connects = 0;
  private lastError: string | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: SyslogSenderOptions) {
    const sdId = opts.structuredDataId;
    if (sdId !== undefined && (!/^[\x21-\x7e]{1,32}$/.test(sdId) || /[= \]"]/.test(sdId))) {
      throw new Error('syslog structuredDataId must be 1-32 printable ASCII characters without =, space, ] or "');
    }
    this.opts = opts;
    this.maxQueue = Math.max(1, opts.maxQueue ?? 10_000);
  }

  /** Queues a record's DICOM audit message. Returns false when a message had to be dropped. */
  send(record: AuditRecord): boolean {
    const sd = this.opts.structuredDataId
      ? `[${this.opts.structuredDataId} seq="${record.seq}" id="${sdEscape(record.id)}" hash="${sdEscape(record.hash)}"]`
      : '-';
    const msg = formatSyslogMessage({
      pri: syslogPriOf(record),
      timestamp: record.recordedAt,
      hostname: this.opts.hostname ?? os.hostname(),
      appName: this.opts.appName ?? 'enkaku',
      procId: String(process.pid),
      msgId: this.opts.msgId ?? 'IHE+RFC-3881',
      structuredData: sd,
      msg: toDicomAuditMessage(record, this.opts.source),
    });
    return this.enqueue(frameOctetCounting(msg));
  }

  /** Queues one already framed message. Returns false when a message had to be dropped. */
  enqueue(frame: Buffer): boolean {
    if (this.closing) {
      this.drop();
      return false;
    }
    let complete = true;
    if (this.queue.length >= this.maxQueue) {
      complete = false;
      this.drop();
      if (this.inFlight < this.queue.length) this.queue.splice(this.inFlight, 1);
      else return false;
    }
    this.queue.push(frame);
    if (this.connected) this.pump();
    else if (!this.socket && !this.timer) this.connect();
    return complete;
  }

  /** Counters, for /readyz and tests. */
  get stats(): SyslogStats {
    return { queued: this.queue.length, sent: this.sent, dropped: this.dropped, connected: this.connected, connects: this.connects, lastError: this.lastError };
  }

  /** Resolves true once every queued message is written, false after `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    if (this.queue.length === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Flushes for up to `timeoutMs`, then closes the connection; later sends are dropped. */
  async close(timeoutMs = 2000): Promise<void> {
    await this.flush(timeoutMs);
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => s.destroy(), timeoutMs);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }

  private drop(): void {
    this.dropped++;
    // Log the 1st, 10th, 100th... drop rather than flood the log.
    if (/^10*$/.test(String(this.dropped))) this.opts.log?.warn({ event: 'audit_syslog_dropped', dropped: this.dropped }, 'audit syslog queue full: messages dropped');
  }

  private connect(): void {
    const gen = ++this.generation;
    const { host, port, ca, cert, key } = this.opts;
    const servername = this.opts.servername ?? (isIP(host) ? undefined : host);
    const s = tls.connect({ host, port, ca, cert, key, servername, minVersion: 'TLSv1.2' });
    this.socket = s;
    s.setTimeout(this.opts.connectTimeoutMs ?? 10_000, () => s.destroy(new Error('TLS connection timed out')));
    s.once('secureConnect', () => {
      if (gen !== this.generation) return;
      s.setTimeout(0);
      this.connected = true;
      this.attempt = 0;
      this.connects++;
      this.opts.log?.info({ event: 'audit_syslog_connected', host, port }, 'audit syslog connected');
      this.pump();
    });
    s.on('error', (err) => {
      this.lastError = err.message;
      this.opts.log?.warn({ event: 'audit_syslog_error', host, port, error: err.message }, 'audit syslog connection failed');
    });
    // A collector sends nothing; reading lets us notice when it closes the connection.
    s.resume();
    s.on('close', () => {
      if (gen !== this.generation) return;
      this.connected = false;
      this.socket = undefined;
      this.inFlight = 0;
      this.waitingDrain = false;
      if (!this.closing && this.queue.length > 0) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const initial = this.opts.initialBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 60_000;
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closing && !this.socket && this.queue.length > 0) this.connect();
    }, delay);
    this.timer.unref();
  }

  private pump(): void {
    const s = this.socket;
    const gen = this.generation;
    while (s && this.connected && !this.waitingDrain && this.inFlight < this.queue.length) {
      const frame = this.queue[this.inFlight]!;
      this.inFlight++;
      const more = s.write(frame, (err) => {
        if (err || gen !== this.generation) return;
        // Writes complete in order: the completed message is the first in the queue.
        this.queue.shift();
        this.inFlight--;
        this.sent++;
        if (this.queue.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
      if (!more) {
        this.waitingDrain = true;
        s.once('drain', () => {
          if (gen !== this.generation) return;
          this.waitingDrain = false;
          this.pump();
        });
      }
    }
  }
}
