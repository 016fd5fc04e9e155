/**
 * `enkaku serve` with ENKAKU_AUDIT_SYSLOG_* forwards each audit entry as a DICOM audit
 * message (PS3.15 A.5) in an RFC 5424 syslog frame over TLS (RFC 5425 octet counting).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { childEnv, freePort, needTools, startServer, testConfig } from '../helpers.ts';

test('audit entries reach a TLS syslog collector as DICOM audit messages', async (t) => {
  if (!needTools(t, ['openssl'], 'apt-get install openssl')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-syslog-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const frames: string[] = [];
  let buffer = Buffer.alloc(0);
  const collector = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (socket) => {
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      // RFC 5425: MSG-LEN SP SYSLOG-MSG
      for (;;) {
        const sp = buffer.indexOf(0x20);
        if (sp < 0) break;
        const len = Number(buffer.subarray(0, sp).toString());
        if (buffer.length < sp + 1 + len) break;
        frames.push(buffer.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buffer = buffer.subarray(sp + 1 + len);
      }
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  const syslogPort = (collector.address() as { port: number }).port;
  const { config, cleanup } = testConfig();
  config.http.port = await freePort();
  config.dicom.port = await freePort();
  const env = childEnv(config, { ENKAKU_AUDIT_SYSLOG_HOST: '127.0.0.1', ENKAKU_AUDIT_SYSLOG_PORT: String(syslogPort), ENKAKU_AUDIT_SYSLOG_CA: cert });
  const server = await startServer(env);
  try {
    // A failed login is an audited security event.
    const res = await fetch(`http://127.0.0.1:${config.http.port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password: 'wrong-Password-1' }) });
    assert.equal(res.status, 401);
    const deadline = Date.now() + 15_000;
    while (!frames.some((f) => f.includes('<AuditMessage')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const frame = frames.find((f) => f.includes('<AuditMessage'));
    assert.ok(frame, 'an audit message arrived over TLS syslog');
    assert.match(frame, /^<\d+>1 \d{4}-\d{2}-\d{2}T/, 'RFC 5424 header');
    assert.match(frame, /<EventIdentification[^>]*EventOutcomeIndicator="4"/, 'failure outcome');
    assert.match(frame, /110114/, 'DCM 110114 User Authentication');
  } finally {
    await server.stop();
    collector.close();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
