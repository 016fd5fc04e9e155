/**
 * Syslog over TLS (RFC 5424 messages, RFC 5425 octet counting): message format and
 * framing, the bounded queue, and delivery to a local TLS collector with a certificate
 * made by openssl, including reconnection and refusal of an untrusted collector.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { STRICT, freePort, which } from '../../../test/helpers.ts';
import { formatSyslogMessage, frameOctetCounting, syslogPriOf } from './syslog.ts';
import { SyslogSender, type AuditRecord } from './index.ts';

function record(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    seq,
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    recordedAt: '2025-04-01T03:04:05.678Z',
    actor: { kind: 'user', id: 'u-42', name: '読影 医師', role: 'radiologist' },
    action: 'study.view',
    object: { type: 'study', id: `study-${seq}` },
    facilityId: 'fac-a',
    patientRef: 'pat-9',
    outcome: 'success',
    clientAddress: '192.0.2.10',
    details: {},
    detailsJson: '{}',
    prevHash: '0'.repeat(64),
    hash: String(seq % 10).repeat(64),
    ...over,
  };
}

/** Parses RFC 5425 frames out of a byte stream. */
class FrameReader {
  private buf = Buffer.alloc(0);
  readonly messages: Buffer[] = [];
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const sp = this.buf.indexOf(0x20);
      if (sp < 0) return;
      const lenText = this.buf.subarray(0, sp).toString('ascii');
      assert.match(lenText, /^[1-9][0-9]*$/, 'MSG-LEN');
      const len = Number(lenText);
      if (this.buf.length < sp + 1 + len) return;
      this.messages.push(this.buf.subarray(sp + 1, sp + 1 + len));
      this.buf = this.buf.subarray(sp + 1 + len);
    }
  }
}

const HEADER = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) \uFEFF/;

describe('syslog message format', () => {
  test('RFC 5424 header, BOM before the UTF-8 XML, octet count in bytes', () => {
    const msg = formatSyslogMessage({
      pri: syslogPriOf(record(1)),
      timestamp: '2025-04-01T03:04:05.678Z',
      hostname: 'reading host',
      appName: 'enkaku',
      procId: '123',
      msgId: 'IHE+RFC-3881',
      structuredData: '-',
      msg: '<AuditMessage>読影</AuditMessage>',
    });
    const text = msg.toString('utf8');
    assert.equal(text, '<85>1 2025-04-01T03:04:05.678Z readinghost enkaku 123 IHE+RFC-3881 - \uFEFF<AuditMessage>読影</AuditMessage>');
    const frame = frameOctetCounting(msg);
    const sp = frame.indexOf(0x20);
    assert.equal(Number(frame.subarray(0, sp).toString()), msg.length);
    assert.ok(msg.length > text.length, 'octets, not characters');
    // authpriv (10): success notice, failed login warning, refused access error.
    assert.deepEqual(
      [syslogPriOf(record(1)), syslogPriOf(record(1, { action: 'auth.login', outcome: 'failure' })), syslogPriOf(record(1, { outcome: 'failure' }))],
      [85, 84, 83],
    );
  });

  test('the queue is bounded: the oldest unsent messages are dropped and counted', async () => {
    const port = await freePort(); // nothing listens: every connection attempt fails
    const sender = new SyslogSender({ host: '127.0.0.1', port, ca: [], maxQueue: 3, initialBackoffMs: 10_000 });
    const results = [1, 2, 3, 4, 5].map((i) => sender.send(record(i)));
    assert.deepEqual(results, [true, true, true, false, false]);
    assert.deepEqual([sender.stats.queued, sender.stats.dropped, sender.stats.sent], [3, 2, 0]);
    assert.equal(await sender.flush(50), false);
    await sender.close(50);
    assert.equal(sender.send(record(6)), false);
  });
});

describe('syslog over TLS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-syslog-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Self-signed certificate for 127.0.0.1; undefined when openssl is missing (skips, or fails in strict mode). */
  function selfSigned(t: TestContext, name: string): { key: string; cert: string } | undefined {
    const openssl = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : which('openssl');
    if (!openssl) {
      if (STRICT) throw new Error('strict mode: openssl not installed (apt-get install openssl)');
      t.skip('openssl not installed');
      return undefined;
    }
    const key = path.join(dir, `${name}.key`);
    const cert = path.join(dir, `${name}.crt`);
    execFileSync(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], { stdio: 'ignore' });
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  }

  /** A collector: TLS server that parses frames. */
  async function collector(creds: { key: string; cert: string }, port = 0) {
    const reader = new FrameReader();
    const sockets = new Set<net.Socket>();
    const server = tls.createServer({ key: creds.key, cert: creds.cert, minVersion: 'TLSv1.2' }, (s) => {
      sockets.add(s);
      s.on('data', (d: Buffer) => reader.push(d));
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address() as net.AddressInfo;
    return {
      port: address.port,
      reader,
      async stop(): Promise<void> {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  async function until(cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('delivers DICOM audit messages, reconnects after the collector restarts, refuses an untrusted collector', async (t) => {
    const creds = selfSigned(t, 'collector');
    if (!creds) return;
    let c = await collector(creds);
    const port = c.port;
    const sender = new SyslogSender({
      host: '127.0.0.1',
      port,
      ca: creds.cert,
      hostname: 'enkaku-node-1',
      structuredDataId: 'enkakuAudit@32473', // 32473: the documentation enterprise number (RFC 5612)
      initialBackoffMs: 20,
      maxBackoffMs: 100,
      source: { aet: 'ENKAKU' },
    });
    for (let i = 1; i <= 3; i++) sender.send(record(i));
    assert.equal(await sender.flush(5000), true);
    await until(() => c.reader.messages.length === 3);
    const texts = c.reader.messages.map((m) => m.toString('utf8'));
    texts.forEach((text, i) => {
      const m = HEADER.exec(text);
      assert.ok(m, text.slice(0, 120));
      assert.deepEqual([m[1], m[2], m[3], m[4], m[6]], ['85', '2025-04-01T03:04:05.678Z', 'enkaku-node-1', 'enkaku', 'IHE+RFC-3881']);
      assert.equal(m[7], `[enkakuAudit@32473 seq="${i + 1}" id="${record(i + 1).id}" hash="${record(i + 1).hash}"]`);
      assert.ok(text.includes('<AuditMessage><EventIdentification EventActionCode="R"'));
      assert.ok(text.includes('<EventID csd-code="110103" codeSystemName="DCM" originalText="DICOM Instances Accessed"/>'));
      assert.ok(text.includes('UserName="読影 医師"'));
      assert.ok(text.endsWith('</AuditMessage>'));
    });
    assert.deepEqual([sender.stats.sent, sender.stats.connects, sender.stats.connected], [3, 1, true]);

    // The collector goes away; messages queue up and arrive once it is back.
    await c.stop();
    await until(() => !sender.stats.connected);
    sender.send(record(4));
    sender.send(record(5));
    await new Promise((r) => setTimeout(r, 150)); // a few failed attempts with backoff
    assert.equal(sender.stats.queued, 2);
    c = await collector(creds, port);
    assert.equal(await sender.flush(5000), true);
    await until(() => c.reader.messages.length === 2);
    assert.deepEqual(
      c.reader.messages.map((m) => /seq="(\d+)"/.exec(m.toString())?.[1]),
      ['4', '5'],
    );
    assert.ok(sender.stats.connects >= 2);
    await sender.close();
    await c.stop();

    // A collector whose certificate does not chain to the configured CA gets nothing.
    const other = selfSigned(t, 'impostor');
    const rogue = await collector(other!);
    const wary = new SyslogSender({ host: '127.0.0.1', port: rogue.port, ca: creds.cert, initialBackoffMs: 20, maxBackoffMs: 50 });
    wary.send(record(6));
    assert.equal(await wary.flush(300), false);
    assert.equal(wary.stats.connects, 0);
    assert.match(wary.stats.lastError ?? '', /certificate/i);
    assert.equal(rogue.reader.messages.length, 0);
    await wary.close(50);
    await rogue.stop();
  });
});
