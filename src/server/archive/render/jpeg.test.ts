/**
 * JPEG encoding through libjpeg-turbo: baseline images a decoder reads back to the same
 * pixels, one component for gray, chroma subsampling by quality, and memory of their own size.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodeJpeg, encodeJpegNow, jpegEncoder } from './jpeg.ts';

/** The frame header (SOFn) of a JPEG: marker, component count and each component's sampling. */
function frameHeader(jpeg: Buffer): { marker: number; width: number; height: number; sampling: number[] } {
  let i = 2;
  while (i + 4 <= jpeg.length) {
    assert.equal(jpeg[i], 0xff, 'a marker');
    const marker = jpeg[i + 1]!;
    const length = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const n = jpeg[i + 9]!;
      const sampling = Array.from({ length: n }, (_, c) => jpeg[i + 11 + 3 * c]!);
      return { marker, height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7), sampling };
    }
    i += 2 + length;
  }
  throw new Error('no frame header');
}

describe('JPEG encoding', () => {
  test('libjpeg-turbo is the encoder on this platform', () => {
    assert.deepEqual(jpegEncoder(), { name: 'libjpeg-turbo' });
  });

  test('gray pixels come back within a few levels, as a one-component baseline JPEG', async () => {
    const w = 96;
    const h = 64;
    const px = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = Math.round((x / (w - 1)) * 200 + (y / (h - 1)) * 40);
    const jpeg = (await encodeJpeg(px, w, h, 1, 95))!;
    const header = frameHeader(jpeg);
    assert.equal(header.marker, 0xc0, 'baseline sequential (SOF0)');
    assert.deepEqual([header.width, header.height, header.sampling], [w, h, [0x11]]);
    assert.equal((await sharp(jpeg).metadata()).channels, 1);
    const back = await sharp(jpeg).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    let worst = 0;
    for (let i = 0; i < px.length; i++) worst = Math.max(worst, Math.abs(back.data[i]! - px[i]!));
    assert.ok(worst <= 4, `largest difference ${worst}`);
  });

  test('colour keeps full chroma resolution at quality 90 and above, and halves it below', async () => {
    const w = 32;
    const h = 32;
    const px = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) px.set([(i * 7) % 256, 128, 255 - (i % 256)], i * 3);
    const high = frameHeader((await encodeJpeg(px, w, h, 3, 90))!);
    const low = frameHeader((await encodeJpeg(px, w, h, 3, 80))!);
    assert.deepEqual(high.sampling, [0x11, 0x11, 0x11]);
    assert.deepEqual(low.sampling, [0x22, 0x11, 0x11]);
    const back = await sharp((await encodeJpeg(px, w, h, 3, 95))!).raw().toBuffer({ resolveWithObject: true });
    assert.equal(back.info.channels, 3);
    assert.ok(Math.abs(back.data[3 * 5 + 2]! - px[3 * 5 + 2]!) <= 8, 'blue of pixel 5 survives');
  });

  test('an encoded image holds memory of its own size, and encodes in flight do not share it', async () => {
    const w = 512;
    const h = 512;
    const frames = [0, 1, 2, 3, 4, 5].map((k) => new Uint8Array(w * h).fill(40 * k));
    const jpegs = await Promise.all(frames.map((f) => encodeJpeg(f, w, h, 1, 90)));
    for (const [k, jpeg] of jpegs.entries()) {
      assert.ok(jpeg!.buffer.byteLength < 4 * jpeg!.length + 8192, `image ${k}: ${jpeg!.length} bytes in ${jpeg!.buffer.byteLength}`);
      const back = await sharp(jpeg!).toColourspace('b-w').raw().toBuffer();
      assert.equal(back[1000], 40 * k, `image ${k} shows its own frame`);
    }
  });

  test('encoding on the calling thread gives the same image, in memory of its own size', async () => {
    const w = 64;
    const h = 48;
    for (const channels of [1, 3] as const) {
      const px = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 13) % 256);
      const now = encodeJpegNow(px, w, h, channels, 90)!;
      assert.ok(now.equals((await encodeJpeg(px, w, h, channels, 90))!), `${channels} channel(s)`);
      assert.ok(now.buffer.byteLength < 4 * now.length + 8192);
    }
  });
});
