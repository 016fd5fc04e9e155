import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSeries, initSyntheticCodecs } from '../dicom/synthetic.ts';
import { TS } from '../dicom/uids.ts';
import { RenderEngine } from './engine.ts';
import { FrameOutOfRangeError } from './errors.ts';
import { extractFrame } from './frames.ts';
import { parseRenderedParams } from './params.ts';
import { fixtureFile, type FixtureElement } from './test-fixtures.ts';

const engine = new RenderEngine({ cacheBytes: 4 * 1024 * 1024 });
const req = (frame: number) => ({ ...parseRenderedParams({ window: '150,300,linear-exact' }, 'image/png', 'rendered'), frame });

/** Three 2x2 frames: 0, 100, 200, 300 shifted by 0, 10 and 20. */
const frames = Uint16Array.from([0, 100, 200, 300, 10, 110, 210, 300, 20, 120, 220, 300]);
const multiFrame = fixtureFile({ rows: 2, columns: 2, photometric: 'MONOCHROME2', bitsAllocated: 16, frames: 3, pixels: frames });

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('multi-frame images', () => {
  it('renders each frame by its 1-based number, and they differ', async () => {
    const one = await engine.renderPixels({ key: 'mf', bytes: multiFrame }, req(1));
    const two = await engine.renderPixels({ key: 'mf', bytes: multiFrame }, req(2));
    assert.equal(one.frames, 3);
    assert.deepEqual([...one.data], [0, 85, 170, 255]);
    assert.deepEqual([...two.data], [8, 93, 178, 255]);
  });

  it('refuses frame numbers outside 1..Number of Frames (400 below, 404 past the end)', async () => {
    await assert.rejects(engine.renderPixels({ key: 'mf', bytes: multiFrame }, req(4)), (e: unknown) => e instanceof FrameOutOfRangeError && e.status === 404);
    await assert.rejects(engine.renderPixels({ key: 'mf', bytes: multiFrame }, req(0)), (e: unknown) => e instanceof FrameOutOfRangeError && e.status === 400);
    assert.throws(() => extractFrame(multiFrame, 4), FrameOutOfRangeError);
  });

  it('decodes the second frame of compressed multi-frame pixel data', async () => {
    await initSyntheticCodecs();
    const series = [...generateSeries({ modality: 'CT', count: 2, rows: 64, columns: 64, seed: 3, transferSyntax: TS.Jpeg2000Lossless })];
    const native = [...generateSeries({ modality: 'CT', count: 2, rows: 64, columns: 64, seed: 3 })];
    const codestreams = series.map((s) => extractFrame(s.bytes, 1).data);
    const extra: FixtureElement[] = [[0x00281052, 'DS', '-1024'], [0x00281053, 'DS', '1']];
    const file = fixtureFile({
      rows: 64, columns: 64, photometric: 'MONOCHROME2', bitsAllocated: 16, bitsStored: 12, frames: 2, pixels: new Uint8Array(0), extra,
      encapsulated: { transferSyntaxUid: TS.Jpeg2000Lossless, fragments: codestreams },
    });
    const w = { ...parseRenderedParams({ window: '40,400,linear' }, 'image/png', 'rendered') };
    const second = await engine.renderPixels({ key: 'mf-j2k', bytes: file }, { ...w, frame: 2 });
    const first = await engine.renderPixels({ key: 'mf-j2k', bytes: file }, { ...w, frame: 1 });
    const want = await engine.renderPixels({ key: 'native-2', bytes: native[1]!.bytes }, w);
    assert.deepEqual(second.data, want.data);
    assert.notDeepEqual(first.data, second.data);
  });
});

describe('stored frame bytes for WADO-RS frame retrieval', () => {
  it('slices native Pixel Data', () => {
    const f = extractFrame(multiFrame, 2);
    assert.equal(f.transferSyntaxUid, TS.ExplicitVRLittleEndian);
    assert.deepEqual([...new Uint16Array(Uint8Array.from(f.data).buffer)], [10, 110, 210, 300]);
  });

  it('joins a frame\'s fragments through the Basic Offset Table', () => {
    // Frame 1: fragments of 2 and 4 bytes (items of 10 and 12 bytes); frame 2 starts at 22.
    const fragments = [bytes(0xff, 0xd8), bytes(1, 2, 3, 4), bytes(0xff, 0xd8), bytes(5, 6)];
    const file = fixtureFile({
      rows: 2, columns: 2, photometric: 'MONOCHROME2', bitsAllocated: 8, frames: 2, pixels: new Uint8Array(0),
      encapsulated: { transferSyntaxUid: TS.JpegLosslessSV1, fragments, basicOffsetTable: [0, 22] },
    });
    assert.deepEqual([...extractFrame(file, 1).data], [0xff, 0xd8, 1, 2, 3, 4]);
    assert.deepEqual([...extractFrame(file, 2).data], [0xff, 0xd8, 5, 6]);
    assert.equal(extractFrame(file, 2).transferSyntaxUid, TS.JpegLosslessSV1);
  });

  it('takes one fragment per frame when there is no offset table', () => {
    const file = fixtureFile({
      rows: 2, columns: 2, photometric: 'MONOCHROME2', bitsAllocated: 8, frames: 2, pixels: new Uint8Array(0),
      encapsulated: { transferSyntaxUid: TS.RleLossless, fragments: [bytes(1, 2), bytes(3, 4)] },
    });
    assert.deepEqual([...extractFrame(file, 2).data], [3, 4]);
  });

  it('finds frame starts by their JPEG markers when fragments outnumber frames without a table', () => {
    const file = fixtureFile({
      rows: 2, columns: 2, photometric: 'MONOCHROME2', bitsAllocated: 8, frames: 2, pixels: new Uint8Array(0),
      encapsulated: { transferSyntaxUid: TS.JpegBaseline, fragments: [bytes(0xff, 0xd8, 9, 9), bytes(7, 7), bytes(0xff, 0xd8, 8, 8), bytes(6, 6)] },
    });
    assert.deepEqual([...extractFrame(file, 1).data], [0xff, 0xd8, 9, 9, 7, 7]);
    assert.deepEqual([...extractFrame(file, 2).data], [0xff, 0xd8, 8, 8, 6, 6]);
  });
});
