/**
 * Decodes one stored frame into what the display stages need: stored grayscale values
 * with their Modality and VOI LUT attributes, or 8-bit RGB for colour. Native grayscale is
 * read by Enkaku's own code; compressed frames are decoded by dcmjs-imaging's WebAssembly
 * codecs (RLE, JPEG, JPEG-LS, JPEG 2000, HTJ2K), and colour (RGB, YBR_*, PALETTE COLOR) is
 * converted by dcmjs-imaging. LUT sequences are read from the header with dcmjs.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import imaging from 'dcmjs-imaging';
import { buildFileMeta } from '../dicom/filemeta.ts';
import { TS } from '../dicom/uids.ts';
import { RenderUnsupportedError } from './errors.ts';
import { frameOf, type StoredFrame } from './frames.ts';
import { cellsOf, type GrayFrame, type LutTable, type ModalityLut } from './gray.ts';
import { isGrayscale, type ImageInfo } from './image-info.ts';
import type { VoiFunction } from './params.ts';

/** A decoded colour frame: interleaved 8-bit RGB. */
export interface ColorFrame {
  kind: 'rgb';
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** A decoded frame as cached between renderings. */
export type DecodedFrame = GrayFrame | ColorFrame;

/** Bytes a decoded frame holds in typed arrays (what the cache counts). */
export function decodedBytes(f: DecodedFrame): number {
  if (f.kind === 'rgb') return f.pixels.byteLength;
  const p = f.presentation;
  let n = f.cells.byteLength;
  if (p.modality.kind === 'table') n += p.modality.table.values.byteLength;
  if (p.voiLut) n += p.voiLut.values.byteLength;
  return n;
}

const require = createRequire(import.meta.url);

interface Dcmjs {
  log: { getLevel(): number; setLevel(level: number | string, persist?: boolean): void };
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { dict: Record<string, unknown> } };
    DicomMetaDictionary: { naturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = require('dcmjs') as Dcmjs;

/** The decoding entry points dcmjs-imaging's NativePixelDecoder exposes at run time. */
interface PixelLike {
  getWidth(): number;
  getHeight(): number;
  getBitsAllocated(): number;
  getBitsStored(): number;
  getSamplesPerPixel(): number;
  getPixelRepresentation(): number;
  getPlanarConfiguration(): number;
  getPhotometricInterpretation(): string;
}
type DecodeFn = (pixel: PixelLike, data: Uint8Array, params?: { convertColorspaceToRgb?: boolean }) => Uint8Array;
interface NativeDecoders {
  decodeRle: DecodeFn;
  decodeJpeg: DecodeFn;
  decodeJpegLs: DecodeFn;
  decodeJpeg2000: DecodeFn;
}

let codecsReady: Promise<void> | undefined;

/**
 * Loads dcmjs-imaging's WebAssembly codecs (once per process); needed before a compressed
 * frame can be decoded. The engine calls this itself.
 * @throws RenderUnsupportedError when the codecs cannot be loaded
 */
export function initRenderCodecs(): Promise<void> {
  codecsReady ??= (async () => {
    const wasm = path.join(path.dirname(require.resolve('dcmjs-imaging')), 'dcmjs-native-codecs.wasm');
    try {
      await imaging.NativePixelDecoder.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
    } catch (err) {
      codecsReady = undefined;
      throw new RenderUnsupportedError(`the image codecs could not be loaded: ${(err as Error).message}`);
    }
  })();
  return codecsReady;
}

const NATIVE = new Set<string>([TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.EncapsulatedUncompressedExplicitVRLittleEndian]);

/** The codec for each compressed transfer syntax (PS3.5 §10, Annex A.4). */
function decoderFor(ts: string): keyof NativeDecoders | undefined {
  switch (ts) {
    case TS.RleLossless:
      return 'decodeRle';
    case TS.JpegBaseline:
    case TS.JpegExtended:
    case TS.JpegLosslessP14:
    case TS.JpegLosslessSV1:
      return 'decodeJpeg';
    case TS.JpegLsLossless:
    case TS.JpegLsNearLossless:
      return 'decodeJpegLs';
    case TS.Jpeg2000Lossless:
    case TS.Jpeg2000:
    case TS.HtJpeg2000Lossless:
    case TS.HtJpeg2000LosslessRpcl:
    case TS.HtJpeg2000:
      return 'decodeJpeg2000';
    default:
      return undefined;
  }
}

/** Decodes a compressed frame to native little-endian samples. */
async function decodeCompressed(info: ImageInfo, frame: StoredFrame): Promise<Uint8Array> {
  const fn = decoderFor(frame.transferSyntaxUid);
  if (!fn) throw new RenderUnsupportedError(`transfer syntax ${frame.transferSyntaxUid} cannot be decoded`);
  await initRenderCodecs();
  const pixel: PixelLike = {
    getWidth: () => info.columns,
    getHeight: () => info.rows,
    getBitsAllocated: () => info.bitsAllocated,
    getBitsStored: () => info.bitsStored,
    getSamplesPerPixel: () => info.samplesPerPixel,
    getPixelRepresentation: () => info.pixelRepresentation,
    getPlanarConfiguration: () => info.planarConfiguration,
    getPhotometricInterpretation: () => info.photometric,
  };
  const decoders = imaging.NativePixelDecoder as unknown as NativeDecoders;
  try {
    const data = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.length);
    return decoders[fn](pixel, data, { convertColorspaceToRgb: false });
  } catch (err) {
    throw new RenderUnsupportedError(`frame could not be decoded (${frame.transferSyntaxUid}): ${(err as Error).message}`);
  }
}

/** The header (everything before Pixel Data) as a Part 10 file dcmjs can read. */
function headerFile(info: ImageInfo): ArrayBuffer {
  let bytes: Buffer;
  if (info.transferSyntaxUid !== TS.DeflatedExplicitVRLittleEndian) {
    bytes = info.data.subarray(0, info.headerEnd);
  } else {
    // A deflated file was inflated: give dcmjs the inflated data set under a plain meta group.
    const meta = buildFileMeta(info.sopClassUid || '1.2.840.10008.5.1.4.1.1.7', info.sopInstanceUid || '1.2.3', info.dataTransferSyntaxUid);
    bytes = Buffer.concat([meta, info.data.subarray(info.datasetOffset, info.headerEnd)]);
  }
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

/** The header's attributes, naturalised by dcmjs (keywords as keys). */
function headerElements(info: ImageInfo): Record<string, unknown> {
  // dcmjs warns on the console about every multi-valued Specific Character Set, i.e. about
  // every Japanese object; text is not needed here, so its warnings are muted for this read.
  const level = dcmjs.log.getLevel();
  dcmjs.log.setLevel('error', false);
  try {
    const file = dcmjs.data.DicomMessage.readFile(headerFile(info), { ignoreErrors: true });
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
  } catch (err) {
    throw new RenderUnsupportedError(`the image attributes could not be read: ${(err as Error).message}`);
  } finally {
    dcmjs.log.setLevel(level, false);
  }
}

/** Reads a LUT Descriptor / LUT Data pair (PS3.3 C.11.1.1.1, C.11.2.1.1). */
function lutTable(item: unknown, signedFirst: boolean): LutTable | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const it = item as Record<string, unknown>;
  const desc = it.LUTDescriptor;
  if (!Array.isArray(desc) || desc.length < 3) return undefined;
  let count = Number(desc[0]);
  let first = Number(desc[1]);
  const bits = Number(desc[2]);
  if (count === 0) count = 65536; // 0 means 2^16 entries
  if (signedFirst && first >= 0x8000) first -= 0x10000; // US/SS per the pixel representation
  const data = it.LUTData;
  let values: Uint16Array | Uint8Array | undefined;
  if (Array.isArray(data) && data.length > 0 && typeof data[0] === 'number') {
    values = Uint16Array.from(data as number[]);
  } else if (Array.isArray(data) && data[0] instanceof ArrayBuffer) {
    const ab = data[0];
    if (bits <= 8 && ab.byteLength === count) values = new Uint8Array(ab.slice(0));
    else values = new Uint16Array(ab.slice(0, Math.floor(ab.byteLength / 2) * 2));
  }
  if (!values || values.length === 0 || !Number.isFinite(first) || !Number.isFinite(bits)) return undefined;
  if (values.length > count) values = values.subarray(0, count);
  return { first, values, bits: bits > 0 && bits <= 16 ? bits : 16 };
}

function voiFunctionOf(s: string): VoiFunction {
  return s === 'LINEAR_EXACT' || s === 'SIGMOID' ? s : 'LINEAR';
}

/** Decodes a grayscale frame (MONOCHROME1/2, one sample). */
async function decodeGray(info: ImageInfo, frame: StoredFrame): Promise<GrayFrame> {
  const native = NATIVE.has(frame.transferSyntaxUid);
  const bytes = native ? frame.data : await decodeCompressed(info, frame);
  const signed = info.pixelRepresentation === 1;
  // Decoders return samples right-aligned (High Bit = Bits Stored - 1).
  const bits = { bitsAllocated: info.bitsAllocated, bitsStored: info.bitsStored, highBit: native ? info.highBit : info.bitsStored - 1, signed };
  // Native cells of a single-frame file may stay in the file's buffer (see cellsOf).
  const cells = cellsOf(bytes, info.columns, info.rows, bits, native && frame.transferSyntaxUid === TS.ExplicitVRBigEndian, native && info.frames === 1);
  let modality: ModalityLut = { kind: 'linear', slope: info.rescaleSlope, intercept: info.rescaleIntercept };
  let voiLut: LutTable | undefined;
  if (info.mayHaveLutSequences) {
    const el = headerElements(info);
    const mlut = Array.isArray(el.ModalityLUTSequence) ? lutTable(el.ModalityLUTSequence[0], signed) : undefined;
    // A Modality LUT Sequence replaces Rescale Slope/Intercept (PS3.3 C.11.1).
    if (mlut) modality = { kind: 'table', table: mlut };
    const voiSigned = !mlut && (signed || info.rescaleIntercept < 0);
    voiLut = Array.isArray(el.VOILUTSequence) ? lutTable(el.VOILUTSequence[0], voiSigned) : undefined;
  }
  return {
    kind: 'gray',
    width: info.columns,
    height: info.rows,
    ...cells,
    padding: { value: info.paddingValue, limit: info.paddingRangeLimit },
    presentation: {
      modality,
      windows: info.windows,
      voiFunction: voiFunctionOf(info.voiLutFunction),
      voiLut,
      invert: info.photometric === 'MONOCHROME1',
    },
  };
}

const COLOR_PHOTOMETRIC = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_422', 'YBR_ICT', 'YBR_RCT']);

/** Decodes a colour frame (RGB, YBR_*, PALETTE COLOR) with dcmjs-imaging into 8-bit RGB. */
async function decodeColor(info: ImageInfo, frame: StoredFrame): Promise<ColorFrame> {
  const palette = info.photometric === 'PALETTE COLOR';
  if (palette ? info.samplesPerPixel !== 1 : !(COLOR_PHOTOMETRIC.has(info.photometric) && info.samplesPerPixel === 3)) {
    throw new RenderUnsupportedError(`Photometric Interpretation ${info.photometric} with ${info.samplesPerPixel} samples cannot be rendered`);
  }
  if (!palette && info.bitsAllocated !== 8) throw new RenderUnsupportedError(`colour with Bits Allocated ${info.bitsAllocated} cannot be rendered`);
  let ts = frame.transferSyntaxUid;
  // Encapsulated uncompressed frames are native little-endian samples (PS3.5 A.4.11).
  if (ts === TS.EncapsulatedUncompressedExplicitVRLittleEndian) ts = TS.ExplicitVRLittleEndian;
  if (!NATIVE.has(ts)) await initRenderCodecs();
  const elements = headerElements(info);
  const data = frame.data;
  elements.PixelData = [data.buffer.slice(data.byteOffset, data.byteOffset + data.length)];
  elements.NumberOfFrames = 1;
  let rgba: Uint8Array;
  try {
    const image = new imaging.DicomImage(elements, ts);
    rgba = new Uint8Array(image.render({ frame: 0, renderOverlays: false }).pixels);
  } catch (err) {
    throw new RenderUnsupportedError(`colour frame could not be rendered: ${(err as Error).message}`);
  }
  const n = info.rows * info.columns;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    rgb[i * 3] = rgba[j]!;
    rgb[i * 3 + 1] = rgba[j + 1]!;
    rgb[i * 3 + 2] = rgba[j + 2]!;
  }
  return { kind: 'rgb', width: info.columns, height: info.rows, pixels: rgb };
}

/**
 * Decodes one frame of an instance (1-based `frame`).
 * @throws FrameOutOfRangeError, RenderUnsupportedError
 */
export async function decodeFrame(info: ImageInfo, frame: number): Promise<DecodedFrame> {
  const stored = frameOf(info, frame);
  return isGrayscale(info) ? decodeGray(info, stored) : decodeColor(info, stored);
}
