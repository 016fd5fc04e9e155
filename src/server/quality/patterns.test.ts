import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  TG18_QC_CORNER_CONTRAST,
  describePattern,
  patternNames,
  patternPng,
  percentGray,
  regionValueAt,
  renderPattern,
  tg18QcPatchValue,
  type PatternName,
  type PatternRegion,
  type RenderedPattern,
} from './patterns.ts';

const rendered = new Map<PatternName, RenderedPattern>(patternNames.map((n) => [n, renderPattern(n)]));
const pattern = (name: PatternName): RenderedPattern => rendered.get(name)!;
const at = (p: RenderedPattern, x: number, y: number): number => p.pixels[y * p.width + x]!;
const region = (p: RenderedPattern, name: string): PatternRegion => {
  const r = p.regions.find((q) => q.name === name);
  assert.ok(r, `${p.name} has no region ${name}`);
  return r;
};
/** Every pixel of a rectangle, row by row. */
const pixelsOf = (p: RenderedPattern, x: number, y: number, w: number, h: number): number[] => {
  const out: number[] = [];
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) out.push(at(p, i, j));
  return out;
};

describe('test patterns: sizes and descriptions', () => {
  it('renders every pattern at its native 1024 × 1024, one byte per pixel', () => {
    assert.deepEqual([...patternNames], ['TG18-QC', 'TG18-UN10', 'TG18-UN80', 'SMPTE']);
    for (const name of patternNames) {
      const p = pattern(name);
      assert.deepEqual([p.width, p.height, p.pixels.length], [1024, 1024, 1024 * 1024], name);
      assert.ok(p.pixels instanceof Uint8Array);
    }
    assert.throws(() => renderPattern('TG18-XX' as PatternName), RangeError);
  });

  it('holds in every pixel what its topmost region describes', () => {
    for (const name of patternNames) {
      const p = pattern(name);
      // The last region covering a pixel decides it; walk the regions from the top down.
      const decided = new Uint8Array(p.width * p.height);
      for (let k = p.regions.length - 1; k >= 0; k--) {
        const r = p.regions[k]!;
        assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= p.width && r.y + r.h <= p.height, `${name} ${r.name} lies inside the image`);
        if (r.fill.kind === 'solid') assert.equal(r.value, r.fill.value);
        for (let y = r.y; y < r.y + r.h; y++) {
          for (let x = r.x; x < r.x + r.w; x++) {
            const i = y * p.width + x;
            if (decided[i]) continue;
            decided[i] = 1;
            if (p.pixels[i] !== regionValueAt(r, x, y)) assert.fail(`${name} ${r.name} at (${x}, ${y}): ${p.pixels[i]} ≠ ${regionValueAt(r, x, y)}`);
          }
        }
      }
      assert.ok(decided.every((d) => d === 1), `${name}: every pixel belongs to a region`);
    }
  });

  it('lists the regions with their values', () => {
    const text = describePattern('TG18-QC');
    assert.match(text, /^background\t0,0\t1024x1024\t128$/m);
    assert.match(text, /^patch-5pct\t256,496\t32x32\t13$/m);
    assert.match(text, /^ramp-left\t16,176\t32x672\tramp 0→255 along y$/m);
    assert.match(text, /^lp-centre-high-vertical-1px\t384,448\t64x64\tvertical stripes 1px 0\/255$/m);
    assert.equal(text.split('\n').length, pattern('TG18-QC').regions.length);
    assert.match(describePattern('TG18-UN80'), /^uniform\t0,0\t1024x1024\t204$/m);
  });
});

describe('TG18-QC', () => {
  const qc = pattern('TG18-QC');

  it('has 16 luminance patches 8 + 16k with ±4 corner squares', () => {
    assert.deepEqual(Array.from({ length: 16 }, (_, k) => tg18QcPatchValue(k)), [8, 24, 40, 56, 72, 88, 104, 120, 136, 152, 168, 184, 200, 216, 232, 248]);
    for (let k = 0; k < 16; k++) {
      const r = region(qc, `patch-${k}`);
      const v = tg18QcPatchValue(k);
      assert.equal(at(qc, r.x + 48, r.y + 48), v, `patch ${k} centre`);
      assert.equal(at(qc, r.x, r.y), v, `patch ${k} top-left pixel`);
      assert.equal(at(qc, r.x + 95, r.y + 95), v, `patch ${k} bottom-right pixel`);
      assert.equal(at(qc, r.x + 8, r.y + 8), v - TG18_QC_CORNER_CONTRAST, `patch ${k} corner tl`);
      assert.equal(at(qc, r.x + 87, r.y + 8), v + TG18_QC_CORNER_CONTRAST, `patch ${k} corner tr`);
      assert.equal(at(qc, r.x + 8, r.y + 87), v + TG18_QC_CORNER_CONTRAST, `patch ${k} corner bl`);
      assert.equal(at(qc, r.x + 87, r.y + 87), v - TG18_QC_CORNER_CONTRAST, `patch ${k} corner br`);
      assert.equal(at(qc, r.x + 7, r.y + 7), v, `patch ${k} outside the corner square`);
    }
    // Exact coordinates: patch 0 at (128, 176), patch 9 at (224, 624).
    assert.equal(at(qc, 128, 176), 8);
    assert.equal(at(qc, 224 + 40, 624 + 40), 152);
  });

  it('has the 5 % patch on black and the 95 % patch on white', () => {
    assert.deepEqual([percentGray(5), percentGray(95)], [13, 242]);
    assert.ok(pixelsOf(qc, 256, 496, 32, 32).every((v) => v === 13));
    assert.ok(pixelsOf(qc, 736, 496, 32, 32).every((v) => v === 242));
    assert.deepEqual([at(qc, 255, 496), at(qc, 288, 496), at(qc, 256, 495), at(qc, 256, 528), at(qc, 208, 448), at(qc, 335, 575)], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([at(qc, 735, 496), at(qc, 768, 527), at(qc, 688, 448), at(qc, 815, 575)], [255, 255, 255, 255]);
  });

  it('alternates line pairs pixel by pixel (Nyquist) and in pairs (half Nyquist), centre and corners', () => {
    for (const set of ['lp-centre', 'lp-top-left', 'lp-top-right', 'lp-bottom-left', 'lp-bottom-right']) {
      const v1 = region(qc, `${set}-high-vertical-1px`);
      for (let y = v1.y; y < v1.y + 64; y += 21) {
        for (let x = v1.x; x < v1.x + 64; x++) assert.equal(at(qc, x, y), (x - v1.x) % 2 === 0 ? 0 : 255, `${set} vertical 1px at (${x}, ${y})`);
      }
      const h1 = region(qc, `${set}-high-horizontal-1px`);
      for (let y = h1.y; y < h1.y + 64; y++) assert.equal(at(qc, h1.x + 17, y), (y - h1.y) % 2 === 0 ? 0 : 255, `${set} horizontal 1px row ${y}`);
      const row = pixelsOf(qc, h1.x, h1.y + 1, 64, 1);
      assert.ok(row.every((v) => v === 255), `${set}: a horizontal-stripe row is uniform`);
      const v2 = region(qc, `${set}-high-vertical-2px`);
      assert.deepEqual(pixelsOf(qc, v2.x, v2.y + 5, 8, 1), [0, 0, 255, 255, 0, 0, 255, 255]);
      const h2 = region(qc, `${set}-high-horizontal-2px`);
      assert.deepEqual(pixelsOf(qc, h2.x + 5, h2.y, 1, 8), [0, 0, 255, 255, 0, 0, 255, 255]);
      const low = region(qc, `${set}-low-vertical-1px`);
      assert.deepEqual(pixelsOf(qc, low.x, low.y + 9, 6, 1), [128, 130, 128, 130, 128, 130]);
    }
    assert.deepEqual([region(qc, 'lp-centre-high-vertical-1px').x, region(qc, 'lp-centre-high-vertical-1px').y], [384, 448]);
  });

  it('has opposite ramps 0→255 at the sides', () => {
    const left = region(qc, 'ramp-left');
    const right = region(qc, 'ramp-right');
    assert.deepEqual([at(qc, left.x, left.y), at(qc, left.x + 31, left.y + left.h - 1)], [0, 255]);
    assert.deepEqual([at(qc, right.x, right.y), at(qc, right.x, right.y + right.h - 1)], [255, 0]);
    const column = pixelsOf(qc, left.x + 10, left.y, 1, left.h);
    assert.equal(new Set(column).size, 256, 'the ramp shows every gray level');
    for (let i = 1; i < column.length; i++) assert.ok(column[i]! >= column[i - 1]!);
  });

  it('writes QUALITY CONTROL at contrasts 14 down to 1 on black, mid gray and white', () => {
    for (const [panel, bg, sign] of [
      ['dark', 0, 1],
      ['mid', 128, 1],
      ['light', 255, -1],
    ] as const) {
      const letters = qc.regions.filter((r) => r.name.startsWith(`letters-${panel}-`));
      assert.equal(letters.length, 14);
      letters.forEach((r, l) => assert.equal(at(qc, r.x + 6, r.y + 16), bg + sign * (14 - l), `${panel} letter ${l}`));
      const panelRegion = region(qc, `letters-${panel}`);
      assert.equal(at(qc, panelRegion.x + 2, panelRegion.y + 2), bg);
    }
  });

  it('has a white border and white grid lines on a 128 background', () => {
    assert.ok(pixelsOf(qc, 0, 0, 1024, 1).every((v) => v === 255));
    assert.ok(pixelsOf(qc, 0, 1023, 1024, 1).every((v) => v === 255));
    assert.ok(pixelsOf(qc, 0, 0, 1, 1024).every((v) => v === 255));
    assert.ok(pixelsOf(qc, 1023, 0, 1, 1024).every((v) => v === 255));
    assert.deepEqual([at(qc, 64, 300), at(qc, 63, 300), at(qc, 65, 300), at(qc, 100, 320), at(qc, 100, 321)], [255, 128, 128, 255, 128]);
  });
});

describe('TG18-UN10 and TG18-UN80', () => {
  for (const [name, value] of [
    ['TG18-UN10', 26],
    ['TG18-UN80', 204],
  ] as const) {
    it(`${name} is ${value} inside a 1-pixel border of 255`, () => {
      const p = pattern(name);
      assert.equal(value, percentGray(name === 'TG18-UN10' ? 10 : 80));
      const inside = pixelsOf(p, 1, 1, 1022, 1022);
      assert.ok(inside.every((v) => v === value), `${name} is not uniform inside its border`);
      const border = [...pixelsOf(p, 0, 0, 1024, 1), ...pixelsOf(p, 0, 1023, 1024, 1), ...pixelsOf(p, 0, 0, 1, 1024), ...pixelsOf(p, 1023, 0, 1, 1024)];
      assert.ok(border.every((v) => v === 255));
    });
  }
});

describe('SMPTE RP 133', () => {
  const sm = pattern('SMPTE');

  it('has 11 gray steps 0..100 % in 10 % steps', () => {
    for (let s = 0; s <= 10; s++) {
      const r = region(sm, `step-${s * 10}pct`);
      const v = percentGray(s * 10);
      assert.ok(pixelsOf(sm, r.x, r.y, r.w, r.h).every((p) => p === v), `step ${s * 10} %`);
    }
    assert.deepEqual(
      Array.from({ length: 11 }, (_, s) => percentGray(s * 10)),
      [0, 26, 51, 77, 102, 128, 153, 179, 204, 230, 255],
    );
    assert.equal(at(sm, 184, 208), 0);
    assert.equal(at(sm, 240 + 48, 720 + 48), 255);
  });

  it('has the 5 % patch on 0 % and the 95 % patch on 100 %', () => {
    assert.ok(pixelsOf(sm, 144, 480, 64, 64).every((v) => v === 13));
    assert.ok(pixelsOf(sm, 816, 480, 64, 64).every((v) => v === 242));
    assert.deepEqual([at(sm, 143, 480), at(sm, 96, 432), at(sm, 255, 591)], [0, 0, 0]);
    assert.deepEqual([at(sm, 815, 480), at(sm, 768, 432), at(sm, 927, 591)], [255, 255, 255]);
  });

  it('has high-contrast line pairs 1, 2 and 3 pixels wide in the centre and corners', () => {
    for (const set of ['res-centre', 'res-top-left', 'res-top-right', 'res-bottom-left', 'res-bottom-right']) {
      const v1 = region(sm, `${set}-vertical-1px`);
      assert.deepEqual(pixelsOf(sm, v1.x, v1.y + 30, 6, 1), [0, 255, 0, 255, 0, 255], set);
      const v3 = region(sm, `${set}-vertical-3px`);
      assert.deepEqual(pixelsOf(sm, v3.x, v3.y + 30, 12, 1), [0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255], set);
      const h2 = region(sm, `${set}-horizontal-2px`);
      assert.deepEqual(pixelsOf(sm, h2.x + 30, h2.y, 1, 8), [0, 0, 255, 255, 0, 0, 255, 255], set);
    }
  });

  it('has a 70 % crosshatch of 2-pixel lines on a 50 % background, border included', () => {
    assert.deepEqual([percentGray(50), percentGray(70)], [128, 179]);
    assert.deepEqual([at(sm, 0, 600), at(sm, 1, 600), at(sm, 2, 600), at(sm, 102, 600), at(sm, 103, 600), at(sm, 104, 600)], [179, 179, 128, 179, 179, 128]);
    assert.deepEqual([at(sm, 600, 1022), at(sm, 600, 1023), at(sm, 1023, 600)], [179, 179, 179]);
    assert.equal(at(sm, 50, 400), 128);
  });
});

describe('PNG', () => {
  it('round-trips every pattern pixel-exact as a 1-channel PNG', async () => {
    for (const name of patternNames) {
      const png = await patternPng(name);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      assert.equal(png[25], 0, `${name}: PNG colour type 0 (grayscale)`);
      const back = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([back.info.width, back.info.height, back.info.channels], [1024, 1024, 1], name);
      assert.ok(back.data.equals(Buffer.from(pattern(name).pixels)), `${name}: decoded PNG differs`);
    }
  });
});
