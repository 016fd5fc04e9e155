import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import imaging from 'dcmjs-imaging';
import { generateSeries, initSyntheticCodecs, SYNTHETIC_TRANSFER_SYNTAXES, type SyntheticModality } from '../dicom/synthetic.ts';
import { TS } from '../dicom/uids.ts';
import { initRenderCodecs } from './decode.ts';
import { RenderEngine } from './engine.ts';
import { parseRenderedParams, type VoiWindow } from './params.ts';

const engine = new RenderEngine({ cacheBytes: 32 * 1024 * 1024 });

/** CR gets 4 mm square pixels (its field is 428 x 352 mm) so that no viewer corrects the aspect ratio. */
const ROWS: Record<SyntheticModality, number> = { CT: 96, MR: 96, CR: 107 };
const COLUMNS: Record<SyntheticModality, number> = { CT: 96, MR: 96, CR: 88 };

function instance(modality: SyntheticModality, transferSyntax: string, seed = 7): Buffer {
  const [first] = [...generateSeries({
    modality, count: 1, rows: ROWS[modality], columns: COLUMNS[modality], seed, transferSyntax, studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4',
  })];
  return first!.bytes;
}

async function pixels(bytes: Buffer, key: string, window?: VoiWindow): Promise<Uint8Array> {
  const req = { ...parseRenderedParams({}, 'image/png', 'rendered'), window };
  const out = await engine.renderPixels({ key, bytes }, req);
  assert.equal(out.width * out.height, out.data.length);
  return out.data;
}

/** Asserts equal pixels, reporting how many differ and the first difference instead of the arrays. */
function assertSamePixels(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: pixel count`);
  let differ = 0;
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      if (first < 0) first = i;
      differ++;
    }
  }
  assert.equal(differ, 0, `${what}: ${differ} pixels differ, first at ${first} (${got[first]} instead of ${want[first]})`);
}

/** The first channel of dcmjs-imaging's own rendering of the whole file. */
function dcmjsImagingGray(bytes: Buffer, window?: VoiWindow): Uint8Array {
  const image = new imaging.DicomImage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
  const wl = window ? new imaging.WindowLevel(window.width, window.center) : undefined;
  const rgba = new Uint8Array(image.render({ frame: 0, windowLevel: wl, renderOverlays: false }).pixels);
  const out = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4]!;
  return out;
}

describe('decoding every stored transfer syntax', () => {
  before(async () => {
    await initSyntheticCodecs();
    await initRenderCodecs();
  });

  for (const modality of ['CT', 'CR'] as const) {
    it(`${modality}: every lossless transfer syntax displays exactly as explicit VR little endian`, async () => {
      const reference = await pixels(instance(modality, TS.ExplicitVRLittleEndian), `${modality}-ref`);
      assert.ok(new Set(reference).size > 5, 'the reference image is not flat');
      for (const ts of SYNTHETIC_TRANSFER_SYNTAXES) {
        if (ts === TS.JpegBaseline || ts === TS.ExplicitVRLittleEndian) continue;
        const got = await pixels(instance(modality, ts), `${modality}-${ts}`);
        assertSamePixels(got, reference, `${modality} in ${ts}`);
      }
    });
  }

  it('CT in JPEG baseline (8-bit, lossy) displays within a small tolerance of the original', async () => {
    const window: VoiWindow = { center: 40, width: 400, fn: 'LINEAR' };
    const reference = await pixels(instance('CT', TS.ExplicitVRLittleEndian), 'jb-ref', window);
    const lossy = await pixels(instance('CT', TS.JpegBaseline), 'jb', window);
    // 8-bit storage (8 HU steps, about 5 display levels in this window) plus JPEG's own loss.
    const signed = Array.from(reference, (v, i) => lossy[i]! - v);
    const bias = signed.reduce((a, b) => a + b, 0) / signed.length;
    const diffs = signed.map(Math.abs).sort((a, b) => a - b);
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    assert.ok(Math.abs(bias) < 1, `no brighter or darker overall (bias ${bias.toFixed(2)})`);
    assert.ok(mean < 6, `mean absolute difference ${mean.toFixed(2)}`);
    assert.ok(diffs[diffs.length >> 1]! <= 2, `median difference ${diffs[diffs.length >> 1]}`);
  });

  it('the native fast path gives the same pixels as dcmjs-imaging on native data', async () => {
    const windows: (VoiWindow | undefined)[] = [undefined, { center: 40, width: 400, fn: 'LINEAR' }, { center: -600, width: 1500, fn: 'LINEAR' }];
    for (const ts of [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian]) {
      for (const modality of ['CT', 'MR', 'CR'] as const) {
        const bytes = instance(modality, ts);
        for (const w of windows) {
          if (modality !== 'CT' && w) continue;
          const ours = await pixels(bytes, `same-${modality}-${ts}`, w);
          assertSamePixels(ours, dcmjsImagingGray(bytes, w), `${modality} ${ts} window ${w ? `${w.center}/${w.width}` : 'of the data set'}`);
        }
      }
    }
  });
});
