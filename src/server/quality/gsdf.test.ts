import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSeries } from '../archive/dicom/synthetic.ts';
import { RenderEngine } from '../archive/render/engine.ts';
import { checkOutputLut } from '../archive/render/gray.ts';
import { parseRenderedParams } from '../archive/render/params.ts';
import {
  GSDF_MAX_LUMINANCE,
  GSDF_MIN_LUMINANCE,
  buildLut,
  describeLut,
  gammaLut,
  gsdfLut,
  identityLut,
  jndOfLuminance,
  jndOfLuminancePublished,
  luminanceOfJnd,
  nativeLuminance,
  type NativeResponse,
} from './gsdf.ts';
import { outputLutOf, type ProfileSource } from './display.ts';

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

/** Luminance of a power-law display (ambient added) at DDL d. */
const gammaDisplay = (lmin: number, lmax: number, ambient: number, gamma = 2.2) => (d: number) => lmin + (lmax - lmin) * (d / 255) ** gamma + ambient;

describe('GSDF formula (PS3.14 §7.1)', () => {
  it('matches the end points of Table B-1: j = 1 → 0.0500, j = 1023 → 3993.4040 cd/m²', () => {
    close(luminanceOfJnd(1), 0.05, 0.00005, 'L(1)');
    // The formula interpolates Barten's model within 0.3 % of log10 L (§7.1); at j = 1023 it is 0.002 % low.
    close(luminanceOfJnd(1023), 3993.404, 3993.404 * 1e-4, 'L(1023)');
  });

  it('matches published values of the formula and of its inverse polynomial to their printed precision', () => {
    // An independent implementation of PS3.14 §7.1 prints these in its documentation (colour-science,
    // colour.models.eotf_DICOMGSDF and eotf_inverse_DICOMGSDF / oetf_DICOMGSDF examples):
    // L(512) = 130.0652840… cd/m²; the published inverse gives j(130.065284012159790) = 511.9964806…
    // and j(130.0662) / 1023 = 0.5004862….
    // Printed truncated ("…"): the value lies between the printed digits and one unit of the last digit above.
    const printed = (actual: number, digits: string, what: string): void => {
      const low = Number(digits);
      const unit = 10 ** -(digits.split('.')[1]?.length ?? 0);
      assert.ok(actual >= low - 1e-12 && actual < low + unit, `${what}: ${actual} does not begin ${digits}…`);
    };
    printed(luminanceOfJnd(512), '130.0652840', 'L(512)');
    printed(jndOfLuminancePublished(130.06528401215979), '511.9964806', 'published j(130.065284012159790)');
    printed(jndOfLuminancePublished(130.0662) / 1023, '0.5004862', 'published j(130.0662) / 1023');
    // The refined inverse lands on j = 512 itself, where the polynomial is 0.0035 JND off.
    close(jndOfLuminance(130.06528401215979), 512, 1e-9, 'j(L(512))');
  });

  it('interpolates Barten\'s JND levels smoothly: L rises monotonically, and each JND is a small, slowly changing contrast step', () => {
    // PS3.14 §7.1: the formula fits the 1023 luminance levels of Table B-1 within 0.3 % of log10 L,
    // and Table B-1 rises by one JND per row: a threshold contrast ΔL/L of a few per cent at the
    // bright end (Weber's law region) growing towards the dark end (de Vries-Rose region).
    let previous = luminanceOfJnd(1);
    let previousContrast = Infinity;
    for (let j = 2; j <= 1023; j++) {
      const l = luminanceOfJnd(j);
      assert.ok(l > previous, `L(${j}) > L(${j - 1})`);
      const contrast = (l - previous) / ((l + previous) / 2);
      assert.ok(contrast > 0.004 && contrast < 0.1, `contrast per JND at j = ${j}: ${contrast}`);
      // Contrast per JND falls with luminance over the whole range (no wiggles from the fit).
      assert.ok(contrast <= previousContrast * (1 + 1e-3), `contrast per JND at j = ${j} does not fall: ${contrast} after ${previousContrast}`);
      previous = l;
      previousContrast = contrast;
    }
  });

  it('reproduces the worked example of Annex D.2 (transmissive film, Table D.2-1)', () => {
    // L0 = 2000 cd/m² light box, La = 10 cd/m² ambient, Dmin 0.20, Dmax 3.00:
    // Lmin = 10 + 2000·10^-3 = 12.0, Lmax = 10 + 2000·10^-0.2 = 1271.9 cd/m².
    const la = 10;
    const l0 = 2000;
    const lmin = la + l0 * 10 ** -3;
    const lmax = la + l0 * 10 ** -0.2;
    close(lmin, 12.0, 1e-9, 'Lmin');
    close(lmax, 1271.9, 0.05, 'Lmax');
    // Annex D.2 quotes j(Lmin) = 233.32, computed with the published inverse.
    close(jndOfLuminancePublished(lmin), 233.32, 0.005, 'published j(12.0)');
    close(jndOfLuminance(lmin), 233.32, 0.05, 'j(12.0)');
    // Table D.2-1: optical density for P-Values 0, 32, 64, 128, 192, 255 (printed to three decimals).
    const table: Array<[number, number]> = [
      [0, 3.0],
      [32, 2.103],
      [64, 1.698],
      [128, 1.122],
      [192, 0.641],
      [255, 0.2],
    ];
    const jLo = jndOfLuminance(lmin);
    const jHi = jndOfLuminance(lmax);
    for (const [p, density] of table) {
      const l = luminanceOfJnd(jLo + (p / 255) * (jHi - jLo));
      close(-Math.log10((l - la) / l0), density, 0.0015, `density at P-Value ${p}`);
    }
  });

  it('inverts exactly: j(L(j)) = j within 1e-6 relative over 1..1023', () => {
    for (let j = 1; j <= 1023; j += 0.73) close(jndOfLuminance(luminanceOfJnd(j)), j, j * 1e-6, `j(L(${j}))`);
    close(jndOfLuminance(luminanceOfJnd(1023)), 1023, 1023 * 1e-6, 'j(L(1023))');
  });

  it('agrees with the published inverse polynomial within 0.1 JND', () => {
    let worst = 0;
    for (let j = 1; j <= 1023; j += 0.5) worst = Math.max(worst, Math.abs(jndOfLuminancePublished(luminanceOfJnd(j)) - j));
    assert.ok(worst < 0.1, `published inverse differs by up to ${worst} JND`);
    assert.ok(worst > 0, 'the refinement must actually differ from the polynomial');
  });

  it('refuses JND indices and luminances outside the function', () => {
    assert.throws(() => luminanceOfJnd(0.5), RangeError);
    assert.throws(() => luminanceOfJnd(1024), RangeError);
    assert.throws(() => luminanceOfJnd(Number.NaN), RangeError);
    assert.throws(() => jndOfLuminance(0.01), RangeError);
    assert.throws(() => jndOfLuminance(5000), RangeError);
    assert.equal(jndOfLuminance(GSDF_MIN_LUMINANCE), 1);
    close(jndOfLuminance(GSDF_MAX_LUMINANCE), 1023, 1e-9, 'j(Lmax of GSDF)');
  });
});

describe('GSDF output LUT', () => {
  const jndSteps = (lut: Uint8Array, display: (d: number) => number): number[] => [...lut].map((d) => jndOfLuminance(display(d)));

  it('keeps the contract of the rendering engine (256, 1024, 4096 integer entries 0..255)', () => {
    for (const entries of [256, 1024, 4096] as const) {
      const lut = gsdfLut({ lmin: 0.5, lmax: 350, entries });
      assert.equal(lut.length, entries);
      assert.deepEqual(checkOutputLut(lut), lut);
    }
    assert.equal(gsdfLut({ lmin: 0.5, lmax: 350, bits: 10 }).length, 1024);
    assert.equal(gsdfLut({ lmin: 0.5, lmax: 350 }).length, 256);
  });

  it('is monotonic and maps the ends to DDL 0 and 255 on a gamma display with its own Lmin/Lmax', () => {
    for (const [lmin, lmax, ambient, gamma] of [
      [0.5, 350, 0, 2.2],
      [0.5, 350, 0.2, 2.2],
      [1, 250, 0.5, 1.8],
      [0.3, 600, 1, 2.6],
    ] as const) {
      for (const entries of [256, 1024, 4096] as const) {
        const lut = gsdfLut({ lmin, lmax, ambient, entries, native: { kind: 'gamma', gamma } });
        assert.equal(lut[0], 0, `${lmin}-${lmax} gamma ${gamma}: first entry`);
        assert.equal(lut[entries - 1], 255, `${lmin}-${lmax} gamma ${gamma}: last entry`);
        for (let p = 1; p < entries; p++) assert.ok(lut[p]! >= lut[p - 1]!, `entry ${p} reverses`);
      }
    }
  });

  it('gives near-equal JND steps between P-Values on a gamma 2.2 display', () => {
    // Tolerance: each P-Value lands on the nearest DDL, so its JND index is within half the
    // display's local DDL step of the target (the steps of a gamma 2.2 display, 0.5–350 cd/m²,
    // reach 4.1 JND around DDL 32); over 16 P-Values the JND increase is then within twice that
    // bound of 16 mean steps.
    const lmin = 0.5;
    const lmax = 350;
    const ambient = 0.2;
    const display = gammaDisplay(lmin, lmax, ambient);
    const ddlStep: number[] = [];
    for (let d = 0; d < 255; d++) ddlStep.push(jndOfLuminance(display(d + 1)) - jndOfLuminance(display(d)));
    const lut = gsdfLut({ lmin, lmax, ambient });
    const js = jndSteps(lut, display);
    const jLo = jndOfLuminance(lmin + ambient);
    const jHi = jndOfLuminance(lmax + ambient);
    const mean = (jHi - jLo) / 255;
    let worstError = 0;
    for (let p = 0; p < 256; p++) {
      const target = jLo + p * mean;
      const d = lut[p]!;
      const halfStep = Math.max(ddlStep[Math.max(0, d - 1)]!, ddlStep[Math.min(254, d)]!) / 2;
      const error = Math.abs(js[p]! - target);
      worstError = Math.max(worstError, error);
      assert.ok(error <= halfStep + 1e-9, `P-Value ${p}: ${error} JND from its target, local half DDL step ${halfStep}`);
    }
    const bound = Math.max(...ddlStep) / 2;
    assert.ok(worstError <= bound);
    for (let p = 0; p + 16 < 256; p += 16) {
      close(js[p + 16]! - js[p]!, 16 * mean, 2 * bound, `JND increase over P-Values ${p}..${p + 16}`);
    }
  });

  it('is the identity for a display that already follows the GSDF', () => {
    const lmin = 0.8;
    const lmax = 400;
    const jLo = jndOfLuminance(lmin);
    const jHi = jndOfLuminance(lmax);
    const ddl = Array.from({ length: 18 }, (_, i) => Math.round((i * 255) / 17));
    const native: NativeResponse = { kind: 'measured', ddl, luminance: ddl.map((d) => luminanceOfJnd(jLo + (d / 255) * (jHi - jLo))) };
    const lut = gsdfLut({ lmin, lmax, native });
    for (let p = 0; p < 256; p++) assert.ok(Math.abs(lut[p]! - p) <= 1, `P-Value ${p} → DDL ${lut[p]}`);
  });

  it('calibrates a measured display to a narrower luminance range', () => {
    const ddl = [0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240, 255];
    const luminance = ddl.map(gammaDisplay(0.4, 500, 0));
    const lut = gsdfLut({ lmin: 0.4, lmax: 350, native: { kind: 'measured', ddl, luminance } });
    assert.equal(lut[0], 0);
    // 350 cd/m² on this display is DDL 255·(349.6/499.6)^(1/2.2) ≈ 217.
    assert.ok(Math.abs(lut[255]! - 217) <= 1, `top entry ${lut[255]}`);
    for (let p = 1; p < 256; p++) assert.ok(lut[p]! >= lut[p - 1]!);
  });

  it('holds a measured curve with a noisy dark reading to a monotonic one', () => {
    const ddl = [0, 15, 30, 60, 120, 255];
    const luminance = [0.5, 0.49, 0.9, 3, 40, 350];
    const lut = gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl, luminance } });
    for (let p = 1; p < 256; p++) assert.ok(lut[p]! >= lut[p - 1]!);
    assert.deepEqual([lut[0], lut[255]], [0, 255]);
  });

  it('refuses impossible input', () => {
    const bad: Array<[string, () => unknown]> = [
      ['Lmin 0', () => gsdfLut({ lmin: 0, lmax: 350 })],
      ['Lmin negative', () => gsdfLut({ lmin: -1, lmax: 350 })],
      ['Lmax = Lmin', () => gsdfLut({ lmin: 5, lmax: 5 })],
      ['Lmax < Lmin', () => gsdfLut({ lmin: 5, lmax: 2 })],
      ['Lmax beyond the GSDF', () => gsdfLut({ lmin: 1, lmax: 4000 })],
      ['Lmax + Lamb beyond the GSDF', () => gsdfLut({ lmin: 1, lmax: 3990, ambient: 5 })],
      ['Lmin below the GSDF', () => gsdfLut({ lmin: 0.01, lmax: 350 })],
      ['negative ambient', () => gsdfLut({ lmin: 0.5, lmax: 350, ambient: -0.1 })],
      ['NaN', () => gsdfLut({ lmin: Number.NaN, lmax: 350 })],
      ['entries 512', () => gsdfLut({ lmin: 0.5, lmax: 350, entries: 512 as 256 })],
      ['bits 12', () => gsdfLut({ lmin: 0.5, lmax: 350, bits: 12 as 8 })],
      ['bits and entries disagree', () => gsdfLut({ lmin: 0.5, lmax: 350, bits: 8, entries: 1024 })],
      ['gamma 0', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'gamma', gamma: 0 } })],
      ['measured lengths differ', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl: [0, 255], luminance: [0.5] } })],
      ['measured not from 0', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl: [10, 255], luminance: [0.5, 350] } })],
      ['measured DDLs repeat', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl: [0, 0, 255], luminance: [0.5, 0.6, 350] } })],
      ['measured too dim', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl: [0, 255], luminance: [0.5, 200] } })],
      ['measured not rising', () => gsdfLut({ lmin: 0.5, lmax: 350, native: { kind: 'measured', ddl: [0, 255], luminance: [350, 0.5] } })],
      ['gammaLut gamma -1', () => gammaLut(-1)],
      ['identityLut 100 entries', () => identityLut(100 as 256)],
    ];
    for (const [what, f] of bad) assert.throws(f, RangeError, what);
  });
});

describe("a terminal's P-Value LUT (display profile gsdf)", () => {
  /** TG18-LN levels of a display measured with a photometer: an LCD with an S-shaped native curve. */
  const ln = Array.from({ length: 18 }, (_, i) => i * 15);
  const sCurve = (lmin: number, lmax: number) => (d: number) => lmin + (lmax - lmin) * (0.5 - 0.5 * Math.cos(Math.PI * (d / 255) ** 1.3)) ** 1.1;
  const terminals: Array<[string, ProfileSource]> = [
    ['grade 1A, gamma 2.2 (the browser test terminal)', { profile: 'gsdf', lmin: 0.6, lmax: 420, lamb: 0.2, native: { kind: 'gamma', gamma: 2.2 } }],
    ['grade 1B, gamma 2.4, bright room', { profile: 'gsdf', lmin: 0.9, lmax: 250, lamb: 1.5, native: { kind: 'gamma', gamma: 2.4 } }],
    ['grade 2 consumer display, gamma 1.8, no ambient', { profile: 'gsdf', lmin: 0.35, lmax: 180, lamb: 0, native: { kind: 'gamma', gamma: 1.8 } }],
    ['measured TG18-LN curve', { profile: 'gsdf', lmin: 0.5, lmax: 500, lamb: 0.3, native: { kind: 'measured', ddl: ln, luminance: ln.map(sCurve(0.5, 500)) } }],
  ];

  for (const [what, terminal] of terminals) {
    it(`${what}: monotonic, from Lmin to Lmax, in equal JND steps`, () => {
      const lut = outputLutOf(terminal)!;
      assert.equal(lut.length, 256);
      for (let p = 1; p < 256; p++) assert.ok(lut[p]! >= lut[p - 1]!, `P-Value ${p} reverses (${lut[p - 1]} → ${lut[p]})`);
      // Luminance on screen (ambient included) and its JND index for each DDL.
      const screen = [...nativeLuminance(terminal.native, terminal.lmin, terminal.lmax)].map((l) => l + terminal.lamb);
      const jOfDdl = screen.map((l) => jndOfLuminance(l));
      const jLo = jndOfLuminance(terminal.lmin + terminal.lamb);
      const jHi = jndOfLuminance(terminal.lmax + terminal.lamb);
      // The ends: P-Value 0 shows the measured Lmin (+ Lamb), the last P-Value the measured Lmax (+ Lamb).
      close(screen[lut[0]!]!, terminal.lmin + terminal.lamb, 1e-9 * terminal.lmax, 'luminance of P-Value 0');
      close(screen[lut[255]!]!, terminal.lmax + terminal.lamb, 1e-9 * terminal.lmax, 'luminance of P-Value 255');
      // Every P-Value lands on the DDL nearest (in JND) to its equal-step target j(Lmin) + p·Δj: off by at
      // most half the display's own JND step there, which is all an 8-bit DDL allows.
      const step = (jHi - jLo) / 255;
      const ddlStep = (d: number) => Math.max(d > 0 ? jOfDdl[d]! - jOfDdl[d - 1]! : 0, d < 255 ? jOfDdl[d + 1]! - jOfDdl[d]! : 0);
      for (let p = 0; p < 256; p++) {
        const d = lut[p]!;
        const error = Math.abs(jOfDdl[d]! - (jLo + p * step));
        assert.ok(error <= ddlStep(d) / 2 + 1e-9, `P-Value ${p}: DDL ${d} is ${error.toFixed(3)} JND from its target (half a DDL step: ${(ddlStep(d) / 2).toFixed(3)})`);
      }
      // Where the display's DDL steps are finer than the P-Value step, consecutive P-Values are equal
      // JND steps one by one (within one DDL step); elsewhere equal over every run of 32 P-Values.
      for (let p = 1; p < 256; p++) {
        const local = Math.max(ddlStep(lut[p]!), ddlStep(lut[p - 1]!));
        if (local >= step / 2) continue;
        close(jOfDdl[lut[p]!]! - jOfDdl[lut[p - 1]!]!, step, local, `JND step from P-Value ${p - 1} to ${p}`);
      }
      const worstDdlStep = Math.max(...jOfDdl.slice(1).map((j, d) => j - jOfDdl[d]!));
      for (let p = 0; p + 32 < 256; p += 32) close(jOfDdl[lut[p + 32]!]! - jOfDdl[lut[p]!]!, 32 * step, worstDdlStep, `JND increase over P-Values ${p}..${p + 32}`);
    });
  }

  it('follows a change of the measured values: a dimmer Lmax gives a LUT that stops below the top DDL', () => {
    const measured: ProfileSource = { profile: 'gsdf', lmin: 0.5, lmax: 500, lamb: 0.3, native: { kind: 'measured', ddl: ln, luminance: ln.map(sCurve(0.5, 500)) } };
    const full = outputLutOf(measured)!;
    const limited = outputLutOf({ ...measured, lmax: 350 })!;
    assert.equal(full[255], 255);
    const screen = [...nativeLuminance(measured.native, 0.5, 500)].map((l) => l + 0.3);
    // Calibrated to 350 cd/m² on a 500 cd/m² display: the top P-Value drives the DDL nearest 350.3 cd/m² in JND.
    const target = jndOfLuminance(350.3);
    const nearest = screen.map((l, d) => [Math.abs(jndOfLuminance(l) - target), d] as const).sort((a, b) => a[0] - b[0])[0]![1];
    assert.equal(limited[255], nearest);
    assert.ok(limited[255]! < 255);
    for (let p = 1; p < 256; p++) assert.ok(limited[p]! >= limited[p - 1]!);
  });

  it('is no LUT for profile none and the gamma 2.2 compensation for gamma22', () => {
    const base = { lmin: 0.5, lmax: 300, lamb: 0.2, native: { kind: 'gamma' as const, gamma: 2.2 } };
    assert.equal(outputLutOf({ ...base, profile: 'none' }), undefined);
    assert.deepEqual(outputLutOf({ ...base, profile: 'gamma22' }), gammaLut(2.2));
  });
});

describe('gamma and identity LUTs', () => {
  it('identity passes P-Values unchanged', () => {
    assert.deepEqual([...identityLut()], Array.from({ length: 256 }, (_, i) => i));
    const wide = identityLut(1024);
    assert.deepEqual([wide[0], wide[511], wide[1023]], [0, 127, 255]);
  });

  it('gamma 2.2 compensation makes luminance on a gamma 2.2 display linear in the P-Value', () => {
    const lut = gammaLut(2.2);
    assert.deepEqual([lut[0], lut[255]], [0, 255]);
    for (let p = 1; p < 256; p++) assert.ok(lut[p]! >= lut[p - 1]!);
    // Display luminance fraction (DDL/255)^2.2 ≈ P/255 within the rounding of one DDL.
    for (const p of [32, 64, 128, 192]) close((lut[p]! / 255) ** 2.2, p / 255, 2.2 * (p / 255) ** (1 - 1 / 2.2) * (0.5 / 255) + 1e-9, `P-Value ${p}`);
    assert.equal(gammaLut(2.2, 4096).length, 4096);
  });

  it('builds and labels profiles', () => {
    assert.equal(describeLut({ kind: 'gsdf', lmin: 0.5, lmax: 350, ambient: 0.2 }), 'GSDF 0.5–350 cd/m² (ambient 0.2)');
    assert.equal(describeLut({ kind: 'gsdf', lmin: 1, lmax: 250 }), 'GSDF 1–250 cd/m²');
    assert.equal(describeLut({ kind: 'gsdf', lmin: 1, lmax: 250, native: { kind: 'gamma', gamma: 2.4 } }), 'GSDF 1–250 cd/m² on gamma 2.4 display');
    assert.equal(describeLut({ kind: 'gamma', gamma: 2.2 }), 'Gamma 2.2 compensation');
    assert.equal(describeLut({ kind: 'identity' }), 'Identity (no calibration)');
    assert.deepEqual(buildLut({ kind: 'gsdf', lmin: 0.5, lmax: 350, ambient: 0.2 }), gsdfLut({ lmin: 0.5, lmax: 350, ambient: 0.2 }));
    assert.deepEqual(buildLut({ kind: 'gamma', gamma: 2.2, entries: 1024 }), gammaLut(2.2, 1024));
  });
});

describe('GSDF LUT in the rendering engine (PS3.4 N.2.1 output LUT)', () => {
  it('writes lut[p] for every pixel whose P-Value without the LUT is p', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    const [ct] = [...generateSeries({ modality: 'CT', count: 1, rows: 64, columns: 64, seed: 7 })].map((i) => i.bytes);
    const source = { key: 'gsdf-ct', bytes: ct! };
    const req = parseRenderedParams({}, 'image/png', 'rendered');
    const lut = gsdfLut({ lmin: 0.5, lmax: 350, ambient: 0.2 });
    const plain = await engine.renderPixels(source, req);
    const calibrated = await engine.renderPixels(source, { ...req, outputLut: lut });
    assert.deepEqual([calibrated.width, calibrated.height, calibrated.channels], [plain.width, plain.height, 1]);
    assert.ok(new Set(plain.data).size > 16, 'the synthetic CT should cover many P-Values');
    const expected = plain.data.map((p) => lut[p]!);
    assert.ok(Buffer.from(calibrated.data).equals(Buffer.from(expected)), 'calibrated pixels differ from lut[plain]');
    const windowed = { ...req, window: { center: 40, width: 400, fn: 'LINEAR' as const } };
    const plainW = await engine.renderPixels(source, windowed);
    const calW = await engine.renderPixels(source, { ...windowed, outputLut: lut });
    assert.ok(Buffer.from(calW.data).equals(Buffer.from(plainW.data.map((p) => lut[p]!))));
  });
});
