/**
 * JPEG encoding of display pixels with libjpeg-turbo's TurboJPEG API, on libuv's thread
 * pool. sharp (libvips) encodes with the same library, but its pipeline hands every few
 * rows between threads: for a 512x512 slice that costs more than the encoding itself. The
 * rendered images of a series are made here at full size; resized ones go through sharp.
 *
 * The output is baseline sequential JPEG (PS3.18 §8.7.4) with the standard Huffman tables:
 * one component for gray, YCbCr for colour, full chroma resolution at quality 90 and above.
 * The binding uses libjpeg-turbo's fast integer DCT: at quality 90 and above a gray slice
 * comes back within a few gray levels (see the tests); lossless images are PNG.
 */
import { createRequire } from 'node:module';
import { BufferPool } from './pool.ts';

interface TurboJpeg {
  FORMAT_GRAY: number;
  FORMAT_RGB: number;
  SAMP_GRAY: number;
  SAMP_444: number;
  SAMP_420: number;
  bufferSize(o: { width: number; height: number; subsampling: number }): number;
  compress(raw: Buffer, out: Buffer, o: { width: number; height: number; format: number; subsampling: number; quality: number }): Promise<Buffer>;
  compressSync(raw: Buffer, out: Buffer, o: { width: number; height: number; format: number; subsampling: number; quality: number }): Buffer;
}

let turbo: TurboJpeg | undefined;
let loadError: string | undefined;
try {
  turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as TurboJpeg;
} catch (err) {
  loadError = (err as Error).message;
}

/**
 * Which JPEG encoder this process uses: `libjpeg-turbo`, or `sharp` when the TurboJPEG
 * binding has no build for this platform (`reason` says why).
 */
export function jpegEncoder(): { name: 'libjpeg-turbo' | 'sharp'; reason?: string } {
  return turbo ? { name: 'libjpeg-turbo' } : { name: 'sharp', reason: loadError ?? 'not loaded' };
}

/** Output memory of finished encodes, reused: TurboJPEG writes into a worst-case sized buffer. */
const outputMemory = new BufferPool(4);

/**
 * Encodes 8-bit gray (1 channel) or RGB (3 channels) pixels, row by row without padding, as
 * a baseline JPEG. Returns undefined when libjpeg-turbo is not available (see
 * {@link jpegEncoder}); the caller then encodes otherwise. The pixels must not change until
 * the returned promise settles.
 * @param quality 1–100
 */
export async function encodeJpeg(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality: number): Promise<Buffer | undefined> {
  if (!turbo) return undefined;
  const { raw, out, options } = compression(turbo, pixels, width, height, channels, quality);
  try {
    // A copy of its own size: the image may be kept in the cache for a long time.
    return Buffer.from(await turbo.compress(raw, out, options));
  } finally {
    outputMemory.give(out);
  }
}

/**
 * {@link encodeJpeg} on the calling thread, which is busy meanwhile (about a millisecond for
 * a 512x512 slice): for a single request on an otherwise idle server, which then answers
 * sooner than by handing the work to the thread pool and back.
 */
export function encodeJpegNow(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality: number): Buffer | undefined {
  if (!turbo) return undefined;
  const { raw, out, options } = compression(turbo, pixels, width, height, channels, quality);
  try {
    return Buffer.from(turbo.compressSync(raw, out, options));
  } finally {
    outputMemory.give(out);
  }
}

/** The input, reused output memory (to give back afterwards) and settings of one compression. */
function compression(t: TurboJpeg, pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality: number) {
  const subsampling = channels === 1 ? t.SAMP_GRAY : quality >= 90 ? t.SAMP_444 : t.SAMP_420;
  return {
    raw: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
    out: outputMemory.take(t.bufferSize({ width, height, subsampling })),
    options: { width, height, format: channels === 1 ? t.FORMAT_GRAY : t.FORMAT_RGB, subsampling, quality },
  };
}
