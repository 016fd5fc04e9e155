/**
 * PNG encoding of display pixels (ISO/IEC 15948, the PNG specification): 8-bit gray or RGB,
 * no interlace, every row with filter type None, the image data compressed by zlib's deflate
 * at level 1, on libuv's thread pool or (encodePngNow) on the calling thread. sharp (libvips)
 * encodes through libpng with a pipeline that hands every few rows between threads: for a
 * 512x512 slice that costs about twice the compression itself. Resized images still go
 * through sharp.
 *
 * Gray images use zlib's run-length strategy: a slice is mostly long runs of one value
 * (air, the table, the background), which it finds at the cost of the fastest level, and
 * the result is smaller than level 1's usual matching on the same rows.
 */
import zlib from 'node:zlib';
import { BufferPool } from './pool.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Colour types of PNG §11.2.2: greyscale and truecolour. */
const COLOUR_TYPE = { 1: 0, 3: 2 } as const;
/** Rows waiting for compression. */
const rowMemory = new BufferPool(4);

function deflate(data: Buffer, options: zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflate(data, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** Writes one chunk (length, type, data, CRC-32 over type and data) at `at`; returns the end. */
function putChunk(out: Buffer, at: number, type: string, data: Uint8Array): number {
  out.writeUInt32BE(data.length, at);
  out.write(type, at + 4, 'latin1');
  out.set(data, at + 8);
  const crc = zlib.crc32(out.subarray(at + 4, at + 8 + data.length));
  out.writeUInt32BE(crc, at + 8 + data.length);
  return at + 12 + data.length;
}

/** The rows of an image, each preceded by its filter type byte (0, None: PNG §9.2), in reused memory. */
function filteredRows(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): { rows: Buffer; length: number } {
  const rowBytes = width * channels;
  if (pixels.length < rowBytes * height) throw new RangeError(`encodePng: ${rowBytes * height} bytes needed, ${pixels.length} given`);
  const need = (rowBytes + 1) * height;
  const rows = rowMemory.take(need);
  for (let y = 0, from = 0, to = 0; y < height; y++, from += rowBytes, to += rowBytes + 1) {
    rows[to] = 0;
    rows.set(pixels.subarray(from, from + rowBytes), to + 1);
  }
  return { rows, length: need };
}

/** Deflate settings: level 1, run-length matching for gray (see the module comment). */
function deflateOptions(channels: 1 | 3): zlib.ZlibOptions {
  return { level: 1, strategy: channels === 1 ? zlib.constants.Z_RLE : zlib.constants.Z_DEFAULT_STRATEGY };
}

/**
 * Encodes 8-bit gray (1 channel) or RGB (3 channels) pixels, row by row without padding, as
 * a PNG, compressing on the thread pool. The pixels are copied before the first await: they
 * may change once this returns a promise.
 * @throws RangeError when `pixels` holds fewer than width × height × channels bytes
 */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const { rows, length } = filteredRows(pixels, width, height, channels);
  let compressed: Buffer;
  try {
    compressed = await deflate(rows.subarray(0, length), deflateOptions(channels));
  } finally {
    rowMemory.give(rows);
  }
  return container(width, height, channels, compressed);
}

/**
 * {@link encodePng} on the calling thread, which is busy meanwhile: for a single request on
 * an otherwise idle server, which then answers sooner than by handing the work to the thread
 * pool and back.
 */
export function encodePngNow(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const { rows, length } = filteredRows(pixels, width, height, channels);
  try {
    return container(width, height, channels, zlib.deflateSync(rows.subarray(0, length), deflateOptions(channels)));
  } finally {
    rowMemory.give(rows);
  }
}

/** The PNG file: signature, IHDR, one IDAT with the compressed rows, IEND. */
function container(width: number, height: number, channels: 1 | 3, compressed: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = COLOUR_TYPE[channels];
  // compression method 0 (deflate), filter method 0 (adaptive), interlace method 0 (none)
  const out = Buffer.allocUnsafe(SIGNATURE.length + 12 + header.length + 12 + compressed.length + 12);
  out.set(SIGNATURE, 0);
  const afterHeader = putChunk(out, SIGNATURE.length, 'IHDR', header);
  putChunk(out, putChunk(out, afterHeader, 'IDAT', compressed), 'IEND', new Uint8Array(0));
  return out;
}
