/** The mouse tools of the viewer and the measurements drawn with them. */
import type { ImagePoint, MeasurementResult } from '../../../shared/api.ts';

export type Tool = 'scroll' | 'window' | 'pan' | 'zoom' | 'length' | 'angle' | 'roi';

export const TOOLS: readonly Tool[] = ['scroll', 'window', 'pan', 'zoom', 'length', 'angle', 'roi'];

/** Keys that pick a tool. */
export const TOOL_KEYS: Record<string, Tool> = { s: 'scroll', w: 'window', p: 'pan', m: 'zoom', l: 'length', a: 'angle', o: 'roi' };

/** A measurement drawn on one image; its numbers come from the server. */
export interface Measurement {
  id: string;
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  frame: number;
  kind: 'length' | 'angle' | 'roi';
  points: ImagePoint[];
  state: 'pending' | 'done' | 'error' | 'unavailable';
  result?: MeasurementResult;
  error?: unknown;
}

/** Points a measurement of this kind needs. */
export function pointsNeeded(kind: Measurement['kind']): number {
  return kind === 'angle' ? 3 : 2;
}
