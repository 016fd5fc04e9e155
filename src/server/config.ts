/**
 * The one typed configuration of Enkaku. Every setting comes from an `ENKAKU_*`
 * environment variable (or the defaults below); nothing else in the code base reads
 * `process.env`.
 */
import path from 'node:path';

/** Resolved configuration for one Enkaku process. */
export interface EnkakuConfig {
  /** Folder for the SQLite database, blobs and temporary files. */
  dataDir: string;
  /** `postgres://...` selects PostgreSQL; undefined selects SQLite in {@link dataDir}. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests use one fresh schema per run). */
  databaseSchema: string | undefined;
  http: { host: string; port: number; tlsCert: string | undefined; tlsKey: string | undefined };
  dicom: {
    port: number;
    aet: string;
    /** Address the DICOM listener binds to. */
    host: string;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    /** PEM bundle of CAs whose client certificates are accepted; set => client certificates required. */
    tlsCa: string | undefined;
    maxAssociations: number;
    /** Operator's explicit choice to accept plain DIMSE off loopback (e.g. inside an IPsec VPN). */
    allowPlainOffLoopback: boolean;
    /** Largest single instance accepted, in bytes. */
    maxInstanceBytes: number;
  };
  /** HL7 v2 over MLLP (orders from HIS/RIS): same transport rules as DICOM. */
  hl7: {
    port: number;
    /** Address the MLLP listener binds to (loopback by default). */
    host: string;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    /** PEM bundle of CAs whose client certificates are accepted; set => client certificates required. */
    tlsCa: string | undefined;
    /** Operator's explicit choice to accept plain MLLP off loopback (e.g. inside an IPsec VPN). */
    allowPlainOffLoopback: boolean;
  };
  /** DICOM audit messages (PS3.15 A.5) by syslog over TLS (RFC 5425), when a host is set. */
  auditSyslog: { host: string | undefined; port: number; ca: string | undefined; cert: string | undefined; key: string | undefined };
  /** Lowest TLS version accepted by HTTPS and DICOM TLS ('TLSv1.2' or 'TLSv1.3'). */
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  /**
   * The address users open in their browsers (e.g. https://enkaku.example.jp). It fixes the
   * WebAuthn origin and relying-party id; unset, the request's own Host is used.
   */
  publicUrl: string | undefined;
  /**
   * Origins (scheme://host[:port]) allowed to call the DICOMweb API from a browser, e.g. an
   * OHIF deployment using Enkaku as its data source; empty: no cross-origin access.
   */
  dicomwebCorsOrigins: string[];
  /** Memory for decoded frames kept by the rendering engine, in bytes. */
  renderCacheBytes: number;
  /** Largest STOW-RS request body accepted, in bytes. */
  maxUploadBytes: number;
  logLevel: string;
  /** The job worker of `serve`: how often it looks for due jobs (it also wakes when a job is enqueued). */
  jobs: { pollMs: number };
  /** Prior studies from the facility's PACS (W3): the fetch runs this long after a new study's first instance, so the study has arrived. */
  priors: { delaySeconds: number };
  /**
   * Protocol checks of orders with contrast (W4): eGFR (mL/min/1.73m²) below `egfrWarn`
   * warns, below `egfrContraindicate` warns that contrast is to be avoided.
   */
  protocol: { egfrWarn: number; egfrContraindicate: number };
  /**
   * RFC 3161 time-stamping of report signatures (A4): `ENKAKU_TSA_URL` names an outside TSA
   * (HTTP, `application/timestamp-query`), e.g. an accredited 認定タイムスタンプ service;
   * unset, the built-in TSA signs with the server's clock and says that it is local.
   */
  tsa: { url: string | undefined };
  /** The reading worklist (W6): a claim (reading lock) lasts this many minutes without activity (ENKAKU_CLAIM_MINUTES, default 30). */
  worklist: { claimMinutes: number };
  /**
   * Critical and incidental findings (C1-C3, W11): default minutes each ladder step has to
   * acknowledge a notice per category (ENKAKU_FINDINGS_CRITICAL_MINUTES 15, _URGENT_MINUTES 60,
   * _INCIDENTAL_MINUTES 4320), days until an incidental follow-up is due
   * (ENKAKU_FINDINGS_FOLLOW_UP_DAYS 30), the follow-up review (ENKAKU_FINDINGS_REVIEW_DAYS:
   * 0 = monthly on the 1st, else every N days), and the outside channels, which carry only a
   * prompt to open Enkaku: a webhook (ENKAKU_FINDINGS_WEBHOOK_URL, used where a facility has
   * none of its own), email over SMTP (ENKAKU_SMTP_URL e.g. smtp://host:25 or smtps://...,
   * ENKAKU_SMTP_FROM, and ENKAKU_FINDINGS_EMAIL_TO: comma-separated default addresses), and
   * SMS through an HTTP gateway (ENKAKU_SMS_GATEWAY_URL, optional ENKAKU_SMS_GATEWAY_TOKEN
   * sent as a bearer token). Settings of a facility (GET|PUT /api/findings/settings/:id) win.
   */
  findings: {
    ackMinutes: { critical: number; urgent: number; incidental: number };
    followUpDays: number;
    reviewEveryDays: number;
    webhookUrl: string | undefined;
    smtpUrl: string | undefined;
    smtpFrom: string;
    emailTo: string[];
    smsGatewayUrl: string | undefined;
    smsGatewayToken: string | undefined;
  };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 200) throw new Error(`${name} must be a number above 0 and at most 200, got "${raw}"`);
  return n;
}

function tlsVersion(v: string | undefined): 'TLSv1.2' | 'TLSv1.3' {
  if (v === undefined || v === 'TLSv1.2' || v === '1.2') return 'TLSv1.2';
  if (v === 'TLSv1.3' || v === '1.3') return 'TLSv1.3';
  throw new Error(`ENKAKU_TLS_MIN_VERSION must be TLSv1.2 or TLSv1.3, got "${v}"`);
}

/** ENKAKU_DICOMWEB_CORS_ORIGINS: comma-separated origins; each must be scheme://host[:port]. */
function corsOrigins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw.split(',').map((o) => o.trim()).filter(Boolean).map((o) => {
    if (o === '*') throw new Error('ENKAKU_DICOMWEB_CORS_ORIGINS must list origins; "*" would let any web page read medical data with a stolen token');
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new Error(`ENKAKU_DICOMWEB_CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== o.replace(/\/+$/, '')) {
      throw new Error(`ENKAKU_DICOMWEB_CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port], no path)`);
    }
    return url.origin;
  });
}

/** ENKAKU_TSA_URL: an http(s) URL of an RFC 3161 TSA, or unset for the built-in one. */
function tsaUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new Error('ENKAKU_TSA_URL must be an http(s) URL');
  return url.toString();
}

/** An http(s) URL setting (a webhook, an SMS gateway), or undefined. */
function httpUrl(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new Error(`${name} must be an http(s) URL`);
  return url.toString();
}

/** ENKAKU_SMTP_URL: smtp:// or smtps:// (nodemailer's connection URL), or undefined. */
function smtpUrl(env: Env): string | undefined {
  const raw = str(env, 'ENKAKU_SMTP_URL');
  if (!raw) return undefined;
  if (!/^smtps?:\/\/[^/\s]+/.test(raw)) throw new Error('ENKAKU_SMTP_URL must be smtp://host[:port] or smtps://host[:port]');
  return raw;
}

/** A comma-separated list of email addresses. */
function emails(env: Env, name: string): string[] {
  const list = (str(env, name) ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of list) if (!/^[^\s@,<>]+@[^\s@,<>]+$/.test(a)) throw new Error(`${name}: "${a}" is not an email address`);
  return list;
}

function str(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/**
 * Builds the configuration from environment variables.
 * @param env - the environment (defaults to `process.env`)
 * @param overrides - values that win over the environment (used by tests and the CLI)
 */
export function loadConfig(env: Env = process.env, overrides: Partial<EnkakuConfig> = {}): EnkakuConfig {
  const aet = str(env, 'ENKAKU_DICOM_AET') ?? 'ENKAKU';
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(aet) || aet.trim() === '') {
    throw new Error('ENKAKU_DICOM_AET must be 1-16 printable ASCII characters without a backslash');
  }
  const databaseUrl = str(env, 'ENKAKU_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('ENKAKU_DATABASE_URL must start with postgres:// (leave it unset for SQLite)');
  }
  const base: EnkakuConfig = {
    dataDir: path.resolve(str(env, 'ENKAKU_DATA_DIR') ?? './data'),
    databaseUrl,
    databaseSchema: str(env, 'ENKAKU_DATABASE_SCHEMA'),
    http: {
      host: str(env, 'ENKAKU_HTTP_HOST') ?? '127.0.0.1',
      port: int(env, 'ENKAKU_HTTP_PORT', 8080),
      tlsCert: str(env, 'ENKAKU_TLS_CERT'),
      tlsKey: str(env, 'ENKAKU_TLS_KEY'),
    },
    dicom: {
      port: int(env, 'ENKAKU_DICOM_PORT', 11112),
      aet,
      host: str(env, 'ENKAKU_DICOM_HOST') ?? '127.0.0.1',
      tlsCert: str(env, 'ENKAKU_DICOM_TLS_CERT'),
      tlsKey: str(env, 'ENKAKU_DICOM_TLS_KEY'),
      tlsCa: str(env, 'ENKAKU_DICOM_TLS_CA'),
      maxAssociations: int(env, 'ENKAKU_DICOM_MAX_ASSOCIATIONS', 32),
      allowPlainOffLoopback: str(env, 'ENKAKU_DICOM_ALLOW_PLAIN') === '1',
      maxInstanceBytes: int(env, 'ENKAKU_DICOM_MAX_INSTANCE_BYTES', 2 * 1024 ** 3),
    },
    hl7: {
      port: int(env, 'ENKAKU_HL7_PORT', 2575),
      host: str(env, 'ENKAKU_HL7_HOST') ?? '127.0.0.1',
      tlsCert: str(env, 'ENKAKU_HL7_TLS_CERT'),
      tlsKey: str(env, 'ENKAKU_HL7_TLS_KEY'),
      tlsCa: str(env, 'ENKAKU_HL7_TLS_CA'),
      allowPlainOffLoopback: str(env, 'ENKAKU_HL7_ALLOW_PLAIN') === '1',
    },
    publicUrl: str(env, 'ENKAKU_PUBLIC_URL')?.replace(/\/+$/, ''),
    dicomwebCorsOrigins: corsOrigins(str(env, 'ENKAKU_DICOMWEB_CORS_ORIGINS')),
    renderCacheBytes: int(env, 'ENKAKU_RENDER_CACHE_MB', 256) * 1024 * 1024,
    auditSyslog: {
      host: str(env, 'ENKAKU_AUDIT_SYSLOG_HOST'),
      port: int(env, 'ENKAKU_AUDIT_SYSLOG_PORT', 6514),
      ca: str(env, 'ENKAKU_AUDIT_SYSLOG_CA'),
      cert: str(env, 'ENKAKU_AUDIT_SYSLOG_CERT'),
      key: str(env, 'ENKAKU_AUDIT_SYSLOG_KEY'),
    },
    tlsMinVersion: tlsVersion(str(env, 'ENKAKU_TLS_MIN_VERSION')),
    maxUploadBytes: int(env, 'ENKAKU_MAX_UPLOAD_BYTES', 4 * 1024 ** 3),
    logLevel: str(env, 'ENKAKU_LOG_LEVEL') ?? 'info',
    jobs: { pollMs: Math.max(10, int(env, 'ENKAKU_JOBS_POLL_MS', 2000)) },
    priors: { delaySeconds: int(env, 'ENKAKU_PRIORS_DELAY_SECONDS', 30) },
    protocol: { egfrWarn: positive(env, 'ENKAKU_EGFR_WARN', 45), egfrContraindicate: positive(env, 'ENKAKU_EGFR_CONTRAINDICATE', 30) },
    tsa: { url: tsaUrl(str(env, 'ENKAKU_TSA_URL')) },
    worklist: { claimMinutes: int(env, 'ENKAKU_CLAIM_MINUTES', 30) },
    findings: {
      ackMinutes: {
        critical: int(env, 'ENKAKU_FINDINGS_CRITICAL_MINUTES', 15),
        urgent: int(env, 'ENKAKU_FINDINGS_URGENT_MINUTES', 60),
        incidental: int(env, 'ENKAKU_FINDINGS_INCIDENTAL_MINUTES', 3 * 24 * 60),
      },
      followUpDays: int(env, 'ENKAKU_FINDINGS_FOLLOW_UP_DAYS', 30),
      reviewEveryDays: int(env, 'ENKAKU_FINDINGS_REVIEW_DAYS', 0),
      webhookUrl: httpUrl(env, 'ENKAKU_FINDINGS_WEBHOOK_URL'),
      smtpUrl: smtpUrl(env),
      smtpFrom: str(env, 'ENKAKU_SMTP_FROM') ?? 'enkaku@localhost',
      emailTo: emails(env, 'ENKAKU_FINDINGS_EMAIL_TO'),
      smsGatewayUrl: httpUrl(env, 'ENKAKU_SMS_GATEWAY_URL'),
      smsGatewayToken: str(env, 'ENKAKU_SMS_GATEWAY_TOKEN'),
    },
  };
  for (const [k, v] of Object.entries(base.findings.ackMinutes)) {
    if (v < 1 || v > 525_600) throw new Error(`ENKAKU_FINDINGS_${k.toUpperCase()}_MINUTES must be from 1 to 525600 minutes, got ${v}`);
  }
  if (base.findings.followUpDays < 1 || base.findings.followUpDays > 3650) throw new Error(`ENKAKU_FINDINGS_FOLLOW_UP_DAYS must be from 1 to 3650, got ${base.findings.followUpDays}`);
  if (base.findings.reviewEveryDays > 366) throw new Error(`ENKAKU_FINDINGS_REVIEW_DAYS must be 0 (monthly) or 1 to 366 days, got ${base.findings.reviewEveryDays}`);
  if (base.worklist.claimMinutes < 1 || base.worklist.claimMinutes > 24 * 60) {
    throw new Error(`ENKAKU_CLAIM_MINUTES must be from 1 to 1440 minutes, got ${base.worklist.claimMinutes}`);
  }
  if (base.protocol.egfrContraindicate > base.protocol.egfrWarn) {
    throw new Error(`ENKAKU_EGFR_CONTRAINDICATE (${base.protocol.egfrContraindicate}) must not be above ENKAKU_EGFR_WARN (${base.protocol.egfrWarn})`);
  }
  return {
    ...base,
    ...overrides,
    http: { ...base.http, ...overrides.http },
    dicom: { ...base.dicom, ...overrides.dicom },
    hl7: { ...base.hl7, ...overrides.hl7 },
    auditSyslog: { ...base.auditSyslog, ...overrides.auditSyslog },
    jobs: { ...base.jobs, ...overrides.jobs },
    priors: { ...base.priors, ...overrides.priors },
    protocol: { ...base.protocol, ...overrides.protocol },
    tsa: { ...base.tsa, ...overrides.tsa },
    worklist: { ...base.worklist, ...overrides.worklist },
    findings: { ...base.findings, ...overrides.findings, ackMinutes: { ...base.findings.ackMinutes, ...overrides.findings?.ackMinutes } },
  };
}

/** True when the address is a loopback address, where plain (non-TLS) transport is allowed. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
