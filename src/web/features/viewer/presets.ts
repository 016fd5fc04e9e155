/**
 * Window presets (centre / width in Hounsfield units) for CT, on keys 1 to 7, and `auto`
 * (key 0): the object's own window (Window Center / Width), which is what MR and most
 * projection images should start with.
 */
import type { WindowLevel } from './geometry.ts';

export type PresetId = 'auto' | 'brain' | 'subdural' | 'lung' | 'mediastinum' | 'abdomen' | 'liver' | 'bone';

export interface WindowPreset {
  id: PresetId;
  /** Keyboard key that selects it. */
  key: string;
  /** undefined for `auto`: the server applies the object's own window. */
  window: WindowLevel | undefined;
}

export const WINDOW_PRESETS: readonly WindowPreset[] = [
  { id: 'auto', key: '0', window: undefined },
  { id: 'brain', key: '1', window: { center: 40, width: 80 } },
  { id: 'subdural', key: '2', window: { center: 75, width: 215 } },
  { id: 'lung', key: '3', window: { center: -600, width: 1500 } },
  { id: 'mediastinum', key: '4', window: { center: 50, width: 350 } },
  { id: 'abdomen', key: '5', window: { center: 40, width: 400 } },
  { id: 'liver', key: '6', window: { center: 60, width: 160 } },
  { id: 'bone', key: '7', window: { center: 500, width: 2000 } },
];

/** The preset selected by a key, if any. */
export function presetForKey(key: string): WindowPreset | undefined {
  return WINDOW_PRESETS.find((p) => p.key === key);
}

/** The presets that make sense for a modality: the CT ones for CT, `auto` for everything. */
export function presetsFor(modality: string | undefined): readonly WindowPreset[] {
  return modality === 'CT' || modality === undefined ? WINDOW_PRESETS : WINDOW_PRESETS.filter((p) => p.id === 'auto');
}

/**
 * A window changed by a drag of (dx, dy) screen pixels: right widens, down raises the
 * centre (the image gets darker), in steps proportional to the current width so that
 * narrow brain windows and wide bone windows both feel the same under the mouse.
 */
export function dragWindow(start: WindowLevel, dx: number, dy: number): WindowLevel {
  const step = Math.max(start.width / 256, 0.5);
  const width = Math.max(1, Math.round(start.width + dx * step * 2));
  const center = Math.round(start.center + dy * step);
  return { center, width };
}

/** The `window` query parameter of the rendered resources (PS3.18 §8.3.5.1.4). */
export function windowParam(window: WindowLevel | undefined): string | undefined {
  if (!window) return undefined;
  return `${round(window.center)},${round(Math.max(1, window.width))},linear`;
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}
