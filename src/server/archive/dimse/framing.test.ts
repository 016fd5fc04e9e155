import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { PduFramedSocket } from './framing.ts';

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
}

test('PDUs come out whole and in order whatever the TCP chunking', () => {
  const pdus = [pdu(1, Buffer.alloc(68, 1)), pdu(4, Buffer.alloc(5000, 2)), pdu(4, Buffer.alloc(3, 3)), pdu(5, Buffer.alloc(4, 4))];
  const stream = Buffer.concat(pdus);
  for (const size of [1, 5, 6, 7, 100, 4999, stream.length]) {
    const raw = new FakeSocket();
    const framed = new PduFramedSocket(raw as unknown as net.Socket, 1 << 20, () => assert.fail('no oversize'));
    const got: Buffer[] = [];
    framed.on('data', (b: Buffer) => got.push(Buffer.from(b)));
    for (let i = 0; i < stream.length; i += size) raw.emit('data', stream.subarray(i, i + size));
    assert.deepEqual(got, pdus, `chunk size ${size}`);
  }
});

test('a PDU longer than the maximum closes the connection without allocating it', () => {
  const raw = new FakeSocket();
  let reported = 0;
  const framed = new PduFramedSocket(raw as unknown as net.Socket, 1000, (len) => (reported = len));
  framed.on('data', () => assert.fail('nothing delivered'));
  const header = Buffer.alloc(6);
  header[0] = 4;
  header.writeUInt32BE(0xfffffff0, 2);
  raw.emit('data', header);
  assert.equal(reported, 0xfffffff0);
  assert.equal(raw.destroyed, true);
});
