import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gsdfLut, jndOfLuminance, luminanceOfJnd } from './gsdf.ts';
import { GRADE_LIMITS, contrastResponse, judgeConstancy, type LuminanceReading } from './jesra.ts';

/** The 18 TG18-LN driving levels on an 8-bit display. */
const LEVELS = Array.from({ length: 18 }, (_, i) => Math.round((i * 255) / 17));

/** Readings of a display that follows the GSDF exactly between Lmin and Lmax (ambient Lamb). */
function gsdfReadings(lmin: number, lmax: number, lamb: number): LuminanceReading[] {
  const jLo = jndOfLuminance(lmin + lamb);
  const jHi = jndOfLuminance(lmax + lamb);
  return LEVELS.map((ddl) => ({ ddl, luminance: luminanceOfJnd(jLo + (ddl / 255) * (jHi - jLo)) - lamb }));
}

describe('contrast response (TG18 OR-03 §4.3, JESRA X-0093)', () => {
  it('is zero for a display that follows the GSDF exactly', () => {
    const r = contrastResponse(gsdfReadings(0.5, 400, 0.3), 0.3);
    assert.equal(r.steps.length, 17);
    assert.ok(r.maxDeviation < 1e-9, `κδ ${r.maxDeviation}`);
    assert.ok(Math.abs(r.lminPrime - 0.8) < 1e-9 && Math.abs(r.lmaxPrime - 400.3) < 1e-9);
    for (const s of r.steps) assert.ok(s.observed > 0 && s.expected > 0);
  });

  it('finds an uncalibrated gamma 2.2 display far outside every grade', () => {
    const readings = LEVELS.map((ddl) => ({ ddl, luminance: 0.5 + 349.5 * (ddl / 255) ** 2.2 }));
    const r = contrastResponse(readings, 0.2);
    assert.ok(r.maxDeviation > GRADE_LIMITS['2'].contrastTolerance, `κδ ${r.maxDeviation}`);
    // Too little contrast in the darkest step, too much in the middle: the typical gamma shape.
    assert.ok(r.steps[0]!.deviation < 0);
    assert.ok(r.steps[3]!.deviation > 0);
  });

  it('finds a gamma 2.2 display calibrated through the GSDF LUT within grade 1A', () => {
    // The 18 TG18-LN P-Values go through the LUT to the display; the κδ left is the quantisation of 256 DDLs.
    const lmin = 0.5;
    const lmax = 400;
    const lamb = 0.2;
    const lut = gsdfLut({ lmin, lmax, ambient: lamb });
    const readings = LEVELS.map((p) => ({ ddl: p, luminance: lmin + (lmax - lmin) * (lut[p]! / 255) ** 2.2 }));
    const r = contrastResponse(readings, lamb);
    assert.ok(r.maxDeviation <= GRADE_LIMITS['1A'].contrastTolerance, `κδ ${r.maxDeviation}`);
  });

  it('sorts readings and refuses unusable ones', () => {
    const readings = gsdfReadings(1, 300, 0);
    const shuffled = [...readings].reverse();
    assert.deepEqual(contrastResponse(shuffled, 0), contrastResponse(readings, 0));
    assert.throws(() => contrastResponse(readings.slice(0, 2), 0), RangeError);
    assert.throws(() => contrastResponse([...readings, readings[3]!], 0), RangeError);
    assert.throws(() => contrastResponse(readings, -1), RangeError);
    assert.throws(() => contrastResponse([{ ddl: 0, luminance: 0 }, ...readings.slice(1)], 0), RangeError);
    assert.throws(() => contrastResponse(readings.map((r, i) => ({ ddl: r.ddl, luminance: 300 - i })), 0), RangeError);
  });
});

describe('constancy judgement (JESRA X-0093*B-2017 §4, §6.5.4)', () => {
  const byItem = (items: ReturnType<typeof judgeConstancy>) => Object.fromEntries(items.map((i) => [i.item, i]));

  it('holds each grade to its table values', () => {
    assert.deepEqual(GRADE_LIMITS, {
      '1A': { lmaxMin: 350, ratioMin: 250, contrastTolerance: 0.1 },
      '1B': { lmaxMin: 170, ratioMin: 250, contrastTolerance: 0.15 },
      '2': { lmaxMin: 100, ratioMin: 100, contrastTolerance: 0.3 },
    });
  });

  it('passes a good grade 1A display and says why', () => {
    const items = judgeConstancy({ grade: '1A', lmax: 400, lmin: 0.5, lamb: 0.3, contrastDeviation: 0.06, acceptanceLmax: 420 });
    assert.deepEqual(
      items.map((i) => [i.item, i.pass]),
      [
        ['lmax', true],
        ['luminance-ratio', true],
        ['contrast-response', true],
        ['lmax-change', true],
      ],
    );
    const it = byItem(items);
    assert.ok(Math.abs(it['luminance-ratio']!.value - 400.3 / 0.8) < 1e-9);
    assert.match(it.lmax!.reason, /350 cd\/m²/);
    assert.match(it.lmax!.reason, /JESRA X-0093\*B-2017 §4/);
    assert.match(it['lmax-change']!.reason, /§6\.5\.4/);
  });

  it('fails each item with a reason naming the limit', () => {
    // 300 cd/m² is enough for 1B but not 1A; ambient 1 cd/m² brings the ratio to 301/1.5 ≈ 201.
    const items = byItem(judgeConstancy({ grade: '1A', lmax: 300, lmin: 0.5, lamb: 1, contrastDeviation: -0.12, acceptanceLmax: 350 }));
    assert.equal(items.lmax!.pass, false);
    assert.match(items.lmax!.reason, /below the grade 1A minimum of 350/);
    assert.equal(items['luminance-ratio']!.pass, false);
    assert.match(items['luminance-ratio']!.reason, /below the grade 1A minimum of 250/);
    assert.equal(items['contrast-response']!.pass, false);
    assert.match(items['contrast-response']!.reason, /12 % exceeds the grade 1A tolerance of ±10 %/);
    assert.equal(items['lmax-change']!.pass, false);
    assert.match(items['lmax-change']!.reason, /-14\.3 %/);
    const relaxed = byItem(judgeConstancy({ grade: '1B', lmax: 300, lmin: 0.5, lamb: 0, contrastDeviation: 0.12 }));
    assert.deepEqual([relaxed.lmax!.pass, relaxed['luminance-ratio']!.pass, relaxed['contrast-response']!.pass], [true, true, true]);
    assert.equal(relaxed['lmax-change'], undefined);
  });

  it('judges grade 2 at its own limits, and the Lmax change at exactly ±10 % as a pass', () => {
    const items = byItem(judgeConstancy({ grade: '2', lmax: 100, lmin: 1, lamb: 0, contrastDeviation: 0.3, acceptanceLmax: 100 / 0.9 }));
    assert.deepEqual([items.lmax!.pass, items['luminance-ratio']!.pass, items['contrast-response']!.pass, items['lmax-change']!.pass], [true, true, true, true]);
    const low = byItem(judgeConstancy({ grade: '2', lmax: 99, lmin: 1, lamb: 0, contrastDeviation: 0.31 }));
    assert.deepEqual([low.lmax!.pass, low['luminance-ratio']!.pass, low['contrast-response']!.pass], [false, false, false]);
  });

  it('refuses impossible input', () => {
    const ok = { grade: '1B' as const, lmax: 300, lmin: 0.5, lamb: 0.2, contrastDeviation: 0.05 };
    assert.throws(() => judgeConstancy({ ...ok, grade: '3' as '2' }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, lmax: 0 }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, lmin: -1 }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, lamb: -0.1 }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, contrastDeviation: Number.NaN }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, acceptanceLmax: 0 }), RangeError);
    assert.throws(() => judgeConstancy({ ...ok, acceptanceLmax: 300, lmaxTolerance: 0 }), RangeError);
  });
});
