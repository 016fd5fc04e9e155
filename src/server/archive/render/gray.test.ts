import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RenderEngine } from './engine.ts';
import { parseRenderedParams, type RenderRequest } from './params.ts';
import { fixtureFile, type FixtureElement } from './test-fixtures.ts';

const engine = new RenderEngine({ cacheBytes: 16 * 1024 * 1024 });
let n = 0;

/** Renders a 1-row grayscale image of the given stored values and returns its 8-bit pixels. */
async function row(
  values: number[],
  opts: { signed?: boolean; bitsStored?: number; photometric?: string; extra?: FixtureElement[]; req?: Partial<RenderRequest> } = {},
): Promise<number[]> {
  const pixels = opts.signed ? Int16Array.from(values) : Uint16Array.from(values);
  const file = fixtureFile({
    rows: 1,
    columns: values.length,
    photometric: opts.photometric ?? 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: opts.bitsStored ?? 16,
    pixelRepresentation: opts.signed ? 1 : 0,
    pixels,
    extra: opts.extra,
  });
  const req = { ...parseRenderedParams({}, 'image/png', 'rendered'), ...opts.req };
  const out = await engine.renderPixels({ key: `gray-${++n}`, bytes: file }, req);
  assert.equal(out.channels, 1);
  return [...out.data];
}

const rescale = (intercept: string, slope = '1'): FixtureElement[] => [
  [0x00281052, 'DS', intercept],
  [0x00281053, 'DS', slope],
];
const window = (center: string, width: string): FixtureElement[] => [
  [0x00281050, 'DS', center],
  [0x00281051, 'DS', width],
];

describe('grayscale display pipeline (PS3.4 N.2.1)', () => {
  it('applies Rescale Slope/Intercept and the LINEAR window to known CT values', async () => {
    // Stored = HU + 1024; window 40/80: HU <= 0 black, HU > 79 white (PS3.3 C.11.2.1.2.1).
    const stored = [0, 1000, 1024, 1044, 1064, 1084, 1100, 2000];
    const out = await row(stored, { bitsStored: 12, extra: [...rescale('-1024'), ...window('40', '80')] });
    // HU: -1024 -24 0 20 40 60 76 976
    assert.deepEqual(out, [0, 0, 0, 64, 129, 193, 245, 255]);
  });

  it('uses a fractional slope without rounding the modality value', async () => {
    // Modality = 0.5 * stored - 10; window 0/100 LINEAR_EXACT: y = (x/100 + 0.5) * 255.
    const out = await row([0, 20, 21, 40, 220], {
      extra: [...rescale('-10', '0.5')],
      req: { window: { center: 0, width: 100, fn: 'LINEAR_EXACT' } },
    });
    // x = -10, 0, 0.5, 10, 100
    assert.deepEqual(out, [102, 127, 128, 153, 255]);
  });

  it('lets the request window override the data set window, with sigmoid', async () => {
    const values = [1024 - 25, 1024, 1024 + 25, 1024 + 1000];
    const out = await row(values, { extra: [...rescale('-1024'), ...window('400', '10')], req: { window: { center: 0, width: 100, fn: 'SIGMOID' } } });
    // 255 / (1 + exp(-4x/100)) at x = -25, 0, 25, 1000
    assert.deepEqual(out, [68, 127, 186, 255]);
  });

  it('reads signed pixels and the VOI LUT Function of the data set', async () => {
    const out = await row([-100, -50, 0, 50, 100], {
      signed: true,
      extra: [...window('0', '100'), [0x00281056, 'CS', 'LINEAR_EXACT']],
    });
    assert.deepEqual(out, [0, 0, 127, 255, 255]);
  });

  it('masks bits above Bits Stored and sign-extends from the High Bit (PS3.5 §8.1.1)', async () => {
    // 12-bit signed: 0x0FFF is -1, 0xF800 carries overlay bits above bit 11 and is 0x800 = -2048.
    const out = await row([0x0fff, 0xf800, 0x07ff, 0x0000], { signed: true, bitsStored: 12, req: { window: { center: 0, width: 4096, fn: 'LINEAR_EXACT' } } });
    assert.deepEqual(out, [127, 0, 254, 127]);
  });

  it('windows over the frame minimum and maximum when the data set has no window', async () => {
    const out = await row([100, 150, 200], { extra: rescale('0') });
    assert.deepEqual(out, [0, 127, 255]);
  });

  it('leaves Pixel Padding out of the minimum/maximum window (PS3.3 C.7.5.1.1.2)', async () => {
    const out = await row([0, 1000, 1100, 1200], { extra: [[0x00280120, 'US', [0]]] });
    assert.deepEqual(out, [0, 0, 127, 255]);
  });

  it('inverts MONOCHROME1 so that low stored values display white', async () => {
    const values = [0, 1000, 2000, 3000, 4000];
    const extra = window('2000', '4000');
    const m2 = await row(values, { extra });
    const m1 = await row(values, { extra, photometric: 'MONOCHROME1' });
    assert.equal(m1[0], 255);
    assert.equal(m1[4], 0);
    assert.deepEqual(m1, m2.map((v) => 255 - v));
  });

  it('applies a Modality LUT Sequence instead of rescale (PS3.3 C.11.1)', async () => {
    // LUT: 4 entries from stored value 10: 0, 100, 200, 300; window 150/300 LINEAR_EXACT.
    const lut = Uint16Array.from([0, 100, 200, 300]);
    const seq: FixtureElement = [0x00283000, 'SQ', [[
      [0x00283002, 'US', [4, 10, 16]],
      [0x00283006, 'OW', new Uint8Array(lut.buffer)],
    ]]];
    const out = await row([5, 10, 11, 12, 13, 40], { extra: [seq, ...rescale('-1000', '5')], req: { window: { center: 150, width: 300, fn: 'LINEAR_EXACT' } } });
    assert.deepEqual(out, [0, 0, 85, 170, 255, 255]);
  });

  it('applies a VOI LUT Sequence when the data set has no window (PS3.3 C.11.2.1.1)', async () => {
    // 8-bit VOI LUT over modality values 0..3 (stored 1024..1027 with intercept -1024).
    const lut = Uint16Array.from([0, 51, 204, 255]);
    const seq: FixtureElement = [0x00283010, 'SQ', [[
      [0x00283002, 'US', [4, 0, 8]],
      [0x00283006, 'OW', new Uint8Array(lut.buffer)],
    ]]];
    const out = await row([1000, 1024, 1025, 1026, 1027, 2000], { extra: [seq, ...rescale('-1024')] });
    assert.deepEqual(out, [0, 0, 51, 204, 255, 255]);
  });

  it('passes P-Values through an output LUT (256 entries inverting, 1024 entries gamma)', async () => {
    const values = [0, 1, 2, 3, 4];
    const extra = window('2', '5');
    const plain = await row(values, { extra });
    const inverse = Array.from({ length: 256 }, (_, i) => 255 - i);
    assert.deepEqual(await row(values, { extra, req: { outputLut: inverse } }), plain.map((v) => 255 - v));
    // Gamma 2 on 1024 levels: the window centre is P-Value 511 → round(255 * (511/1023)^2) = 64.
    const gamma = Array.from({ length: 1024 }, (_, i) => Math.round(255 * (i / 1023) ** 2));
    const out = await row([2], { req: { outputLut: gamma, window: { center: 2, width: 5, fn: 'LINEAR_EXACT' } } });
    assert.deepEqual(out, [64]);
    await assert.rejects(row(values, { extra, req: { outputLut: [1, 2, 3] } }), RangeError);
  });
});
