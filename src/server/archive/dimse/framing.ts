/**
 * Hands the DICOM upper layer one whole PDU per 'data' event (PS3.8 §9.3: a 6-byte
 * header with the PDU length, then the body). A peer announcing a PDU longer than the
 * maximum we negotiated is disconnected before any memory is set aside for it (dcmjs-dimse
 * alone would keep accumulating bytes up to whatever length the header claims), and each
 * PDU is assembled once into a buffer of its exact size instead of being re-concatenated
 * for every TCP chunk.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';

/** PDU header: type, reserved, 32-bit big-endian length. */
const HEADER = 6;

/** A socket-shaped wrapper whose 'data' events each carry exactly one PDU. */
export class PduFramedSocket extends EventEmitter {
  private header = Buffer.alloc(HEADER);
  private headerFilled = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly maxPduBytes: number,
    onOversize: (length: number) => void,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      try {
        this.feed(chunk);
      } catch (err) {
        onOversize((err as { pduLength?: number }).pduLength ?? -1);
        socket.destroy();
      }
    });
    for (const ev of ['error', 'close', 'timeout', 'connect', 'end']) {
      socket.on(ev, (...args: unknown[]) => this.emit(ev, ...args));
    }
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  write(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  setTimeout(ms: number): this {
    this.socket.setTimeout(ms);
    return this;
  }

  destroy(err?: Error): this {
    this.socket.destroy(err);
    return this;
  }

  end(): this {
    this.socket.end();
    return this;
  }

  private feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.body) {
        const n = Math.min(HEADER - this.headerFilled, chunk.length - pos);
        chunk.copy(this.header, this.headerFilled, pos, pos + n);
        this.headerFilled += n;
        pos += n;
        if (this.headerFilled < HEADER) return;
        const length = this.header.readUInt32BE(2);
        if (length > this.maxPduBytes) throw Object.assign(new Error('PDU too large'), { pduLength: length });
        // The whole PDU, header included, lies inside this chunk: pass a view, no copy.
        if (n === HEADER && chunk.length - pos >= length) {
          this.headerFilled = 0;
          this.emit('data', chunk.subarray(pos - HEADER, pos + length));
          pos += length;
          continue;
        }
        this.body = Buffer.allocUnsafe(HEADER + length);
        this.header.copy(this.body, 0);
        this.bodyFilled = HEADER;
        this.headerFilled = 0;
      }
      const n = Math.min(this.body.length - this.bodyFilled, chunk.length - pos);
      chunk.copy(this.body, this.bodyFilled, pos, pos + n);
      this.bodyFilled += n;
      pos += n;
      if (this.bodyFilled === this.body.length) {
        const pdu = this.body;
        this.body = undefined;
        this.bodyFilled = 0;
        this.emit('data', pdu);
      }
    }
  }
}
