/**
 * Validation of the request bodies of the reading routes (contract: src/shared/api.ts).
 */
import type { ImagePoint, KeyImageRequest, MeasurementRequest } from '../../shared/api.ts';
import { AppError } from '../platform/errors.ts';

const UID = /^[0-9]+(\.[0-9]+)*$/;
const MAX_POINTS = 1000;

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

function body(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad('a JSON object is required');
  return v as Record<string, unknown>;
}

/** A DICOM UID (PS3.5 §9.1: digits and dots, at most 64 characters). */
export function uid(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length > 64 || !UID.test(v)) bad(`${name} must be a DICOM UID`);
  return v;
}

function frameOf(v: unknown): number {
  if (v === undefined) return 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) bad('frame must be a frame number from 1');
  return v;
}

function points(v: unknown): ImagePoint[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_POINTS) bad(`points must be a list of 1 to ${MAX_POINTS} { x, y }`);
  return v.map((p: unknown, i: number) => {
    const q = body(p);
    if (typeof q.x !== 'number' || typeof q.y !== 'number' || !Number.isFinite(q.x) || !Number.isFinite(q.y)) bad(`points[${i}] must have numbers x and y`);
    return { x: q.x, y: q.y };
  });
}

/** Validates `POST /api/measurements`. @throws AppError bad_request */
export function measurementRequest(input: unknown): Required<Omit<MeasurementRequest, 'shape'>> & { shape: MeasurementRequest['shape'] | null } {
  const b = body(input);
  const kind = b.kind;
  if (kind !== 'length' && kind !== 'angle' && kind !== 'roi') bad("kind must be 'length', 'angle' or 'roi'");
  let shape: MeasurementRequest['shape'] | null = null;
  if (kind === 'roi') {
    if (b.shape !== 'ellipse' && b.shape !== 'rectangle' && b.shape !== 'polygon') bad("an ROI needs shape 'ellipse', 'rectangle' or 'polygon'");
    shape = b.shape;
  } else if (b.shape !== undefined && b.shape !== null) bad('only an ROI has a shape');
  return {
    studyUid: uid(b.studyUid, 'studyUid'),
    seriesUid: uid(b.seriesUid, 'seriesUid'),
    sopInstanceUid: uid(b.sopInstanceUid, 'sopInstanceUid'),
    frame: frameOf(b.frame),
    kind,
    shape,
    points: points(b.points),
  };
}

/** A validated key image request. */
export interface KeyImageInput {
  seriesUid: string;
  sopInstanceUid: string;
  frame: number;
  note: string;
  window: { center: number; width: number; fn: 'linear' | 'linear-exact' | 'sigmoid' } | null;
}

/** Validates `POST /api/studies/:studyUid/key-images`. @throws AppError bad_request */
export function keyImageRequest(input: unknown): KeyImageInput {
  const b = body(input) as Partial<Record<keyof KeyImageRequest, unknown>>;
  let note = '';
  if (b.note !== undefined) {
    if (typeof b.note !== 'string' || b.note.length > 2000) bad('note must be text of at most 2000 characters');
    note = b.note.trim();
  }
  let window: KeyImageInput['window'] = null;
  if (b.window !== undefined && b.window !== null) {
    const w = body(b.window);
    if (typeof w.center !== 'number' || !Number.isFinite(w.center)) bad('window.center must be a number');
    if (typeof w.width !== 'number' || !Number.isFinite(w.width) || w.width <= 0) bad('window.width must be a number above 0');
    const fn = w.fn ?? 'linear';
    if (fn !== 'linear' && fn !== 'linear-exact' && fn !== 'sigmoid') bad("window.fn must be 'linear', 'linear-exact' or 'sigmoid'");
    window = { center: w.center, width: w.width, fn };
  }
  return { seriesUid: uid(b.seriesUid, 'seriesUid'), sopInstanceUid: uid(b.sopInstanceUid, 'sopInstanceUid'), frame: frameOf(b.frame), note, window };
}
