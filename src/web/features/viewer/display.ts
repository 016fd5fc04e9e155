/**
 * Display geometry and honesty about it (REQUIREMENTS Q3).
 *
 * The zoom of a viewport is kept as the number of **device pixels per image pixel**, the
 * only ratio that says whether image pixels are being dropped: below 1 several image
 * pixels share one screen pixel; at exactly 1 each image pixel is one device pixel
 * (so a CSS pixel is `1 / devicePixelRatio` image pixels on a high-density screen); above
 * 1 the image is magnified and the interpolation in use decides what the reader sees.
 *
 * The viewport canvas has one backing pixel per device pixel, and the image is drawn into
 * it with an affine transform whose translation is snapped to whole device pixels, so that
 * at 1:1 the canvas holds exactly the rendered image's pixels.
 */

export type Rotation = 0 | 90 | 180 | 270;
export type Interpolation = 'nearest' | 'smooth';

/** How the image sits in a viewport. */
export interface ViewTransform {
  /** Device pixels per image pixel, or `fit` (the largest scale that shows the whole image). */
  zoom: number | 'fit';
  /** Offset of the image centre from the viewport centre, in device pixels. */
  panX: number;
  panY: number;
  rotation: Rotation;
  /** Mirror left-right / top-bottom (in image space, before rotation). */
  flipH: boolean;
  flipV: boolean;
}

export const INITIAL_TRANSFORM: ViewTransform = { zoom: 'fit', panX: 0, panY: 0, rotation: 0, flipH: false, flipV: false };

/** A 2D affine matrix as the canvas takes it: x' = a x + c y + e, y' = b x + d y + f. */
export interface Matrix {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** The scale at which the whole (rotated) image fits a canvas of `cw` × `ch` device pixels. */
export function fitScale(cw: number, ch: number, width: number, height: number, rotation: Rotation): number {
  if (width <= 0 || height <= 0 || cw <= 0 || ch <= 0) return 1;
  const [w, h] = rotation === 90 || rotation === 270 ? [height, width] : [width, height];
  return Math.min(cw / w, ch / h);
}

/** The effective scale (device pixels per image pixel) of a view in a canvas. */
export function effectiveScale(view: ViewTransform, cw: number, ch: number, width: number, height: number): number {
  return view.zoom === 'fit' ? fitScale(cw, ch, width, height, view.rotation) : view.zoom;
}

const COS: Record<Rotation, number> = { 0: 1, 90: 0, 180: -1, 270: 0 };
const SIN: Record<Rotation, number> = { 0: 0, 90: 1, 180: 0, 270: -1 };

/**
 * The matrix that draws an image of `width` × `height` pixels into a canvas of `cw` × `ch`
 * device pixels. The image's top-left corner (after rotation and flips) lands on a whole
 * device pixel, so that at scale 1 (and whole-number magnifications) image pixels and
 * device pixels line up exactly.
 */
export function imageMatrix(view: ViewTransform, cw: number, ch: number, width: number, height: number): Matrix {
  const s = effectiveScale(view, cw, ch, width, height);
  const cos = COS[view.rotation];
  const sin = SIN[view.rotation];
  const sx = s * (view.flipH ? -1 : 1);
  const sy = s * (view.flipV ? -1 : 1);
  // R(θ) · S(sx, sy): columns (a, b) and (c, d).
  const a = cos * sx;
  const b = sin * sx;
  const c = -sin * sy;
  const d = cos * sy;
  // The image centre goes to the canvas centre plus the pan.
  const mx = width / 2;
  const my = height / 2;
  let e = cw / 2 + view.panX - (a * mx + c * my);
  let f = ch / 2 + view.panY - (b * mx + d * my);
  const xs = [e, a * width + e, c * height + e, a * width + c * height + e];
  const ys = [f, b * width + f, d * height + f, b * width + d * height + f];
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  e += Math.round(minX) - minX;
  f += Math.round(minY) - minY;
  return { a, b, c, d, e, f };
}

/** Image coordinates (pixels, may be fractional) of a canvas point in device pixels. */
export function toImage(m: Matrix, x: number, y: number): { x: number; y: number } {
  const det = m.a * m.d - m.b * m.c;
  const dx = x - m.e;
  const dy = y - m.f;
  return { x: (m.d * dx - m.c * dy) / det, y: (-m.b * dx + m.a * dy) / det };
}

/** Canvas point (device pixels) of image coordinates. */
export function toCanvas(m: Matrix, x: number, y: number): { x: number; y: number } {
  return { x: m.a * x + m.c * y + m.e, y: m.b * x + m.d * y + m.f };
}

/** Whether a scale is exactly one image pixel per device pixel. */
export function isOneToOne(scale: number): boolean {
  return Math.abs(scale - 1) < 1e-9;
}

function trim(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * The zoom ratio as "image pixels : screen pixels": `1:1`, `1:2.5` when magnified,
 * `2:1` when two image pixels share one screen pixel.
 */
export function ratioLabel(scale: number): string {
  if (isOneToOne(scale)) return '1:1';
  return scale > 1 ? `1:${trim(scale)}` : `${trim(1 / scale)}:1`;
}

/** What the reader must be told about the pixels on screen. */
export type Fidelity = 'reduced' | 'exact' | 'magnified';

export function fidelityOf(scale: number): Fidelity {
  if (isOneToOne(scale)) return 'exact';
  return scale < 1 ? 'reduced' : 'magnified';
}

/** Zoom levels the zoom keys step through (whole-number magnifications show pixels as squares). */
const ZOOM_STEPS = [0.125, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16];

/** The next zoom level up (`+1`) or down (`-1`) from `scale`. */
export function zoomStep(scale: number, direction: 1 | -1): number {
  if (direction > 0) return ZOOM_STEPS.find((z) => z > scale + 1e-6) ?? ZOOM_STEPS[ZOOM_STEPS.length - 1]!;
  return [...ZOOM_STEPS].reverse().find((z) => z < scale - 1e-6) ?? ZOOM_STEPS[0]!;
}

/** Limits a continuous zoom (mouse) to a sensible range. */
export function clampZoom(scale: number): number {
  return Math.min(32, Math.max(1 / 16, scale));
}

/**
 * The pan that keeps the image point under the canvas point (`px`, `py`, device pixels)
 * in place when the scale changes from `from` to `to`.
 */
export function panForZoomAt(view: ViewTransform, cw: number, ch: number, px: number, py: number, from: number, to: number): { panX: number; panY: number } {
  const cx = px - cw / 2;
  const cy = py - ch / 2;
  const k = to / from;
  return { panX: cx - (cx - view.panX) * k, panY: cy - (cy - view.panY) * k };
}

/** The next rotation clockwise (`+1`) or counter-clockwise (`-1`). */
export function rotate(rotation: Rotation, direction: 1 | -1): Rotation {
  return (((rotation + direction * 90) % 360) + 360) % 360 as Rotation;
}
