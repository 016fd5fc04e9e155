import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { TS } from '../dicom/uids.ts';
import { RenderEngine } from './engine.ts';
import { parseRenderedParams, type RenderRequest } from './params.ts';
import { fixtureFile, type FixtureElement, type FixtureImage } from './test-fixtures.ts';

const engine = new RenderEngine({ cacheBytes: 1024 * 1024 });
let n = 0;

/** Renders a small colour fixture and returns its RGB triplets. */
async function rgb(img: Omit<FixtureImage, 'bitsAllocated'> & { bitsAllocated?: number }, req: Partial<RenderRequest> = {}): Promise<number[][]> {
  const file = fixtureFile({ bitsAllocated: 8, samplesPerPixel: 3, ...img });
  const out = await engine.renderPixels({ key: `color-${++n}`, bytes: file }, { ...parseRenderedParams({}, 'image/png', 'rendered'), ...req });
  assert.equal(out.channels, 3);
  const triplets: number[][] = [];
  for (let i = 0; i < out.data.length; i += 3) triplets.push([out.data[i]!, out.data[i + 1]!, out.data[i + 2]!]);
  return triplets;
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];

describe('colour images (PS3.3 C.7.6.3.1.2)', () => {
  it('renders interleaved RGB as stored', async () => {
    const pixels = Uint8Array.from([...RED, ...GREEN, ...BLUE, ...WHITE]);
    assert.deepEqual(await rgb({ rows: 2, columns: 2, photometric: 'RGB', pixels }), [RED, GREEN, BLUE, WHITE]);
  });

  it('renders planar RGB (Planar Configuration 1) as interleaved', async () => {
    const pixels = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    assert.deepEqual(await rgb({ rows: 2, columns: 2, photometric: 'RGB', planarConfiguration: 1, pixels }), [RED, GREEN, BLUE, WHITE]);
  });

  it('ignores a window for colour and applies an output LUT per channel', async () => {
    const pixels = Uint8Array.from([...RED, ...GREEN, ...BLUE, ...WHITE]);
    const inverse = Array.from({ length: 256 }, (_, i) => 255 - i);
    const out = await rgb({ rows: 2, columns: 2, photometric: 'RGB', pixels }, { window: { center: 0, width: 10, fn: 'LINEAR' }, outputLut: inverse });
    assert.deepEqual(out, [[0, 255, 255], [255, 0, 255], [255, 255, 0], [0, 0, 0]]);
  });

  it('converts YBR_FULL to RGB', async () => {
    const pixels = Uint8Array.from([255, 128, 128, 0, 128, 128, 128, 128, 128, 76, 85, 255]);
    const out = await rgb({ rows: 2, columns: 2, photometric: 'YBR_FULL', pixels });
    assert.deepEqual(out.slice(0, 3), [WHITE, [0, 0, 0], [128, 128, 128]]);
    const red = out[3]!;
    assert.ok(red[0]! >= 253 && red[1]! <= 2 && red[2]! <= 2, `(76,85,255) is red, got ${red.join(',')}`);
  });

  it('converts YBR_FULL_422 (two luminance samples share one chroma pair)', async () => {
    // Y1 Y2 Cb Cr per pair of pixels on a row.
    const pixels = Uint8Array.from([255, 0, 128, 128, 128, 128, 128, 128]);
    const out = await rgb({ rows: 2, columns: 2, photometric: 'YBR_FULL_422', pixels });
    assert.deepEqual(out, [WHITE, [0, 0, 0], [128, 128, 128], [128, 128, 128]]);
  });

  it('looks up PALETTE COLOR indices in 16-bit palettes', async () => {
    const table = (values: number[]): Uint8Array => new Uint8Array(Uint16Array.from(values).buffer);
    const extra: FixtureElement[] = [
      [0x00281101, 'US', [4, 0, 16]],
      [0x00281102, 'US', [4, 0, 16]],
      [0x00281103, 'US', [4, 0, 16]],
      [0x00281201, 'OW', table([0x0000, 0xffff, 0x0000, 0x8000])],
      [0x00281202, 'OW', table([0x0000, 0x0000, 0xffff, 0x8000])],
      [0x00281203, 'OW', table([0x0000, 0x0000, 0x0000, 0x8000])],
    ];
    const out = await rgb({ rows: 2, columns: 2, photometric: 'PALETTE COLOR', samplesPerPixel: 1, pixels: Uint8Array.from([0, 1, 2, 3]), extra });
    assert.deepEqual(out, [[0, 0, 0], RED, GREEN, [128, 128, 128]]);
  });

  it('decodes JPEG baseline colour (YBR_FULL_422 in the codestream) to RGB', async () => {
    const raw = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < 16 * 16; i++) raw.set(i < 128 ? [200, 30, 40] : [20, 60, 220], i * 3);
    const jpeg = await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    const out = await rgb({
      rows: 16, columns: 16, photometric: 'YBR_FULL_422', pixels: new Uint8Array(0),
      encapsulated: { transferSyntaxUid: TS.JpegBaseline, fragments: [jpeg] },
    });
    const near = (got: number[], want: number[]): boolean => got.every((v, i) => Math.abs(v - want[i]!) <= 8);
    assert.ok(near(out[0]!, [200, 30, 40]), `top half ${out[0]!.join(',')}`);
    assert.ok(near(out[255]!, [20, 60, 220]), `bottom half ${out[255]!.join(',')}`);
  });
});
