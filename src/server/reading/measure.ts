/**
 * Measurements on the original pixels (issue 6, Q4): lengths, angles and region-of-interest
 * statistics computed from modality values (stored values through the Modality LUT, PS3.4
 * N.2.1.1: Hounsfield units for CT), never from the rendered 8-bit image.
 *
 * Coordinates are image pixel coordinates as in PS3.3 C.10.5.1.2 (Graphic Data in PIXEL
 * units): x along a row to the right, y down the columns, (0, 0) the top left corner of the
 * top left pixel and (0.5, 0.5) its centre. A pixel belongs to an ROI when its centre lies
 * inside the shape. Physical distances use Pixel Spacing (0028,0030), whose first value is
 * the spacing between rows (the y direction) and the second between columns (x) (PS3.3
 * 10.7.1.3); lacking it, Imager Pixel Spacing (0018,1164), which is at the detector plane.
 */
import type { ImagePoint, MeasurementResult, RoiStatistics } from '../../shared/api.ts';
import type { MeasurementAttributes, ModalityFrame } from '../archive/index.ts';
import { AppError } from '../platform/errors.ts';

/** Spacing between pixel centres, mm. */
export type Spacing = MeasurementResult['spacing'];

/** The spacing to measure with and what the reader should know about it. */
export function spacingOf(a: MeasurementAttributes): { spacing: Spacing; notes: string[] } {
  if (a.pixelSpacing) {
    const [row, column] = a.pixelSpacing;
    const notes: string[] = [];
    if (a.pixelSpacingCalibrationType) notes.push(`Pixel Spacing was calibrated (${a.pixelSpacingCalibrationType}, 0028,0A02)`);
    else if (a.imagerPixelSpacing && a.imagerPixelSpacing[0] === row && a.imagerPixelSpacing[1] === column) {
      notes.push('Pixel Spacing equals Imager Pixel Spacing: distances are at the detector plane, not corrected for geometric magnification (PS3.3 10.7.1.3)');
    }
    return { spacing: { row, column, source: 'PixelSpacing' }, notes };
  }
  if (a.imagerPixelSpacing) {
    const [row, column] = a.imagerPixelSpacing;
    return {
      spacing: { row, column, source: 'ImagerPixelSpacing' },
      notes: ['measured with Imager Pixel Spacing (0018,1164): distances are at the detector plane; in the patient they are smaller by the geometric magnification'],
    };
  }
  return { spacing: { row: 1, column: 1, source: 'none' }, notes: ['the image has no pixel spacing: lengths and areas are in pixels only'] };
}

/** The unit of the modality values: HU for CT (PS3.3 C.8.2.1.1), else the Rescale Type, else none. */
export function unitOf(a: MeasurementAttributes): string {
  if (a.modality === 'CT' && (a.rescaleType === '' || a.rescaleType.toUpperCase() === 'HU')) return 'HU';
  const t = a.rescaleType;
  return t === '' || t.toUpperCase() === 'US' ? '' : t;
}

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

/** Length between two points: in mm along the spacing (null without one), and in pixels. */
export function lengthOf(p: readonly ImagePoint[], s: Spacing): { mm: number | null; pixels: number } {
  if (p.length !== 2) bad('a length takes two points');
  const dx = p[1]!.x - p[0]!.x;
  const dy = p[1]!.y - p[0]!.y;
  return { mm: s.source === 'none' ? null : Math.hypot(dx * s.column, dy * s.row), pixels: Math.hypot(dx, dy) };
}

/** The angle at the middle of three points, degrees 0..180, measured in physical space (pixels need not be square). */
export function angleOf(p: readonly ImagePoint[], s: Spacing): number {
  if (p.length !== 3) bad('an angle takes three points, the vertex in the middle');
  const [a, v, c] = p as [ImagePoint, ImagePoint, ImagePoint];
  const ux = (a.x - v.x) * s.column;
  const uy = (a.y - v.y) * s.row;
  const wx = (c.x - v.x) * s.column;
  const wy = (c.y - v.y) * s.row;
  const nu = Math.hypot(ux, uy);
  const nw = Math.hypot(wx, wy);
  if (nu === 0 || nw === 0) bad('the arms of an angle must have a length');
  const cos = Math.min(1, Math.max(-1, (ux * wx + uy * wy) / (nu * nw)));
  return (Math.acos(cos) * 180) / Math.PI;
}

/** Whether a point lies inside a polygon (even-odd rule). */
function insidePolygon(poly: readonly ImagePoint[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** ROI shapes. */
export type RoiShape = 'ellipse' | 'rectangle' | 'polygon';

/**
 * Statistics of the modality values whose pixel centres lie inside the shape: count, area,
 * mean, sample standard deviation (n − 1), min and max. Pixels holding Pixel Padding Value
 * (outside the reconstructed field) are counted apart and left out.
 * @throws AppError bad_request for a malformed shape or one that holds no pixel centre;
 *   unprocessable for a colour image (no modality values)
 */
export function roiStatistics(frame: ModalityFrame, shape: RoiShape, p: readonly ImagePoint[], s: Spacing): RoiStatistics {
  const { values, padding, width, height } = frame;
  if (!values) throw new AppError('unprocessable', 'ROI statistics need a grayscale image; colour images have no modality values');
  let inside: (x: number, y: number) => boolean;
  if (shape === 'polygon') {
    if (p.length < 3) bad('a polygon takes at least three points');
    inside = (x, y) => insidePolygon(p, x, y);
  } else {
    if (p.length !== 2) bad(`a ${shape} takes two opposite corners of its bounding box`);
    const x0 = Math.min(p[0]!.x, p[1]!.x);
    const x1 = Math.max(p[0]!.x, p[1]!.x);
    const y0 = Math.min(p[0]!.y, p[1]!.y);
    const y1 = Math.max(p[0]!.y, p[1]!.y);
    if (shape === 'rectangle') inside = (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
    else {
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      const rx = (x1 - x0) / 2;
      const ry = (y1 - y0) / 2;
      if (rx === 0 || ry === 0) bad('an ellipse must have a width and a height');
      inside = (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
    }
  }
  const xs = p.map((q) => q.x);
  const ys = p.map((q) => q.y);
  const i0 = Math.max(0, Math.floor(Math.min(...xs)));
  const i1 = Math.min(width - 1, Math.ceil(Math.max(...xs)));
  const j0 = Math.max(0, Math.floor(Math.min(...ys)));
  const j1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  const picked: number[] = [];
  let paddingPixels = 0;
  for (let j = j0; j <= j1; j++) {
    for (let i = i0; i <= i1; i++) {
      if (!inside(i + 0.5, j + 0.5)) continue;
      const k = j * width + i;
      if (padding && padding[k]) paddingPixels++;
      else picked.push(values[k]!);
    }
  }
  if (picked.length === 0) bad(paddingPixels ? 'the ROI holds only padding pixels (outside the scanned field)' : 'the ROI holds no pixel centre; draw it larger');
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of picked) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = picked.length;
  const mean = sum / n;
  // Two passes: the squared deviations from the mean, then the small correction term (compensated).
  let ss = 0;
  let comp = 0;
  for (const v of picked) {
    const d = v - mean;
    ss += d * d;
    comp += d;
  }
  const variance = n > 1 ? (ss - (comp * comp) / n) / (n - 1) : 0;
  return {
    pixels: n,
    paddingPixels,
    areaMm2: s.source === 'none' ? null : n * s.row * s.column,
    mean,
    sd: Math.sqrt(Math.max(0, variance)),
    min,
    max,
  };
}

/**
 * Checks that points are finite and lie on the image (0..width, 0..height).
 * @throws AppError bad_request
 */
export function checkPoints(points: readonly ImagePoint[], width: number, height: number): void {
  points.forEach((q, i) => {
    if (!(q.x >= 0 && q.x <= width && q.y >= 0 && q.y <= height)) bad(`point ${i + 1} (${q.x}, ${q.y}) lies outside the ${width}×${height} image`);
  });
}
