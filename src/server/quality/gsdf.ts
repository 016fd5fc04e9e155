/**
 * The DICOM Grayscale Standard Display Function (PS3.14 §7.1) and the output LUTs built on it.
 *
 * An output LUT maps a P-Value (the output of the Presentation LUT, PS3.4 N.2.1) to the
 * digital driving level (DDL) sent to one display, so that equal steps in P-Value give equal
 * steps in JND index (perceptual linearisation, PS3.14 §7; j linear in the P-Value between
 * j(Lmin) and j(Lmax), as §7.2 and §7.3 spell out for printers). The LUTs follow the contract
 * of the rendering engine's output LUT (`checkOutputLut` in archive/render/gray.ts): 256, 1024
 * or 4096 integer entries 0..255, entry p being the byte written for P-Value p.
 *
 * The display's own response (its Characteristic Curve, PS3.14 §3.1) is either a power law
 * ("gamma", the default model for consumer displays) or a curve measured with a photometer.
 * Luminance here is display luminance without ambient light; the ambient luminance Lamb is
 * added to every level, as PS3.14 §3.1 includes ambient light in the Characteristic Curve and
 * the Display Function.
 */

/** Coefficients of L(j), PS3.14 §7.1: log10 L = (a + c·x + e·x² + g·x³ + m·x⁴) / (1 + b·x + d·x² + f·x³ + h·x⁴ + k·x⁵), x = ln j. */
const A_ = -1.3011877;
const B_ = -2.5840191e-2;
const C_ = 8.0242636e-2;
const D_ = -1.0320229e-1;
const E_ = 1.3646699e-1;
const F_ = 2.874562e-2;
const G_ = -2.5468404e-2;
const H_ = -3.1978977e-3;
const K_ = 1.2992634e-4;
const M_ = 1.3635334e-3;

/** Coefficients A..I of the inverse j(L) = A + B·y + … + I·y⁸, y = log10 L (PS3.14 §7.1, note 1). */
const INVERSE = [71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455, -0.18014349, 0.14710899, -0.017046845] as const;

/** The JND index range of the GSDF (PS3.14 §7.1). */
export const JND_MIN = 1;
export const JND_MAX = 1023;

/** log10 L(j) and its derivative with respect to x = ln j. */
function log10LuminanceAndSlope(j: number): { y: number; dydx: number } {
  const x = Math.log(j);
  const num = A_ + x * (C_ + x * (E_ + x * (G_ + x * M_)));
  const den = 1 + x * (B_ + x * (D_ + x * (F_ + x * (H_ + x * K_))));
  const dnum = C_ + x * (2 * E_ + x * (3 * G_ + x * 4 * M_));
  const dden = B_ + x * (2 * D_ + x * (3 * F_ + x * (4 * H_ + x * 5 * K_)));
  return { y: num / den, dydx: (dnum * den - num * dden) / (den * den) };
}

/**
 * Luminance in cd/m² of JND index j by the GSDF formula of PS3.14 §7.1 (j = 1..1023; non-integer
 * j interpolates, as PS3.14 uses the formula for any start level). Computed in double precision,
 * as PS3.14 §7.1 note 2 recommends.
 * @throws RangeError when j is not a number from 1 to 1023
 */
export function luminanceOfJnd(j: number): number {
  if (!Number.isFinite(j) || j < JND_MIN || j > JND_MAX) throw new RangeError(`the GSDF JND index runs from 1 to 1023, not ${j}`);
  return 10 ** log10LuminanceAndSlope(j).y;
}

/** Smallest and largest luminance of the GSDF: L(1) ≈ 0.05 and L(1023) ≈ 3993 cd/m² (PS3.14 §7.1, Table B-1). */
export const GSDF_MIN_LUMINANCE = luminanceOfJnd(JND_MIN);
export const GSDF_MAX_LUMINANCE = luminanceOfJnd(JND_MAX);

/**
 * The inverse of the GSDF exactly as published in PS3.14 §7.1 note 1: a polynomial of degree 8
 * in log10 L. It approximates the inverse of {@link luminanceOfJnd} to within 0.1 JND; use
 * {@link jndOfLuminance} where a round trip must be exact.
 */
export function jndOfLuminancePublished(luminance: number): number {
  const y = Math.log10(luminance);
  let s = 0;
  for (let i = INVERSE.length - 1; i >= 0; i--) s = s * y + INVERSE[i]!;
  return s;
}

/**
 * JND index of a luminance in cd/m²: the published inverse (PS3.14 §7.1 note 1) refined by
 * Newton's method on the forward formula until L(j) reproduces the luminance to double
 * precision (an iterative method, as PS3.14 §7.1 note 3 allows).
 * @throws RangeError when the luminance lies outside the GSDF range L(1)..L(1023)
 */
export function jndOfLuminance(luminance: number): number {
  if (!Number.isFinite(luminance) || luminance < GSDF_MIN_LUMINANCE * (1 - 1e-12) || luminance > GSDF_MAX_LUMINANCE * (1 + 1e-12)) {
    throw new RangeError(`${luminance} cd/m² lies outside the GSDF range ${fmt(GSDF_MIN_LUMINANCE)}–${fmt(GSDF_MAX_LUMINANCE)} cd/m²`);
  }
  const target = Math.log10(luminance);
  let j = Math.min(JND_MAX, Math.max(JND_MIN, jndOfLuminancePublished(luminance)));
  for (let i = 0; i < 20; i++) {
    const { y, dydx } = log10LuminanceAndSlope(j);
    const step = ((y - target) * j) / dydx; // dy/dj = dy/dx · 1/j
    j = Math.min(JND_MAX, Math.max(JND_MIN, j - step));
    if (Math.abs(step) < 1e-12 * j) break;
  }
  return j;
}

/** A display's native response (Characteristic Curve without ambient light, PS3.14 §3.1). */
export type NativeResponse =
  /** L(d) = Lmin + (Lmax − Lmin)·(d/255)^gamma over DDL d = 0..255. */
  | { kind: 'gamma'; gamma: number }
  /**
   * Photometer readings (cd/m², ambient light excluded) at increasing DDLs from 0 to 255,
   * e.g. the 18 TG18-LN levels; interpolated monotonically in log luminance.
   */
  | { kind: 'measured'; ddl: number[]; luminance: number[] };

/** Options of {@link gsdfLut}. */
export interface GsdfLutOptions {
  /** Display luminance at the darkest level used, cd/m², ambient excluded. */
  lmin: number;
  /** Display luminance at the brightest level used, cd/m², ambient excluded. */
  lmax: number;
  /** Luminance reflected from ambient light, Lamb in cd/m², added to both ends (default 0). */
  ambient?: number;
  /** P-Value depth: 8 gives 256 entries, 10 gives 1024 (default: from `entries`, else 8). */
  bits?: 8 | 10;
  /** Number of LUT entries (P-Values); default 2^bits, i.e. 256. */
  entries?: 256 | 1024 | 4096;
  /** The display's native response; default a power law of gamma 2.2. */
  native?: NativeResponse;
}

/** Everything that identifies a LUT, for {@link buildLut} and {@link describeLut}. */
export type LutProfile =
  | { kind: 'identity'; entries?: 256 | 1024 | 4096 }
  | { kind: 'gamma'; gamma: number; entries?: 256 | 1024 | 4096 }
  | ({ kind: 'gsdf' } & GsdfLutOptions);

/** The default native response of a display not measured: the sRGB-like power law 2.2. */
export const DEFAULT_NATIVE_GAMMA = 2.2;

const DDL_MAX = 255;
const LUT_SIZES = [256, 1024, 4096] as const;

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}

function checkEntries(entries: number): void {
  if (!(LUT_SIZES as readonly number[]).includes(entries)) throw new RangeError(`an output LUT has 256, 1024 or 4096 entries, not ${entries}`);
}

function entriesOf(opts: { bits?: number; entries?: number }): number {
  const { bits, entries } = opts;
  if (bits !== undefined && bits !== 8 && bits !== 10) throw new RangeError(`P-Values have 8 or 10 bits here, not ${bits}`);
  if (entries !== undefined) {
    checkEntries(entries);
    if (bits !== undefined && 2 ** bits !== entries) throw new RangeError(`${bits}-bit P-Values need ${2 ** bits} entries, not ${entries}`);
    return entries;
  }
  return 2 ** (bits ?? 8);
}

/**
 * Monotone piecewise cubic (Fritsch–Carlson) interpolation of y over increasing x, evaluated at
 * every integer from 0 to 255. Monotone data give a monotone curve without overshoot.
 */
function monotoneCurve(xs: number[], ys: number[]): Float64Array {
  const n = xs.length;
  const h: number[] = [];
  const delta: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    h.push(xs[i + 1]! - xs[i]!);
    delta.push((ys[i + 1]! - ys[i]!) / h[i]!);
  }
  const m = new Array<number>(n).fill(0);
  m[0] = delta[0]!;
  m[n - 1] = delta[n - 2]!;
  for (let i = 1; i < n - 1; i++) m[i] = delta[i - 1]! * delta[i]! <= 0 ? 0 : (delta[i - 1]! + delta[i]!) / 2;
  for (let i = 0; i < n - 1; i++) {
    if (delta[i] === 0) {
      m[i] = 0;
      m[i + 1] = 0;
      continue;
    }
    const a = m[i]! / delta[i]!;
    const b = m[i + 1]! / delta[i]!;
    const s = a * a + b * b;
    if (s > 9) {
      const t = 3 / Math.sqrt(s);
      m[i] = t * a * delta[i]!;
      m[i + 1] = t * b * delta[i]!;
    }
  }
  const out = new Float64Array(DDL_MAX + 1);
  let seg = 0;
  for (let d = 0; d <= DDL_MAX; d++) {
    while (seg < n - 2 && d > xs[seg + 1]!) seg++;
    const t = (d - xs[seg]!) / h[seg]!;
    const t2 = t * t;
    const t3 = t2 * t;
    out[d] =
      (2 * t3 - 3 * t2 + 1) * ys[seg]! + (t3 - 2 * t2 + t) * h[seg]! * m[seg]! + (-2 * t3 + 3 * t2) * ys[seg + 1]! + (t3 - t2) * h[seg]! * m[seg + 1]!;
  }
  return out;
}

/**
 * The display luminance (ambient excluded) at every DDL 0..255 under a native response model.
 * @throws RangeError when the model is not usable
 */
export function nativeLuminance(native: NativeResponse, lmin: number, lmax: number): Float64Array {
  if (native.kind === 'gamma') {
    const { gamma } = native;
    if (!Number.isFinite(gamma) || gamma <= 0) throw new RangeError(`a display gamma must be a positive number, not ${gamma}`);
    const out = new Float64Array(DDL_MAX + 1);
    for (let d = 0; d <= DDL_MAX; d++) out[d] = lmin + (lmax - lmin) * (d / DDL_MAX) ** gamma;
    return out;
  }
  const { ddl, luminance } = native;
  if (ddl.length !== luminance.length) throw new RangeError('a measured curve needs one luminance per DDL');
  if (ddl.length < 2) throw new RangeError('a measured curve needs at least two points');
  for (let i = 0; i < ddl.length; i++) {
    const d = ddl[i]!;
    if (!Number.isInteger(d) || d < 0 || d > DDL_MAX) throw new RangeError(`measured DDL ${d} is not an integer from 0 to 255`);
    if (i > 0 && d <= ddl[i - 1]!) throw new RangeError('measured DDLs must increase');
    const l = luminance[i]!;
    if (!Number.isFinite(l) || l <= 0) throw new RangeError(`measured luminance ${l} at DDL ${d} must be a positive number`);
  }
  if (ddl[0] !== 0 || ddl[ddl.length - 1] !== DDL_MAX) throw new RangeError('a measured curve must run from DDL 0 to DDL 255');
  // Photometer noise can make a dark reading dip below its predecessor; the characteristic
  // curve of a working display does not reverse, so readings are held to a running maximum.
  const held: number[] = [];
  for (const l of luminance) held.push(Math.max(l, held.length ? held[held.length - 1]! : 0));
  if (held[held.length - 1]! <= held[0]!) throw new RangeError('the measured luminance does not rise from DDL 0 to DDL 255');
  const logs = monotoneCurve(ddl, held.map((l) => Math.log10(l)));
  return logs.map((y) => 10 ** y);
}

/**
 * The output LUT that calibrates a display to the GSDF (PS3.14 §7, §7.1): P-Value p is given
 * the JND index linear between j(Lmin + Lamb) and j(Lmax + Lamb), hence a target luminance
 * L(j), and the LUT entry is the DDL whose native luminance (plus Lamb) is closest to that
 * target, closeness measured in JND index (perceptually, so that no P-Value lands more than half
 * a DDL step from its target). Entries never decrease. On a display whose native curve spans
 * exactly Lmin..Lmax, P-Value 0 maps to DDL 0 and the last P-Value to DDL 255. Where the
 * display's DDL steps are coarser than the P-Value steps (the dark half of a gamma 2.2 display),
 * neighbouring P-Values share a DDL; longer LUTs (1024, 4096) keep the P-Value precision up to
 * this point but cannot add driving levels an 8-bit output does not have.
 *
 * With a measured curve, Lmin..Lmax may be narrower than the display's range (a calibration to
 * a lower Lmax); it must lie within the measured range, give or take 1 %.
 * @throws RangeError on impossible input: Lmin ≤ 0, Lmax ≤ Lmin, negative ambient, luminance
 *   outside the GSDF range L(1)..L(1023) ≈ 0.05..3993 cd/m² (PS3.14 §7.1), a bad LUT size, a
 *   bad native model, or a target range the measured display cannot reach
 */
export function gsdfLut(opts: GsdfLutOptions): Uint8Array {
  const { lmin, lmax } = opts;
  const ambient = opts.ambient ?? 0;
  if (!Number.isFinite(lmin) || lmin <= 0) throw new RangeError(`Lmin must be a positive luminance, not ${lmin}`);
  if (!Number.isFinite(lmax) || lmax <= lmin) throw new RangeError(`Lmax (${lmax}) must be greater than Lmin (${lmin})`);
  if (!Number.isFinite(ambient) || ambient < 0) throw new RangeError(`the ambient luminance must be 0 or more, not ${ambient}`);
  const lo = lmin + ambient;
  const hi = lmax + ambient;
  if (lo < GSDF_MIN_LUMINANCE) throw new RangeError(`Lmin + Lamb = ${fmt(lo)} cd/m² is below the GSDF range, which starts at ${fmt(GSDF_MIN_LUMINANCE)} cd/m² (PS3.14 §7.1)`);
  if (hi > GSDF_MAX_LUMINANCE) throw new RangeError(`Lmax + Lamb = ${fmt(hi)} cd/m² is beyond the GSDF range, which ends at ${fmt(GSDF_MAX_LUMINANCE)} cd/m² (PS3.14 §7.1)`);
  const entries = entriesOf(opts);
  const native = opts.native ?? { kind: 'gamma', gamma: DEFAULT_NATIVE_GAMMA };
  const display = nativeLuminance(native, lmin, lmax);
  if (native.kind === 'measured') {
    const first = display[0]!;
    const last = display[DDL_MAX]!;
    if (lmin < first * 0.99 || lmax > last * 1.01) {
      throw new RangeError(`the measured display spans ${fmt(first)}–${fmt(last)} cd/m² and cannot show ${fmt(lmin)}–${fmt(lmax)} cd/m²`);
    }
  }
  const jLo = jndOfLuminance(lo);
  const jHi = jndOfLuminance(hi);
  // JND index of every DDL (ambient included); a level outside the GSDF range is held to its end.
  const levels = display.map((l) => jndOfLuminance(Math.min(GSDF_MAX_LUMINANCE, Math.max(GSDF_MIN_LUMINANCE, l + ambient))));
  const out = new Uint8Array(entries);
  let previous = 0;
  for (let p = 0; p < entries; p++) {
    const d = closestLevel(levels, jLo + (p / (entries - 1)) * (jHi - jLo));
    previous = Math.max(previous, d);
    out[p] = previous;
  }
  return out;
}

/**
 * The index whose value is closest to `target` in a non-decreasing table: the first of a run of
 * equal values, except that a target at or above the top value takes the last index.
 */
function closestLevel(table: Float64Array, target: number): number {
  const last = table.length - 1;
  if (target <= table[0]!) return 0;
  if (target >= table[last]!) return last;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid]! < target) lo = mid;
    else hi = mid;
  }
  let best = target - table[lo]! <= table[hi]! - target ? lo : hi;
  while (best > 0 && table[best - 1] === table[best]) best--;
  return best;
}

/**
 * A power-law output LUT: entry p = round(255 · (p / (entries − 1))^(1/gamma)). Sent to a
 * display whose native response is the power law `gamma` (consumer displays: 2.2), it makes
 * luminance proportional to the P-Value: it compensates the display's gamma. For a perceptually
 * linear (GSDF) presentation on such a display use {@link gsdfLut} with
 * `native: { kind: 'gamma', gamma }` and the display's Lmin and Lmax instead.
 * @throws RangeError when gamma is not a positive number or the size is not 256, 1024 or 4096
 */
export function gammaLut(gamma: number, entries: 256 | 1024 | 4096 = 256): Uint8Array {
  if (!Number.isFinite(gamma) || gamma <= 0) throw new RangeError(`gamma must be a positive number, not ${gamma}`);
  checkEntries(entries);
  const out = new Uint8Array(entries);
  for (let p = 0; p < entries; p++) out[p] = Math.round(DDL_MAX * (p / (entries - 1)) ** (1 / gamma));
  return out;
}

/**
 * The identity output LUT: entry p = round(255 · p / (entries − 1)), P-Values passed to the
 * display unchanged (for 256 entries, entry p = p).
 * @throws RangeError when the size is not 256, 1024 or 4096
 */
export function identityLut(entries: 256 | 1024 | 4096 = 256): Uint8Array {
  checkEntries(entries);
  const out = new Uint8Array(entries);
  for (let p = 0; p < entries; p++) out[p] = Math.round((DDL_MAX * p) / (entries - 1));
  return out;
}

/**
 * Builds the LUT of a profile.
 * @throws RangeError as {@link gsdfLut}, {@link gammaLut} and {@link identityLut} do
 */
export function buildLut(profile: LutProfile): Uint8Array {
  switch (profile.kind) {
    case 'identity':
      return identityLut(profile.entries);
    case 'gamma':
      return gammaLut(profile.gamma, profile.entries);
    case 'gsdf':
      return gsdfLut(profile);
  }
}

/**
 * A short label for a LUT profile, for the viewer and the QC log, e.g.
 * "GSDF 0.5–350 cd/m² (ambient 0.2)".
 */
export function describeLut(profile: LutProfile): string {
  switch (profile.kind) {
    case 'identity':
      return 'Identity (no calibration)';
    case 'gamma':
      return `Gamma ${fmt(profile.gamma)} compensation`;
    case 'gsdf': {
      const parts = [`GSDF ${fmt(profile.lmin)}–${fmt(profile.lmax)} cd/m²`];
      if (profile.ambient) parts.push(`(ambient ${fmt(profile.ambient)})`);
      const native = profile.native;
      if (native?.kind === 'measured') parts.push(`on measured display (${native.ddl.length} points)`);
      else if (native && native.gamma !== DEFAULT_NATIVE_GAMMA) parts.push(`on gamma ${fmt(native.gamma)} display`);
      return parts.join(' ');
    }
  }
}
