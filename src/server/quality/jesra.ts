/**
 * Measured checks of a reading display: the contrast response against the GSDF (AAPM TG18
 * OR-03 §4.3, adopted by JESRA X-0093) and the pass/fail judgement of a constancy test by the
 * management grade of JESRA X-0093*B-2017 (JIRA, 医用画像表示用モニタの品質管理に関する
 * ガイドライン).
 *
 * Sources of the limits (see {@link GRADE_LIMITS}): the grade table of JESRA X-0093*B-2017 §4
 * 管理グレードの分類 (1A: Lmax ≥ 350 cd/m², luminance ratio ≥ 250, κδ within ±10 %; 1B: ≥ 170,
 * ≥ 250, ±15 %; 2: ≥ 100, ≥ 100, ±30 %), applied in the constancy tests of §6.5.4 定期的に行う試験.
 * The JRS teleradiology guideline 2023 (§5-1 (3), ref. 10) cites the 2024 revision X-0093*C-2024;
 * its grade values are taken to be unchanged. The luminance ratio is judged with ambient light
 * included (L'max/L'min, L' = L + Lamb), as AAPM TG18 OR-03 does.
 */
import { jndOfLuminance, luminanceOfJnd } from './gsdf.ts';

/** One photometer reading: the driving level (P-Value of the test patch) and the luminance, cd/m², ambient excluded. */
export interface LuminanceReading {
  ddl: number;
  luminance: number;
}

/** The contrast response over one interval between consecutive readings. */
export interface ContrastStep {
  fromDdl: number;
  toDdl: number;
  /** Observed contrast per JND, δ = 2(L'₂ − L'₁) / ((L'₂ + L'₁)(J₂ − J₁)). */
  observed: number;
  /** The same quantity for the GSDF luminances at J₁ and J₂. */
  expected: number;
  /** (observed − expected) / expected. */
  deviation: number;
}

/** Result of {@link contrastResponse}. */
export interface ContrastResponse {
  steps: ContrastStep[];
  /** κδ: the largest |deviation| over the steps, as a fraction (0.1 = 10 %). */
  maxDeviation: number;
  /** L'min and L'max: the first and last readings plus Lamb. */
  lminPrime: number;
  lmaxPrime: number;
}

/**
 * The contrast response of a display from luminance readings at increasing driving levels
 * (TG18-LN, 18 levels in TG18 OR-03 §4.3 and JESRA X-0093), with Lamb added to every reading:
 * each reading is assigned the JND index the GSDF gives its level, J linear between
 * j(L'min) and j(L'max) over the levels (PS3.14 §7: equal P-Value steps, equal JND steps), and
 * for each interval the observed contrast per JND, dL/L divided by the JND difference, is
 * compared with the GSDF's own contrast per JND over the same JND interval. κδ is the largest
 * relative deviation (TG18 OR-03 §4.3 luminance response; JESRA X-0093 コントラスト応答).
 * @param measured readings at distinct driving levels (sorted here); at least three
 * @param lamb ambient luminance Lamb, cd/m², 0 or more
 * @throws RangeError when there are fewer than three readings, a level repeats, a luminance is
 *   not positive, the last reading is not brighter than the first, or L' leaves the GSDF range
 */
export function contrastResponse(measured: LuminanceReading[], lamb: number): ContrastResponse {
  if (!Number.isFinite(lamb) || lamb < 0) throw new RangeError(`Lamb must be 0 or more, not ${lamb}`);
  if (measured.length < 3) throw new RangeError('the contrast response needs at least three readings (TG18-LN uses 18)');
  const readings = [...measured].sort((a, b) => a.ddl - b.ddl);
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    if (!Number.isFinite(r.ddl)) throw new RangeError(`driving level ${r.ddl} is not a number`);
    if (i > 0 && r.ddl === readings[i - 1]!.ddl) throw new RangeError(`driving level ${r.ddl} is read twice`);
    if (!Number.isFinite(r.luminance) || r.luminance <= 0) throw new RangeError(`luminance ${r.luminance} at level ${r.ddl} must be a positive number`);
  }
  const first = readings[0]!;
  const last = readings[readings.length - 1]!;
  const lminPrime = first.luminance + lamb;
  const lmaxPrime = last.luminance + lamb;
  if (lmaxPrime <= lminPrime) throw new RangeError('the brightest level must be brighter than the darkest');
  const jLo = jndOfLuminance(lminPrime);
  const jHi = jndOfLuminance(lmaxPrime);
  const jOf = (ddl: number): number => jLo + ((ddl - first.ddl) / (last.ddl - first.ddl)) * (jHi - jLo);
  const contrast = (l1: number, l2: number, j1: number, j2: number): number => (2 * (l2 - l1)) / ((l2 + l1) * (j2 - j1));
  const steps: ContrastStep[] = [];
  let maxDeviation = 0;
  for (let i = 0; i + 1 < readings.length; i++) {
    const a = readings[i]!;
    const b = readings[i + 1]!;
    const j1 = jOf(a.ddl);
    const j2 = jOf(b.ddl);
    const observed = contrast(a.luminance + lamb, b.luminance + lamb, j1, j2);
    const expected = contrast(luminanceOfJnd(j1), luminanceOfJnd(j2), j1, j2);
    const deviation = (observed - expected) / expected;
    maxDeviation = Math.max(maxDeviation, Math.abs(deviation));
    steps.push({ fromDdl: a.ddl, toDdl: b.ddl, observed, expected, deviation });
  }
  return { steps, maxDeviation, lminPrime, lmaxPrime };
}

/** Management grades of JESRA X-0093*B-2017 §4. */
export type JesraGrade = '1A' | '1B' | '2';

/** Limits of one grade. */
export interface GradeLimits {
  /** Least maximum luminance Lmax, cd/m². */
  lmaxMin: number;
  /** Least luminance ratio L'max/L'min (ambient included). */
  ratioMin: number;
  /** Largest |κδ|, as a fraction. */
  contrastTolerance: number;
}

/**
 * The grade table of JESRA X-0093*B-2017 §4 (管理グレードの分類), the same values as the Q1
 * requirement: 1A ≥ 350 cd/m², ≥ 250, ±10 %; 1B ≥ 170, ≥ 250, ±15 %; 2 ≥ 100, ≥ 100, ±30 %.
 */
export const GRADE_LIMITS: Readonly<Record<JesraGrade, GradeLimits>> = {
  '1A': { lmaxMin: 350, ratioMin: 250, contrastTolerance: 0.1 },
  '1B': { lmaxMin: 170, ratioMin: 250, contrastTolerance: 0.15 },
  '2': { lmaxMin: 100, ratioMin: 100, contrastTolerance: 0.3 },
};

/**
 * Default allowed change of Lmax from the value recorded at the acceptance test (the reference
 * value, 基準値, of the constancy tests of JESRA X-0093*B-2017 §6.5.4): ±10 %. The grade table
 * of §4 was checked against a manufacturer's reproduction of it; this tolerance was not (the constancy table of
 * §6.5.4 could not be read), so {@link judgeConstancy} takes another value when given one.
 */
export const LMAX_CONSTANCY_TOLERANCE = 0.1;

/** Input of {@link judgeConstancy}. */
export interface ConstancyInput {
  grade: JesraGrade;
  /** Measured maximum luminance, cd/m², ambient excluded. */
  lmax: number;
  /** Measured minimum luminance, cd/m², ambient excluded. */
  lmin: number;
  /** Ambient luminance Lamb, cd/m². */
  lamb: number;
  /** κδ from {@link contrastResponse}, as a fraction. */
  contrastDeviation: number;
  /** Lmax recorded at the acceptance test; when given, the Lmax change is judged too. */
  acceptanceLmax?: number;
  /** Allowed relative change of Lmax from `acceptanceLmax` (default {@link LMAX_CONSTANCY_TOLERANCE}). */
  lmaxTolerance?: number;
}

/** One judged item of a constancy test. */
export interface ConstancyItem {
  item: 'lmax' | 'luminance-ratio' | 'contrast-response' | 'lmax-change';
  pass: boolean;
  value: number;
  /** The limit the value was held to, in the value's unit. */
  limit: number;
  /** Why it passed or failed, with the clause. */
  reason: string;
}

function num(v: number, digits = 3): string {
  return String(Number(v.toPrecision(digits)));
}

function pct(v: number): string {
  return `${num(v * 100)} %`;
}

/**
 * Judges a constancy (or acceptance) test of a display against its JESRA X-0093 management
 * grade: Lmax, the luminance ratio L'max/L'min with ambient light, the contrast response κδ
 * (JESRA X-0093*B-2017 §4 grade table) and, when the acceptance value is known, the change of
 * Lmax from it (§6.5.4, ±10 %).
 * @throws RangeError when a luminance is not positive, Lamb is negative, or κδ is not a number
 */
export function judgeConstancy(input: ConstancyInput): ConstancyItem[] {
  const { grade, lmax, lmin, lamb, contrastDeviation, acceptanceLmax } = input;
  const tolerance = input.lmaxTolerance ?? LMAX_CONSTANCY_TOLERANCE;
  const limits = GRADE_LIMITS[grade];
  if (!limits) throw new RangeError(`unknown JESRA X-0093 grade ${String(grade)}`);
  if (!Number.isFinite(lmax) || lmax <= 0) throw new RangeError(`Lmax must be a positive luminance, not ${lmax}`);
  if (!Number.isFinite(lmin) || lmin <= 0) throw new RangeError(`Lmin must be a positive luminance, not ${lmin}`);
  if (!Number.isFinite(lamb) || lamb < 0) throw new RangeError(`Lamb must be 0 or more, not ${lamb}`);
  if (!Number.isFinite(contrastDeviation)) throw new RangeError('κδ must be a number');
  if (!Number.isFinite(tolerance) || tolerance <= 0) throw new RangeError(`the Lmax tolerance must be a positive fraction, not ${tolerance}`);
  const clause = 'JESRA X-0093*B-2017 §4';
  const items: ConstancyItem[] = [];
  const lmaxPass = lmax >= limits.lmaxMin;
  items.push({
    item: 'lmax',
    pass: lmaxPass,
    value: lmax,
    limit: limits.lmaxMin,
    reason: `Lmax ${num(lmax)} cd/m² ${lmaxPass ? 'meets' : 'is below'} the grade ${grade} minimum of ${limits.lmaxMin} cd/m² (${clause})`,
  });
  const ratio = (lmax + lamb) / (lmin + lamb);
  const ratioPass = ratio >= limits.ratioMin;
  items.push({
    item: 'luminance-ratio',
    pass: ratioPass,
    value: ratio,
    limit: limits.ratioMin,
    reason: `L'max/L'min ${num(ratio)} (Lamb ${num(lamb)} cd/m² included) ${ratioPass ? 'meets' : 'is below'} the grade ${grade} minimum of ${limits.ratioMin} (${clause})`,
  });
  const kappa = Math.abs(contrastDeviation);
  const kappaPass = kappa <= limits.contrastTolerance;
  items.push({
    item: 'contrast-response',
    pass: kappaPass,
    value: kappa,
    limit: limits.contrastTolerance,
    reason: `contrast response κδ ${pct(kappa)} ${kappaPass ? 'is within' : 'exceeds'} the grade ${grade} tolerance of ±${pct(limits.contrastTolerance)} of the GSDF (${clause})`,
  });
  if (acceptanceLmax !== undefined) {
    if (!Number.isFinite(acceptanceLmax) || acceptanceLmax <= 0) throw new RangeError(`the acceptance Lmax must be a positive luminance, not ${acceptanceLmax}`);
    const change = (lmax - acceptanceLmax) / acceptanceLmax;
    const changePass = Math.abs(change) <= tolerance + 1e-12;
    items.push({
      item: 'lmax-change',
      pass: changePass,
      value: change,
      limit: tolerance,
      reason: `Lmax changed ${change >= 0 ? '+' : ''}${pct(change)} from the acceptance value ${num(acceptanceLmax)} cd/m², ${changePass ? 'within' : 'outside'} ±${pct(tolerance)} (JESRA X-0093*B-2017 §6.5.4)`,
    });
  }
  return items;
}
