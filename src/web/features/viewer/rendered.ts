/**
 * URLs of the server's rendered images (PS3.18 §10.4.1.1.4, `docs/dicom-conformance.md`
 * §11). The viewer asks only for these: display-ready PNG (lossless) or JPEG, never DICOM
 * or raw pixel data (REQUIREMENTS S6).
 */
import type { StackItem, WindowLevel } from './geometry.ts';
import { windowParam } from './presets.ts';

/** What to ask the server for. */
export interface RenderSpec {
  /** undefined: the object's own window (the server's default VOI). */
  window: WindowLevel | undefined;
  /** PNG is lossless; JPEG is for fast frames while scrolling. */
  format: 'png' | 'jpeg';
  /** JPEG quality 1..100. */
  quality?: number;
  /** Fraction of the full size (fast frames on a slow link); 1 means every image pixel. */
  scale?: number;
}

const enc = encodeURIComponent;

/** Path of an instance (or, for multi-frame objects, one frame) of a stack item. */
export function framePath(item: Pick<StackItem, 'studyUid' | 'seriesUid' | 'sopInstanceUid' | 'frame' | 'multiFrame'>): string {
  const base = `/dicomweb/studies/${enc(item.studyUid)}/series/${enc(item.seriesUid)}/instances/${enc(item.sopInstanceUid)}`;
  return item.multiFrame ? `${base}/frames/${item.frame}/rendered` : `${base}/rendered`;
}

/**
 * The rendered URL of a frame. Lossless frames are always asked for at full resolution:
 * shrinking is the display's business, where the zoom ratio and its warning tell the
 * reader the truth about dropped pixels.
 */
export function renderedUrl(item: Pick<StackItem, 'studyUid' | 'seriesUid' | 'sopInstanceUid' | 'frame' | 'multiFrame' | 'rows' | 'columns'>, spec: RenderSpec): string {
  const params = new URLSearchParams();
  params.set('accept', spec.format === 'png' ? 'image/png' : 'image/jpeg');
  const w = windowParam(spec.window);
  if (w) params.set('window', w);
  if (spec.format === 'jpeg') params.set('quality', String(Math.round(spec.quality ?? 60)));
  if (spec.format === 'jpeg' && spec.scale && spec.scale < 1 && item.rows && item.columns) {
    params.set('viewport', `${Math.max(1, Math.round(item.columns * spec.scale))},${Math.max(1, Math.round(item.rows * spec.scale))}`);
  }
  return `${framePath(item)}?${params.toString()}`;
}

/** The thumbnail of a series (its middle instance), as JPEG. */
export function seriesThumbnailUrl(studyUid: string, seriesUid: string, size = 96): string {
  return `/dicomweb/studies/${enc(studyUid)}/series/${enc(seriesUid)}/thumbnail?accept=image%2Fjpeg&viewport=${size},${size}`;
}

/** The thumbnail of a study (the middle instance of its first series), as JPEG. */
export function studyThumbnailUrl(studyUid: string, size = 64): string {
  return `/dicomweb/studies/${enc(studyUid)}/thumbnail?accept=image%2Fjpeg&viewport=${size},${size}`;
}
