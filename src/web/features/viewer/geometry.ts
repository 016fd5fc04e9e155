/**
 * The image stack of a series: its frames in slice order, and where each slice lies.
 *
 * The slice position is Image Position (Patient) projected on the slice normal, the cross
 * product of the row and column direction cosines of Image Orientation (Patient)
 * (PS3.3 C.7.6.2.1.1). Viewports showing two studies of one patient side by side scroll
 * together by that position. Multi-frame objects give their per-frame positions in the
 * Plane Position Sequence of the Per-frame Functional Groups (PS3.3 C.7.6.16.2.3).
 */
import { items, num, nums, str, TAG, type DicomJson } from './dicomJson.ts';

export type Vec3 = [number, number, number];

/** A window in modality units (for CT: Hounsfield units). */
export interface WindowLevel {
  center: number;
  width: number;
}

/** One displayable frame of a series. */
export interface StackItem {
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  /** 1-based frame number within the instance. */
  frame: number;
  /** Whether the instance has more than one frame (rendered then by `/frames/{n}/rendered`). */
  multiFrame: boolean;
  instanceNumber: number | undefined;
  rows: number | undefined;
  columns: number | undefined;
  /** Image Position (Patient) of the frame's first pixel, in mm. */
  position: Vec3 | undefined;
  /** Image Orientation (Patient): row then column direction cosines. */
  orientation: number[] | undefined;
  /** Row spacing then column spacing, in mm. */
  pixelSpacing: [number, number] | undefined;
  /** The object's own first window (Window Center / Width), if it has one. */
  window: WindowLevel | undefined;
  frameOfReferenceUid: string | undefined;
  /** Milliseconds between frames for cine (Frame Time, or 1000 / Cine Rate), if given. */
  frameTimeMs: number | undefined;
}

/** The slice normal (row × column direction cosines), or undefined without a valid orientation. */
export function sliceNormal(orientation: readonly number[] | undefined): Vec3 | undefined {
  if (!orientation || orientation.length < 6) return undefined;
  const [rx, ry, rz, cx, cy, cz] = orientation as [number, number, number, number, number, number];
  const n: Vec3 = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const len = Math.hypot(n[0], n[1], n[2]);
  if (!(len > 1e-6)) return undefined;
  return [n[0] / len, n[1] / len, n[2] / len];
}

/** The position of a slice along a normal (mm), or undefined without a position. */
export function slicePosition(item: Pick<StackItem, 'position'>, normal: Vec3 | undefined): number | undefined {
  if (!item.position || !normal) return undefined;
  return item.position[0] * normal[0] + item.position[1] * normal[1] + item.position[2] * normal[2];
}

/** Whether two normals are parallel (the same plane orientation, either direction). */
export function parallel(a: Vec3 | undefined, b: Vec3 | undefined, tolerance = 0.01): boolean {
  if (!a || !b) return false;
  return 1 - Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) < tolerance;
}

function vec3(v: number[]): Vec3 | undefined {
  return v.length >= 3 ? [v[0]!, v[1]!, v[2]!] : undefined;
}

function windowOf(ds: DicomJson | undefined): WindowLevel | undefined {
  const center = num(ds, TAG.WindowCenter);
  const width = num(ds, TAG.WindowWidth);
  return center !== undefined && width !== undefined && width > 0 ? { center, width } : undefined;
}

/**
 * The frames of one instance from its metadata (WADO-RS metadata or a QIDO-RS instance
 * answer, which has no geometry: the stack is then ordered by Instance Number).
 */
export function framesOf(ds: DicomJson, studyUid: string, seriesUid: string): StackItem[] {
  const sopInstanceUid = str(ds, TAG.SOPInstanceUID) ?? '';
  const frames = Math.max(1, Math.floor(num(ds, TAG.NumberOfFrames) ?? 1));
  const shared = items(ds, TAG.SharedFunctionalGroupsSequence)[0];
  const perFrame = items(ds, TAG.PerFrameFunctionalGroupsSequence);
  const sharedOrientation = nums(items(shared, TAG.PlaneOrientationSequence)[0], TAG.ImageOrientationPatient);
  const sharedSpacing = nums(items(shared, TAG.PixelMeasuresSequence)[0], TAG.PixelSpacing);
  const sharedWindow = windowOf(items(shared, TAG.FrameVOILUTSequence)[0]);
  const orientation = nums(ds, TAG.ImageOrientationPatient);
  const spacing = nums(ds, TAG.PixelSpacing);
  const frameTime = num(ds, TAG.FrameTime) ?? (num(ds, TAG.CineRate) ? 1000 / num(ds, TAG.CineRate)! : undefined);
  const out: StackItem[] = [];
  for (let f = 1; f <= frames; f++) {
    const own = perFrame[f - 1];
    const ownPosition = nums(items(own, TAG.PlanePositionSequence)[0], TAG.ImagePositionPatient);
    const ownOrientation = nums(items(own, TAG.PlaneOrientationSequence)[0], TAG.ImageOrientationPatient);
    const ownSpacing = nums(items(own, TAG.PixelMeasuresSequence)[0], TAG.PixelSpacing);
    const o = ownOrientation.length >= 6 ? ownOrientation : sharedOrientation.length >= 6 ? sharedOrientation : orientation;
    const s = ownSpacing.length >= 2 ? ownSpacing : sharedSpacing.length >= 2 ? sharedSpacing : spacing;
    out.push({
      studyUid,
      seriesUid,
      sopInstanceUid,
      frame: f,
      multiFrame: frames > 1,
      instanceNumber: num(ds, TAG.InstanceNumber),
      rows: num(ds, TAG.Rows),
      columns: num(ds, TAG.Columns),
      position: vec3(ownPosition.length >= 3 ? ownPosition : nums(ds, TAG.ImagePositionPatient)),
      orientation: o.length >= 6 ? o.slice(0, 6) : undefined,
      pixelSpacing: s.length >= 2 ? [s[0]!, s[1]!] : undefined,
      window: windowOf(items(own, TAG.FrameVOILUTSequence)[0]) ?? sharedWindow ?? windowOf(ds),
      frameOfReferenceUid: str(ds, TAG.FrameOfReferenceUID),
      frameTimeMs: frameTime !== undefined && frameTime > 0 ? frameTime : undefined,
    });
  }
  return out;
}

/** A sorted stack with its slice normal and positions. */
export interface Stack {
  items: StackItem[];
  normal: Vec3 | undefined;
  /** Slice position of each item along {@link normal} (undefined where unknown). */
  positions: Array<number | undefined>;
}

/**
 * Orders frames for stack scrolling. When every frame has a position and all share one
 * orientation, they are sorted along the slice normal, in the direction that keeps
 * Instance Number ascending (so the first slice of the acquisition comes first);
 * otherwise by Instance Number and frame number.
 */
export function buildStack(frames: readonly StackItem[]): Stack {
  const byNumber = [...frames].sort(
    (a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0) || a.frame - b.frame || a.sopInstanceUid.localeCompare(b.sopInstanceUid),
  );
  const normal = sliceNormal(byNumber[0]?.orientation);
  const geometric = normal !== undefined && byNumber.every((f) => f.position && parallel(sliceNormal(f.orientation), normal));
  let ordered = byNumber;
  if (geometric && byNumber.length > 1) {
    ordered = [...byNumber].sort((a, b) => slicePosition(a, normal)! - slicePosition(b, normal)!);
    const first = ordered[0]!;
    const last = ordered[ordered.length - 1]!;
    const firstKey = (first.instanceNumber ?? 0) * 1e6 + first.frame;
    const lastKey = (last.instanceNumber ?? 0) * 1e6 + last.frame;
    if (firstKey > lastKey) ordered.reverse();
  }
  return { items: ordered, normal, positions: ordered.map((f) => slicePosition(f, normal)) };
}

/**
 * The index of the slice nearest to `position` (mm along `normal`), or undefined when the
 * stack has no positions or lies in another plane orientation.
 */
export function nearestSlice(stack: Stack, position: number, normal: Vec3 | undefined): number | undefined {
  if (!stack.normal || !parallel(stack.normal, normal)) return undefined;
  // Normals pointing opposite ways measure positions with opposite signs.
  const sign = normal && stack.normal[0] * normal[0] + stack.normal[1] * normal[1] + stack.normal[2] * normal[2] < 0 ? -1 : 1;
  const target = position * sign;
  let best: number | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  stack.positions.forEach((p, i) => {
    if (p === undefined) return;
    const d = Math.abs(p - target);
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return best;
}

/** The index of a frame in a stack, or -1. */
export function indexOfFrame(stack: Stack, sopInstanceUid: string, frame: number): number {
  return stack.items.findIndex((f) => f.sopInstanceUid === sopInstanceUid && f.frame === frame);
}
