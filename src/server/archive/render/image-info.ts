/**
 * The attributes of the Image Pixel Module (PS3.3 C.7.6.3), Modality LUT (C.11.1) and VOI
 * LUT (C.11.2) modules that rendering needs, read with the project's own parser. Deflated
 * data sets (PS3.5 A.5) are inflated once, so offsets always refer to `data`.
 */
import zlib from 'node:zlib';
import { BufferSource, DicomParseError, readFileMeta, scanDataset, type PixelDataInfo, type RawElement } from '../dicom/parse.ts';
import { TS, isExplicitVr } from '../dicom/uids.ts';
import { RenderUnsupportedError } from './errors.ts';

/** Attributes of one instance that decide how its pixels are decoded and displayed. */
export interface ImageInfo {
  /** Transfer syntax of the stored file. */
  transferSyntaxUid: string;
  /** Transfer syntax of `data`: explicit VR little endian for a deflated file, else the stored one. */
  dataTransferSyntaxUid: string;
  /** The bytes `pixel` and `headerEnd` refer to: the file, or the inflated data set. */
  data: Buffer;
  /** Where the data set starts in `data`. */
  datasetOffset: number;
  /** Where the Pixel Data element (its tag) starts in `data`: the data set before it is the header. */
  headerEnd: number;
  bigEndian: boolean;
  pixel: PixelDataInfo;
  sopClassUid: string;
  sopInstanceUid: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  /** Photometric Interpretation (0028,0004), MONOCHROME2 when absent with one sample. */
  photometric: string;
  planarConfiguration: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 1 for two's complement samples. */
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Window Center/Width pairs in the data set (PS3.3 C.11.2.1.2), in order. */
  windows: { center: number; width: number }[];
  /** VOI LUT Function (0028,1056), LINEAR when absent. */
  voiLutFunction: string;
  /** Pixel Padding Value (0028,0120), excluded from the min/max window. */
  paddingValue: number | undefined;
  /** Pixel Padding Range Limit (0028,0121). */
  paddingRangeLimit: number | undefined;
  /** Extended Offset Table (7FE0,0001) and its lengths (7FE0,0002), PS3.3 C.7.6.3.1.8. */
  extendedOffsets: bigint[] | undefined;
  extendedLengths: bigint[] | undefined;
  /**
   * Whether the header may hold a Modality LUT Sequence (0028,3000) or VOI LUT Sequence
   * (0028,3010); these are read from the header with dcmjs when true.
   */
  mayHaveLutSequences: boolean;
  /** Modality (0008,0060), e.g. CT; '' when absent. */
  modality: string;
  /** Rescale Type (0028,1054), the unit of the modality values (HU, US, ...); '' when absent. */
  rescaleType: string;
  /** Pixel Spacing (0028,0030): [row spacing, column spacing] in mm, in the patient. */
  pixelSpacing: [number, number] | undefined;
  /** Imager Pixel Spacing (0018,1164): [row, column] in mm at the detector (projection radiography). */
  imagerPixelSpacing: [number, number] | undefined;
  /** Pixel Spacing Calibration Type (0028,0A02): GEOMETRY or FIDUCIAL when Pixel Spacing was calibrated. */
  pixelSpacingCalibrationType: string;
}

const WANTED: ReadonlySet<number> = new Set([
  0x00080016, 0x00080018, 0x00280002, 0x00280004, 0x00280006, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00280101,
  0x00280102, 0x00280103, 0x00280120, 0x00280121, 0x00281050, 0x00281051, 0x00281052, 0x00281053, 0x00281056,
  0x7fe00001, 0x7fe00002,
  // For measurements (not rendering): Modality, Pixel Spacing, Imager Pixel Spacing, Rescale Type, Pixel Spacing Calibration Type.
  0x00080060, 0x00280030, 0x00181164, 0x00281054, 0x00280a02,
]);

/** Files deflated beyond this are refused (a deflate bomb would otherwise fill memory). */
const MAX_INFLATED_BYTES = 1024 * 1024 * 1024;

function text(el: RawElement | undefined): string {
  return el ? el.value.toString('latin1').replace(/[\0 ]+$/, '').trim() : '';
}

function numbers(el: RawElement | undefined): number[] {
  const t = text(el);
  if (!t) return [];
  return t.split('\\').map((v) => Number(v.trim()));
}

/** A pair of positive spacings (row\column, mm), or undefined when absent or unusable. */
function spacing(el: RawElement | undefined): [number, number] | undefined {
  const v = numbers(el);
  if (v.length < 2) return undefined;
  const [r, c] = v as [number, number];
  return Number.isFinite(r) && Number.isFinite(c) && r > 0 && c > 0 ? [r, c] : undefined;
}

function us(el: RawElement | undefined, big: boolean): number | undefined {
  if (!el || el.value.length < 2) return undefined;
  return big ? el.value.readUInt16BE(0) : el.value.readUInt16LE(0);
}

function ov(el: RawElement | undefined, big: boolean): bigint[] | undefined {
  if (!el || el.value.length === 0 || el.value.length % 8 !== 0) return undefined;
  const out: bigint[] = [];
  for (let o = 0; o < el.value.length; o += 8) out.push(big ? el.value.readBigUInt64BE(o) : el.value.readBigUInt64LE(o));
  return out;
}

/** Byte patterns of the LUT sequence tags in each byte order. */
const LUT_TAGS_LE = [Buffer.from([0x28, 0x00, 0x00, 0x30]), Buffer.from([0x28, 0x00, 0x10, 0x30])];
const LUT_TAGS_BE = [Buffer.from([0x00, 0x28, 0x30, 0x00]), Buffer.from([0x00, 0x28, 0x30, 0x10])];

/**
 * Reads the rendering attributes of a Part 10 file.
 * @throws DicomParseError when the file is not valid DICOM
 * @throws RenderUnsupportedError when it has no pixel data or impossible image attributes
 */
export function readImageInfo(bytes: Buffer): ImageInfo {
  const meta = readFileMeta(new BufferSource(bytes));
  const ts = meta.transferSyntaxUid;
  let data = bytes;
  let datasetOffset = meta.datasetOffset;
  let dataTs = ts;
  if (ts === TS.DeflatedExplicitVRLittleEndian) {
    try {
      data = zlib.inflateRawSync(bytes.subarray(meta.datasetOffset), { maxOutputLength: MAX_INFLATED_BYTES });
    } catch {
      throw new DicomParseError('deflated data set cannot be inflated');
    }
    datasetOffset = 0;
    dataTs = TS.ExplicitVRLittleEndian;
  }
  const scan = scanDataset(new BufferSource(data), datasetOffset, dataTs, WANTED);
  const pixel = scan.pixel;
  if (!pixel) throw new RenderUnsupportedError('the instance has no Pixel Data (7FE0,0010)');
  const el = scan.elements;
  const big = scan.bigEndian;
  const headerEnd = pixel.offset - (isExplicitVr(dataTs) ? 12 : 8);

  const rows = us(el.get(0x00280010), big) ?? 0;
  const columns = us(el.get(0x00280011), big) ?? 0;
  const samplesPerPixel = us(el.get(0x00280002), big) ?? 1;
  const bitsAllocated = us(el.get(0x00280100), big) ?? 0;
  const bitsStored = us(el.get(0x00280101), big) ?? bitsAllocated;
  const highBit = us(el.get(0x00280102), big) ?? bitsStored - 1;
  const pixelRepresentation = us(el.get(0x00280103), big) ?? 0;
  const framesText = text(el.get(0x00280008));
  const frames = framesText ? Number.parseInt(framesText, 10) : 1;
  if (!(rows > 0 && columns > 0)) throw new RenderUnsupportedError('Rows (0028,0010) and Columns (0028,0011) must be above 0');
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw new RenderUnsupportedError(`Bits Allocated (0028,0100) ${bitsAllocated} cannot be rendered`);
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated && highBit >= bitsStored - 1 && highBit < bitsAllocated)) {
    throw new RenderUnsupportedError(`Bits Stored ${bitsStored} / High Bit ${highBit} do not fit Bits Allocated ${bitsAllocated}`);
  }
  if (!(Number.isInteger(frames) && frames >= 1)) throw new RenderUnsupportedError('Number of Frames (0028,0008) must be a positive integer');
  let photometric = text(el.get(0x00280004)).toUpperCase();
  if (!photometric && samplesPerPixel === 1) photometric = 'MONOCHROME2';

  const slope = numbers(el.get(0x00281053))[0];
  const intercept = numbers(el.get(0x00281052))[0];
  const centers = numbers(el.get(0x00281050));
  const widths = numbers(el.get(0x00281051));
  const windows: { center: number; width: number }[] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const c = centers[i]!;
    const w = widths[i]!;
    if (Number.isFinite(c) && Number.isFinite(w) && w > 0) windows.push({ center: c, width: w });
  }
  const signed = pixelRepresentation === 1;
  const toSigned = (v: number | undefined): number | undefined => (v !== undefined && signed && v >= 0x8000 ? v - 0x10000 : v);

  const header = data.subarray(datasetOffset, Math.max(datasetOffset, headerEnd));
  const patterns = big ? LUT_TAGS_BE : LUT_TAGS_LE;
  return {
    transferSyntaxUid: ts,
    dataTransferSyntaxUid: dataTs,
    data,
    datasetOffset,
    headerEnd,
    bigEndian: big,
    pixel,
    sopClassUid: meta.mediaStorageSopClassUid || text(el.get(0x00080016)),
    sopInstanceUid: meta.mediaStorageSopInstanceUid || text(el.get(0x00080018)),
    rows,
    columns,
    frames,
    samplesPerPixel,
    photometric,
    planarConfiguration: us(el.get(0x00280006), big) ?? 0,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    rescaleSlope: slope !== undefined && Number.isFinite(slope) && slope !== 0 ? slope : 1,
    rescaleIntercept: intercept !== undefined && Number.isFinite(intercept) ? intercept : 0,
    windows,
    voiLutFunction: text(el.get(0x00281056)).toUpperCase() || 'LINEAR',
    paddingValue: toSigned(us(el.get(0x00280120), big)),
    paddingRangeLimit: toSigned(us(el.get(0x00280121), big)),
    extendedOffsets: ov(el.get(0x7fe00001), big),
    extendedLengths: ov(el.get(0x7fe00002), big),
    // A byte search is enough: a false match only costs reading the header with dcmjs.
    mayHaveLutSequences: patterns.some((p) => header.includes(p)),
    modality: text(el.get(0x00080060)).toUpperCase(),
    rescaleType: text(el.get(0x00281054)),
    pixelSpacing: spacing(el.get(0x00280030)),
    imagerPixelSpacing: spacing(el.get(0x00181164)),
    pixelSpacingCalibrationType: text(el.get(0x00280a02)).toUpperCase(),
  };
}

/** Whether the instance is grayscale (one sample, MONOCHROME1 or MONOCHROME2; PS3.3 C.7.6.3.1.2). */
export function isGrayscale(info: ImageInfo): boolean {
  return info.samplesPerPixel === 1 && (info.photometric === 'MONOCHROME1' || info.photometric === 'MONOCHROME2');
}
