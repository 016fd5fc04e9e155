/**
 * Byte sources for the parser over files too large to hold in memory: reads go through
 * a small window cache, so walking a 2 GB multi-frame object touches only its headers.
 */
import fs from 'node:fs';
import { DicomParseError, type ByteSource } from './parse.ts';

const WINDOW = 1 << 20;

/** A {@link ByteSource} over an open file descriptor (synchronous reads). */
export class FileSource implements ByteSource {
  private winStart = 0;
  private win: Buffer = Buffer.alloc(0);

  constructor(
    private readonly fd: number,
    readonly length: number,
  ) {}

  read(offset: number, len: number): Buffer {
    if (offset < 0 || offset + len > this.length) throw new DicomParseError('unexpected end of data (truncated object)');
    if (offset >= this.winStart && offset + len <= this.winStart + this.win.length) {
      return this.win.subarray(offset - this.winStart, offset - this.winStart + len);
    }
    if (len > WINDOW) {
      const out = Buffer.allocUnsafe(len);
      fs.readSync(this.fd, out, 0, len, offset);
      return out;
    }
    const size = Math.min(WINDOW, this.length - offset);
    const buf = Buffer.allocUnsafe(size);
    const n = fs.readSync(this.fd, buf, 0, size, offset);
    this.win = buf.subarray(0, n);
    this.winStart = offset;
    return this.win.subarray(0, len);
  }
}
