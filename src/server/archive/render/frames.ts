/**
 * The stored bytes of one frame, as they are in the file: a slice of native Pixel Data
 * (PS3.5 §8.1.1, §8.2) or the fragments of one compressed frame (PS3.5 A.4). WADO-RS
 * Retrieve Frames serves these as bulk data (PS3.18 §10.4.1.1.3), the decoder reads them.
 */
import { TS } from '../dicom/uids.ts';
import { FrameOutOfRangeError, RenderUnsupportedError } from './errors.ts';
import { readImageInfo, type ImageInfo } from './image-info.ts';

const ITEM = 0xfffee000;
const SQ_DELIM = 0xfffee0dd;

/** Transfer syntaxes whose Pixel Data is native (not encapsulated). */
const NATIVE = new Set<string>([TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian]);

/** One frame's stored bytes. */
export interface StoredFrame {
  /** The bytes; a view into the file where no copy is needed. */
  data: Buffer;
  /**
   * Transfer syntax of `data`: the stored one, except that a deflated file's frames are
   * explicit VR little endian (the data set had to be inflated to reach them).
   */
  transferSyntaxUid: string;
}

/** Size in bytes of one native frame (PS3.5 §8.1.1; YBR_FULL_422 per PS3.3 C.7.6.3.1.2). */
export function nativeFrameBits(info: ImageInfo): number {
  const pixels = info.rows * info.columns;
  if (info.photometric === 'YBR_FULL_422' && info.samplesPerPixel === 3) return pixels * 2 * info.bitsAllocated;
  return pixels * info.samplesPerPixel * info.bitsAllocated;
}

function checkFrame(info: ImageInfo, frame: number): void {
  if (!Number.isInteger(frame) || frame < 1 || frame > info.frames) throw new FrameOutOfRangeError(frame, info.frames);
}

/** The fragments of encapsulated Pixel Data: the Basic Offset Table and each fragment's place. */
interface Fragments {
  offsetTable: number[];
  /** Offset of the first fragment's item tag; Basic Offset Table entries count from here. */
  firstItem: number;
  items: { itemOffset: number; start: number; length: number }[];
}

function readFragments(info: ImageInfo): Fragments {
  const d = info.data;
  const read32 = (o: number): number => (info.bigEndian ? d.readUInt32BE(o) : d.readUInt32LE(o));
  const tagAt = (o: number): number => ((info.bigEndian ? d.readUInt16BE(o) : d.readUInt16LE(o)) * 0x10000 + (info.bigEndian ? d.readUInt16BE(o + 2) : d.readUInt16LE(o + 2))) >>> 0;
  let pos = info.pixel.offset;
  const end = info.pixel.offset + info.pixel.length;
  if (tagAt(pos) !== ITEM) throw new RenderUnsupportedError('encapsulated Pixel Data does not start with the Basic Offset Table item');
  const botLength = read32(pos + 4);
  const offsetTable: number[] = [];
  for (let o = pos + 8; o + 4 <= pos + 8 + botLength; o += 4) offsetTable.push(read32(o));
  pos += 8 + botLength;
  const firstItem = pos;
  const items: Fragments['items'] = [];
  while (pos + 8 <= end) {
    const tag = tagAt(pos);
    if (tag === SQ_DELIM) break;
    if (tag !== ITEM) throw new RenderUnsupportedError('malformed encapsulated Pixel Data');
    const length = read32(pos + 4);
    items.push({ itemOffset: pos - firstItem, start: pos + 8, length });
    pos += 8 + length;
  }
  return { offsetTable, firstItem, items };
}

/** Whether a fragment begins a JPEG (SOI), JPEG-LS (SOI) or JPEG 2000 codestream (SOC) or file. */
function startsCodestream(d: Buffer, start: number, length: number): boolean {
  if (length < 2) return false;
  const a = d[start];
  const b = d[start + 1];
  if (a === 0xff && (b === 0xd8 || b === 0x4f)) return true;
  return length >= 12 && d.readUInt32BE(start) === 12 && d.toString('latin1', start + 4, start + 8) === 'jP  ';
}

/** The fragment indexes of each frame (PS3.5 A.4, PS3.3 C.7.6.3.1.8). */
function frameFragments(info: ImageInfo, f: Fragments): number[][] {
  const n = info.frames;
  const byOffsets = (offsets: number[]): number[][] => {
    const frames: number[][] = offsets.map(() => []);
    let k = 0;
    f.items.forEach((item, i) => {
      while (k + 1 < offsets.length && item.itemOffset >= offsets[k + 1]!) k++;
      if (item.itemOffset >= offsets[0]!) frames[k]!.push(i);
    });
    return frames;
  };
  if (info.extendedOffsets && info.extendedOffsets.length === n) {
    return byOffsets(info.extendedOffsets.map((o) => Number(o)));
  }
  if (f.offsetTable.length === n && n > 0) return byOffsets(f.offsetTable);
  if (f.items.length === n) return f.items.map((_, i) => [i]);
  if (n === 1) return [f.items.map((_, i) => i)];
  // No table and more fragments than frames: a frame starts where a codestream starts.
  const frames: number[][] = [];
  f.items.forEach((item, i) => {
    if (frames.length === 0 || startsCodestream(info.data, item.start, item.length)) frames.push([]);
    frames[frames.length - 1]!.push(i);
  });
  if (frames.length !== n) {
    throw new RenderUnsupportedError(`cannot tell which of ${f.items.length} fragments belong to which of ${n} frames (no offset table)`);
  }
  return frames;
}

/**
 * The stored bytes of one frame, from parsed image attributes (1-based `frame`).
 * @throws FrameOutOfRangeError when the frame does not exist
 * @throws RenderUnsupportedError when the Pixel Data is shorter than its attributes say or its fragments cannot be split
 */
export function frameOf(info: ImageInfo, frame: number): StoredFrame {
  checkFrame(info, frame);
  const ts = info.dataTransferSyntaxUid;
  const d = info.data;
  if (NATIVE.has(ts)) {
    const bits = nativeFrameBits(info);
    const startBit = (frame - 1) * bits;
    const endByte = Math.ceil((startBit + bits) / 8);
    if (info.pixel.encapsulated || endByte > info.pixel.length) {
      throw new RenderUnsupportedError(`Pixel Data holds ${info.pixel.length} bytes, fewer than ${info.frames} frames of ${info.rows}x${info.columns} need`);
    }
    const base = info.pixel.offset;
    if (startBit % 8 === 0) return { data: d.subarray(base + startBit / 8, base + endByte), transferSyntaxUid: ts };
    // Single-bit frames need not start on a byte boundary (PS3.5 §8.1.1): realign them.
    const out = Buffer.alloc(Math.ceil(bits / 8));
    for (let i = 0; i < bits; i++) {
      const b = startBit + i;
      if ((d[base + (b >> 3)]! >> (b & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
    }
    return { data: out, transferSyntaxUid: ts };
  }
  if (!info.pixel.encapsulated) throw new RenderUnsupportedError(`transfer syntax ${ts} needs encapsulated Pixel Data`);
  const f = readFragments(info);
  const indexes = frameFragments(info, f)[frame - 1] ?? [];
  if (indexes.length === 0) throw new RenderUnsupportedError(`frame ${frame} has no fragments`);
  const parts = indexes.map((i) => d.subarray(f.items[i]!.start, f.items[i]!.start + f.items[i]!.length));
  return { data: parts.length === 1 ? parts[0]! : Buffer.concat(parts), transferSyntaxUid: ts };
}

/**
 * The stored bytes of one frame of a Part 10 file, as-is: for native transfer syntaxes the
 * frame's slice of Pixel Data (PS3.5 §8.1.1), for encapsulated ones the frame's fragments
 * concatenated, found through the Extended Offset Table or Basic Offset Table, or one
 * fragment per frame when there is none (PS3.5 A.4). For WADO-RS frame retrieval
 * (PS3.18 §10.4.1.1.3).
 * @param bytes a whole Part 10 file
 * @param frame 1-based frame number
 * @throws FrameOutOfRangeError when the frame does not exist
 * @throws DicomParseError when the file is not valid DICOM
 * @throws RenderUnsupportedError when the file has no usable Pixel Data
 */
export function extractFrame(bytes: Buffer, frame: number): StoredFrame {
  return frameOf(readImageInfo(bytes), frame);
}
