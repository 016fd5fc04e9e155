/**
 * The server-side rendering engine: a stored DICOM instance in, display-ready PNG or JPEG
 * out (PS3.18 §10.4.1.1.4 rendered resources, PS3.4 N.2 display pipeline). Thin clients
 * never receive DICOM pixels.
 *
 * Per request: find the decoded frame in the {@link FrameCache} (or decode it: native
 * grayscale by Enkaku's own reader, the rest by dcmjs-imaging), apply Modality LUT, VOI,
 * MONOCHROME1 inversion and the optional output LUT through one lookup table, crop and flip
 * the source region, then encode: full-size images by libjpeg-turbo (jpeg.ts) or zlib
 * (png.ts), resized ones through sharp.
 *
 * Encoded images are kept too, in a second bounded memory cache keyed by the file's digest
 * and every parameter that changes the output (frame, media type, quality, window,
 * viewport, output LUT), so that showing a slice again costs no rendering. A reader who
 * scrolls through a series asks for its slices one after another: {@link RenderEngine.readAhead}
 * renders the next ones in the background into that cache, letting requests run between
 * its steps, and does not keep their decoded frames.
 *
 * A source may hand over its bytes while their SHA-256 is still being checked off the
 * request thread: the frame is decoded and rendered meanwhile, and nothing made from it is
 * cached or returned unless the check passes.
 */
import sharp, { type JpegOptions, type Sharp } from 'sharp';
import { FrameCache, type FrameCacheStats } from './cache.ts';
import { decodeFrame, decodedBytes, type DecodedFrame } from './decode.ts';
import { RenderParamError } from './errors.ts';
import { cellToStored, checkOutputLut, modalityValue, renderGray, type GrayFrame } from './gray.ts';
import { readImageInfo, type ImageInfo } from './image-info.ts';
import { encodeJpeg, encodeJpegNow } from './jpeg.ts';
import { encodePng, encodePngNow } from './png.ts';
import { BufferPool } from './pool.ts';
import type { RenderRequest, RenderedMediaType, Viewport } from './params.ts';

// libvips keeps recently used images in its own cache; rendered frames must stay within the
// bounded FrameCache, so that cache is off for the whole process.
sharp.cache(false);

/**
 * PNG of resized images (through sharp; full-size ones are png.ts's): lossless, a low zlib
 * level because latency matters more than bytes on a LAN.
 */
const PNG_COMPRESSION_LEVEL = 1;

/**
 * JPEG through sharp (resized images, or when libjpeg-turbo's own binding is missing; see
 * jpeg.ts): baseline Huffman coding with the standard tables (PS3.18 §8.7.4 asks for the baseline
 * 8-bit process); Huffman table optimisation and mozjpeg's trellis cost more time than the
 * few kilobytes they save. Colour keeps full chroma resolution at quality 90 and above.
 */
function jpegOptions(quality: number): JpegOptions {
  return { quality, mozjpeg: false, optimiseCoding: false, progressive: false, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' };
}

/** A stored instance to render. */
export interface RenderSource {
  /** Stable identity of the file's bytes (its SHA-256): frames are cached under it. */
  key: string;
  /**
   * The whole Part 10 file (preamble, "DICM", file meta, data set), or a function that
   * reads it; the function is called only when the frame is not cached. It may return the
   * bytes with their integrity check still running ({@link SourceRead}): the frame is then
   * decoded meanwhile, but neither cached nor used before the check has passed. The engine
   * may keep the pixel data where it lies in these bytes: they must not change afterwards.
   */
  bytes: Buffer | (() => Promise<Buffer | SourceRead>);
  /**
   * Optional: reads the file into memory that is reused afterwards and lends it to `use`,
   * returning what `use` made once the file's integrity check has passed (see
   * VerifiedReader.withFile). When given, a frame's first rendering is made this way and
   * only its encoded image is kept; the decoded frame is kept from its second rendering
   * with other parameters (a reader re-windowing the slice) on. `now` asks for the file to
   * be read on the calling thread (see {@link RenderEngine.render}).
   */
  lend?: <T>(use: (bytes: Buffer) => Promise<T>, now?: boolean) => Promise<T>;
}

/** A file read whose integrity check is still running (VerifiedReader.readVerifying in archive/read.ts). */
export interface SourceRead {
  bytes: Buffer;
  /** Resolves when the bytes are what was stored; rejects with the reason otherwise. */
  verified: Promise<void>;
}

/** Lets requests that arrived meanwhile run before the next step of a background render. */
const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An encoded rendered frame. */
export interface RenderedImage {
  body: Buffer;
  contentType: RenderedMediaType;
  width: number;
  height: number;
  /** Number of frames in the instance. */
  frames: number;
}

/** Display pixels before encoding: 8-bit gray (1 channel) or RGB (3 channels), row by row. */
export interface RenderedPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Number of frames in the instance. */
  frames: number;
}

/** Counters of the engine. */
export interface RenderStats {
  /** Frames decoded since the engine was made (cache misses that reached the decoder). */
  decodes: number;
  /** Images encoded since the engine was made (image cache misses). */
  encodes: number;
  /** Slices rendered ahead of a reader (see {@link RenderEngine.readAhead}). */
  readAheads: number;
  /** Decoded frames. */
  cache: FrameCacheStats;
  /** Encoded images. */
  images: FrameCacheStats;
}

/** What measurements need to know of an instance besides its pixels. */
export interface MeasurementAttributes {
  /** Modality (0008,0060), upper case; '' when absent. */
  modality: string;
  /** Rescale Type (0028,1054); '' when absent. */
  rescaleType: string;
  /** Pixel Spacing (0028,0030), [row, column] mm in the patient. */
  pixelSpacing: [number, number] | undefined;
  /** Imager Pixel Spacing (0018,1164), [row, column] mm at the detector. */
  imagerPixelSpacing: [number, number] | undefined;
  /** Pixel Spacing Calibration Type (0028,0A02), upper case; '' when absent. */
  pixelSpacingCalibrationType: string;
}

/**
 * The modality values of one frame: stored values through the Modality LUT (PS3.4 N.2.1.1,
 * PS3.3 C.11.1), e.g. Hounsfield units for CT. Made from the cached decoded frame on each
 * call and handed to the caller only: never cached, never written anywhere.
 */
export interface ModalityFrame {
  width: number;
  height: number;
  /** Number of frames in the instance. */
  frames: number;
  /** The modality value of every pixel, row by row; null for colour images, which have none. */
  values: Float64Array | null;
  /** 1 where the stored value is Pixel Padding (PS3.3 C.7.5.1.1.2); null when none is declared. */
  padding: Uint8Array | null;
  attributes: MeasurementAttributes;
}

/** Identity of an output LUT's contents (FNV-1a over its entries), memoised per table object. */
const lutIds = new WeakMap<object, string>();
function lutId(lut: ArrayLike<number>): string {
  const known = lutIds.get(lut as object);
  if (known) return known;
  let h = 0x811c9dc5;
  for (let i = 0; i < lut.length; i++) {
    h ^= lut[i]! & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const id = `${lut.length}.${h.toString(36)}`;
  lutIds.set(lut as object, id);
  return id;
}

/** Everything of a request that changes the encoded image, as a cache key. */
function outputKey(key: string, req: RenderRequest): string {
  const w = req.window ? `${req.window.center},${req.window.width},${req.window.fn}` : '-';
  const v = req.viewport ? `${req.viewport.width}x${req.viewport.height}+${req.viewport.sx ?? ''},${req.viewport.sy ?? ''},${req.viewport.sw ?? ''},${req.viewport.sh ?? ''}` : '-';
  const q = req.mediaType === 'image/jpeg' ? req.quality : 0;
  return `${key}:${req.frame ?? 1}:${req.mediaType}:${q}:${w}:${v}:${req.outputLut ? lutId(req.outputLut) : '-'}`;
}

/** Slices rendered ahead of a reader, at most. */
const READ_AHEAD_MAX = 8;
/** Frames remembered as rendered from lent memory, so that a second rendering keeps the decoded frame. */
const LENT_REMEMBERED = 20_000;
/** Slices rendered ahead at the same time, at most. */
const READ_AHEAD_PARALLEL = 2;

interface CachedFrame {
  frame: DecodedFrame;
  frames: number;
  attributes: MeasurementAttributes;
}

function measurementAttributes(info: ImageInfo): MeasurementAttributes {
  return {
    modality: info.modality,
    rescaleType: info.rescaleType,
    pixelSpacing: info.pixelSpacing,
    imagerPixelSpacing: info.imagerPixelSpacing,
    pixelSpacingCalibrationType: info.pixelSpacingCalibrationType,
  };
}

/** A decoded frame and, when its bytes are still being checked, that check. */
interface FrameUse {
  entry: CachedFrame;
  verified: Promise<void> | undefined;
}

/** Modality values and the padding mask of a grayscale frame (one table read per pixel for 8/16-bit cells). */
function modalityOf(frame: GrayFrame): { values: Float64Array; padding: Uint8Array | null } {
  const n = frame.width * frame.height;
  const m = frame.presentation.modality;
  const { value: pad, limit } = frame.padding;
  const padLo = pad === undefined ? Infinity : limit === undefined ? pad : Math.min(pad, limit);
  const padHi = pad === undefined ? -Infinity : limit === undefined ? pad : Math.max(pad, limit);
  const values = new Float64Array(n);
  const padding = pad === undefined ? null : new Uint8Array(n);
  const cells = frame.cells;
  if (frame.cellBits === 32) {
    // 32-bit cells already hold stored values.
    for (let i = 0; i < n; i++) {
      const sv = cells[i]!;
      values[i] = modalityValue(m, sv);
      if (padding && sv >= padLo && sv <= padHi) padding[i] = 1;
    }
    return { values, padding };
  }
  const stored = cellToStored(frame);
  const size = 1 << frame.cellBits;
  const table = new Float64Array(size);
  const padTable = new Uint8Array(size);
  for (let c = 0; c < size; c++) {
    const sv = stored(c);
    table[c] = modalityValue(m, sv);
    padTable[c] = sv >= padLo && sv <= padHi ? 1 : 0;
  }
  for (let i = 0; i < n; i++) {
    const c = cells[i]!;
    values[i] = table[c]!;
    if (padding) padding[i] = padTable[c]!;
  }
  return { values, padding };
}

/** Pixels after the display stages and the source region, with the size to scale them to. */
interface Prepared {
  /** The pixels; `shared` when they are the cached frame itself (not to be handed out). */
  data: Uint8Array;
  shared: boolean;
  /** Pool memory that `data` may be a view of, to give back once the image is encoded. */
  scratch: Buffer | undefined;
  width: number;
  height: number;
  channels: 1 | 3;
  frames: number;
  target: { width: number; height: number } | undefined;
  /** The integrity check still running on the source bytes, to await before anything leaves. */
  verified: Promise<void> | undefined;
}

/** Applies an output LUT to each channel of 8-bit RGB (see OutputLut in gray.ts). */
function colorThroughLut(rgb: Uint8Array, lut: Uint8Array): Uint8Array {
  const map = new Uint8Array(256);
  const top = lut.length - 1;
  for (let v = 0; v < 256; v++) map[v] = lut[Math.round((v * top) / 255)]!;
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = map[rgb[i]!]!;
  return out;
}

/**
 * The source region of the viewport (PS3.18 §8.3.5.1.3) in whole pixels, clipped to the
 * image, with its flips.
 * @throws RenderParamError when the region lies outside the image
 */
function sourceRegion(vp: Viewport | undefined, width: number, height: number): { x: number; y: number; w: number; h: number; flipX: boolean; flipY: boolean } {
  const sx = vp?.sx ?? 0;
  const sy = vp?.sy ?? 0;
  const x0 = Math.min(width, Math.max(0, Math.round(sx)));
  const y0 = Math.min(height, Math.max(0, Math.round(sy)));
  const x1 = vp?.sw === undefined ? width : Math.min(width, Math.round(sx + Math.abs(vp.sw)));
  const y1 = vp?.sh === undefined ? height : Math.min(height, Math.round(sy + Math.abs(vp.sh)));
  if (x1 - x0 < 1 || y1 - y0 < 1) throw new RenderParamError('viewport', `the source region lies outside the ${width}x${height} image`);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, flipX: (vp?.sw ?? 1) < 0, flipY: (vp?.sh ?? 1) < 0 };
}

/** Copies a region of an interleaved image, mirrored as asked; returns the input when nothing changes. */
function cropAndFlip(
  src: Uint8Array, width: number, height: number, channels: number,
  r: { x: number; y: number; w: number; h: number; flipX: boolean; flipY: boolean },
): Uint8Array {
  if (r.x === 0 && r.y === 0 && r.w === width && r.h === height && !r.flipX && !r.flipY) return src;
  const out = new Uint8Array(r.w * r.h * channels);
  const rowBytes = r.w * channels;
  for (let y = 0; y < r.h; y++) {
    const sy = r.flipY ? r.y + r.h - 1 - y : r.y + y;
    const from = (sy * width + r.x) * channels;
    const to = y * rowBytes;
    if (!r.flipX) {
      out.set(src.subarray(from, from + rowBytes), to);
      continue;
    }
    for (let x = 0; x < r.w; x++) {
      const s = from + (r.w - 1 - x) * channels;
      const d = to + x * channels;
      for (let c = 0; c < channels; c++) out[d + c] = src[s + c]!;
    }
  }
  return out;
}

/** The largest size inside the viewport with the region's aspect ratio (PS3.18 §8.3.5.1.3). */
function fitInside(w: number, h: number, vp: Viewport): { width: number; height: number } {
  const scale = Math.min(vp.width / w, vp.height / h);
  return {
    width: Math.min(vp.width, Math.max(1, Math.round(w * scale))),
    height: Math.min(vp.height, Math.max(1, Math.round(h * scale))),
  };
}

/**
 * A sharp pipeline over raw display pixels. One-channel input stays one channel (sharp would
 * otherwise widen it to sRGB): gray PNG and JPEG, and raw gray output.
 */
function pipeline(p: Prepared): Sharp {
  let img = sharp(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), { raw: { width: p.width, height: p.height, channels: p.channels } });
  if (p.target) img = img.resize(p.target.width, p.target.height, { fit: 'fill', kernel: 'lanczos3' });
  return p.channels === 1 ? img.toColourspace('b-w') : img;
}

/**
 * Renders stored DICOM instances to PNG or JPEG, keeping decoded frames in a bounded
 * in-memory LRU cache so that re-windowing or re-sizing a frame does not decode it again.
 * One engine serves the whole process.
 */
export class RenderEngine {
  private readonly cache: FrameCache<CachedFrame>;
  private readonly images: FrameCache<RenderedImage>;
  private readonly pending = new Map<string, Promise<FrameUse>>();
  private readonly encoding = new Map<string, Promise<RenderedImage>>();
  private ahead: Array<{ source: RenderSource; req: RenderRequest }> = [];
  private aheadRunning = 0;
  /** Frames rendered from lent memory (not kept decoded), most recent last. */
  private readonly lent = new Map<string, true>();
  /** Display pixels of images being encoded. */
  private readonly scratch = new BufferPool(4);
  private decodes = 0;
  private encodes = 0;
  /** Requests being rendered now (not counting renders ahead of a reader). */
  private rendering = 0;
  private readAheads = 0;

  /**
   * @param opts.cacheBytes most bytes of decoded frames kept in memory (0 disables the cache)
   * @param opts.imageCacheBytes most bytes of encoded images kept in memory (default a quarter
   *   of `cacheBytes`; 0 disables that cache and read-ahead)
   */
  constructor(opts: { cacheBytes: number; imageCacheBytes?: number }) {
    this.cache = new FrameCache<CachedFrame>(opts.cacheBytes);
    this.images = new FrameCache<RenderedImage>(opts.imageCacheBytes ?? Math.floor(opts.cacheBytes / 4));
  }

  /**
   * The decoded frame, from the cache or decoded now (concurrent requests share one decode).
   * A frame just decoded from bytes whose integrity check is still running comes with that
   * check (`verified`): it is cached once the check passes, and nothing made from it may
   * leave the engine before.
   */
  private async frame(source: RenderSource, frame: number, background = false): Promise<FrameUse> {
    const key = `${source.key}:${frame}`;
    const hit = this.cache.get(key);
    if (hit) return { entry: hit, verified: undefined };
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const work = (async (): Promise<FrameUse> => {
      const got = typeof source.bytes === 'function' ? await source.bytes() : source.bytes;
      const { bytes, verified } = Buffer.isBuffer(got) ? { bytes: got, verified: undefined } : got;
      let info: ImageInfo;
      let decoded: DecodedFrame;
      try {
        info = readImageInfo(bytes);
        decoded = await decodeFrame(info, frame);
      } catch (err) {
        // Bytes that fail their integrity check are reported as such, not as a parse error.
        await verified;
        throw err;
      }
      this.decodes++;
      const entry: CachedFrame = { frame: decoded, frames: info.frames, attributes: measurementAttributes(info) };
      // A frame decoded ahead of the reader is not kept: its image is, and that is what the
      // reader will ask for. Keeping each one would add half a megabyte of long-lived memory
      // per CT slice, and the garbage collector pauses requests to reclaim such memory.
      const size = background ? 0 : decodedBytes(decoded);
      const keep = (): void => {
        if (size) this.cache.set(key, entry, size);
      };
      if (!verified) {
        keep();
        return { entry, verified: undefined };
      }
      const checked = verified.then(keep);
      checked.catch(() => undefined); // each user of the frame awaits it
      if (background) await yieldToRequests();
      return { entry, verified: checked };
    })();
    this.pending.set(key, work);
    // Later requests share this decode until it is cached (or has failed).
    const done = (): void => {
      if (this.pending.get(key) === work) this.pending.delete(key);
    };
    work.then((u) => (u.verified ? u.verified.then(done, done) : done()), done);
    return work;
  }

  private async prepare(source: RenderSource, req: RenderRequest, background: boolean, scratch: boolean): Promise<Prepared> {
    const { entry: { frame, frames }, verified } = await this.frame(source, req.frame ?? 1, background);
    return this.prepareFrom(frame, frames, req, verified, scratch);
  }

  /**
   * The display pixels of a decoded frame for a request: the display stages and the source
   * region. With `scratch`, grayscale display pixels are made in pool memory, which the
   * caller gives back (`Prepared.scratch`) once nothing reads them.
   */
  private prepareFrom(frame: DecodedFrame, frames: number, req: RenderRequest, verified: Promise<void> | undefined, scratch: boolean): Prepared {
    const lut = req.outputLut ? checkOutputLut(req.outputLut) : undefined;
    let display: Uint8Array;
    let channels: 1 | 3;
    let pooled: Buffer | undefined;
    if (frame.kind === 'gray') {
      pooled = scratch ? this.scratch.take(frame.width * frame.height) : undefined;
      display = renderGray(frame, req.window, lut, pooled);
      channels = 1;
    } else {
      // The VOI LUT applies only to grayscale values (PS3.4 N.2.1.3): colour ignores `window`.
      display = lut ? colorThroughLut(frame.pixels, lut) : frame.pixels;
      channels = 3;
    }
    let region: ReturnType<typeof sourceRegion>;
    try {
      region = sourceRegion(req.viewport, frame.width, frame.height);
    } catch (err) {
      if (pooled) this.scratch.give(pooled);
      throw err;
    }
    const data = cropAndFlip(display, frame.width, frame.height, channels, region);
    if (pooled && data !== display) {
      // A region was copied out: the full display pixels are no longer needed.
      this.scratch.give(pooled);
      pooled = undefined;
    }
    let target: Prepared['target'];
    if (req.viewport) {
      const fit = fitInside(region.w, region.h, req.viewport);
      if (fit.width !== region.w || fit.height !== region.h) target = fit;
    }
    return { data, shared: frame.kind === 'rgb' && data === frame.pixels, scratch: pooled, width: region.w, height: region.h, channels, frames, target, verified };
  }

  /**
   * Renders one frame to display pixels (before encoding, after viewport scaling): 8-bit
   * gray for MONOCHROME1/2, 8-bit RGB for colour.
   * @throws FrameOutOfRangeError when `req.frame` does not exist (400 below 1, 404 past the end)
   * @throws RenderParamError when the viewport's source region lies outside the image (400)
   * @throws RenderUnsupportedError when the instance cannot be rendered (422)
   * @throws DicomParseError when the file is not valid DICOM
   * @throws RangeError when `req.outputLut` breaks its contract (a caller's bug)
   */
  async renderPixels(source: RenderSource, req: RenderRequest): Promise<RenderedPixels> {
    const p = await this.prepare(source, req, false, false);
    await p.verified;
    if (!p.target) return { data: p.shared ? p.data.slice() : p.data, width: p.width, height: p.height, channels: p.channels, frames: p.frames };
    const out = await pipeline(p).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width: out.info.width, height: out.info.height, channels: p.channels, frames: p.frames };
  }

  /**
   * Renders one frame and encodes it: PNG (lossless) or JPEG baseline (PS3.18 §8.7.4,
   * quality `req.quality`).
   * @throws the errors of {@link RenderEngine.renderPixels}
   */
  async render(source: RenderSource, req: RenderRequest): Promise<RenderedImage> {
    return this.renderAs(source, req, false);
  }

  /** {@link RenderEngine.render}; a `background` render lets requests run between its steps. */
  private async renderAs(source: RenderSource, req: RenderRequest, background: boolean): Promise<RenderedImage> {
    if (this.images.limit === 0) return this.encode(source, req, background);
    const key = outputKey(source.key, req);
    const hit = this.images.get(key);
    if (hit) return hit;
    const inflight = this.encoding.get(key);
    if (inflight) return inflight;
    const work = this.encode(source, req, background);
    this.encoding.set(key, work);
    try {
      const image = await work;
      this.images.set(key, image, image.body.length + 200);
      return image;
    } finally {
      this.encoding.delete(key);
    }
  }

  private async encode(source: RenderSource, req: RenderRequest, background = false): Promise<RenderedImage> {
    const frame = req.frame ?? 1;
    const frameKey = `${source.key}:${frame}`;
    // A frame rendered for the first time (or ahead of the reader) is decoded straight from
    // the lent file, neither shared with other requests nor kept, so that the memory can be
    // lent again afterwards: most slices are shown once, with one window. A frame asked for
    // again with other parameters is decoded once more, then kept.
    if (!background) this.rendering++;
    try {
      // The only request being rendered: the file is read and the image encoded on this
      // thread, without waiting for other threads in between (the digest is still checked
      // on another). With others waiting, the work is spread over the thread pool instead.
      const now = !background && this.rendering === 1;
      if (source.lend && !this.cache.has(frameKey) && (background || !this.lent.has(frameKey))) {
        this.lent.delete(frameKey);
        this.lent.set(frameKey, true);
        if (this.lent.size > LENT_REMEMBERED) this.lent.delete(this.lent.keys().next().value!);
        return await source.lend(async (bytes) => {
          const info = readImageInfo(bytes);
          const decoded = await decodeFrame(info, frame);
          this.decodes++;
          if (background) await yieldToRequests();
          const p = this.prepareFrom(decoded, info.frames, req, undefined, true);
          if (background) await yieldToRequests();
          return this.encodePrepared(p, req, now);
        }, now);
      }
      const p = await this.prepare(source, req, background, true);
      if (background) await yieldToRequests();
      return await this.encodePrepared(p, req, now);
    } finally {
      if (!background) this.rendering--;
    }
  }

  /** Encodes prepared pixels; with `now`, full-size images on this thread (see encode). */
  private async encodePrepared(p: Prepared, req: RenderRequest, now: boolean): Promise<RenderedImage> {
    let body: Buffer;
    try {
      const full = !p.target;
      if (req.mediaType === 'image/png') {
        body = full
          ? now
            ? encodePngNow(p.data, p.width, p.height, p.channels)
            : await encodePng(p.data, p.width, p.height, p.channels)
          : await pipeline(p).png({ compressionLevel: PNG_COMPRESSION_LEVEL, adaptiveFiltering: false }).toBuffer();
      } else {
        const turbo = full ? (now ? encodeJpegNow(p.data, p.width, p.height, p.channels, req.quality) : await encodeJpeg(p.data, p.width, p.height, p.channels, req.quality)) : undefined;
        body = turbo ?? (await pipeline(p).jpeg(jpegOptions(req.quality)).toBuffer());
      }
    } finally {
      // The encoders have finished reading the pixels (also when they failed).
      if (p.scratch) this.scratch.give(p.scratch);
    }
    // The image was made while the source's integrity check ran: it leaves only if that passed.
    await p.verified;
    this.encodes++;
    const size = p.target ?? { width: p.width, height: p.height };
    return { body, contentType: req.mediaType, width: size.width, height: size.height, frames: p.frames };
  }

  /**
   * Renders the given slices in the background, nearest first, at most two at a time (one
   * decoding on the main thread while the other is encoded on a worker thread), into the
   * image cache, so that a reader scrolling through a series finds the next ones ready. A new
   * call replaces the slices still waiting from the previous one (the reader has moved on).
   * Failures are ignored here: the request for that slice will meet them. The caller must
   * only pass sources the reader may see; what is cached is served only to requests that
   * were authorised on their own.
   */
  readAhead(items: Array<{ source: RenderSource; req: RenderRequest }>): void {
    if (this.images.limit === 0) return;
    this.ahead = items.slice(0, READ_AHEAD_MAX).filter((i) => !this.images.has(outputKey(i.source.key, i.req)));
    while (this.aheadRunning < READ_AHEAD_PARALLEL && this.ahead.length > 0) {
      this.aheadRunning++;
      // setImmediate: requests that arrived meanwhile are handled before the next slice.
      setImmediate(this.nextAhead);
    }
  }

  private readonly nextAhead = (): void => {
    const item = this.ahead.shift();
    if (!item) {
      this.aheadRunning--;
      return;
    }
    this.readAheads++;
    this.renderAs(item.source, item.req, true).then(
      () => setImmediate(this.nextAhead),
      () => setImmediate(this.nextAhead),
    );
  };

  /**
   * The modality values of one frame (HU for CT), for measurements on the original pixels:
   * from the same cached decode as rendering, so the stored file is read (and its digest
   * checked by `source.bytes`) only when the frame is not cached.
   * @throws FrameOutOfRangeError when `frame` does not exist
   * @throws RenderUnsupportedError when the instance cannot be decoded
   * @throws DicomParseError when the file is not valid DICOM
   */
  async modalityValues(source: RenderSource, frame = 1): Promise<ModalityFrame> {
    const { entry: { frame: decoded, frames, attributes }, verified } = await this.frame(source, frame);
    await verified;
    const base = { width: decoded.width, height: decoded.height, frames, attributes };
    if (decoded.kind === 'rgb') return { ...base, values: null, padding: null };
    return { ...base, ...modalityOf(decoded) };
  }

  /** Forgets the cached frames and images of one instance (e.g. when it is deleted). */
  forget(key: string): void {
    this.cache.deletePrefix(`${key}:`);
    this.images.deletePrefix(`${key}:`);
  }

  /** Counters: decodes, encodes, slices rendered ahead, and both caches. */
  stats(): RenderStats {
    return { decodes: this.decodes, encodes: this.encodes, readAheads: this.readAheads, cache: this.cache.stats(), images: this.images.stats() };
  }
}
