import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  MLLP_CR, MLLP_END, MLLP_START, MllpClient, MllpDecoder, type MllpEvent, MllpFramingError, MllpServer, MllpTimeoutError, encodeMllpFrame,
} from './mllp.ts';
import { syntheticOmgO19 } from './synthetic.ts';
import { decodeHl7, encodeHl7 } from './charset.ts';
import { Hl7Message } from './message.ts';
import { buildAckBytes } from './ack.ts';

const messages = (events: MllpEvent[]): string[] => events.flatMap((e) => (e.type === 'message' ? [e.payload.toString('latin1')] : []));
const errors = (events: MllpEvent[]): MllpFramingError[] => events.flatMap((e) => (e.type === 'error' ? [e.error] : []));

/** Deterministic pseudo-random numbers for chunking. */
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('MLLP framing', () => {
  const payloads = [1, 2, 3].map((seed) => syntheticOmgO19({ seed, clinical: seed === 2 }).bytes);
  const stream = Buffer.concat(payloads.map(encodeMllpFrame));

  it('frames a message as <VT> message <FS><CR>', () => {
    const frame = encodeMllpFrame(Buffer.from('MSH|^~\\&'));
    assert.equal(frame[0], MLLP_START);
    assert.equal(frame.at(-2), MLLP_END);
    assert.equal(frame.at(-1), MLLP_CR);
    assert.equal(frame.subarray(1, -2).toString(), 'MSH|^~\\&');
    assert.throws(() => encodeMllpFrame(Buffer.from([0x41, MLLP_END])), /VT|FS/);
  });

  it('decodes many messages from one chunk, byte-exact (ISO-2022-JP payloads)', () => {
    const d = new MllpDecoder();
    const events = d.push(stream);
    assert.deepEqual(events.map((e) => e.type), ['message', 'message', 'message']);
    events.forEach((e, i) => assert.ok(e.type === 'message' && e.payload.equals(payloads[i]!)));
    assert.equal(d.buffered, 0);
  });

  it('decodes the same messages fed one byte at a time', () => {
    const d = new MllpDecoder();
    const events: MllpEvent[] = [];
    for (const byte of stream) events.push(...d.push(Uint8Array.of(byte)));
    assert.deepEqual(messages(events), payloads.map((p) => p.toString('latin1')));
  });

  it('decodes under 300 random chunkings', () => {
    const random = rng(42);
    for (let round = 0; round < 300; round++) {
      const d = new MllpDecoder();
      const events: MllpEvent[] = [];
      for (let i = 0; i < stream.length;) {
        const n = 1 + Math.floor(random() * (random() < 0.2 ? 2000 : 40));
        events.push(...d.push(stream.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(messages(events), payloads.map((p) => p.toString('latin1')), `round ${round}`);
      assert.deepEqual(errors(events), []);
    }
  });

  it('keeps its own copy of a partial frame (the caller may reuse the chunk buffer)', () => {
    const d = new MllpDecoder();
    const chunk = Buffer.from('\x0bABC');
    assert.deepEqual(d.push(chunk), []);
    chunk.fill(0x5a);
    assert.deepEqual(messages(d.push(Buffer.from('DEF\x1c\r'))), ['ABCDEF']);
  });

  it('tolerates line ends between frames and an FS that is not followed by CR', () => {
    const d = new MllpDecoder();
    const events = d.push(Buffer.from('\r\n\x0bA\x1c\r\n\n\x0bB\x1c\x0bC\x1c\r'));
    assert.deepEqual(messages(events), ['A', 'B', 'C']);
    assert.deepEqual(errors(events), []);
  });

  it('refuses an oversized frame without holding it, and goes on with the next one', () => {
    const d = new MllpDecoder({ maxFrameBytes: 100 });
    const big = encodeMllpFrame(Buffer.alloc(5000, 0x41));
    const events: MllpEvent[] = [];
    for (let i = 0; i < big.length; i += 512) {
      events.push(...d.push(big.subarray(i, i + 512)));
      assert.ok(d.buffered <= 100);
    }
    events.push(...d.push(encodeMllpFrame(Buffer.from('OK'))));
    assert.deepEqual(errors(events).map((e) => [e.reason, e.discardedBytes]), [['oversized', 5000]]);
    assert.deepEqual(messages(events), ['OK']);
  });

  it('reports bytes outside frames and a frame whose start byte was lost', () => {
    const d = new MllpDecoder();
    const events = d.push(Buffer.from('noise\x0bA\x1c\rMSH|lost start\x1c\r\x0bB\x1c\r'));
    assert.deepEqual(messages(events), ['A', 'B']);
    assert.deepEqual(errors(events).map((e) => [e.reason, e.discardedBytes]), [['garbage', 5], ['missing-start', 16]]);
    assert.ok(errors(events).every((e) => !e.message.includes('lost start')), 'errors never quote message bytes');
  });

  it('reports a frame cut short by a new start byte, and one cut by the end of the connection', () => {
    const d = new MllpDecoder();
    const events = d.push(Buffer.from('\x0bHALF\x0bWHOLE\x1c\r\x0bTAIL'));
    assert.deepEqual(messages(events), ['WHOLE']);
    assert.deepEqual(errors(events).map((e) => e.reason), ['unterminated']);
    assert.deepEqual(errors(d.end()).map((e) => [e.reason, e.discardedBytes]), [['unterminated', 4]]);
    assert.deepEqual(d.end(), []);
  });
});

/** Reply AA to valid messages, AE when PID-3 is missing, AR for unsupported message types. */
async function ackHandler(bytes: Buffer): Promise<Buffer> {
  const decoded = decodeHl7(bytes);
  const message = Hl7Message.parse(decoded.text);
  const type = message.header.messageType;
  if (type.code !== 'OMG' && type.code !== 'ORM') {
    return buildAckBytes(message, { code: 'AR', controlId: `ACK-${message.header.controlId}`, errors: [{ code: 200, location: 'MSH-9', userMessage: 'このメッセージ型には対応していません' }] });
  }
  if (!message.get('PID-3')) {
    return buildAckBytes(message, { code: 'AE', controlId: `ACK-${message.header.controlId}`, errors: [{ code: 101, location: 'PID-3', userMessage: '患者IDがありません' }] });
  }
  return buildAckBytes(message, { code: 'AA', controlId: `ACK-${message.header.controlId}` });
}

function ackOf(reply: Buffer): Hl7Message {
  return Hl7Message.parse(decodeHl7(reply).text);
}

describe('MllpServer and MllpClient over TCP', () => {
  let server: MllpServer;
  let port: number;
  const serverErrors: Error[] = [];

  before(async () => {
    server = new MllpServer({
      handler: async (message) => {
        // Vary the handling time so that out-of-order replies would show.
        await new Promise((r) => setTimeout(r, message.length % 7));
        if (message.includes(Buffer.from('THROW'))) throw new Error('handler failed');
        if (message.includes(Buffer.from('SILENT'))) return undefined;
        if (!message.subarray(0, 3).equals(Buffer.from('MSH'))) return Buffer.from(`ECHO ${message.toString('latin1')}`);
        return ackHandler(message);
      },
      onHandlerError: () => Buffer.from('HANDLER-ERROR'),
      onError: (e) => serverErrors.push(e),
      maxFrameBytes: 64 * 1024,
      maxConnections: 4,
    });
    port = (await server.listen(0)).port;
  });

  after(async () => {
    await server.close();
  });

  it('answers an ISO-2022-JP OMG^O19 with an AA acknowledgment in the same charset', async () => {
    const order = syntheticOmgO19({ seed: 7, clinical: true, patient: { familyName: '宮本', givenName: '美咲' } });
    const client = new MllpClient({ host: '127.0.0.1', port });
    try {
      const reply = await client.send(order.bytes);
      assert.ok(reply.includes(Buffer.from('\x1b$B')) === false, 'an AA reply without Japanese text needs no escapes');
      const ack = ackOf(reply);
      assert.equal(ack.get('MSA-1'), 'AA');
      assert.equal(ack.get('MSA-2'), order.message.header.controlId);
      assert.deepEqual(ack.header.characterSet, ['', 'ISO IR87']);
      assert.equal(ack.header.sendingApplication, 'ENKAKU');
      assert.equal(ack.header.receivingApplication, 'HIS');
    } finally {
      await client.close();
    }
  });

  it('answers AE and AR with Japanese ERR-8 text encoded as ISO-2022-JP', async () => {
    const client = new MllpClient({ host: '127.0.0.1', port });
    try {
      const noId = encodeHl7(syntheticOmgO19({ seed: 8 }).text.replace(/PID\|0001\|\|[^|]*\|/, 'PID|0001|||'), ['', 'ISO IR87']);
      const ae = await client.send(noId);
      assert.ok(ae.includes(Buffer.from('\x1b$B')), 'the Japanese user message is written with ESC $ B');
      const aeMsg = ackOf(ae);
      assert.equal(aeMsg.get('MSA-1'), 'AE');
      assert.equal(aeMsg.get('ERR-3-1'), '101');
      assert.equal(aeMsg.get('ERR-2-1'), 'PID');
      assert.equal(aeMsg.get('ERR-8'), '患者IDがありません');

      const adt = encodeHl7('MSH|^~\\&|HIS|H|ENKAKU|E|20240603||ADT^A08^ADT_A01|X9|P|2.5|||||JPN|~ISO IR87\rPID|1||1\r', ['', 'ISO IR87']);
      const ar = ackOf(await client.send(adt));
      assert.equal(ar.get('MSA-1'), 'AR');
      assert.equal(ar.get('MSA-2'), 'X9');
      assert.equal(ar.get('ERR-3-1'), '200');
      assert.equal(ar.get('ERR-8'), 'このメッセージ型には対応していません');
    } finally {
      await client.close();
    }
  });

  it('replies in message order when a client pipelines many messages in one write', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const count = 25;
    const decoder = new MllpDecoder();
    const replies: string[] = [];
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk) => {
        replies.push(...messages(decoder.push(chunk)));
        if (replies.length === count) resolve();
      });
    });
    socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => encodeMllpFrame(Buffer.from(`n${i}${'x'.repeat(i)}`)))));
    await done;
    socket.destroy();
    assert.deepEqual(replies, Array.from({ length: count }, (_, i) => `ECHO n${i}${'x'.repeat(i)}`));
  });

  it('survives garbage and oversized frames, and keeps serving the connection', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const decoder = new MllpDecoder();
    const got = new Promise<string>((resolve) => socket.on('data', (c) => { const m = messages(decoder.push(c)); if (m.length) resolve(m[0]!); }));
    const before = serverErrors.length;
    socket.write(Buffer.from('garbage without framing\r'));
    socket.write(encodeMllpFrame(Buffer.alloc(70 * 1024, 0x41)));
    socket.write(encodeMllpFrame(Buffer.from('still here')));
    assert.equal(await got, 'ECHO still here');
    socket.destroy();
    const reasons = serverErrors.slice(before).map((e) => (e instanceof MllpFramingError ? e.reason : e.message));
    assert.deepEqual(reasons, ['garbage', 'oversized']);
  });

  it('sends the onHandlerError reply when the handler throws', async () => {
    const client = new MllpClient({ host: '127.0.0.1', port });
    try {
      assert.equal((await client.send(Buffer.from('THROW'))).toString(), 'HANDLER-ERROR');
      assert.equal((await client.send(Buffer.from('next'))).toString(), 'ECHO next');
    } finally {
      await client.close();
    }
  });

  it('times out a send that gets no reply, and reconnects for the next', async () => {
    const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: 200 });
    try {
      await assert.rejects(client.send(Buffer.from('SILENT')), MllpTimeoutError);
      assert.equal((await client.send(Buffer.from('again'))).toString(), 'ECHO again');
    } finally {
      await client.close();
    }
  });

  it('refuses connections beyond maxConnections', async () => {
    const sockets = await Promise.all(Array.from({ length: 4 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    })));
    await new Promise((r) => setTimeout(r, 50));
    const extra = net.connect({ host: '127.0.0.1', port });
    const closed = await new Promise<boolean>((resolve) => {
      extra.on('close', () => resolve(true));
      extra.on('error', () => undefined);
      setTimeout(() => resolve(false), 2000);
    });
    assert.equal(closed, true);
    for (const s of sockets) s.destroy();
  });
});

describe('MllpServer options', () => {
  it('closes a connection after the idle timeout', async () => {
    const server = new MllpServer({ handler: () => Buffer.from('x'), idleTimeoutMs: 100 });
    const { port } = await server.listen(0);
    try {
      const socket = net.connect({ host: '127.0.0.1', port });
      const started = Date.now();
      await new Promise((r) => socket.on('close', r));
      assert.ok(Date.now() - started >= 90);
    } finally {
      await server.close();
    }
  });

  it('lets a message in progress finish and be answered when the server closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const server = new MllpServer({ handler: async () => { await gate; return Buffer.from('late reply'); } });
    const { port } = await server.listen(0);
    const client = new MllpClient({ host: '127.0.0.1', port });
    const reply = client.send(Buffer.from('slow'));
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close();
    release();
    assert.equal((await reply).toString(), 'late reply');
    await closing;
    await client.close();
  });

  it('speaks MLLP over TLS when given a certificate and key', async (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) { t.skip('openssl not installed (apt-get install openssl)'); return; }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-mllp-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const server = new MllpServer({ handler: ackHandler, tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });
    const { port } = await server.listen(0);
    const client = new MllpClient({ host: '127.0.0.1', port, tls: { ca: fs.readFileSync(cert) } });
    try {
      const order = syntheticOmgO19({ seed: 11 });
      const ack = ackOf(await client.send(order.bytes));
      assert.equal(ack.get('MSA-1'), 'AA');
      assert.equal(ack.get('MSA-2'), order.message.header.controlId);
    } finally {
      await client.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
