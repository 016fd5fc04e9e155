/**
 * Small hand-made DICOM files for the rendering tests: explicit VR little endian data sets
 * with exactly the attributes a test needs (PS3.5 §7.1), written in ascending tag order.
 */
import { buildFileMeta } from '../dicom/filemeta.ts';
import { TS } from '../dicom/uids.ts';

/** One element: a tag, its VR and its value (text, numbers or raw bytes; items for SQ). */
export type FixtureElement =
  | [tag: number, vr: 'CS' | 'DS' | 'IS' | 'UI' | 'LO', value: string]
  | [tag: number, vr: 'US' | 'SS', value: number[]]
  | [tag: number, vr: 'OB' | 'OW', value: Uint8Array]
  | [tag: number, vr: 'SQ', items: FixtureElement[][]];

const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function valueBytes(el: FixtureElement): Buffer {
  const [, vr, v] = el;
  switch (vr) {
    case 'US':
    case 'SS': {
      const b = Buffer.alloc(v.length * 2);
      v.forEach((n, i) => (vr === 'US' ? b.writeUInt16LE(n, i * 2) : b.writeInt16LE(n, i * 2)));
      return b;
    }
    case 'OB':
    case 'OW': {
      const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      return b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : Buffer.from(b);
    }
    case 'SQ':
      return Buffer.concat(
        v.map((item) => {
          const body = writeElements(item);
          const head = Buffer.alloc(8);
          head.writeUInt16LE(0xfffe, 0);
          head.writeUInt16LE(0xe000, 2);
          head.writeUInt32LE(body.length, 4);
          return Buffer.concat([head, body]);
        }),
      );
    default: {
      const s = v.length % 2 ? v + (vr === 'UI' ? '\0' : ' ') : v;
      return Buffer.from(s, 'latin1');
    }
  }
}

/** Writes elements (sorted by tag) in explicit VR little endian. */
export function writeElements(elements: FixtureElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => a[0] - b[0]);
  return Buffer.concat(
    sorted.map((el) => {
      const [tag, vr] = el;
      const value = valueBytes(el);
      const long = LONG.has(vr);
      const head = Buffer.alloc(long ? 12 : 8);
      head.writeUInt16LE(tag >>> 16, 0);
      head.writeUInt16LE(tag & 0xffff, 2);
      head.write(vr, 4, 'latin1');
      if (long) head.writeUInt32LE(value.length, 8);
      else head.writeUInt16LE(value.length, 6);
      return Buffer.concat([head, value]);
    }),
  );
}

/** The image attributes of a fixture. */
export interface FixtureImage {
  rows: number;
  columns: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored?: number;
  pixelRepresentation?: number;
  samplesPerPixel?: number;
  planarConfiguration?: number;
  frames?: number;
  /** Native pixel data (little endian); ignored when `encapsulated` is given. */
  pixels: Uint8Array | Uint16Array | Int16Array;
  extra?: FixtureElement[];
  /** Encapsulated Pixel Data (PS3.5 A.4) in this transfer syntax instead of native data. */
  encapsulated?: { transferSyntaxUid: string; fragments: Uint8Array[]; basicOffsetTable?: number[] };
}

function item(tag: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(tag, 2);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Pixel Data (7FE0,0010) of undefined length: Basic Offset Table item, fragments, delimiter. */
export function encapsulatedPixelData(fragments: Uint8Array[], basicOffsetTable: number[] = []): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(0x7fe0, 0);
  head.writeUInt16LE(0x0010, 2);
  head.write('OB', 4, 'latin1');
  head.writeUInt32LE(0xffffffff, 8);
  const bot = Buffer.alloc(basicOffsetTable.length * 4);
  basicOffsetTable.forEach((o, i) => bot.writeUInt32LE(o, i * 4));
  const frags = fragments.map((f) => item(0xe000, f.length % 2 ? Buffer.concat([f, Buffer.alloc(1)]) : f));
  return Buffer.concat([head, item(0xe000, bot), ...frags, item(0xe0dd, new Uint8Array(0))]);
}

let counter = 0;

/** A complete Part 10 file (explicit VR little endian) holding one image. */
export function fixtureFile(img: FixtureImage): Buffer {
  const uid = `2.25.${Date.now()}${++counter}`;
  const sopClass = '1.2.840.10008.5.1.4.1.1.7';
  const bits = img.bitsAllocated;
  const samples = img.samplesPerPixel ?? 1;
  const els: FixtureElement[] = [
    [0x00080016, 'UI', sopClass],
    [0x00080018, 'UI', uid],
    [0x00280002, 'US', [samples]],
    [0x00280004, 'CS', img.photometric],
    [0x00280010, 'US', [img.rows]],
    [0x00280011, 'US', [img.columns]],
    [0x00280100, 'US', [bits]],
    [0x00280101, 'US', [img.bitsStored ?? bits]],
    [0x00280102, 'US', [(img.bitsStored ?? bits) - 1]],
    [0x00280103, 'US', [img.pixelRepresentation ?? 0]],
    ...(img.extra ?? []),
  ];
  if (samples > 1) els.push([0x00280006, 'US', [img.planarConfiguration ?? 0]]);
  if (img.frames !== undefined) els.push([0x00280008, 'IS', String(img.frames)]);
  if (img.encapsulated) {
    const { transferSyntaxUid, fragments, basicOffsetTable } = img.encapsulated;
    return Buffer.concat([buildFileMeta(sopClass, uid, transferSyntaxUid), writeElements(els), encapsulatedPixelData(fragments, basicOffsetTable)]);
  }
  els.push([0x7fe00010, bits > 8 ? 'OW' : 'OB', new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength)]);
  return Buffer.concat([buildFileMeta(sopClass, uid, TS.ExplicitVRLittleEndian), writeElements(els)]);
}
