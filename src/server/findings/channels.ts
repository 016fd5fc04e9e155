/**
 * Outside channels of finding notices (C1, W11): a webhook (HTTP POST of JSON), email over
 * SMTP (nodemailer) and SMS through an HTTP gateway. They carry no PHI (§5-1 (1), W11,
 * ARCHITECTURE rule 8): every message is built by {@link outsideMessage} from the finding's
 * opaque id, its category and the kind of notice only, and says nothing but "open Enkaku".
 * No patient name, ID, accession number, study, facility or message text can reach it: the
 * builder is never given them.
 */
import nodemailer from 'nodemailer';
import type { FindingCategory } from '../../shared/findings.ts';

/** The outside channels. */
export type OutsideChannel = 'webhook' | 'email' | 'sms';
export const OUTSIDE_CHANNELS: readonly OutsideChannel[] = ['webhook', 'email', 'sms'];

/** Everything an outside message may say. */
export interface OutsidePrompt {
  findingId: string;
  category: FindingCategory;
  /** raised: the first notice; escalated: a later ladder step. */
  kind: 'raised' | 'escalated';
  /** Where Enkaku's users open the finding; the id alone when the public URL is not set. */
  url: string | null;
}

/** The texts and the JSON body of one prompt. */
export interface OutsideMessage {
  subject: string;
  text: string;
  /** The webhook's JSON body. */
  json: { type: 'enkaku.finding'; event: 'raised' | 'escalated'; findingId: string; category: FindingCategory; url: string | null };
}

const CATEGORY_JA: Record<FindingCategory, string> = { critical: '緊急', urgent: '至急', incidental: '偶発所見' };

/** The URL of a finding in the web application (`<public URL>/findings/<id>`), or null. */
export function findingUrl(publicUrl: string | undefined, findingId: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}/findings/${encodeURIComponent(findingId)}` : null;
}

/**
 * The one message every outside channel sends: a prompt to open Enkaku, with the finding's
 * opaque id (or URL) and its category. It is built from these fields only (W11).
 */
export function outsideMessage(p: OutsidePrompt): OutsideMessage {
  const where = p.url ?? `Enkaku の通知 ${p.findingId}`;
  const again = p.kind === 'escalated' ? '（未確認のため再通知）' : '';
  return {
    subject: `[Enkaku] ${CATEGORY_JA[p.category]}の所見通知があります (${p.category})`,
    text:
      `Enkaku に${CATEGORY_JA[p.category]}の所見通知 (${p.category}) があります${again}。\n` +
      `Enkaku を開いて内容を確認し、確認済みにしてください: ${where}\n` +
      `A ${p.category} finding notice is waiting in Enkaku. Open Enkaku to read and acknowledge it: ${where}\n`,
    json: { type: 'enkaku.finding', event: p.kind, findingId: p.findingId, category: p.category, url: p.url },
  };
}

/** Sends prompts; each method resolves with a short detail (no PHI) or throws. */
export interface ChannelTransports {
  webhook(url: string, message: OutsideMessage, signal?: AbortSignal): Promise<string>;
  email(to: string, message: OutsideMessage): Promise<string>;
  sms(to: string, message: OutsideMessage, signal?: AbortSignal): Promise<string>;
  /** Which transports are configured (a channel without one is not used). */
  readonly available: { webhook: boolean; email: boolean; sms: boolean };
  close(): void;
}

/** Configuration of {@link createTransports} (from ENKAKU_* settings). */
export interface TransportConfig {
  /** Any webhook URL is allowed per facility; this is the server-wide one. */
  webhookUrl: string | undefined;
  smtpUrl: string | undefined;
  smtpFrom: string;
  smsGatewayUrl: string | undefined;
  smsGatewayToken: string | undefined;
  /** Per request, default 10 s. */
  timeoutMs?: number | undefined;
}

/** An answer that is not 2xx: the attempt failed (the queue retries it). */
export class ChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

async function postJson(url: string, body: unknown, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Enkaku', ...headers },
    body: JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    redirect: 'error',
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new ChannelError(`HTTP ${res.status}`);
  return res.status;
}

/**
 * The real transports: webhook and SMS gateway over HTTP(S) (`fetch`), email through SMTP
 * with nodemailer (one pooled transporter). The SMS gateway receives
 * `{"to": "<number>", "text": "<prompt>"}` as JSON, with `Authorization: Bearer <token>`
 * when a token is configured.
 */
export function createTransports(cfg: TransportConfig): ChannelTransports {
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const mailer = cfg.smtpUrl ? nodemailer.createTransport(cfg.smtpUrl, { from: cfg.smtpFrom }) : undefined;
  return {
    available: { webhook: true, email: Boolean(mailer), sms: Boolean(cfg.smsGatewayUrl) },
    async webhook(url, message, signal) {
      const status = await postJson(url, message.json, {}, timeoutMs, signal);
      return `HTTP ${status}`;
    },
    async email(to, message) {
      if (!mailer) throw new ChannelError('no SMTP server configured (ENKAKU_SMTP_URL)');
      const info = await mailer.sendMail({ from: cfg.smtpFrom, to, subject: message.subject, text: message.text });
      return `accepted by the SMTP server (${String(info.response ?? '').slice(0, 60)})`;
    },
    async sms(to, message, signal) {
      if (!cfg.smsGatewayUrl) throw new ChannelError('no SMS gateway configured (ENKAKU_SMS_GATEWAY_URL)');
      const headers: Record<string, string> = cfg.smsGatewayToken ? { authorization: `Bearer ${cfg.smsGatewayToken}` } : {};
      const status = await postJson(cfg.smsGatewayUrl, { to, text: message.text }, headers, timeoutMs, signal);
      return `gateway HTTP ${status}`;
    },
    close() {
      mailer?.close();
    },
  };
}

/** A phone number as an SMS gateway takes it: digits and a leading +, or null when it is none. */
export function smsNumber(phone: string): string | null {
  const digits = phone.replace(/[\s\-()（）－ー]/g, '');
  return /^\+?\d{6,15}$/.test(digits) ? digits : null;
}
