/**
 * Sending one delivery and judging the answer.
 *
 * HL7 (MLLP, HL7 v2.5 Appendix C.4; original acknowledgment mode, §2.9.2): the message is sent
 * with the existing {@link MllpClient} (TLS when the endpoint says so) and the reply is read as
 * an acknowledgment whose MSA-2 must name our MSH-10:
 * - AA (or CA) delivered;
 * - AE (or CE), an error the receiver may get over (a busy database, an order not yet known):
 *   retried with backoff;
 * - AR (or CR), the receiver refuses the message as such (unsupported type, version, a sender
 *   it does not know): failed for good, until an operator fixes the cause and retries the job;
 * - no reply within the endpoint's timeout, a lost connection, a refused connection, or a reply
 *   that is not an acknowledgment of this message: retried.
 * FHIR (transaction Bundle, FHIR R4 §3.1.0.11): 2xx delivered; 408, 409, 412, 425, 429 and 5xx,
 * timeouts and network errors retried; other 4xx failed for good.
 *
 * Error texts keep codes and locations, and the receiver's diagnostics reduced to printable
 * ASCII (its Japanese text could name the patient); logs get codes only.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { MllpClient, MllpTimeoutError, decodeHl7, Hl7Message, type AckCode } from '../../interop/hl7/index.ts';

/** How one attempt ended. */
export interface SendResult {
  outcome: 'delivered' | 'retry' | 'failed';
  ackCode?: AckCode | string | undefined;
  httpStatus?: number | undefined;
  /** No PHI. */
  error?: string | undefined;
}

/** Printable ASCII only, at most `max` characters (foreign diagnostics may carry names in kanji or kana). */
export function asciiOnly(text: string, max = 160): string {
  return text.replace(/[^\x20-\x7e]+/g, '?').replace(/\s+/g, ' ').trim().slice(0, max);
}

/**
 * Reads the receiver's reply to the message with MSH-10 `controlId`.
 */
export function interpretAck(reply: Uint8Array, controlId: string): SendResult {
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(decodeHl7(reply).text);
  } catch (e) {
    return { outcome: 'retry', error: `the reply is not an HL7 message (${asciiOnly((e as Error).message, 80)})` };
  }
  const msa = message.segments.find((s) => s.name === 'MSA');
  if (!msa) return { outcome: 'retry', error: 'the reply has no MSA segment' };
  const code = (msa.get(1) ?? '').trim().toUpperCase();
  const acked = (msa.get(2) ?? '').trim();
  if (acked !== controlId) return { outcome: 'retry', ackCode: code, error: `the reply acknowledges message ${asciiOnly(acked, 40) || '(none)'}, not ${controlId}` };
  const errs = message.segments.filter((s) => s.name === 'ERR').map((e) => {
    const where = [e.get(2, 1), e.get(2, 3)].filter(Boolean).join('-');
    const what = e.get(3, 1) ?? '';
    const diag = asciiOnly(e.get(7) ?? e.get(8) ?? '', 120);
    return [what && `ERR ${what}`, where && `at ${asciiOnly(where, 20)}`, diag].filter(Boolean).join(' ');
  });
  const text = asciiOnly(msa.get(3) ?? '', 120);
  const detail = [text, ...errs].filter(Boolean).join('; ');
  switch (code) {
    case 'AA':
    case 'CA':
      return { outcome: 'delivered', ackCode: code };
    case 'AE':
    case 'CE':
      return { outcome: 'retry', ackCode: code, error: `${code} (application error; retried)${detail ? `: ${detail}` : ''}` };
    case 'AR':
    case 'CR':
      return { outcome: 'failed', ackCode: code, error: `${code} (rejected; not retried)${detail ? `: ${detail}` : ''}` };
    default:
      return { outcome: 'retry', ackCode: code, error: `unknown acknowledgment code "${asciiOnly(code, 8)}"` };
  }
}

/** Where and how to send an HL7 message. */
export interface MllpTarget {
  host: string;
  port: number;
  tls: boolean;
  tlsCa?: string | null | undefined;
  tlsCert?: string | null | undefined;
  tlsKey?: string | null | undefined;
  timeoutMs: number;
}

function tlsOptions(t: MllpTarget): tls.ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    ...(t.tlsCa ? { ca: fs.readFileSync(t.tlsCa) } : {}),
    ...(t.tlsCert && t.tlsKey ? { cert: fs.readFileSync(t.tlsCert), key: fs.readFileSync(t.tlsKey) } : {}),
  };
}

function networkError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof MllpTimeoutError) return asciiOnly(err.message);
  return asciiOnly(`${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`);
}

/**
 * Sends one encoded message over MLLP and judges the acknowledgment. Never throws: every
 * failure is a {@link SendResult}.
 */
export async function sendHl7(target: MllpTarget, bytes: Uint8Array, controlId: string, signal?: AbortSignal): Promise<SendResult> {
  let client: MllpClient;
  try {
    client = new MllpClient({ host: target.host, port: target.port, tls: target.tls ? tlsOptions(target) : false, timeoutMs: target.timeoutMs, connectTimeoutMs: Math.min(target.timeoutMs, 15_000) });
  } catch (e) {
    return { outcome: 'retry', error: `cannot prepare the connection: ${networkError(e)}` };
  }
  const abort = (): void => void client.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const reply = await client.send(bytes);
    return interpretAck(reply, controlId);
  } catch (e) {
    if (signal?.aborted) return { outcome: 'retry', error: 'the attempt was stopped (the worker is stopping)' };
    return { outcome: 'retry', error: e instanceof MllpTimeoutError ? `no acknowledgment within ${Math.round(target.timeoutMs / 1000)} s` : `connection failed: ${networkError(e)}` };
  } finally {
    signal?.removeEventListener('abort', abort);
    await client.close().catch(() => undefined);
  }
}

/** Where to send a FHIR transaction. */
export interface FhirTarget {
  baseUrl: string;
  token?: string | null | undefined;
  tlsCa?: string | null | undefined;
  timeoutMs: number;
}

const RETRY_STATUSES = new Set([408, 409, 412, 425, 429]);

/** The diagnostics of an OperationOutcome body, ASCII only. */
function outcomeText(body: string): string {
  try {
    const oo = JSON.parse(body) as OperationOutcome;
    if (oo?.resourceType !== 'OperationOutcome') return '';
    return asciiOnly((oo.issue ?? []).map((i) => [i.code, i.diagnostics].filter(Boolean).join(': ')).join('; '), 200);
  } catch {
    return '';
  }
}

/**
 * POSTs a transaction Bundle to the server's base URL and judges the answer. Never throws.
 */
export async function sendFhirTransaction(target: FhirTarget, bundle: Bundle, signal?: AbortSignal): Promise<SendResult> {
  const body = Buffer.from(JSON.stringify(bundle), 'utf8');
  let url: URL;
  try {
    url = new URL(target.baseUrl);
  } catch {
    return { outcome: 'failed', error: 'the endpoint base URL is invalid' };
  }
  const lib = url.protocol === 'https:' ? https : http;
  let ca: Buffer | undefined;
  try {
    ca = url.protocol === 'https:' && target.tlsCa ? fs.readFileSync(target.tlsCa) : undefined;
  } catch (e) {
    return { outcome: 'retry', error: `cannot read the CA file: ${networkError(e)}` };
  }
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: SendResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = lib.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json; charset=utf-8',
        accept: 'application/fhir+json',
        'content-length': String(body.length),
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      timeout: target.timeoutMs,
      ...(url.protocol === 'https:' ? { minVersion: 'TLSv1.2' as const, ...(ca ? { ca } : {}) } : {}),
      ...(signal ? { signal } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 1024 * 1024) chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        if (status >= 200 && status < 300) return done({ outcome: 'delivered', httpStatus: status });
        const detail = outcomeText(text);
        const retry = status >= 500 || RETRY_STATUSES.has(status);
        done({ outcome: retry ? 'retry' : 'failed', httpStatus: status, error: `HTTP ${status}${retry ? ' (retried)' : ' (not retried)'}${detail ? `: ${detail}` : ''}` });
      });
      res.on('error', (e) => done({ outcome: 'retry', httpStatus: res.statusCode, error: `the answer broke off: ${networkError(e)}` }));
    });
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${Math.round(target.timeoutMs / 1000)} s`));
    });
    req.on('error', (e) => done({ outcome: 'retry', error: signal?.aborted ? 'the attempt was stopped (the worker is stopping)' : `request failed: ${networkError(e)}` }));
    req.end(body);
  });
}
