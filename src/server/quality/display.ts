/**
 * A terminal's display profile (Q2) as an output LUT for server rendering: the DICOM PS3.14
 * GSDF LUT for the terminal's Lmin, Lmax, Lamb and native response, gamma 2.2 compensation
 * for a consumer display, or none (a display calibrated to the GSDF by itself). LUTs have
 * 256 entries (8-bit P-Values, the depth the renderer writes): entry p is the DDL sent for
 * P-Value p. Built LUTs are cached per terminal id and version, so that a change of the
 * terminal (new luminances, another profile) takes effect at once.
 */
import type { DisplayNativeResponse, DisplayProfile, DisplayProfileKind } from '../../shared/api.ts';
import { buildLut, describeLut, type LutProfile } from './gsdf.ts';

/** What a profile is built from. */
export interface ProfileSource {
  profile: DisplayProfileKind;
  lmin: number;
  lmax: number;
  lamb: number;
  native: DisplayNativeResponse;
}

/** The gamma of consumer displays that `gamma22` compensates (sRGB-like). */
export const CONSUMER_GAMMA = 2.2;

/** The LUT profile of a terminal's display profile, or undefined for `none`. */
export function lutProfileOf(t: ProfileSource): LutProfile | undefined {
  switch (t.profile) {
    case 'gsdf':
      return { kind: 'gsdf', lmin: t.lmin, lmax: t.lmax, ambient: t.lamb, native: t.native, entries: 256 };
    case 'gamma22':
      return { kind: 'gamma', gamma: CONSUMER_GAMMA, entries: 256 };
    case 'none':
      return undefined;
  }
}

/** The profile with the label the viewer shows, e.g. "GSDF 0.5–350 cd/m² (ambient 0.2)". */
export function displayProfileOf(t: ProfileSource): DisplayProfile {
  const lut = lutProfileOf(t);
  return { kind: t.profile, label: lut ? describeLut(lut) : 'None (display calibrated by itself)' };
}

/**
 * The output LUT of a profile (undefined for `none`).
 * @throws RangeError when the terminal's values cannot give a GSDF LUT (see gsdfLut)
 */
export function outputLutOf(t: ProfileSource): Uint8Array | undefined {
  const lut = lutProfileOf(t);
  return lut ? buildLut(lut) : undefined;
}

/** Built output LUTs by terminal id and version (a bounded LRU; a LUT is 256 bytes). */
export class LutCache {
  private readonly map = new Map<string, { lut: Uint8Array | undefined; profile: DisplayProfile }>();

  constructor(private readonly max = 512) {}

  /**
   * The LUT and profile of a terminal version, built on first use.
   * @throws RangeError as {@link outputLutOf}
   */
  get(id: string, version: number, source: ProfileSource): { lut: Uint8Array | undefined; profile: DisplayProfile } {
    const key = `${id}:${version}`;
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const entry = { lut: outputLutOf(source), profile: displayProfileOf(source) };
    this.map.set(key, entry);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return entry;
  }
}
