/**
 * PNG encoding: images any PNG decoder reads back to exactly the same pixels, gray as one
 * 8-bit channel and colour as RGB, with valid chunk checksums, not held to the caller's memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { encodePng, encodePngNow } from './png.ts';

/** The chunks of a PNG: type, data, and whether the stored CRC-32 matches. */
function chunks(png: Buffer): Array<{ type: string; data: Buffer; crcOk: boolean }> {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const out: Array<{ type: string; data: Buffer; crcOk: boolean }> = [];
  let i = 8;
  while (i < png.length) {
    const length = png.readUInt32BE(i);
    const type = png.toString('latin1', i + 4, i + 8);
    const data = png.subarray(i + 8, i + 8 + length);
    out.push({ type, data, crcOk: zlib.crc32(png.subarray(i + 4, i + 8 + length)) === png.readUInt32BE(i + 8 + length) });
    i += 12 + length;
  }
  assert.equal(i, png.length, 'nothing after the last chunk');
  return out;
}

describe('PNG encoding', () => {
  test('gray pixels come back exactly, as an 8-bit greyscale PNG with IHDR, IDAT and IEND', async () => {
    const w = 97;
    const h = 61;
    const px = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = x < 20 ? 0 : (x * 7 + y * 13) % 256;
    const png = await encodePng(px, w, h, 1);
    const list = chunks(png);
    assert.deepEqual(list.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    assert.ok(list.every((c) => c.crcOk), 'every chunk CRC matches');
    const ihdr = list[0]!.data;
    assert.deepEqual([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ...ihdr.subarray(8)], [w, h, 8, 0, 0, 0, 0]);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [w, h, 1, 'uchar']);
    const back = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.equal(back.info.channels, 1);
    assert.deepEqual(new Uint8Array(back.data), px);
  });

  test('RGB pixels come back exactly, as an 8-bit truecolour PNG', async () => {
    const w = 40;
    const h = 33;
    const px = new Uint8Array(w * h * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 31 + (i % 3) * 90) % 256;
    const png = await encodePng(px, w, h, 3);
    const ihdr = chunks(png)[0]!.data;
    assert.equal(ihdr[9], 2, 'colour type 2 (truecolour)');
    const back = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([back.info.width, back.info.height, back.info.channels], [w, h, 3]);
    assert.deepEqual(new Uint8Array(back.data), px);
  });

  test('the pixels may change as soon as the call returns, and many encodes may run at once', async () => {
    const w = 64;
    const h = 64;
    const images = Array.from({ length: 8 }, (_, k) => Uint8Array.from({ length: w * h }, (_, i) => (i * (k + 1)) % 251));
    const buffer = new Uint8Array(w * h);
    const pending = images.map((img) => {
      buffer.set(img);
      const p = encodePng(buffer, w, h, 1);
      buffer.fill(255);
      return p;
    });
    const pngs = await Promise.all(pending);
    for (const [k, png] of pngs.entries()) {
      const back = await sharp(png).toColourspace('b-w').raw().toBuffer();
      assert.deepEqual(new Uint8Array(back), images[k], `image ${k}`);
    }
  });

  test('encoding on the calling thread gives the same file', async () => {
    const w = 50;
    const h = 20;
    for (const channels of [1, 3] as const) {
      const px = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 17) % 256);
      assert.ok(encodePngNow(px, w, h, channels).equals(await encodePng(px, w, h, channels)), `${channels} channel(s)`);
    }
  });

  test('too few pixels for the size is refused', async () => {
    await assert.rejects(encodePng(new Uint8Array(10), 4, 4, 1), RangeError);
    assert.throws(() => encodePngNow(new Uint8Array(10), 4, 4, 1), RangeError);
  });
});
