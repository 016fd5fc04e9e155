/**
 * The grayscale display pipeline of PS3.4 N.2.1: stored values → Modality LUT (N.2.1.1,
 * PS3.3 C.11.1) → VOI LUT (N.2.1.3, C.11.2) → Presentation LUT (N.2.1.4: identity, or INVERSE
 * for MONOCHROME1) → P-Values, optionally through a terminal's output LUT. The stages are fused into one lookup table indexed
 * by the raw stored cell (masking and sign extension included), so a frame costs one table
 * read per pixel, and the slices of a series, which share rescale and window, share the table.
 */
import type { VoiFunction, VoiWindow } from './params.ts';

/** A LUT of a LUT Sequence: Descriptor (entries, first value mapped, bits) and Data (PS3.3 C.11.1.1, C.11.2.1.1). */
export interface LutTable {
  /** The stored (Modality LUT) or modality (VOI LUT) value mapped to the first entry. */
  first: number;
  values: Uint16Array | Uint8Array;
  /** Bits per entry (third LUT Descriptor value); the VOI LUT output range is 0 to 2^bits-1. */
  bits: number;
}

/** The Modality LUT: Rescale Slope/Intercept, or a Modality LUT Sequence item (PS3.3 C.11.1). */
export type ModalityLut = { kind: 'linear'; slope: number; intercept: number } | { kind: 'table'; table: LutTable };

/** What the data set says about displaying its grayscale pixels. */
export interface GrayPresentation {
  modality: ModalityLut;
  /** Window Center/Width pairs (PS3.3 C.11.2.1.2) in the data set's order. */
  windows: { center: number; width: number }[];
  /** VOI LUT Function (0028,1056) that applies to `windows`. */
  voiFunction: VoiFunction;
  /** First item of the VOI LUT Sequence (0028,3010), used when there is no window. */
  voiLut: LutTable | undefined;
  /** MONOCHROME1: the minimum stored value is white; its Presentation LUT is INVERSE (PS3.4 N.2.1.4, PS3.3 C.11.6.1.2). */
  invert: boolean;
}

/**
 * Cells of one frame as stored: Bits Allocated 8 or 16 bits each (single bits unpacked to
 * bytes), still carrying any bits outside Bits Stored; or, for Bits Allocated 32, stored
 * values already masked and sign-extended.
 */
export type Cells = Uint8Array | Uint16Array | Int32Array | Uint32Array;

/** Smallest and largest stored values of a frame. */
export interface StoredRange {
  min: number;
  max: number;
  /** Smallest and largest stored value that is not Pixel Padding (PS3.3 C.7.5.1.1.2). */
  valueMin: number;
  valueMax: number;
}

/** A decoded grayscale frame: stored cells and what is needed to display them. */
export interface GrayFrame {
  kind: 'gray';
  width: number;
  height: number;
  cells: Cells;
  /** 8 or 16: `cells` are raw cells; 32: `cells` are stored values. */
  cellBits: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  /** Pixel Padding Value (0028,0120) and Pixel Padding Range Limit (0028,0121). */
  padding: { value: number | undefined; limit: number | undefined };
  presentation: GrayPresentation;
  /** Measured on first need (windows from the data set or the request do not need it). */
  range?: StoredRange;
}

/** The VOI transformation chosen for one rendering. */
export type VoiChoice = { kind: 'window'; window: VoiWindow } | { kind: 'table'; table: LutTable };

/** Applies the Modality LUT to one stored value (PS3.3 C.11.1.1.2: m*SV + b, no rounding). */
export function modalityValue(m: ModalityLut, stored: number): number {
  if (m.kind === 'linear') return stored * m.slope + m.intercept;
  const v = m.table.values;
  const i = stored - m.table.first;
  return v[i <= 0 ? 0 : i >= v.length ? v.length - 1 : i]!;
}

/** Smallest and largest modality value over a range of stored values. */
function modalityRange(m: ModalityLut, lo: number, hi: number): [number, number] {
  if (m.kind === 'linear') {
    const a = modalityValue(m, lo);
    const b = modalityValue(m, hi);
    return a <= b ? [a, b] : [b, a];
  }
  let min = Infinity;
  let max = -Infinity;
  const from = Math.max(lo, m.table.first - 1);
  const to = Math.min(hi, m.table.first + m.table.values.length);
  for (let s = from; s <= to; s++) {
    const v = modalityValue(m, s);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) min = max = modalityValue(m, lo);
  return [min, max];
}

/**
 * The VOI transformation: the request's window, else the data set's first window, else its
 * VOI LUT Sequence, else a window spanning the frame's values (excluding padding).
 */
export function chooseVoi(frame: GrayFrame, requested: VoiWindow | undefined): VoiChoice {
  if (requested) return { kind: 'window', window: requested };
  const p = frame.presentation;
  const first = p.windows[0];
  if (first) {
    // LINEAR needs width >= 1 (PS3.3 C.11.2.1.2.1); a smaller stored width is read as 1.
    const width = p.voiFunction === 'LINEAR' ? Math.max(1, first.width) : first.width;
    return { kind: 'window', window: { center: first.center, width, fn: p.voiFunction } };
  }
  if (p.voiLut) return { kind: 'table', table: p.voiLut };
  // LINEAR_EXACT maps the smallest value to black and the largest to white exactly (C.11.2.1.3.1).
  const r = storedRange(frame);
  const [lo, hi] = modalityRange(p.modality, r.valueMin, r.valueMax);
  return { kind: 'window', window: { center: (lo + hi) / 2, width: Math.max(hi - lo, 1e-6), fn: 'LINEAR_EXACT' } };
}

/**
 * Returns the function from a modality value to an integer output in [0, ymax] for a VOI
 * choice: the window functions of PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.1 (LINEAR_EXACT) and
 * C.11.2.1.3.2 (SIGMOID), truncated to integers, or a VOI LUT rescaled from its 0..2^bits-1
 * output range (C.11.2.1.1).
 */
export function voiFunction(voi: VoiChoice, ymax: number): (x: number) => number {
  if (voi.kind === 'table') {
    const { first, values } = voi.table;
    let top = 2 ** voi.table.bits - 1;
    for (const v of values) if (v > top) top = 2 ** 16 - 1; // descriptor understates the entries' size
    const n = values.length;
    return (x) => {
      const i = Math.floor(x) - first;
      const v = values[i <= 0 ? 0 : i >= n ? n - 1 : i]!;
      return Math.trunc((v * ymax) / top);
    };
  }
  const { center: c, width: w, fn } = voi.window;
  const clamp = (y: number): number => (y <= 0 ? 0 : y >= ymax ? ymax : Math.trunc(y));
  if (fn === 'SIGMOID') return (x) => clamp(ymax / (1 + Math.exp((-4 * (x - c)) / w)));
  if (fn === 'LINEAR_EXACT') {
    const lo = c - w / 2;
    const hi = c + w / 2;
    return (x) => (x <= lo ? 0 : x > hi ? ymax : clamp(((x - c) / w + 0.5) * ymax));
  }
  // LINEAR: x <= c - 0.5 - (w-1)/2 → ymin; x > c - 0.5 + (w-1)/2 → ymax; else
  // ((x - (c - 0.5)) / (w - 1) + 0.5) * (ymax - ymin) + ymin.
  const c05 = c - 0.5;
  const w1 = w - 1;
  if (w1 <= 0) return (x) => (x <= c05 ? 0 : ymax);
  return (x) => clamp(((x - c05) / w1 + 0.5) * ymax);
}

/**
 * An output LUT: P-Values to the values written in the image. Its length is 256, 1024 or
 * 4096: the VOI output is computed on that many levels (0 to length-1), inverted there for
 * MONOCHROME1, and entry `p` gives the 8-bit output (0..255) for P-Value `p`. A table longer
 * than 256 keeps the precision of the VOI output until the terminal's calibration (e.g. to the
 * Grayscale Standard Display Function, PS3.14) has been applied, so that calibration does not
 * merge neighbouring levels twice. Colour images use it per channel, entry
 * `round(v * (length - 1) / 255)` for channel value `v`.
 */
export type OutputLut = ArrayLike<number>;

/**
 * Checks an output LUT and returns it as bytes.
 * @throws RangeError when its length is not 256, 1024 or 4096 or an entry is not an integer 0..255
 */
export function checkOutputLut(lut: OutputLut): Uint8Array {
  if (lut.length !== 256 && lut.length !== 1024 && lut.length !== 4096) {
    throw new RangeError(`an output LUT has 256, 1024 or 4096 entries, not ${lut.length}`);
  }
  const out = new Uint8Array(lut.length);
  for (let i = 0; i < lut.length; i++) {
    const v = lut[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`output LUT entry ${i} must be an integer from 0 to 255`);
    out[i] = v;
  }
  return out;
}

/**
 * The function from a raw cell to its stored value: the High Bit selects the Bits Stored bits
 * of the cell, and two's complement values are sign-extended (PS3.5 §8.1.1).
 */
export function cellToStored(frame: Pick<GrayFrame, 'cellBits' | 'bitsStored' | 'highBit' | 'signed'>): (cell: number) => number {
  if (frame.cellBits === 32) return (v) => v;
  const { bitsStored, highBit } = frame;
  if (frame.signed) {
    // Move the sign bit to bit 31, then shift back arithmetically.
    const up = 31 - highBit;
    const down = 32 - bitsStored;
    return (v) => (v << up) >> down;
  }
  const shift = highBit + 1 - bitsStored;
  const mask = 2 ** bitsStored - 1;
  return (v) => (v >>> shift) & mask;
}

/** The stored range of a frame, measured once and kept on the frame. */
export function storedRange(frame: GrayFrame): StoredRange {
  if (frame.range) return frame.range;
  const { value: pad, limit } = frame.padding;
  const padLo = pad === undefined ? Infinity : limit === undefined ? pad : Math.min(pad, limit);
  const padHi = pad === undefined ? -Infinity : limit === undefined ? pad : Math.max(pad, limit);
  let min = Infinity;
  let max = -Infinity;
  let valueMin = Infinity;
  let valueMax = -Infinity;
  const take = (v: number): void => {
    if (v < min) min = v;
    if (v > max) max = v;
    if (v >= padLo && v <= padHi) return;
    if (v < valueMin) valueMin = v;
    if (v > valueMax) valueMax = v;
  };
  const cells = frame.cells;
  if (frame.cellBits === 32) {
    for (let i = 0; i < cells.length; i++) take(cells[i]!);
  } else {
    // Mark the cell values present, then convert only those.
    const seen = new Uint8Array(1 << frame.cellBits);
    for (let i = 0; i < cells.length; i++) seen[cells[i]!] = 1;
    const stored = cellToStored(frame);
    for (let c = 0; c < seen.length; c++) if (seen[c]) take(stored(c));
  }
  if (min === Infinity) min = max = 0;
  if (valueMin === Infinity) {
    valueMin = min;
    valueMax = max;
  }
  frame.range = { min, max, valueMin, valueMax };
  return frame.range;
}

/** FNV-1a over the entries of an output LUT, to recognise the same calibration again. */
function lutKey(lut: Uint8Array | undefined): string {
  if (!lut) return '-';
  let h = 0x811c9dc5;
  for (let i = 0; i < lut.length; i++) h = Math.imul(h ^ lut[i]!, 0x01000193);
  return `${lut.length}:${(h >>> 0).toString(16)}`;
}

/** Recently built display tables; a series shares rescale and window, so its slices share one. */
const tables = new Map<string, Uint8Array>();
const MAX_TABLES = 32;

/** The display table over every raw cell value, from the table cache when it can be shared. */
function displayTable(frame: GrayFrame, voi: VoiChoice, lut: Uint8Array | undefined): Uint8Array {
  const p = frame.presentation;
  const shareable = p.modality.kind === 'linear' && voi.kind === 'window';
  let key = '';
  if (shareable && p.modality.kind === 'linear' && voi.kind === 'window') {
    const w = voi.window;
    key = `${frame.cellBits}/${frame.bitsStored}/${frame.highBit}/${frame.signed ? 1 : 0}|${p.modality.slope},${p.modality.intercept}|${w.center},${w.width},${w.fn}|${p.invert ? 1 : 0}|${lutKey(lut)}`;
    const hit = tables.get(key);
    if (hit) {
      tables.delete(key);
      tables.set(key, hit);
      return hit;
    }
  }
  const ymax = lut ? lut.length - 1 : 255;
  const f = voiFunction(voi, ymax);
  const m = p.modality;
  const stored = cellToStored(frame);
  const table = new Uint8Array(1 << frame.cellBits);
  for (let c = 0; c < table.length; c++) {
    const y = f(modalityValue(m, stored(c)));
    const v = p.invert ? ymax - y : y;
    table[c] = lut ? lut[v]! : v;
  }
  if (shareable) {
    tables.set(key, table);
    if (tables.size > MAX_TABLES) tables.delete(tables.keys().next().value!);
  }
  return table;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * out[i] = table[cells[i]] for 16-bit cells, writing four pixels per step where the host and
 * the output's alignment allow it. The cells need only their natural (2-byte) alignment, so
 * pixel data is read where it lies in the file.
 */
function apply16(cells: Uint16Array, table: Uint8Array, out: Uint8Array): void {
  const n = cells.length;
  let i = 0;
  if (LITTLE_ENDIAN_HOST && out.byteOffset % 4 === 0) {
    const quads = n >> 2;
    const out32 = new Uint32Array(out.buffer, out.byteOffset, quads);
    for (let j = 0; j < quads; j++, i += 4) {
      out32[j] = table[cells[i]!]! | (table[cells[i + 1]!]! << 8) | (table[cells[i + 2]!]! << 16) | (table[cells[i + 3]!]! << 24);
    }
  }
  for (; i < n; i++) out[i] = table[cells[i]!]!;
}

function apply8(cells: Uint8Array, table: Uint8Array, out: Uint8Array): void {
  for (let i = 0; i < cells.length; i++) out[i] = table[cells[i]!]!;
}

/**
 * Renders a grayscale frame to 8-bit display values: Modality LUT, VOI (see {@link chooseVoi}),
 * inversion for MONOCHROME1, then the output LUT when given. Frames of 8 or 16 bits go
 * through one table indexed by the raw cell; 32-bit frames are computed pixel by pixel.
 * @param frame the decoded frame
 * @param window the request's window, if any
 * @param outputLut a checked output LUT ({@link checkOutputLut})
 * @param into memory to write the pixels to (at least width × height bytes; the result is a
 *   view of its start), instead of new memory
 */
export function renderGray(frame: GrayFrame, window: VoiWindow | undefined, outputLut: Uint8Array | undefined, into?: Uint8Array): Uint8Array {
  const voi = chooseVoi(frame, window);
  const n = frame.width * frame.height;
  if (into && into.length < n) throw new RangeError(`renderGray: ${n} bytes needed, ${into.length} given`);
  const out = into ? into.subarray(0, n) : new Uint8Array(n);
  if (frame.cellBits === 16) {
    apply16(frame.cells as Uint16Array, displayTable(frame, voi, outputLut), out);
    return out;
  }
  if (frame.cellBits === 8) {
    apply8(frame.cells as Uint8Array, displayTable(frame, voi, outputLut), out);
    return out;
  }
  const ymax = outputLut ? outputLut.length - 1 : 255;
  const f = voiFunction(voi, ymax);
  const m = frame.presentation.modality;
  const invert = frame.presentation.invert;
  const cells = frame.cells;
  for (let i = 0; i < n; i++) {
    const y = f(modalityValue(m, cells[i]!));
    const v = invert ? ymax - y : y;
    out[i] = outputLut ? outputLut[v]! : v;
  }
  return out;
}

/**
 * The cells of one frame as decoded (little endian unless `bigEndian`), copied into memory
 * the frame owns. Bits Allocated 1 is unpacked to one byte per pixel; Bits Allocated 32 is
 * converted to stored values.
 *
 * With `share`, 16-bit little-endian cells that sit at an even offset in a buffer hardly
 * larger than the frame are used where they are instead of copied (the caller promises the buffer is
 * never changed afterwards): a single-frame file just read from disk.
 */
export function cellsOf(
  bytes: Uint8Array,
  width: number,
  height: number,
  bits: { bitsAllocated: number; bitsStored: number; highBit: number; signed: boolean },
  bigEndian: boolean,
  share = false,
): Pick<GrayFrame, 'cells' | 'cellBits' | 'bitsStored' | 'highBit' | 'signed'> {
  const n = width * height;
  const { bitsAllocated, signed } = bits;
  if (bitsAllocated === 1) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3]! >> (i & 7)) & 1;
    return { cells: out, cellBits: 8, bitsStored: 1, highBit: 0, signed: false };
  }
  const cell = bitsAllocated / 8;
  const need = n * cell;
  if (bytes.length < need) throw new RangeError(`decoded frame holds ${bytes.length} bytes, ${need} expected`);
  // Kept memory stays close to what the frame cache counts (the frame's own size).
  const slack = bytes.buffer.byteLength - need;
  if (share && cell === 2 && !bigEndian && bytes.byteOffset % 2 === 0 && slack <= Math.max(65_536, need / 8)) {
    return { cells: new Uint16Array(bytes.buffer, bytes.byteOffset, n), cellBits: 16, bitsStored: bits.bitsStored, highBit: bits.highBit, signed };
  }
  const ab = new ArrayBuffer(need);
  new Uint8Array(ab).set(bytes.subarray(0, need));
  if (cell === 1) return { cells: new Uint8Array(ab), cellBits: 8, bitsStored: bits.bitsStored, highBit: bits.highBit, signed };
  if (cell === 2) {
    if (bigEndian) Buffer.from(ab).swap16();
    return { cells: new Uint16Array(ab), cellBits: 16, bitsStored: bits.bitsStored, highBit: bits.highBit, signed };
  }
  if (bigEndian) Buffer.from(ab).swap32();
  const raw = new Uint32Array(ab);
  const stored = cellToStored({ cellBits: 16, bitsStored: bits.bitsStored, highBit: bits.highBit, signed });
  const full = bits.bitsStored === 32;
  const cells = signed ? new Int32Array(ab) : raw;
  if (!full) for (let i = 0; i < n; i++) cells[i] = stored(raw[i]!);
  return { cells, cellBits: 32, bitsStored: bits.bitsStored, highBit: bits.highBit, signed };
}
