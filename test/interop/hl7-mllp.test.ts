/**
 * HL7 v2 orders over real MLLP (framed bytes over TCP, ISO-2022-JP text) into the real orders
 * service: every acknowledgment is checked, and what was acknowledged is in the database, also
 * across a `kill -9` of `enkaku serve`.
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { ENKAKU_BIN, childEnv, freePort, startServer, testConfig, testRuntime } from '../helpers.ts';
import type { Runtime } from '../../src/server/runtime.ts';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';
import { Hl7Message, MllpClient, decodeHl7, encodeHl7, startHl7Listener, type Hl7Listener } from '../../src/server/interop/hl7/index.ts';
import { syntheticAdtA08, syntheticOmgO19, syntheticOrmO01, type SyntheticOrderOptions } from '../../src/server/interop/hl7/synthetic.ts';
import { syntheticSsmix2 } from '../../src/server/interop/ssmix2/synthetic.ts';

const OP = { kind: 'system', name: 'test' } as const;
const SENDING_FACILITY = '1312345678';

/** An OMG^O19 from the registered HIS, ISO-2022-JP encoded. */
function omg(options: SyntheticOrderOptions) {
  return syntheticOmgO19({ sendingFacility: SENDING_FACILITY, ...options });
}

function errs(ack: Hl7Message): string[] {
  return ack.segmentsNamed('ERR').map((e) => `${e.get(3)}@${[e.get(2, 1), e.get(2, 3), e.get(2, 5)].filter(Boolean).join('-')}`);
}

describe('HL7 orders over MLLP into the orders service', () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let listener: Hl7Listener;
  let client: MllpClient;
  let facilityId: string;
  const send = async (bytes: Uint8Array): Promise<Hl7Message> => Hl7Message.parse(decodeHl7(await client.send(bytes, { timeoutMs: 10_000 })).text);
  const orderCount = async (): Promise<number> => Number((await rt.db.kysely.selectFrom('orders').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const orderByPlacer = (placer: string) => rt.db.kysely.selectFrom('orders').selectAll().where('facility_id', '=', facilityId).where('placer_order_number', '=', placer).executeTakeFirst();

  before(async () => {
    rt = await testRuntime();
    facilityId = (await rt.facilities.add(OP, { name: 'Hospital HL7', aets: ['HL7MOD'] })).id;
    await rt.hl7Senders.add(OP, 'Hospital HL7', { sendingFacility: SENDING_FACILITY, sendingApplication: 'HIS' });
    listener = await startHl7Listener({ ...rt.config, hl7: { ...rt.config.hl7, port: 0 } }, { senders: rt.hl7Senders, orders: rt.orders, patients: rt.patients, clinical: rt.clinical, log: rt.log });
    client = new MllpClient({ host: '127.0.0.1', port: listener.port });
  });

  after(async () => {
    await client?.close();
    await listener?.close();
    await rt?.cleanup();
  });

  it('answers ORG^O20 AA after the order is stored, and the order reads back with its Japanese text intact', async () => {
    const s = omg({ seed: 101, controlId: 'HIS-0001', clinical: true, patient: { familyName: '宮本', givenName: '美咲', familyNameKana: 'ミヤモト', givenNameKana: 'ミサキ' } });
    assert.ok(s.bytes.includes(0x1b), 'the message is ISO-2022-JP (escape sequences)');
    const ack = await send(s.bytes);
    assert.deepEqual([ack.get('MSH-9-1'), ack.get('MSH-9-2'), ack.get('MSA-1'), ack.get('MSA-2')], ['ORG', 'O20', 'AA', 'HIS-0001']);
    assert.equal(ack.header.characterSet.join('~'), '~ISO IR87', 'answered in the sender\'s character set');
    const row = await orderByPlacer(s.order!.placerOrderNumber);
    assert.ok(row, 'stored before the AA');
    const detail = await rt.orders.detail(OP, row.id);
    assert.equal(detail.patient.name.ideographic, '宮本^美咲');
    assert.equal(detail.patient.name.phonetic, 'ミヤモト^ミサキ');
    assert.equal(detail.patient.patientId, s.patient.id);
    assert.equal(detail.accessionNumber, s.order!.accessionNumber);
    assert.equal(detail.reason, s.order!.reason);
    assert.match(detail.clinicalNotes, /クレアチニン/);
    assert.equal(detail.status, 'scheduled');
    assert.equal(detail.history.length, 1);
  });

  it('answers a resent message (same MSH-10) AA again, says so in MSA-3, and keeps one order', async () => {
    const s = omg({ seed: 102, controlId: 'HIS-0002' });
    assert.equal((await send(s.bytes)).get('MSA-1'), 'AA');
    const before = await orderCount();
    const again = await send(s.bytes);
    assert.equal(again.get('MSA-1'), 'AA');
    assert.match(again.get('MSA-3') ?? '', /duplicate/);
    assert.equal(await orderCount(), before);
    const row = await orderByPlacer(s.order!.placerOrderNumber);
    assert.equal((await rt.orders.detail(OP, row!.id)).history.length, 1, 'the resend is not a second history entry');
  });

  it('applies a change (XO) and a cancel (CA); a change after the cancel is refused with AE 206', async () => {
    const order = { placerOrderNumber: 'ORD-CHG-1', reason: '初回の依頼' };
    assert.equal((await send(omg({ seed: 103, controlId: 'CHG-1', order }).bytes)).get('MSA-1'), 'AA');
    const changed = await send(omg({ seed: 103, controlId: 'CHG-2', control: 'XO', dateTime: new Date('2024-06-03T00:20:00Z'), order: { ...order, reason: '造影に変更してください' } }).bytes);
    assert.equal(changed.get('MSA-1'), 'AA');
    let row = await orderByPlacer('ORD-CHG-1');
    assert.equal(row!.reason, '造影に変更してください');
    const cancelled = await send(omg({ seed: 103, controlId: 'CHG-3', control: 'CA', dateTime: new Date('2024-06-03T00:25:00Z'), order }).bytes);
    assert.equal(cancelled.get('MSA-1'), 'AA');
    row = await orderByPlacer('ORD-CHG-1');
    assert.equal(row!.status, 'cancelled');
    const late = await send(omg({ seed: 103, controlId: 'CHG-4', control: 'XO', dateTime: new Date('2024-06-03T00:30:00Z'), order: { ...order, reason: '再開' } }).bytes);
    assert.equal(late.get('MSA-1'), 'AE');
    assert.deepEqual(errs(late).map((e) => e.split('@')[0]), ['206']);
    assert.equal((await orderByPlacer('ORD-CHG-1'))!.status, 'cancelled');
  });

  it('keeps a cancel that arrives before its new order: the late new does not bring the order back', async () => {
    const order = { placerOrderNumber: 'ORD-OOO-1' };
    const cancel = await send(omg({ seed: 104, controlId: 'OOO-2', control: 'CA', dateTime: new Date('2024-06-03T00:30:00Z'), order }).bytes);
    assert.equal(cancel.get('MSA-1'), 'AA');
    assert.match(cancel.get('MSA-3') ?? '', /cancel/);
    const late = await send(omg({ seed: 104, controlId: 'OOO-1', control: 'NW', dateTime: new Date('2024-06-03T00:10:00Z'), order }).bytes);
    assert.equal(late.get('MSA-1'), 'AA', 'the new is taken (kept in the history)');
    const row = await orderByPlacer('ORD-OOO-1');
    assert.equal(row!.status, 'cancelled');
    assert.equal((await rt.orders.detail(OP, row!.id)).history.length, 2);
  });

  it('takes ORM^O01 (ORR^O02) and ADT^A08 patient updates (ACK)', async () => {
    const orm = await send(syntheticOrmO01({ seed: 105, controlId: 'ORM-1', sendingFacility: SENDING_FACILITY }).bytes);
    assert.deepEqual([orm.get('MSH-9-1'), orm.get('MSA-1')], ['ORR', 'AA']);
    const patient = { id: '55500001', familyName: '松本', givenName: '雄一' };
    await send(omg({ seed: 106, controlId: 'ADT-0', patient }).bytes);
    const adt = await send(syntheticAdtA08({ seed: 106, controlId: 'ADT-1', sendingFacility: SENDING_FACILITY, patient: { ...patient, givenName: '雄二' } }).bytes);
    assert.deepEqual([adt.get('MSH-9-1'), adt.get('MSH-9-2'), adt.get('MSA-1')], ['ACK', 'A08', 'AA']);
    const p = await rt.db.kysely.selectFrom('patients').selectAll().where('facility_id', '=', facilityId).where('patient_id', '=', '55500001').executeTakeFirstOrThrow();
    assert.equal(p.name_ideographic, '松本^雄二');
  });

  it('records live clinical messages (SS-MIX2 PPR-01, ADT-61, OML-11, OMP-01) as clinical context, once', async () => {
    const tree = syntheticSsmix2({ patients: 2, seed: 7 });
    const kinds = ['PPR-01', 'ADT-61', 'OML-11', 'OMP-01'];
    const files = kinds.map((k) => tree.files.find((f) => f.dataType === k)).filter((f) => f !== undefined);
    assert.ok(files.length >= 3, 'the synthetic tree has clinical messages');
    const items = async (): Promise<number> => Number((await rt.db.kysely.selectFrom('clinical_items').select((e) => e.fn.countAll().as('n')).where('facility_id', '=', facilityId).executeTakeFirstOrThrow()).n);
    for (const f of files) {
      // The storage's messages come from the HIS registered for this facility.
      const bytes = encodeHl7(f.text.replace(/^MSH\|\^~\\&\|[^|]*\|[^|]*\|/, `MSH|^~\\&|HIS|${SENDING_FACILITY}|`), ['', 'ISO IR87']);
      const ack = await send(bytes);
      assert.equal(ack.get('MSA-1'), 'AA', `${f.dataType}: ${ack.get('ERR-7') ?? ''}`);
    }
    const recorded = await items();
    assert.ok(recorded > 0, 'clinical items recorded');
    const again = files[0]!;
    const ack = await send(encodeHl7(again.text.replace(/^MSH\|\^~\\&\|[^|]*\|[^|]*\|/, `MSH|^~\\&|HIS|${SENDING_FACILITY}|`), ['', 'ISO IR87']));
    assert.equal(ack.get('MSA-1'), 'AA');
    assert.match(ack.get('MSA-3') ?? '', /0 clinical item\(s\) added/);
    assert.equal(await items(), recorded, 'a resent message adds nothing');
  });

  it('refuses malformed messages with AR/AE and the right ERR, and stores nothing', async () => {
    const before = await orderCount();
    const s = omg({ seed: 107, controlId: 'BAD-1' });
    const cases: Array<[string, Uint8Array, string, string[]]> = [
      ['bad MSH-2', Buffer.from('MSH|^^\\&|HIS|1312345678|ENKAKU|ENKAKU|20240603||OMG^O19|B1|P|2.5\rPID|1\r'), 'AR', ['102@MSH-2']],
      ['no MSH', Buffer.from('PID|1||123\rORC|NW|X\r'), 'AR', ['100@MSH']],
      ['MSH-9 missing', encodeHl7(s.text.replace('OMG^O19^OMG_O19', ''), s.characterSet), 'AR', ['101@MSH-9']],
      ['missing PID-3', encodeHl7(s.text.replace(/^PID\|0001\|\|[^|]*\|/m, 'PID|0001|||'), s.characterSet), 'AE', ['101@PID-3']],
      ['missing ORC-2 and OBR-4', encodeHl7(s.text.replace(/^ORC\|NW\|[^|]*\|/m, 'ORC|NW||').replace(/^OBR\|1\|[^|]*\|\|[^|]*\|/m, 'OBR|1|||'), s.characterSet), 'AE', ['101@ORC-2', '101@OBR-4']],
      ['unknown message type', encodeHl7(s.text.replace('OMG^O19^OMG_O19', 'QRY^Q01'), s.characterSet), 'AR', ['200@MSH-9-1']],
      ['unknown event', encodeHl7(s.text.replace('OMG^O19^OMG_O19', 'OMG^O21'), s.characterSet), 'AR', ['201@MSH-9-2']],
      ['unknown sender', omg({ seed: 108, sendingFacility: '9999999999' }).bytes, 'AR', ['204@MSH-4']],
      ['unknown character set', encodeHl7(s.text.replace('~ISO IR87', 'KOI8-R'), s.characterSet), 'AR', ['103@MSH-18']],
    ];
    for (const [name, bytes, code, expected] of cases) {
      const ack = await send(bytes);
      assert.equal(ack.get('MSA-1'), code, name);
      assert.deepEqual(errs(ack), expected, name);
    }
    assert.equal(await orderCount(), before, 'nothing stored');
  });

  it('skips garbage bytes between frames and answers every frame around them, in order', async () => {
    const a = omg({ seed: 109, controlId: 'GAR-1' });
    const b = omg({ seed: 110, controlId: 'GAR-2' });
    const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([0x0b]), m, Buffer.from([0x1c, 0x0d])]);
    const socket = net.connect(listener.port, '127.0.0.1');
    const replies = await new Promise<Hl7Message[]>((resolve, reject) => {
      const got: Hl7Message[] = [];
      let buf = Buffer.alloc(0);
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let end: number;
        while ((end = buf.indexOf(0x1c)) >= 0) {
          got.push(Hl7Message.parse(decodeHl7(buf.subarray(1, end)).text));
          buf = buf.subarray(end + 2);
        }
        if (got.length === 2) resolve(got);
      });
      socket.on('error', reject);
      socket.write(Buffer.concat([frame(a.bytes), Buffer.from('\x00garbage \x7f\xff\xfe\x1c\r'), frame(b.bytes)]));
    });
    socket.destroy();
    assert.deepEqual(replies.map((r) => [r.get('MSA-1'), r.get('MSA-2')]), [['AA', 'GAR-1'], ['AA', 'GAR-2']]);
    assert.ok(await orderByPlacer(a.order!.placerOrderNumber));
    assert.ok(await orderByPlacer(b.order!.placerOrderNumber));
  });

  it('commits messages arriving together on several connections in one transaction; each connection gets its answers in order; a bad one is answered AE alone', async () => {
    // A cancelled order, so that a change of it in the middle of the traffic is refused.
    assert.equal((await send(omg({ seed: 120, controlId: 'GC-NEW', order: { placerOrderNumber: 'GC-CANCELLED' } }).bytes)).get('MSA-1'), 'AA');
    assert.equal((await send(omg({ seed: 120, controlId: 'GC-CA', control: 'CA', order: { placerOrderNumber: 'GC-CANCELLED' } }).bytes)).get('MSA-1'), 'AA');
    const batches: number[] = [];
    const orders = {
      receive: rt.orders.receive.bind(rt.orders),
      receiveMany: async (items: Parameters<typeof rt.orders.receiveMany>[0]) => {
        batches.push(items.length);
        return rt.orders.receiveMany(items);
      },
      batchesInFlight: rt.orders.batchesInFlight,
    };
    const batching = await startHl7Listener({ ...rt.config, hl7: { ...rt.config.hl7, port: 0 } }, { senders: rt.hl7Senders, orders, patients: rt.patients, clinical: rt.clinical, log: rt.log });
    const CONNECTIONS = 6;
    const PER_CONNECTION = 4;
    const frame = (m: Uint8Array): Buffer => Buffer.concat([Buffer.from([0x0b]), m, Buffer.from([0x1c, 0x0d])]);
    const sent = Array.from({ length: CONNECTIONS }, (_, c) => Array.from({ length: PER_CONNECTION }, (_, i) => {
      const controlId = `GC-${c}-${i}`;
      // Connection 2's third message changes the cancelled order.
      return c === 2 && i === 2
        ? omg({ seed: 121, controlId, control: 'XO', order: { placerOrderNumber: 'GC-CANCELLED' } })
        : omg({ seed: 200 + c * 10 + i, controlId, order: { placerOrderNumber: `GC-ORDER-${c}-${i}`, accessionNumber: `GC-ACC-${c}-${i}` } });
    }));
    try {
      // Every connection writes all its frames at once; the listener answers each connection's in order.
      const answers = await Promise.all(sent.map((messages) => new Promise<Hl7Message[]>((resolve, reject) => {
        const socket = net.connect(batching.port, '127.0.0.1');
        const got: Hl7Message[] = [];
        let buf = Buffer.alloc(0);
        socket.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          let end: number;
          while ((end = buf.indexOf(0x1c)) >= 0) {
            got.push(Hl7Message.parse(decodeHl7(buf.subarray(1, end)).text));
            buf = buf.subarray(end + 2);
          }
          if (got.length === messages.length) {
            socket.destroy();
            resolve(got);
          }
        });
        socket.on('error', reject);
        socket.write(Buffer.concat(messages.map((m) => frame(m.bytes))));
      })));
      answers.forEach((replies, c) => {
        assert.deepEqual(replies.map((r) => r.get('MSA-2')), sent[c]!.map((_, i) => `GC-${c}-${i}`), `connection ${c}: answers in order`);
        assert.deepEqual(replies.map((r) => r.get('MSA-1')), sent[c]!.map((_, i) => (c === 2 && i === 2 ? 'AE' : 'AA')), `connection ${c}`);
      });
      assert.equal(answers[2]![2]!.get('ERR-3'), '206');
      for (let c = 0; c < CONNECTIONS; c++) {
        for (let i = 0; i < PER_CONNECTION; i++) if (!(c === 2 && i === 2)) assert.ok(await orderByPlacer(`GC-ORDER-${c}-${i}`), `GC-ORDER-${c}-${i} stored`);
      }
      assert.equal((await orderByPlacer('GC-CANCELLED'))!.status, 'cancelled');
      assert.equal(batches.reduce((a, b) => a + b, 0), CONNECTIONS * PER_CONNECTION);
      assert.ok(Math.max(...batches) > 1, `messages of several connections shared a transaction (batches: ${batches.join(',')})`);
      assert.equal((await rt.audit.verify()).ok, true);
    } finally {
      await batching.close();
    }
  });
});

test('orders acknowledged over MLLP survive kill -9 of enkaku serve right after an ACK', async () => {
  const { config, cleanup } = testConfig();
  config.http.port = await freePort();
  config.dicom.port = await freePort();
  config.hl7.port = await freePort();
  const env = childEnv(config);
  const cli = async (...args: string[]): Promise<void> => {
    const child = spawn(process.execPath, [ENKAKU_BIN, ...args], { env, stdio: 'ignore' });
    assert.equal(await new Promise((r) => child.on('exit', r)), 0, args.join(' '));
  };
  try {
    await cli('facility', 'add', '--name', 'Crash HL7 Hospital', '--aet', 'CRASHHL7');
    await cli('facility', 'add-hl7-sender', '--name', 'Crash HL7 Hospital', '--sending-facility', SENDING_FACILITY);
    const N = 60;
    const K = 20;
    const messages = Array.from({ length: N }, (_, i) => omg({ seed: 1000 + i, controlId: `K9-${i}`, order: { placerOrderNumber: `K9-ORDER-${i}` } }));
    const server = await startServer(env, /HL7 \(MLLP\)[\s\S]*(npm run demo|Facilities:|Sign in at)/);
    assert.match(server.output(), new RegExp(`HL7 \\(MLLP\\):\\s+127\\.0\\.0\\.1:${config.hl7.port}`), 'the banner names the HL7 port');
    // Every frame is written at once; the server answers them one by one, and dies right after the K-th AA.
    const acked: string[] = [];
    const socket = net.connect(config.hl7.port, '127.0.0.1');
    await new Promise<void>((resolve) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let end: number;
        while ((end = buf.indexOf(0x1c)) >= 0) {
          const ack = Hl7Message.parse(decodeHl7(buf.subarray(1, end)).text);
          buf = buf.subarray(end + 2);
          if (ack.get('MSA-1') === 'AA') acked.push(ack.get('MSA-2')!);
          if (acked.length === K) server.child.kill('SIGKILL');
        }
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.write(Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([0x0b]), m.bytes, Buffer.from([0x1c, 0x0d])]))));
    });
    await new Promise((r) => (server.child.exitCode !== null || server.child.signalCode !== null ? r(null) : server.child.on('exit', r)));
    assert.ok(acked.length >= K, `at least ${K} acknowledged before the kill (got ${acked.length})`);
    assert.ok(acked.length < N, 'the kill interrupted the stream');

    const rt = await createRuntime(config, createLogger('silent'));
    try {
      const stored = new Set((await rt.db.kysely.selectFrom('orders').select('placer_order_number').execute()).map((r) => r.placer_order_number));
      for (const controlId of acked) {
        const i = Number(controlId.slice(3));
        assert.ok(stored.has(`K9-ORDER-${i}`), `acknowledged order ${controlId} survived`);
      }
      // The HIS resends everything not acknowledged (and, not knowing, some that were): each order once.
      const server2 = await startServer(env);
      try {
        const client = new MllpClient({ host: '127.0.0.1', port: config.hl7.port });
        for (const m of messages) assert.equal(Hl7Message.parse(decodeHl7(await client.send(m.bytes)).text).get('MSA-1'), 'AA');
        await client.close();
      } finally {
        await server2.stop();
      }
      const rows = await rt.db.kysely.selectFrom('orders').select('placer_order_number').execute();
      assert.equal(rows.length, N);
      assert.equal(new Set(rows.map((r) => r.placer_order_number)).size, N);
    } finally {
      await rt.close();
    }
  } finally {
    await cleanup();
  }
});

test('group commits: orders acknowledged on several connections at once survive kill -9 in the middle of the traffic', async () => {
  const { config, cleanup } = testConfig();
  config.http.port = await freePort();
  config.dicom.port = await freePort();
  config.hl7.port = await freePort();
  const env = childEnv(config);
  const cli = async (...args: string[]): Promise<void> => {
    const child = spawn(process.execPath, [ENKAKU_BIN, ...args], { env, stdio: 'ignore' });
    assert.equal(await new Promise((r) => child.on('exit', r)), 0, args.join(' '));
  };
  try {
    await cli('facility', 'add', '--name', 'Crash Batch Hospital', '--aet', 'CRASHBAT');
    await cli('facility', 'add-hl7-sender', '--name', 'Crash Batch Hospital', '--sending-facility', SENDING_FACILITY);
    const CONNECTIONS = 6;
    const PER_CONNECTION = 25;
    const K = 40;
    const messages = Array.from({ length: CONNECTIONS }, (_, c) => Array.from({ length: PER_CONNECTION }, (_, i) =>
      omg({ seed: 5000 + c * 100 + i, controlId: `KB-${c}-${i}`, order: { placerOrderNumber: `KB-ORDER-${c}-${i}` } })));
    const server = await startServer(env, /HL7 \(MLLP\)[\s\S]*(npm run demo|Facilities:|Sign in at)/);
    // Every connection writes all its frames at once; the server dies right after the K-th AA (all connections counted).
    const acked: string[] = [];
    await Promise.all(messages.map((list) => new Promise<void>((resolve) => {
      const socket = net.connect(config.hl7.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let end: number;
        while ((end = buf.indexOf(0x1c)) >= 0) {
          const ack = Hl7Message.parse(decodeHl7(buf.subarray(1, end)).text);
          buf = buf.subarray(end + 2);
          if (ack.get('MSA-1') === 'AA') acked.push(ack.get('MSA-2')!);
          if (acked.length === K) server.child.kill('SIGKILL');
        }
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.write(Buffer.concat(list.map((m) => Buffer.concat([Buffer.from([0x0b]), m.bytes, Buffer.from([0x1c, 0x0d])]))));
    })));
    await new Promise((r) => (server.child.exitCode !== null || server.child.signalCode !== null ? r(null) : server.child.on('exit', r)));
    assert.ok(acked.length >= K, `at least ${K} acknowledged before the kill (got ${acked.length})`);
    assert.ok(acked.length < CONNECTIONS * PER_CONNECTION, 'the kill interrupted the traffic');

    const rt = await createRuntime(config, createLogger('silent'));
    try {
      const stored = new Set((await rt.db.kysely.selectFrom('orders').select('placer_order_number').execute()).map((r) => r.placer_order_number));
      for (const controlId of acked) assert.ok(stored.has(controlId.replace('KB-', 'KB-ORDER-')), `acknowledged order ${controlId} survived`);
      assert.equal((await rt.audit.verify()).ok, true, 'the audit chain is whole after the crash');
    } finally {
      await rt.close();
    }
  } finally {
    await cleanup();
  }
});
