/**
 * Test support for report delivery: a runtime with a facility and contract, the service over a
 * job queue with short backoff, and real receivers — an MLLP receiver on a TCP port (framing
 * done here, not by Enkaku's MLLP code) and a FHIR server on an HTTP port.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { testRuntime } from '../../../../test/helpers.ts';
import type { FacilityContractTerms } from '../../../shared/api.ts';
import { buildAckBytes, parseHl7Bytes, type AckCode, type Hl7Message } from '../../interop/hl7/index.ts';
import type { Actor } from '../../platform/context.ts';
import { JobQueue, JobWorker } from '../../platform/outbox/index.ts';
import { SecretBox } from '../../platform/secrets.ts';
import type { ReportDocument } from '../document.ts';
import { sampleReportDocument } from '../test-document.ts';
import { DeliveryService, type ReportVersionLoader } from './service.ts';

/** The operator at the console. */
export const OPERATOR: Actor = { kind: 'system', name: 'test' };

/** A logged-in user holding one role at a facility (or at the provider with null). */
export function user(role: string, facilityId: string | null, name = `${role}-${facilityId ?? 'provider'}`): Extract<Actor, { kind: 'user' }> {
  return { kind: 'user', userId: `u-${name}`, username: name, grants: [{ role, facilityId }], address: '127.0.0.1', sessionId: 's' };
}

/** Contract terms with the given delivery route. */
export function contractTerms(route: 'hl7' | 'fhir' | 'manual', confirmer = '依頼医'): FacilityContractTerms {
  return {
    scope: { modalities: [], bodyParts: [] },
    dueMinutes: { stat: 30, urgent: 120, routine: 1440 },
    retentionDays: 365,
    contactLadder: [{ name: '山田 一郎', role: '依頼医', phone: '03-1234-5678', hours: '平日 8:30-17:15' }],
    delivery: { route, transcriptionConfirmer: route === 'manual' ? confirmer : '' },
    onwardSharing: false,
    monitorCheckRequired: false,
    optOutNotice: '当院は画像診断を外部の遠隔画像診断事業者に委託しています。',
  };
}

/** A fake signed PDF (the bytes matter, not the layout). */
export function fakePdf(versionId: string): Buffer {
  return Buffer.from(`%PDF-1.7\n% ${versionId}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n`, 'latin1');
}

/** Stored versions for `loadVersion`. */
export class VersionStore {
  readonly docs = new Map<string, ReportDocument>();
  add(over: Partial<ReportDocument>): ReportDocument {
    const doc = sampleReportDocument(over);
    this.docs.set(doc.versionId, doc);
    return doc;
  }
  readonly load: ReportVersionLoader = async (versionId) => {
    const document = this.docs.get(versionId);
    return document ? { document, pdf: fakePdf(versionId) } : undefined;
  };
}

/** A runtime, a facility, the delivery service on a fast queue, and a worker (not started). */
export async function deliveryFixture(opts: { route?: 'hl7' | 'fhir' | 'manual'; backoffMs?: number; maxAttempts?: number; facilityName?: string } = {}) {
  const rt = await testRuntime();
  const facilityId = (await rt.facilities.add(OPERATOR, { name: opts.facilityName ?? '山田記念病院', aets: [] })).id;
  await rt.contracts.set(user('system-admin', null), facilityId, contractTerms(opts.route ?? 'hl7'));
  const queue = new JobQueue(rt.db.kysely, rt.db.dialect, { backoff: { baseMs: opts.backoffMs ?? 100, maxMs: (opts.backoffMs ?? 100) * 3 } });
  const versions = new VersionStore();
  const service = new DeliveryService({
    db: rt.db.kysely, queue, audit: rt.audit, secrets: SecretBox.open(rt.config.dataDir), log: rt.log,
    facilityExists: (id) => rt.facilities.exists(id), maxAttempts: opts.maxAttempts,
  });
  const worker = new JobWorker(queue, { log: rt.log, pollMs: 50, concurrency: 2, leaseMs: 5_000, stopGraceMs: 2_000 });
  service.registerHandlers(worker, { loadVersion: versions.load });
  /** Finalises a version: queues its deliveries in a transaction, as the report service does. */
  const finalise = async (over: Partial<ReportDocument>) => {
    const doc = versions.add({ facility: { id: facilityId, name: '山田記念病院' }, ...over });
    const queued = await rt.db.kysely.transaction().execute((trx) => service.enqueueDeliveries(trx, { facilityId, versionId: doc.versionId, reportId: doc.reportId, version: doc.version }));
    return { doc, queued };
  };
  return { rt, facilityId, queue, service, worker, versions, finalise, cleanup: async () => { await worker.stop(); await rt.cleanup(); } };
}

/** Waits until `check` returns a value other than undefined/false (polling), or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One message the MLLP receiver got. */
export interface ReceivedMessage {
  controlId: string;
  message: Hl7Message;
  bytes: Buffer;
  answered: AckCode | 'none';
}

/**
 * An HL7 receiver on a TCP port: frames and unframes MLLP itself, decodes with the HL7 codec,
 * and answers each message by `answer` (AA by default). Messages whose MSH-10 it has already
 * accepted count once in `applied` (as a receiver that drops repeats would).
 */
export class MllpTestReceiver {
  readonly received: ReceivedMessage[] = [];
  readonly applied = new Map<string, number>();
  answer: (m: Hl7Message, n: number) => AckCode | 'none' | Promise<AckCode | 'none'> = () => 'AA';
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  port = 0;

  /** Listens on 127.0.0.1 (`port` 0: any free port), over TLS when a certificate and key are given. */
  async start(port = 0, tlsOptions?: { cert: Buffer; key: Buffer }): Promise<number> {
    const onSocket = (socket: net.Socket): void => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const start = buf.indexOf(0x0b);
          const end = buf.indexOf(0x1c, start + 1);
          if (start < 0 || end < 0) break;
          const payload = buf.subarray(start + 1, end);
          buf = buf.subarray(end + (buf[end + 1] === 0x0d ? 2 : 1));
          void this.handle(Buffer.from(payload), socket);
        }
      });
    };
    this.server = tlsOptions ? tls.createServer({ ...tlsOptions, minVersion: 'TLSv1.2' }, onSocket) : net.createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private async handle(bytes: Buffer, socket: net.Socket): Promise<void> {
    const { message } = parseHl7Bytes(bytes);
    const controlId = message.header.controlId;
    const entry: ReceivedMessage = { controlId, message, bytes, answered: 'none' };
    this.received.push(entry);
    const code = await this.answer(message, this.received.length);
    entry.answered = code;
    if (code === 'none') return;
    if (code === 'AA') this.applied.set(controlId, (this.applied.get(controlId) ?? 0) + 1);
    const ack = buildAckBytes(message, { code, controlId: `R${this.received.length}`, ...(code === 'AA' ? {} : { errors: [{ code: code === 'AR' ? 200 : 206, diagnostic: '患者 山田 is locked' }] }) });
    if (!socket.destroyed) socket.write(Buffer.concat([Buffer.from([0x0b]), ack, Buffer.from([0x1c, 0x0d])]));
  }

  /** Stops listening and drops every connection (the receiver is "down"). */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

/** One request the FHIR test server got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A FHIR server on an HTTP port answering each POST with `status` (200 with a transaction-response by default). */
export class FhirTestServer {
  readonly requests: ReceivedRequest[] = [];
  status: (n: number) => number = () => 200;
  private server: http.Server | undefined;
  port = 0;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
        const status = this.status(this.requests.length);
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        if (status >= 200 && status < 300) {
          const entries = ((body as { entry?: unknown[] })?.entry ?? []).map(() => ({ response: { status: '201 Created' } }));
          res.end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response', entry: entries }));
        } else {
          res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: `患者 山田 太郎: status ${status}` }] }));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}/fhir/R4`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** Audit entries of an action (oldest first). */
export async function auditOf(rt: { audit: { search: (actor: Actor, q: { action: string; limit: number }) => Promise<{ records: Array<{ action: string; outcome: string; object: { id: string }; facilityId: string | null; details: Record<string, unknown>; actor: { id: string } }> }> } }, action: string) {
  const r = await rt.audit.search(OPERATOR, { action, limit: 1000 });
  return r.records.reverse();
}
