/**
 * HTTPS: with a certificate, Enkaku may listen off loopback, negotiates TLS 1.3 with a
 * client that offers it, refuses clients below the configured minimum, and sends HSTS
 * and strict security headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { childEnv, freePort, needTools, startServer, testConfig } from '../helpers.ts';

function get(port: number, ca: Buffer, opts: https.RequestOptions = {}): Promise<{ status: number; headers: Record<string, unknown>; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', ...opts }, (res) => {
      const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, protocol }));
    });
    req.on('error', reject);
  });
}

test('HTTPS off loopback: TLS 1.3, minimum version enforced, HSTS and security headers', async (t) => {
  if (!needTools(t, ['openssl'], 'apt-get install openssl')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-https-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const { config, cleanup } = testConfig();
  const port = await freePort();
  const env = childEnv(config, {
    ENKAKU_HTTP_HOST: '0.0.0.0',
    ENKAKU_HTTP_PORT: String(port),
    ENKAKU_DICOM_PORT: String(await freePort()),
    ENKAKU_TLS_CERT: cert,
    ENKAKU_TLS_KEY: key,
    ENKAKU_TLS_MIN_VERSION: 'TLSv1.3',
  });
  const server = await startServer(env);
  try {
    const out = server.output();
    assert.match(out, new RegExp(`https://0\\.0\\.0\\.0:${port}/`));
    const ca = fs.readFileSync(cert);
    const r = await get(port, ca);
    assert.equal(r.status, 200);
    assert.equal(r.protocol, 'TLSv1.3');
    assert.match(String(r.headers['strict-transport-security']), /max-age=31536000/);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    await assert.rejects(get(port, ca, { maxVersion: 'TLSv1.2' }), /alert|version|handshake|socket/i, 'TLS 1.2 refused when the minimum is 1.3');
  } finally {
    await server.stop();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
