/**
 * Validation of delivery endpoints as an administrator registers them, and the rule on plain
 * text: like the HL7 listener (ENKAKU_HL7_ALLOW_PLAIN), an endpoint off loopback must use TLS
 * (MLLP over TLS, https) unless plain text is explicitly allowed for it, e.g. inside an IPsec
 * VPN (MHLW 安全管理ガイドライン 第6.0版: TLS for system links; REQUIREMENTS S5).
 */
import fs from 'node:fs';
import { isLoopback } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import type { DeliveryEndpoint } from './schema.ts';

/** An HL7 v2 receiver (MLLP) of a facility. */
export interface Hl7EndpointInput {
  kind: 'hl7';
  /** Unique per facility, e.g. "電子カルテ". */
  name: string;
  host: string;
  port: number;
  tls?: boolean | undefined;
  /** PEM files on this server: the CA that signed the receiver's certificate; our client certificate and key. */
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** Allow plain MLLP off loopback (inside a protected network). */
  allowPlain?: boolean | undefined;
  /** MSH-3 / MSH-4 we write (default ENKAKU). */
  sendingApplication?: string | undefined;
  sendingFacility?: string | undefined;
  /** MSH-5 / MSH-6 the receiver expects. */
  receivingApplication?: string | undefined;
  receivingFacility?: string | undefined;
  /** Default iso-2022-jp (MSH-18 `~ISO IR87`). */
  charset?: 'iso-2022-jp' | 'utf-8' | undefined;
  /** Default FT. */
  textType?: 'FT' | 'TX' | undefined;
  /** Embed the signed PDF (OBX ED); default true. */
  embedPdf?: boolean | undefined;
  /** Seconds to wait for the ACK (default 30). */
  timeoutSeconds?: number | undefined;
}

/** A FHIR R4 server of a facility. */
export interface FhirEndpointInput {
  kind: 'fhir';
  name: string;
  /** The server's base URL, e.g. https://emr.example.jp/fhir/R4. */
  baseUrl: string;
  /** Bearer token the server expects (sealed at rest). */
  token?: string | undefined;
  /** PEM file of the CA that signed the server's certificate, when not a public one. */
  tlsCa?: string | undefined;
  /** Allow http:// off loopback (inside a protected network). */
  allowPlain?: boolean | undefined;
  /** Identifier system of the facility's patient IDs at that server. */
  patientIdSystem?: string | undefined;
  /** Seconds to wait for the answer (default 30). */
  timeoutSeconds?: number | undefined;
}

/** What an administrator registers. */
export type EndpointInput = Hl7EndpointInput | FhirEndpointInput;

/** A validated endpoint, ready to store (secrets still in clear; the service seals them). */
export interface ValidEndpoint {
  kind: 'hl7' | 'fhir';
  name: string;
  host: string | null;
  port: number | null;
  tls: boolean;
  tlsCa: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  allowPlain: boolean;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  charset: 'iso-2022-jp' | 'utf-8';
  textType: 'FT' | 'TX';
  embedPdf: boolean;
  baseUrl: string | null;
  token: string | null;
  patientIdSystem: string | null;
  timeoutSeconds: number;
}

const bad = (message: string): never => {
  throw new AppError('bad_request', message);
};

/** HD namespace IDs (MSH-3 to MSH-6): printable, no HL7 delimiters, at most 180 characters. */
function hd(value: string | undefined, what: string, fallback: string): string {
  const v = (value ?? '').trim();
  if (!v) return fallback;
  if (v.length > 180 || !/^[\x20-\x7e\u3000-\u9fff\uff00-\uffef]+$/.test(v) || /[|^~\\&]/.test(v)) {
    bad(`invalid ${what} "${value}": 1-180 printable characters without HL7 delimiters (| ^ ~ \\ &)`);
  }
  return v;
}

function pemFile(path: string | undefined, what: string): string | null {
  const p = (path ?? '').trim();
  if (!p) return null;
  if (!fs.existsSync(p)) bad(`${what} file ${p} does not exist on this server`);
  return p;
}

function timeout(v: number | undefined): number {
  const t = v ?? 30;
  if (!Number.isInteger(t) || t < 1 || t > 600) bad('timeout must be 1-600 seconds');
  return t;
}

/**
 * Checks what an administrator registers.
 * @throws AppError bad_request naming the problem (plain text off loopback included)
 */
export function validateEndpoint(input: EndpointInput): ValidEndpoint {
  if (!input || typeof input !== 'object') bad('an endpoint is required');
  const name = String(input.name ?? '').trim();
  if (!name || name.length > 100 || /[\u0000-\u001f]/.test(name)) bad('endpoint name must be 1-100 characters');
  const allowPlain = Boolean(input.allowPlain);
  if (input.kind === 'hl7') {
    const host = String(input.host ?? '').trim();
    if (!host || host.length > 253 || !/^[A-Za-z0-9.:_-]+$/.test(host)) bad(`invalid host "${input.host}"`);
    const port = Number(input.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`invalid port ${input.port}`);
    const tls = Boolean(input.tls);
    if (!tls && !isLoopback(host) && !allowPlain) {
      bad(`refusing plain MLLP to ${host}: use TLS (--tls), or allow plain text explicitly (--allow-plain) inside a protected network such as an IPsec VPN`);
    }
    const cert = pemFile(input.tlsCert, 'client certificate');
    const key = pemFile(input.tlsKey, 'client key');
    if (Boolean(cert) !== Boolean(key)) bad('a client certificate needs its key, and a key its certificate');
    if (!tls && (cert || input.tlsCa)) bad('TLS files are given but TLS is off (--tls)');
    const charset = input.charset ?? 'iso-2022-jp';
    if (charset !== 'iso-2022-jp' && charset !== 'utf-8') bad('charset must be iso-2022-jp or utf-8');
    const textType = input.textType ?? 'FT';
    if (textType !== 'FT' && textType !== 'TX') bad('text type must be FT or TX');
    return {
      kind: 'hl7', name, host, port, tls, tlsCa: pemFile(input.tlsCa, 'CA'), tlsCert: cert, tlsKey: key, allowPlain,
      sendingApplication: hd(input.sendingApplication, 'sending application (MSH-3)', 'ENKAKU'),
      sendingFacility: hd(input.sendingFacility, 'sending facility (MSH-4)', 'ENKAKU'),
      receivingApplication: hd(input.receivingApplication, 'receiving application (MSH-5)', ''),
      receivingFacility: hd(input.receivingFacility, 'receiving facility (MSH-6)', ''),
      charset, textType, embedPdf: input.embedPdf ?? true,
      baseUrl: null, token: null, patientIdSystem: null, timeoutSeconds: timeout(input.timeoutSeconds),
    };
  }
  if (input.kind === 'fhir') {
    let url: URL;
    try {
      url = new URL(String(input.baseUrl ?? '').trim());
    } catch {
      return bad(`invalid base URL "${input.baseUrl}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') bad('the base URL must be http(s)');
    if (url.username || url.password) bad('put credentials in the token, not in the URL');
    if (url.search || url.hash) bad('the base URL may not have a query or fragment');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'http:' && !isLoopback(host) && !allowPlain) {
      bad(`refusing plain http to ${host}: use https, or allow plain text explicitly (--allow-plain) inside a protected network`);
    }
    const token = input.token === undefined || input.token === '' ? null : String(input.token);
    if (token !== null && (token.length > 4096 || /[\s]/.test(token))) bad('the token must be 1-4096 characters without white space');
    const system = (input.patientIdSystem ?? '').trim();
    if (system && !/^[a-z][a-z0-9+.-]*:\S+$/i.test(system)) bad(`patient ID system "${system}" is not a URI`);
    return {
      kind: 'fhir', name, host: null, port: null, tls: url.protocol === 'https:', tlsCa: pemFile(input.tlsCa, 'CA'), tlsCert: null, tlsKey: null, allowPlain,
      sendingApplication: '', sendingFacility: '', receivingApplication: '', receivingFacility: '', charset: 'utf-8', textType: 'FT', embedPdf: true,
      baseUrl: url.toString().replace(/\/+$/, ''), token, patientIdSystem: system || null, timeoutSeconds: timeout(input.timeoutSeconds),
    };
  }
  return bad('kind must be hl7 or fhir');
}

/**
 * Re-checks a stored endpoint before each send (a row changed by hand, or a rule made stricter,
 * must not send in plain text).
 * @returns the reason it may not be used, or undefined
 */
export function refusalOf(e: DeliveryEndpoint): string | undefined {
  if (e.kind === 'hl7') {
    if (!e.host || !e.port) return 'the endpoint has no host or port';
    if (!e.tls && !isLoopback(e.host) && !e.allow_plain) return 'plain MLLP off loopback is not allowed for this endpoint';
    return undefined;
  }
  if (!e.base_url) return 'the endpoint has no base URL';
  try {
    const u = new URL(e.base_url);
    if (u.protocol === 'http:' && !isLoopback(u.hostname.replace(/^\[|\]$/g, '')) && !e.allow_plain) return 'plain http off loopback is not allowed for this endpoint';
  } catch {
    return 'the base URL is invalid';
  }
  return undefined;
}
