import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../platform/log.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../../platform/context.ts';
import type { OrderInput, OrderIntake, OrderOutcome, PatientInput, PatientUpdates } from '../../orders/index.ts';
import { decodeHl7, encodeHl7 } from './charset.ts';
import { Hl7Message } from './message.ts';
import { MllpClient } from './mllp.ts';
import { startHl7Listener, type Hl7Listener } from './listener.ts';
import { syntheticAdtA08, syntheticOmgO19, syntheticOrmO01 } from './synthetic.ts';

/** In-memory stand-in for the orders service: idempotent on messageId, with the contract's errors. */
class FakeOrders implements OrderIntake, PatientUpdates {
  readonly orders = new Map<string, OrderInput & { id: string; status: string }>();
  readonly patients: PatientInput[] = [];
  readonly actors: Actor[] = [];
  private readonly seen = new Map<string, OrderOutcome>();
  failNext: Error | undefined;

  async receive(actor: Actor, input: OrderInput): Promise<OrderOutcome> {
    this.actors.push(actor);
    if (this.failNext) { const e = this.failNext; this.failNext = undefined; throw e; }
    const dupKey = `${input.facilityId}|${input.messageId}`;
    const seen = this.seen.get(dupKey);
    if (seen) return { kind: 'duplicate', orderId: seen.orderId };
    const key = `${input.facilityId}|${input.placerOrderNumber}`;
    const existing = this.orders.get(key);
    let outcome: OrderOutcome;
    if (input.control === 'new') {
      if (existing) throw new AppError('conflict', 'placer order number already used');
      this.orders.set(key, { ...input, id: `o${this.orders.size + 1}`, status: 'scheduled' });
      outcome = { kind: 'created', orderId: this.orders.get(key)!.id };
    } else if (!existing) {
      throw new AppError('not_found', `no order ${input.placerOrderNumber} from this facility`);
    } else if (existing.status === 'cancelled') {
      throw new AppError('conflict', 'the order is cancelled');
    } else if (input.control === 'change') {
      this.orders.set(key, { ...input, id: existing.id, status: existing.status });
      outcome = { kind: 'updated', orderId: existing.id };
    } else {
      existing.status = 'cancelled';
      outcome = { kind: 'cancelled', orderId: existing.id };
    }
    this.seen.set(dupKey, outcome);
    return outcome;
  }

  async update(_actor: Actor, _facilityId: string, patient: PatientInput): Promise<{ patientRef: string }> {
    this.patients.push(patient);
    return { patientRef: 'p1' };
  }
}

const log = createLogger('silent');
const fake = new FakeOrders();
let listener: Hl7Listener;
let client: MllpClient;

/** Send bytes and parse the reply (decoded in its own MSH-18). */
async function send(bytes: Uint8Array): Promise<Hl7Message> {
  const reply = await client.send(bytes, { timeoutMs: 5000 });
  return Hl7Message.parse(decodeHl7(reply).text);
}

function errs(ack: Hl7Message): Array<[string, string]> {
  return ack.segmentsNamed('ERR').map((e) => [e.get(3) ?? '', [e.get(2, 1), e.get(2, 3), e.get(2, 5)].filter(Boolean).join('-')]);
}

before(async () => {
  listener = await startHl7Listener(
    { hl7: { port: 0, host: '127.0.0.1', tlsCert: undefined, tlsKey: undefined, tlsCa: undefined, allowPlainOffLoopback: false }, tlsMinVersion: 'TLSv1.2' },
    {
      senders: { resolve: async (fac, app) => (fac === '1312345678' && app === 'HIS' ? { facilityId: 'fac-A' } : undefined) },
      orders: fake,
      patients: fake,
      log,
    },
  );
  client = new MllpClient({ host: '127.0.0.1', port: listener.port });
});

after(async () => {
  await client.close();
  await listener.close();
});

describe('HL7 listener (MLLP, fake orders service)', () => {
  it('answers a new OMG^O19 with ORG^O20 AA in the sender\'s ISO-2022-JP, after the order is stored', async () => {
    const s = syntheticOmgO19({ seed: 11, controlId: 'L0001' });
    const ack = await send(s.bytes);
    assert.equal(ack.get('MSH-9-1'), 'ORG');
    assert.equal(ack.get('MSH-9-2'), 'O20');
    assert.equal(ack.get('MSA-1'), 'AA');
    assert.equal(ack.get('MSA-2'), 'L0001');
    assert.equal(ack.header.characterSet.join('~'), '~ISO IR87');
    assert.equal(fake.orders.get(`fac-A|${s.order!.placerOrderNumber}`)?.patient.name.ideographic, `${s.patient.familyName}^${s.patient.givenName}`);
    const actor = fake.actors.at(-1)!;
    assert.equal(actor.kind, 'device');
    assert.equal((actor as { facilityId: string }).facilityId, 'fac-A');
  });

  it('answers a resent message AA again, says it was a duplicate, and stores nothing twice', async () => {
    const s = syntheticOmgO19({ seed: 12, controlId: 'L0002' });
    assert.equal((await send(s.bytes)).get('MSA-1'), 'AA');
    const size = fake.orders.size;
    const again = await send(s.bytes);
    assert.equal(again.get('MSA-1'), 'AA');
    assert.match(again.get('MSA-3') ?? '', /duplicate/);
    assert.equal(fake.orders.size, size);
  });

  it('answers ORM^O01 with ORR^O02 and ADT^A08 with ACK^A08', async () => {
    const orm = await send(syntheticOrmO01({ seed: 13, controlId: 'L0003' }).bytes);
    assert.deepEqual([orm.get('MSH-9-1'), orm.get('MSH-9-2'), orm.get('MSA-1')], ['ORR', 'O02', 'AA']);
    const adt = syntheticAdtA08({ seed: 14, controlId: 'L0004' });
    const ack = await send(adt.bytes);
    assert.deepEqual([ack.get('MSH-9-1'), ack.get('MSH-9-2'), ack.get('MSA-1')], ['ACK', 'A08', 'AA']);
    assert.equal(fake.patients.at(-1)?.patientId, adt.patient.id);
  });

  it('refuses an unknown sender with AR 204 at MSH-4 and stores nothing', async () => {
    const size = fake.orders.size;
    const ack = await send(syntheticOmgO19({ seed: 15, sendingFacility: '9999999999' }).bytes);
    assert.equal(ack.get('MSA-1'), 'AR');
    assert.deepEqual(errs(ack), [['204', 'MSH-4']]);
    assert.match(ack.get('ERR-7') ?? '', /not registered/);
    assert.equal(fake.orders.size, size);
  });

  it('answers a missing PID-3 with AE 101 at PID-3, unknown types with AR 200/201, other versions with AR 203', async () => {
    const s = syntheticOmgO19({ seed: 16 });
    const noPid3 = s.text.replace(/^PID\|0001\|\|[^|]*\|/m, 'PID|0001|||');
    let ack = await send(encodeHl7(noPid3, s.characterSet));
    assert.equal(ack.get('MSA-1'), 'AE');
    assert.deepEqual(errs(ack), [['101', 'PID-3']]);
    ack = await send(encodeHl7(s.text.replace('OMG^O19^OMG_O19', 'ZZZ^Z99'), s.characterSet));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '200', 'MSH-9-1']);
    ack = await send(encodeHl7(s.text.replace('OMG^O19^OMG_O19', 'ADT^A01^ADT_A01'), s.characterSet));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '201', 'MSH-9-2']);
    ack = await send(encodeHl7(s.text.replace('|P|2.5|', '|P|3.0|'), s.characterSet));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '203', 'MSH-12']);
    ack = await send(encodeHl7(s.text.replace('|P|2.5|', '|T|2.5|'), s.characterSet));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '202', 'MSH-11']);
  });

  it('answers a broken header with AR and the location (MSH-10 missing, bad MSH-2, unknown MSH-18)', async () => {
    const s = syntheticOmgO19({ seed: 17, controlId: 'L0017' });
    let ack = await send(encodeHl7(s.text.replace('|L0017|', '||'), s.characterSet));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '101', 'MSH-10']);
    ack = await send(Buffer.from('MSH|^^\\&|HIS|1312345678|ENKAKU|ENKAKU|20240603||OMG^O19|X1|P|2.5\rPID|1\r'));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '102', 'MSH-2']);
    ack = await send(Buffer.from('MSH|^~\\&|HIS|1312345678|ENKAKU|ENKAKU|20240603||OMG^O19|X2|P|2.5||||||EBCDIC\rPID|1\r'));
    assert.deepEqual([ack.get('MSA-1'), ack.get('MSA-2'), ...errs(ack).flat()], ['AR', 'X2', '103', 'MSH-18']);
    ack = await send(Buffer.from('not an HL7 message at all'));
    assert.deepEqual([ack.get('MSA-1'), ...errs(ack).flat()], ['AR', '100', 'MSH']);
  });

  it('maps the orders service\'s errors: unknown order AE 204, cancelled order AE 206, failure AE 207 without details', async () => {
    let ack = await send(syntheticOmgO19({ seed: 18, control: 'XO', order: { placerOrderNumber: 'NEVER-SENT' } }).bytes);
    assert.deepEqual([ack.get('MSA-1'), ack.get('ERR-3')], ['AE', '204']);
    const base = { seed: 19, order: { placerOrderNumber: 'P-CANCEL' } } as const;
    assert.equal((await send(syntheticOmgO19({ ...base, controlId: 'C1' }).bytes)).get('MSA-1'), 'AA');
    assert.equal((await send(syntheticOmgO19({ ...base, controlId: 'C2', control: 'CA' }).bytes)).get('MSA-1'), 'AA');
    ack = await send(syntheticOmgO19({ ...base, controlId: 'C3', control: 'XO' }).bytes);
    assert.deepEqual([ack.get('MSA-1'), ack.get('ERR-3')], ['AE', '206']);
    fake.failNext = new Error('SQLITE_FULL: insert into orders values (山田 ...)');
    ack = await send(syntheticOmgO19({ seed: 20 }).bytes);
    assert.deepEqual([ack.get('MSA-1'), ack.get('ERR-3')], ['AE', '207']);
    assert.doesNotMatch(decodeHl7(encodeHl7(ack.toString(), ack.header.characterSet)).text, /SQLITE|山田/);
  });

  it('ignores garbage between frames and answers the frames around it, in order', async () => {
    const net = await import('node:net');
    const a = syntheticOmgO19({ seed: 21, controlId: 'G1' });
    const b = syntheticOmgO19({ seed: 22, controlId: 'G2' });
    const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([0x0b]), m, Buffer.from([0x1c, 0x0d])]);
    const socket = net.connect(listener.port, '127.0.0.1');
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let end: number;
        while ((end = buf.indexOf(0x1c)) >= 0) {
          replies.push(Hl7Message.parse(decodeHl7(buf.subarray(1, end)).text).get('MSA-2') ?? '');
          buf = buf.subarray(end + 2);
        }
        if (replies.length === 2) resolve();
      });
      socket.on('error', reject);
      socket.write(Buffer.concat([frame(a.bytes), Buffer.from('GARBAGE\x00\x01 bytes'), frame(b.bytes)]));
    });
    socket.destroy();
    assert.deepEqual(replies, ['G1', 'G2']);
  });
});

describe('HL7 listener transport rules', () => {
  const base = { port: 0, tlsCert: undefined, tlsKey: undefined, tlsCa: undefined };
  const deps = { senders: { resolve: async () => undefined }, orders: fake, patients: fake, log };
  it('refuses plain MLLP off loopback unless the operator allows it', async () => {
    await assert.rejects(
      startHl7Listener({ hl7: { ...base, host: '0.0.0.0', allowPlainOffLoopback: false }, tlsMinVersion: 'TLSv1.2' }, deps),
      /refusing to accept HL7 in plain text on 0\.0\.0\.0/,
    );
    const allowed = await startHl7Listener({ hl7: { ...base, host: '0.0.0.0', allowPlainOffLoopback: true }, tlsMinVersion: 'TLSv1.2' }, deps);
    assert.equal(allowed.tls, false);
    await allowed.close();
  });
});
