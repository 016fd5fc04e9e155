/**
 * Display test patterns generated pixel-exact as 8-bit gray at their native size, for the
 * visual checks of JESRA X-0093 (daily overall evaluation) and AAPM TG18 (On-line Report
 * No. 03): TG18-QC, TG18-UN10, TG18-UN80, and the SMPTE RP 133 pattern.
 *
 * Each pattern is a list of regions painted in order (a later region covers an earlier one
 * where they overlap), and the pixels are painted from that list, so the description and the
 * pixels cannot disagree. A browser test shows a pattern at 1:1 and compares the screenshot
 * with {@link renderPattern}'s pixels; {@link describePattern} lists what each region holds.
 *
 * Fidelity: the elements and their values follow the TG18 and SMPTE descriptions (in 8-bit
 * levels), but the geometry is Enkaku's own: the published TG18-QC and
 * RP 133 bitmaps are not copied, and the letters "QUALITY CONTROL" are drawn as one block per
 * letter. Percent gray levels are round(p · 255 / 100): 5 % → 13, 10 % → 26, 50 % → 128,
 * 70 % → 179, 80 % → 204, 95 % → 242.
 */
import sharp from 'sharp';

/** How a region is filled. */
export type RegionFill =
  /** Every pixel has `value`. */
  | { kind: 'solid'; value: number }
  /**
   * A ramp along `axis` ('x': left to right, 'y': top to bottom): the pixel at offset i of n
   * along the axis has round(from + (to − from) · i / (n − 1)).
   */
  | { kind: 'ramp'; axis: 'x' | 'y'; from: number; to: number }
  /**
   * Stripes `width` pixels wide alternating `a`, `b` (starting with `a` at the region's left or
   * top edge): 'vertical' stripes alternate along x, 'horizontal' ones along y. Width 1 is the
   * display's Nyquist frequency (one line pair per 2 pixels), width 2 half of it.
   */
  | { kind: 'stripes'; orientation: 'vertical' | 'horizontal'; width: number; a: number; b: number };

/** One rectangle of a pattern. */
export interface PatternRegion {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** The value of every pixel of a solid region (not covered by a later region). */
  value?: number;
  fill: RegionFill;
}

/** A rendered pattern: row-major 8-bit gray pixels and the regions that made them. */
export interface RenderedPattern {
  name: PatternName;
  width: number;
  height: number;
  pixels: Uint8Array;
  regions: PatternRegion[];
}

/** The patterns there are. */
export const patternNames = ['TG18-QC', 'TG18-UN10', 'TG18-UN80', 'SMPTE'] as const;
export type PatternName = (typeof patternNames)[number];

/** Gray level of p percent of the 8-bit range: round(p · 255 / 100). */
export function percentGray(p: number): number {
  return Math.round((p * 255) / 100);
}

const SIZE = 1024;
const WHITE = 255;
const BLACK = 0;

function solid(name: string, x: number, y: number, w: number, h: number, value: number): PatternRegion {
  return { name, x, y, w, h, value, fill: { kind: 'solid', value } };
}

function stripes(name: string, x: number, y: number, size: number, orientation: 'vertical' | 'horizontal', width: number, a: number, b: number): PatternRegion {
  return { name, x, y, w: size, h: size, fill: { kind: 'stripes', orientation, width, a, b } };
}

/**
 * The value a region's fill gives the pixel at image coordinates (x, y) inside it.
 * @throws RangeError when (x, y) lies outside the region
 */
export function regionValueAt(region: PatternRegion, x: number, y: number): number {
  const dx = x - region.x;
  const dy = y - region.y;
  if (dx < 0 || dy < 0 || dx >= region.w || dy >= region.h) throw new RangeError(`(${x}, ${y}) is outside region ${region.name}`);
  const f = region.fill;
  switch (f.kind) {
    case 'solid':
      return f.value;
    case 'ramp': {
      const [i, n] = f.axis === 'x' ? [dx, region.w] : [dy, region.h];
      return Math.round(f.from + ((f.to - f.from) * i) / (n - 1));
    }
    case 'stripes': {
      const i = f.orientation === 'vertical' ? dx : dy;
      return Math.floor(i / f.width) % 2 === 0 ? f.a : f.b;
    }
  }
}

/**
 * The value of TG18-QC luminance patch k (k = 0..15): 8 + 16k, sixteen levels spread evenly
 * over 0..255 with half a step at each end (8, 24, …, 248), as 8-bit renditions of the pattern
 * use.
 */
export function tg18QcPatchValue(k: number): number {
  return 8 + 16 * k;
}

/** The low-contrast squares in the corners of each TG18-QC luminance patch differ from it by this much (8-bit levels). */
export const TG18_QC_CORNER_CONTRAST = 4;

/** Letters of "QUALITY CONTROL" and their contrast to the panel: 14 for "Q" down to 1 for the last "L". */
const LETTERS = 'QUALITYCONTROL';

/** Line-pair blocks: 4 columns (vertical 1 px, horizontal 1 px, vertical 2 px, horizontal 2 px), high contrast over low contrast. */
function lineSet(prefix: string, x: number, y: number): PatternRegion[] {
  const out: PatternRegion[] = [];
  const rows: Array<[string, number, number]> = [
    ['high', BLACK, WHITE],
    ['low', 128, 130],
  ];
  rows.forEach(([contrast, a, b], r) => {
    const cols: Array<['vertical' | 'horizontal', number]> = [
      ['vertical', 1],
      ['horizontal', 1],
      ['vertical', 2],
      ['horizontal', 2],
    ];
    cols.forEach(([orientation, width], c) => {
      out.push(stripes(`${prefix}-${contrast}-${orientation}-${width}px`, x + c * 64, y + r * 64, 64, orientation, width, a, b));
    });
  });
  return out;
}

/**
 * TG18-QC (AAPM TG18 OR-03, TG18-QC pattern), 1024 × 1024:
 * - background 128 with a 1-pixel white (255) grid every 64 pixels and a 1-pixel white border;
 * - 16 luminance patches 96 × 96, values 8 + 16k (k = 0..15; top row k = 0..7, bottom row
 *   8..15, left to right), each with 16 × 16 squares 8 pixels in from its corners at value − 4
 *   (top-left, bottom-right) and value + 4 (top-right, bottom-left);
 * - a black (0) cell 128 × 128 holding a 32 × 32 patch at 5 % (13), and a white (255) cell
 *   holding a patch at 95 % (242);
 * - ramps 32 × 672 at both sides: 0 → 255 downwards on the left, 255 → 0 on the right;
 * - line-pair sets (256 × 128) in the centre and the four corners: columns vertical 1 px,
 *   horizontal 1 px, vertical 2 px, horizontal 2 px; top row 0/255, bottom row 128/130;
 * - "QUALITY CONTROL" on three 256 × 64 panels (0, 128, 255), one 12 × 32 block per letter at
 *   contrast 14 down to 1 (dark panel: 14..1, mid panel: 142..129, light panel: 241..254).
 */
function tg18Qc(): PatternRegion[] {
  const r: PatternRegion[] = [solid('background', 0, 0, SIZE, SIZE, 128)];
  for (let g = 64; g < SIZE; g += 64) {
    r.push(solid(`grid-x${g}`, g, 0, 1, SIZE, WHITE));
    r.push(solid(`grid-y${g}`, 0, g, SIZE, 1, WHITE));
  }
  r.push(solid('border-top', 0, 0, SIZE, 1, WHITE), solid('border-bottom', 0, SIZE - 1, SIZE, 1, WHITE));
  r.push(solid('border-left', 0, 0, 1, SIZE, WHITE), solid('border-right', SIZE - 1, 0, 1, SIZE, WHITE));
  r.push({ name: 'ramp-left', x: 16, y: 176, w: 32, h: 672, fill: { kind: 'ramp', axis: 'y', from: 0, to: 255 } });
  r.push({ name: 'ramp-right', x: 976, y: 176, w: 32, h: 672, fill: { kind: 'ramp', axis: 'y', from: 255, to: 0 } });
  for (let k = 0; k < 16; k++) {
    const x = 128 + (k % 8) * 96;
    const y = k < 8 ? 176 : 624;
    const v = tg18QcPatchValue(k);
    const lo = v - TG18_QC_CORNER_CONTRAST;
    const hi = v + TG18_QC_CORNER_CONTRAST;
    r.push(solid(`patch-${k}`, x, y, 96, 96, v));
    r.push(solid(`patch-${k}-corner-tl`, x + 8, y + 8, 16, 16, lo));
    r.push(solid(`patch-${k}-corner-tr`, x + 72, y + 8, 16, 16, hi));
    r.push(solid(`patch-${k}-corner-bl`, x + 8, y + 72, 16, 16, hi));
    r.push(solid(`patch-${k}-corner-br`, x + 72, y + 72, 16, 16, lo));
  }
  r.push(solid('black-cell', 208, 448, 128, 128, BLACK), solid('patch-5pct', 256, 496, 32, 32, percentGray(5)));
  r.push(solid('white-cell', 688, 448, 128, 128, WHITE), solid('patch-95pct', 736, 496, 32, 32, percentGray(95)));
  r.push(...lineSet('lp-centre', 384, 448));
  r.push(...lineSet('lp-top-left', 64, 16), ...lineSet('lp-top-right', 704, 16));
  r.push(...lineSet('lp-bottom-left', 64, 880), ...lineSet('lp-bottom-right', 704, 880));
  const panels: Array<[string, number, number]> = [
    ['dark', BLACK, 1],
    ['mid', 128, 1],
    ['light', WHITE, -1],
  ];
  panels.forEach(([name, bg, sign], i) => {
    const px = 128 + i * 256;
    r.push(solid(`letters-${name}`, px, 752, 256, 64, bg));
    for (let l = 0; l < LETTERS.length; l++) {
      const contrast = LETTERS.length - l;
      r.push(solid(`letters-${name}-${l}-${LETTERS[l]}`, px + 16 + l * 16, 768, 12, 32, bg + sign * contrast));
    }
  });
  return r;
}

/**
 * TG18-UN10 and TG18-UN80 (AAPM TG18 OR-03, luminance uniformity patterns), 1024 × 1024:
 * uniform 10 % (26) or 80 % (204) gray with a 1-pixel border at 255 marking the image edge.
 */
function tg18Un(percent: number): PatternRegion[] {
  const v = percentGray(percent);
  return [
    solid('uniform', 0, 0, SIZE, SIZE, v),
    solid('border-top', 0, 0, SIZE, 1, WHITE),
    solid('border-bottom', 0, SIZE - 1, SIZE, 1, WHITE),
    solid('border-left', 0, 0, 1, SIZE, WHITE),
    solid('border-right', SIZE - 1, 0, 1, SIZE, WHITE),
  ];
}

/** One SMPTE resolution patch (192 × 128): stripes 1, 2 and 3 pixels wide, 0/255, vertical over horizontal. */
function smpteResolution(prefix: string, x: number, y: number): PatternRegion[] {
  const out: PatternRegion[] = [];
  (['vertical', 'horizontal'] as const).forEach((orientation, row) => {
    for (let width = 1; width <= 3; width++) {
      out.push(stripes(`${prefix}-${orientation}-${width}px`, x + (width - 1) * 64, y + row * 64, 64, orientation, width, BLACK, WHITE));
    }
  });
  return out;
}

/**
 * SMPTE RP 133 medical diagnostic imaging test pattern, 1024 × 1024:
 * - background 50 % (128);
 * - crosshatch of 2-pixel lines at 70 % (179) dividing the image into 10 × 10 boxes (lines at
 *   round(i · 1022 / 10) for i = 0..10, so the outer lines are the border);
 * - 11 gray steps 96 × 96 at 0, 10, …, 100 %: 0–50 % in the top row left to right, 60–100 % in
 *   the bottom row right to left (a ring around the centre);
 * - a 0 % square 160 × 160 holding a 64 × 64 patch at 5 % (13), and a 100 % square holding a
 *   patch at 95 % (242);
 * - resolution patches (192 × 128) in the centre and the four corners: stripes 1, 2 and 3 pixels
 *   wide at 0/255, vertical stripes over horizontal ones.
 */
function smpte(): PatternRegion[] {
  const r: PatternRegion[] = [solid('background', 0, 0, SIZE, SIZE, percentGray(50))];
  const line = percentGray(70);
  for (let i = 0; i <= 10; i++) {
    const at = Math.round((i * (SIZE - 2)) / 10);
    r.push(solid(`crosshatch-x${at}`, at, 0, 2, SIZE, line));
    r.push(solid(`crosshatch-y${at}`, 0, at, SIZE, 2, line));
  }
  for (let s = 0; s <= 10; s++) {
    const top = s <= 5;
    const x = top ? 184 + s * 112 : 240 + (10 - s) * 112;
    const y = top ? 208 : 720;
    r.push(solid(`step-${s * 10}pct`, x, y, 96, 96, percentGray(s * 10)));
  }
  r.push(solid('black-square', 96, 432, 160, 160, percentGray(0)), solid('patch-5pct', 144, 480, 64, 64, percentGray(5)));
  r.push(solid('white-square', 768, 432, 160, 160, percentGray(100)), solid('patch-95pct', 816, 480, 64, 64, percentGray(95)));
  r.push(...smpteResolution('res-centre', 416, 448));
  r.push(...smpteResolution('res-top-left', 32, 32), ...smpteResolution('res-top-right', 800, 32));
  r.push(...smpteResolution('res-bottom-left', 32, 864), ...smpteResolution('res-bottom-right', 800, 864));
  return r;
}

function regionsOf(name: PatternName): PatternRegion[] {
  switch (name) {
    case 'TG18-QC':
      return tg18Qc();
    case 'TG18-UN10':
      return tg18Un(10);
    case 'TG18-UN80':
      return tg18Un(80);
    case 'SMPTE':
      return smpte();
  }
}

/**
 * Renders a test pattern at its native size (1024 × 1024, one byte per pixel, rows top to
 * bottom), to be shown at 1:1 without scaling or calibration LUTs beyond the viewer's own.
 * @throws RangeError for an unknown pattern name
 */
export function renderPattern(name: PatternName): RenderedPattern {
  if (!(patternNames as readonly string[]).includes(name)) throw new RangeError(`unknown test pattern ${String(name)}; known: ${patternNames.join(', ')}`);
  const regions = regionsOf(name);
  const pixels = new Uint8Array(SIZE * SIZE);
  for (const region of regions) {
    for (let y = region.y; y < region.y + region.h; y++) {
      const row = y * SIZE;
      if (region.fill.kind === 'solid') {
        pixels.fill(region.fill.value, row + region.x, row + region.x + region.w);
        continue;
      }
      for (let x = region.x; x < region.x + region.w; x++) pixels[row + x] = regionValueAt(region, x, y);
    }
  }
  return { name, width: SIZE, height: SIZE, pixels, regions };
}

function describeFill(f: RegionFill): string {
  switch (f.kind) {
    case 'solid':
      return `${f.value}`;
    case 'ramp':
      return `ramp ${f.from}→${f.to} along ${f.axis}`;
    case 'stripes':
      return `${f.orientation} stripes ${f.width}px ${f.a}/${f.b}`;
  }
}

/**
 * A listing of a pattern's regions in painting order, one per line: name, x, y, w×h and the
 * value (or the fill of a non-uniform region). Later lines cover earlier ones where they overlap.
 */
export function describePattern(name: PatternName): string {
  return regionsOf(name)
    .map((r) => `${r.name}\t${r.x},${r.y}\t${r.w}x${r.h}\t${describeFill(r.fill)}`)
    .join('\n');
}

/**
 * A pattern as a one-channel 8-bit PNG that decodes to exactly {@link renderPattern}'s pixels,
 * or, given a 256-entry output LUT (a terminal's display calibration), to lut[pixel].
 * @throws RangeError for an unknown pattern name or a LUT that is not 256 entries
 */
export async function patternPng(name: PatternName, lut?: Uint8Array): Promise<Buffer> {
  const rendered = renderPattern(name);
  const { width, height } = rendered;
  let { pixels } = rendered;
  if (lut) {
    if (lut.length !== 256) throw new RangeError(`a pattern is mapped through a 256-entry LUT, not ${lut.length}`);
    pixels = pixels.map((v) => lut[v]!);
  }
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6 })
    .toBuffer();
}
