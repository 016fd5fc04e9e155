/**
 * The `enkaku` command line: serve | migrate | facility add | facility list | facility add-endpoint | token create |
 * import <dir> | jobs list | jobs retry | demo. Run `enkaku help` for usage.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, type EnkakuConfig } from './config.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { buildApp } from './app.ts';
import { jpegEncoder, startDimse } from './archive/index.ts';
import { startHl7Listener } from './interop/hl7/index.ts';
import { importFolder, type ImportSummary } from './archive/import.ts';
import { formatSsmix2Summary, importSsmix2, ssmix2StatePath, type Ssmix2ImportSummary } from './interop/ssmix2/index.ts';
import { AppError } from './platform/errors.ts';
import { randomInitialPassword } from './security/index.ts';
import { AuditForwarder, SyslogSender } from './audit/index.ts';
import { createLogger } from './platform/log.ts';
import { JobWorker } from './platform/outbox/index.ts';
import { answerHl7ReadConfirmation, type EndpointInput } from './reports/delivery/index.ts';
import type { JobView } from '../shared/api.ts';

const OPERATOR = { kind: 'system', name: 'cli' } as const;

const USAGE = `Usage: enkaku <command> [options]

Commands:
  serve                              start the HTTP, DICOM and HL7 (MLLP) services (default)
  migrate                            create or upgrade the database schema, then exit
  facility add --name N --aet AE...  register a requesting facility and its calling AE titles
  facility add-aet --name N --aet AE add calling AE titles to a facility
  facility list                      list facilities and their AE titles
  facility add-node --name N --aet AE --host H --port P [--tls] [--query] [--destination]
                                     register a DICOM node of the facility: its PACS (--query: priors are
                                     pulled from it) and/or a C-MOVE destination (--destination)
  facility add-hl7-sender --name N --sending-facility X [--sending-application Y]
                                     accept HL7 messages whose MSH-4 (and MSH-3, when given) name this sender
                                     as the facility's
  facility add-endpoint --name N --endpoint E --kind hl7 --host H --port P [--tls [--tls-ca F] [--tls-cert F --tls-key F]]
                        [--allow-plain] [--receiving-application A] [--receiving-facility F] [--sending-facility S]
                        [--charset iso-2022-jp|utf-8] [--text FT|TX] [--no-pdf] [--timeout S]
  facility add-endpoint --name N --endpoint E --kind fhir --url U [--token-file F] [--tls-ca F] [--allow-plain]
                        [--patient-id-system S] [--timeout S]
                                     register where the facility receives final reports (contract route hl7 or fhir):
                                     an HL7 v2 MLLP receiver (ORU^R01) or a FHIR R4 server (DiagnosticReport); plain text
                                     off loopback needs --allow-plain (e.g. inside an IPsec VPN); audited
  facility endpoints --name N        list the facility's report delivery endpoints
  facility priors --name N [--on|--off] [--years Y] [--modality M]... [--max N] [--via get|move]
                                     set which prior studies are pulled from the facility's PACS
  user add --username U --name "N" --role R [--facility F]...
                                     create a personal account; prints a one-time initial password
                                     (roles: system-admin, facility-admin, attending-physician, technologist,
                                      radiologist, management-physician, transcriptionist, auditor)
  user import-certificate --username U (--pkcs12 F --password-file P | --cert F --key F [--password-file P])
                                     import a physician's own signing certificate and key (e.g. HPKI) with its
                                     chain; it replaces the one Enkaku's CA issued; audited
  user certificates --username U     list the physician's signing certificates
  token create --facility N --scope S... [--label L]
                                     create a facility API token (scopes: dicomweb:write, dicomweb:read, orders:write, orders:read)
  import <folder> --facility N       import DICOM files (or a CD with DICOMDIR) for a facility
  import-ssmix2 <root> --facility N [--full]
                                     import clinical context (diagnoses, allergies, labs, prescriptions, injections)
                                     from SS-MIX2 standardized storage, incrementally; --full re-reads unchanged files
  jobs list [--kind K] [--state S] [--limit N]
                                     list background jobs, newest first (kinds: priors.fetch, report.deliver,
                                     finding.escalate, finding.notify, finding.review; states: queued, running, done,
                                     failed): id, kind, state, attempts, facility, key, progress, next run or end,
                                     last error
  jobs retry <id>                    run a job again now with fresh attempts (e.g. after the PACS is back); audited
  demo                               load a demonstration facility and a synthetic CT study
  verify-audit                       check the audit trail's hash chain (exit 1 when damaged, naming the first bad entry)

Settings come from ENKAKU_* environment variables (see README.md).`;

function fail(message: string): never {
  process.stderr.write(`enkaku: ${message}\n`);
  process.exit(2);
}

async function withRuntime<T>(config: EnkakuConfig, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await createRuntime(config, createLogger(process.env.ENKAKU_LOG_LEVEL ?? 'warn'));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

function progressBar(done: number, total: number, s: ImportSummary): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const mb = (s.bytes / 1e6).toFixed(1);
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} files, ${mb} MB`);
}

let ssmix2ProgressAt = 0;
function ssmix2Progress(done: number, total: number, s: Ssmix2ImportSummary): void {
  if (!process.stderr.isTTY || (done < total && Date.now() - ssmix2ProgressAt < 100)) return;
  ssmix2ProgressAt = Date.now();
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const failed = s.errorCount ? `, ${s.errorCount} failed` : '';
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} files, ${s.items.added} items added${failed}`);
}

/**
 * Sends every committed audit entry as a DICOM audit message (PS3.15 A.5) by syslog over
 * TLS (RFC 5424/5425) when ENKAKU_AUDIT_SYSLOG_HOST is set: a copy outside Enkaku that a
 * rewrite of the database cannot reach.
 */
async function startAuditForwarding(rt: Runtime): Promise<{ stop(): Promise<void> } | undefined> {
  const s = rt.config.auditSyslog;
  if (!s.host) return undefined;
  if (!s.ca) throw new Error('ENKAKU_AUDIT_SYSLOG_CA is required with ENKAKU_AUDIT_SYSLOG_HOST (the collector is verified by TLS)');
  const fs = await import('node:fs');
  const sender = new SyslogSender({
    host: s.host,
    port: s.port,
    ca: fs.readFileSync(s.ca),
    ...(s.cert && s.key ? { cert: fs.readFileSync(s.cert), key: fs.readFileSync(s.key) } : {}),
    source: { aet: rt.config.dicom.aet },
  });
  const forwarder = new AuditForwarder(rt.audit, sender, { log: rt.log });
  await forwarder.start();
  rt.log.info({ event: 'audit.syslog', host: s.host, port: s.port }, 'forwarding audit messages by syslog over TLS');
  return {
    stop: async () => {
      await forwarder.stop();
      await sender.close();
    },
  };
}

async function serve(config: EnkakuConfig): Promise<void> {
  const rt = await createRuntime(config);
  const app = await buildApp(rt);
  const dimse = await startDimse({ config, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
  // HL7 v2 orders over MLLP from the facilities' HIS/RIS, acknowledged after the durable commit.
  const hl7 = await startHl7Listener(config, {
    senders: rt.hl7Senders,
    orders: rt.orders,
    patients: rt.patients,
    clinical: rt.clinical,
    log: rt.log,
    // Read confirmations of delivered reports (ORU^ZR1) from the same registered senders.
    readConfirmations: (actor, facilityId, message) => answerHl7ReadConfirmation(rt.deliveries, actor, facilityId, message),
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  const forwarding = await startAuditForwarding(rt);
  // Background jobs (priors fetches) run in every serving process; PostgreSQL nodes share the queue.
  const worker = new JobWorker(rt.jobs, { log: rt.log, pollMs: config.jobs.pollMs });
  rt.priors.register(worker);
  // Final reports to the facilities (report.deliver jobs), from the stored signed versions.
  rt.deliveries.registerHandlers(worker, { loadVersion: (versionId) => rt.reports.loadVersion(versionId) });
  // Finding notices: escalation timers, outside prompts and the periodic follow-up review.
  rt.findings.registerHandlers(worker);
  await rt.findings.scheduleReview();
  worker.start();
  const scheme = config.http.tlsCert ? 'https' : 'http';
  const facilities = await rt.facilities.list(OPERATOR);
  const jpeg = jpegEncoder();
  if (jpeg.reason) rt.log.warn({ event: 'render.jpeg-encoder', encoder: jpeg.name, reason: jpeg.reason }, 'libjpeg-turbo binding not available: rendered JPEG images are encoded through sharp, more slowly');
  const setupToken = await rt.auth.issueSetupToken();
  const base = `${scheme}://${config.http.host}:${config.http.port}`;
  process.stdout.write(
    [
      '',
      `Enkaku is running.`,
      `  Web and DICOMweb: ${scheme}://${config.http.host}:${config.http.port}/  (STOW-RS at /dicomweb/studies)`,
      `  DICOM:            AE title ${config.dicom.aet}, ${config.dicom.host}:${dimse.port}${dimse.tls ? ' (DICOM TLS)' : ''}`,
      `  HL7 (MLLP):       ${hl7.host}:${hl7.port}${hl7.tls ? ' (TLS)' : ''}; FHIR R4 at /fhir/R4`,
      `  Data:             ${rt.db.location}; blobs in ${rt.blobs.root}`,
      `  Thread pool:      ${process.env.UV_THREADPOOL_SIZE ?? '4'} threads for file reads, integrity checks and image encoding (UV_THREADPOOL_SIZE)`,
      setupToken
        ? `  First start: create the first administrator at\n    ${base}/setup?token=${setupToken}\n  (valid 24 hours, once), or with  npx enkaku user add --username admin --name "..." --role system-admin`
        : `  Sign in at ${base}/login`,
      facilities.length === 0
        ? `  No facility yet: register one with  npx enkaku facility add --name "Example Hospital" --aet MODALITY1\n  or load the demonstration with     npm run demo`
        : `  Facilities: ${facilities.map((f) => `${f.name} (${f.aets.join(', ')})`).join('; ')}`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    rt.log.info({ event: 'shutdown' }, 'stopping');
    // Jobs first: a C-MOVE in progress still needs the DIMSE listener to receive its instances.
    await worker.stop();
    await dimse.close();
    await hl7.close();
    await app.close();
    await forwarding?.stop();
    await rt.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** One tab-separated line of `jobs list`: id, kind, state, attempts, facility, key, progress, next run or end, last error. */
function jobLine(j: JobView, facilityNames: Map<string, string>): string {
  const progress = Object.entries(j.progress)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const when = j.state === 'queued' ? `next ${j.runAfter}` : j.finishedAt ? `ended ${j.finishedAt}` : `since ${j.updatedAt}`;
  const facility = j.facilityId ? (facilityNames.get(j.facilityId) ?? j.facilityId) : '-';
  return [j.id, j.kind, j.state, `${j.attempts}/${j.maxAttempts}`, facility, j.key, progress || '-', when, (j.lastError ?? '').replace(/\s+/g, ' ')].join('\t');
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', sub, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate':
      await withRuntime(config, async (rt) => {
        process.stdout.write(`database ready: ${rt.db.location}\n`);
      });
      return;
    case 'facility': {
      if (sub === 'add-node') {
        const { values } = parseArgs({
          args: rest,
          options: { name: { type: 'string' }, aet: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, tls: { type: 'boolean' }, query: { type: 'boolean' }, destination: { type: 'boolean' } },
        });
        if (!values.name || !values.aet || !values.host || !values.port) fail('usage: enkaku facility add-node --name N --aet AE --host H --port P [--tls] [--query] [--destination]');
        await withRuntime(config, async (rt) => {
          const n = await rt.facilities.addNode(OPERATOR, values.name!, {
            aet: values.aet!, host: values.host!, port: Number(values.port), tls: Boolean(values.tls), query: Boolean(values.query), destination: Boolean(values.destination),
          });
          const roles = [n.query ? 'PACS queried for priors' : '', n.destination ? 'C-MOVE destination' : ''].filter(Boolean).join(', ');
          process.stdout.write(`node ${n.aet} at ${n.host}:${n.port}${n.tls ? ' (TLS)' : ''} registered for "${values.name}": ${roles}\n`);
        });
        return;
      }
      if (sub === 'add-hl7-sender') {
        const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, 'sending-facility': { type: 'string' }, 'sending-application': { type: 'string' } } });
        if (!values.name || !values['sending-facility']) fail('usage: enkaku facility add-hl7-sender --name N --sending-facility X [--sending-application Y]');
        await withRuntime(config, async (rt) => {
          const sender = await rt.hl7Senders.add(OPERATOR, values.name!, { sendingFacility: values['sending-facility']!, sendingApplication: values['sending-application'] ?? '' });
          process.stdout.write(`HL7 sender ${sender.sendingFacility}${sender.sendingApplication ? ` / ${sender.sendingApplication}` : ' (any application)'} registered for "${values.name}"\n`);
        });
        return;
      }
      if (sub === 'add-endpoint' || sub === 'endpoints') {
        const { values } = parseArgs({
          args: rest,
          options: {
            name: { type: 'string' }, endpoint: { type: 'string' }, kind: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
            tls: { type: 'boolean' }, 'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'allow-plain': { type: 'boolean' },
            'receiving-application': { type: 'string' }, 'receiving-facility': { type: 'string' }, 'sending-facility': { type: 'string' },
            charset: { type: 'string' }, text: { type: 'string' }, 'no-pdf': { type: 'boolean' }, timeout: { type: 'string' },
            url: { type: 'string' }, 'token-file': { type: 'string' }, 'patient-id-system': { type: 'string' },
          },
        });
        if (!values.name) fail(`usage: enkaku facility ${sub} --name N ...  (see enkaku help)`);
        await withRuntime(config, async (rt) => {
          const f = await rt.facilities.byName(values.name!);
          if (!f) fail(`no facility named "${values.name}"`);
          const delivery = rt.deliveries;
          if (sub === 'endpoints') {
            for (const e of await delivery.endpoints(OPERATOR, f.id)) {
              const where = e.kind === 'hl7' ? `mllp${e.tls ? '+tls' : ''}://${e.host}:${e.port} MSH-5/6 ${e.receivingApplication || '-'}/${e.receivingFacility || '-'} ${e.charset} ${e.textType}${e.embedPdf ? ' +pdf' : ''}` : `${e.baseUrl}${e.hasToken ? ' (token)' : ''}`;
              process.stdout.write(`${e.name}\t${e.id}\t${e.kind}\t${e.active ? 'active' : 'retired'}\t${where}${e.allowPlain ? '\tplain allowed' : ''}\n`);
            }
            return;
          }
          if (!values.endpoint || (values.kind !== 'hl7' && values.kind !== 'fhir')) fail('usage: enkaku facility add-endpoint --name N --endpoint E --kind hl7|fhir ...  (see enkaku help)');
          const timeoutSeconds = values.timeout !== undefined ? Number(values.timeout) : undefined;
          let input: EndpointInput;
          if (values.kind === 'hl7') {
            if (!values.host || !values.port) fail('--host and --port are required for an HL7 endpoint');
            input = {
              kind: 'hl7', name: values.endpoint, host: values.host, port: Number(values.port), tls: Boolean(values.tls), tlsCa: values['tls-ca'], tlsCert: values['tls-cert'], tlsKey: values['tls-key'],
              allowPlain: Boolean(values['allow-plain']), receivingApplication: values['receiving-application'], receivingFacility: values['receiving-facility'],
              sendingFacility: values['sending-facility'], charset: values.charset as 'iso-2022-jp' | 'utf-8' | undefined, textType: values.text as 'FT' | 'TX' | undefined,
              embedPdf: !values['no-pdf'], timeoutSeconds,
            };
          } else {
            if (!values.url) fail('--url is required for a FHIR endpoint');
            // The token is read from a file so that it stays out of the shell history and the process list.
            const fs = await import('node:fs');
            const token = values['token-file'] ? fs.readFileSync(values['token-file'], 'utf8').trim() : undefined;
            input = { kind: 'fhir', name: values.endpoint, baseUrl: values.url, token, tlsCa: values['tls-ca'], allowPlain: Boolean(values['allow-plain']), patientIdSystem: values['patient-id-system'], timeoutSeconds };
          }
          const e = await delivery.addEndpoint(OPERATOR, f.id, input);
          const where = e.kind === 'hl7' ? `${e.host}:${e.port}${e.tls ? ' (TLS)' : e.allowPlain ? ' (plain text, allowed)' : ''}` : `${e.baseUrl}${e.hasToken ? ' with a bearer token' : ''}`;
          process.stdout.write(`${e.kind.toUpperCase()} endpoint "${e.name}" (${e.id}) at ${where} registered for "${values.name}"; final reports are delivered there while it is active\n`);
        });
        return;
      }
      if (sub === 'priors') {
        const { values } = parseArgs({
          args: rest,
          options: { name: { type: 'string' }, on: { type: 'boolean' }, off: { type: 'boolean' }, years: { type: 'string' }, modality: { type: 'string', multiple: true }, max: { type: 'string' }, via: { type: 'string' } },
        });
        if (!values.name) fail('usage: enkaku facility priors --name N [--on|--off] [--years Y] [--modality CT]... [--max N] [--via get|move]');
        await withRuntime(config, async (rt) => {
          const p = await rt.facilities.setPriorPolicy(OPERATOR, values.name!, {
            ...(values.on ? { enabled: true } : {}),
            ...(values.off ? { enabled: false } : {}),
            ...(values.years !== undefined ? { years: Number(values.years) } : {}),
            ...(values.modality ? { modalities: values.modality.flatMap((m) => m.split(',')) } : {}),
            ...(values.max !== undefined ? { maxStudies: Number(values.max) } : {}),
            ...(values.via !== undefined ? { retrieve: values.via as 'get' | 'move' } : {}),
          });
          process.stdout.write(
            `priors for "${values.name}": ${p.enabled ? 'on' : 'off'}; ${p.years} years back; modalities ${p.modalities.join(',') || 'all'}; at most ${p.maxStudies} studies; retrieve by C-${p.retrieve.toUpperCase()}\n`,
          );
        });
        return;
      }
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, aet: { type: 'string', multiple: true } } });
      if (sub === 'list') {
        await withRuntime(config, async (rt) => {
          for (const f of await rt.facilities.list(OPERATOR)) process.stdout.write(`${f.name}\t${f.id}\t${f.aets.join(',')}\n`);
        });
        return;
      }
      if (!values.name) fail('--name is required');
      if (sub === 'add') {
        await withRuntime(config, async (rt) => {
          const f = await rt.facilities.add(OPERATOR, { name: values.name!, aets: values.aet ?? [] });
          process.stdout.write(`facility "${f.name}" registered (id ${f.id}); calling AE titles: ${f.aets.join(', ') || 'none'}\n`);
        });
        return;
      }
      if (sub === 'add-aet') {
        await withRuntime(config, (rt) => rt.facilities.addAets(OPERATOR, values.name!, values.aet ?? []));
        process.stdout.write('AE titles added\n');
        return;
      }
      return fail(`unknown facility command "${sub ?? ''}"`);
    }
    case 'user': {
      if (sub === 'import-certificate' || sub === 'certificates') {
        const { values } = parseArgs({ args: rest, options: { username: { type: 'string' }, pkcs12: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, 'password-file': { type: 'string' } } });
        if (!values.username) fail(`usage: enkaku user ${sub} --username U ...  (see enkaku help)`);
        await withRuntime(config, async (rt) => {
          const u = await rt.accounts.repo.byUsername(values.username!);
          if (!u) fail(`no user named "${values.username}"`);
          const describe = (c: { subject: string; issuer: string; notAfter: string; source: string; active: boolean; fingerprint: string }) =>
            `${c.active ? 'active' : 'retired'}\t${c.source}\t${c.subject}\tissued by ${c.issuer}\tvalid until ${c.notAfter}\tSHA-256 ${c.fingerprint}\n`;
          if (sub === 'certificates') {
            for (const c of await rt.signing.certificates(u.id)) process.stdout.write(describe(c));
            return;
          }
          // Passwords come from a file so that they stay out of the shell history and the process list.
          const password = values['password-file'] ? fs.readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '') : undefined;
          let input: Parameters<typeof rt.signing.importCertificate>[2];
          if (values.pkcs12) {
            if (password === undefined) fail('--password-file is required with --pkcs12');
            input = { format: 'pkcs12', data: fs.readFileSync(values.pkcs12), password };
          } else if (values.cert && values.key) {
            input = { format: 'pem', certificates: fs.readFileSync(values.cert, 'utf8'), privateKey: fs.readFileSync(values.key, 'utf8'), ...(password !== undefined ? { passphrase: password } : {}) };
          } else fail('give --pkcs12 F --password-file P, or --cert F --key F');
          const c = await rt.signing.importCertificate(OPERATOR, u.id, input);
          process.stdout.write(`imported for "${u.username}": ${describe(c)}`);
        });
        return;
      }
      if (sub !== 'add') fail('usage: enkaku user add --username U --name "N" --role R [--facility F]');
      const { values } = parseArgs({ args: rest, options: { username: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', multiple: true }, facility: { type: 'string' } } });
      if (!values.username || !values.name || !values.role?.length) fail('--username, --name and at least one --role are required');
      await withRuntime(config, async (rt) => {
        let facilityId: string | null = null;
        if (values.facility) {
          const f = await rt.facilities.byName(values.facility);
          if (!f) fail(`no facility named "${values.facility}"`);
          facilityId = f.id;
        }
        const password = randomInitialPassword();
        const grants = values.role!.map((role) => ({ role, facilityId: role === 'system-admin' ? null : facilityId }));
        await rt.accounts.create(OPERATOR, { username: values.username!, displayName: values.name!, password, grants });
        process.stdout.write(`user "${values.username!.toLowerCase()}" created; initial password (shown once, must be changed at first login): ${password}\n`);
      });
      return;
    }
    case 'token': {
      if (sub !== 'create') fail('usage: enkaku token create --facility NAME --scope SCOPE [--scope ...] [--label TEXT]');
      const { values } = parseArgs({ args: rest, options: { facility: { type: 'string' }, scope: { type: 'string', multiple: true }, label: { type: 'string' } } });
      if (!values.facility) fail('--facility is required');
      await withRuntime(config, async (rt) => {
        const f = await rt.facilities.byName(values.facility!);
        if (!f) fail(`no facility named "${values.facility}"`);
        const t = await rt.tokens.create(OPERATOR, { facilityId: f.id, name: values.label ?? 'api', scopes: values.scope ?? [] });
        process.stdout.write(`${t.token}\n`);
        process.stderr.write('Keep this token secret: it is shown only once.\n');
      });
      return;
    }
    case 'import': {
      const { values, positionals } = parseArgs({ args: [sub ?? '', ...rest], options: { facility: { type: 'string' } }, allowPositionals: true });
      const folder = positionals[0];
      if (!folder) fail('usage: enkaku import <folder> --facility NAME');
      if (!values.facility) fail('--facility is required');
      await withRuntime(config, async (rt) => {
        const f = await rt.facilities.byName(values.facility!);
        if (!f) fail(`no facility named "${values.facility}"`);
        const s = await importFolder({ intake: rt.intake, blobs: rt.blobs, maxInstanceBytes: config.dicom.maxInstanceBytes }, folder, f.id, OPERATOR, progressBar);
        if (process.stderr.isTTY) process.stderr.write('\n');
        const refused = Object.entries(s.refused).map(([k, v]) => `${k} ${v}`).join(', ');
        process.stdout.write(
          `imported ${s.stored} new instance(s), ${s.duplicates} already stored, ${s.skipped} non-DICOM file(s) skipped, ` +
            `${Object.values(s.refused).reduce((a, b) => a + (b ?? 0), 0)} refused${refused ? ` (${refused})` : ''}; ${(s.bytes / 1e6).toFixed(1)} MB\n`,
        );
        for (const p of s.problems) process.stdout.write(`  refused: ${p.file}: ${p.reason}\n`);
        if (Object.keys(s.refused).length) process.exitCode = 1;
      });
      return;
    }
    case 'import-ssmix2': {
      const { values, positionals } = parseArgs({ args: [sub ?? '', ...rest], options: { facility: { type: 'string' }, full: { type: 'boolean' } }, allowPositionals: true });
      const root = positionals[0];
      if (!root) fail('usage: enkaku import-ssmix2 <root> --facility NAME [--full]');
      if (!values.facility) fail('--facility is required');
      await withRuntime(config, async (rt) => {
        const f = await rt.facilities.byName(values.facility!);
        if (!f) fail(`no facility named "${values.facility}"`);
        const s = await importSsmix2({ clinical: rt.clinical, patients: rt.patients }, root, {
          facilityId: f.id, actor: OPERATOR, stateFile: ssmix2StatePath(config.dataDir, f.id), useState: !values.full, onProgress: ssmix2Progress,
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        for (const line of formatSsmix2Summary(s)) process.stdout.write(`${line}\n`);
        if (s.errorCount) process.exitCode = 1;
      });
      return;
    }
    case 'jobs': {
      if (sub === 'list') {
        const { values } = parseArgs({ args: rest, options: { kind: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' } } });
        await withRuntime(config, async (rt) => {
          const names = new Map((await rt.facilities.list(OPERATOR)).map((f) => [f.id, f.name]));
          const jobs = await rt.jobViews.list(OPERATOR, { kind: values.kind, state: values.state, limit: values.limit !== undefined ? Number(values.limit) : 100 });
          for (const j of jobs) process.stdout.write(`${jobLine(j, names)}\n`);
        });
        return;
      }
      if (sub === 'retry') {
        const id = rest[0];
        if (!id) fail('usage: enkaku jobs retry <id>');
        await withRuntime(config, async (rt) => {
          const j = await rt.jobViews.retry(OPERATOR, id);
          process.stdout.write(`job ${j.id} (${j.kind} ${j.key}) queued to run now; a running "enkaku serve" picks it up at its next poll\n`);
        });
        return;
      }
      return fail('usage: enkaku jobs list [--kind K] [--state S] [--limit N] | enkaku jobs retry <id>');
    }
    case 'demo':
      {
        const { runDemo } = await import('./demo.ts');
        await withRuntime(config, (rt) => runDemo(rt, (line) => process.stdout.write(`${line}\n`)));
      }
      return;
    case 'verify-audit':
      await withRuntime(config, async (rt) => {
        const tty = process.stderr.isTTY;
        const v = await rt.audit.verify({ onProgress: (seq) => void (tty && process.stderr.write(`\rverified ${seq} entries`)) });
        if (tty) process.stderr.write('\n');
        if (v.ok) process.stdout.write(`audit trail OK: ${v.count} entries, head ${v.headHash}\n`);
        else process.stdout.write(`audit trail DAMAGED: entry ${v.firstBadSeq} ${v.problem}: ${v.message}\n`);
        // Using the audit log is itself audited (PS3.15 A.5.3.1); a damaged tail may refuse the entry.
        await rt.audit
          .record({ actor: OPERATOR, action: 'audit.verify', object: { type: 'audit', id: 'audit-trail' }, outcome: v.ok ? 'success' : 'failure', details: v.ok ? { count: v.count } : { firstBadSeq: v.firstBadSeq, problem: v.problem } })
          .catch(() => undefined);
        if (!v.ok) process.exitCode = 1;
      });
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof AppError) fail(err.message);
  process.stderr.write(`enkaku: ${(err as Error).message}\n`);
  process.exit(1);
});
