/**
 * The query parameters of the WADO-RS Retrieve Rendered and Thumbnail transactions
 * (PS3.18 §8.3.5, Tables 8.3.5-1 and 8.3.5-2) and the choice of media type (PS3.18 §8.3.3.1,
 * §8.7.4), turned into one {@link RenderRequest}.
 *
 * What the renderer does with them:
 * - `window=center,width[,function]` (§8.3.5.1.4): the VOI window of PS3.3 C.11.2.1.2
 *   (`linear`) or C.11.2.1.3 (`linear-exact`, `sigmoid`). The standard asks for all three
 *   values; a missing function is read as `linear`, the VOI LUT Function default, and the
 *   keywords are matched without regard to case or `-`/`_` (LINEAR_EXACT, linear-exact).
 * - `viewport=vw,vh[,sx,sy,sw,sh]` (§8.3.5.1.3): crop to the source region, flip when sw or
 *   sh is negative, then scale to fit inside vw×vh keeping the aspect ratio.
 * - `quality=1..100` (§8.3.5.1.2): JPEG quality; ignored for PNG, which is lossless.
 * - `annotation` (§8.3.5.1.1): no annotation keyword is supported. Values that are not
 *   keywords are refused (400); keywords are ignored, and the route must then send
 *   `Warning: 299 <service>: The following annotation values are not supported: <values>`
 *   ({@link RenderRequest.ignoredAnnotations}).
 * - `accept` and the Accept header: image/png or image/jpeg. When neither is acceptable the
 *   response is in the default media type of a Single Frame Image, image/jpeg (§8.3.3.1,
 *   Table 8.7.4-1 "D"); only a client that refuses image/jpeg outright (q=0) gets 406.
 * - `iccprofile` and `charset` are not supported and are ignored.
 */
import { NotAcceptableError, RenderParamError } from './errors.ts';

/** Rendered media types the engine writes. */
export type RenderedMediaType = 'image/png' | 'image/jpeg';

/** VOI LUT functions (PS3.3 C.11.2.1.2, C.11.2.1.3). */
export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** A VOI window in modality units (PS3.3 C.11.2.1.2). */
export interface VoiWindow {
  center: number;
  width: number;
  fn: VoiFunction;
}

/** The viewport and the optional source region (PS3.18 §8.3.5.1.3), in pixels. */
export interface Viewport {
  /** Width of the viewport; the rendered image is at most this wide. */
  width: number;
  /** Height of the viewport; the rendered image is at most this high. */
  height: number;
  /** Left edge of the source region (absolute value of sx; default 0). */
  sx?: number;
  /** Top edge of the source region (absolute value of sy; default 0). */
  sy?: number;
  /** Width of the source region (default: to the right edge); negative flips horizontally. */
  sw?: number;
  /** Height of the source region (default: to the bottom edge); negative flips vertically. */
  sh?: number;
}

/** Everything the engine needs to render one frame. */
export interface RenderRequest {
  kind: 'rendered' | 'thumbnail';
  /** The media type to write (image/jpeg unless the client prefers image/png). */
  mediaType: RenderedMediaType;
  /** JPEG quality 1..100 (default 90); not used for PNG. */
  quality: number;
  /** Explicit VOI window; absent means the data set's own (see the engine). Ignored for colour images. */
  window?: VoiWindow;
  /** Viewport; absent means the frame's own size. Thumbnails default to 128×128. */
  viewport?: Viewport;
  /**
   * Annotation keywords asked for and ignored because they are not supported; when not
   * empty the route sends the Warning header of PS3.18 §8.3.5.1.1.
   */
  ignoredAnnotations: string[];
  /** 1-based frame number (set by the route from the URL; default 1). */
  frame: number;
  /**
   * Output LUT (P-Values to the terminal's digital driving levels), set by the caller in
   * code, never from the query. See the engine's `OutputLut` for the contract.
   */
  outputLut?: ArrayLike<number>;
}

/** Default JPEG quality: high enough that windowed CT shows no visible blocking. */
export const DEFAULT_JPEG_QUALITY = 90;
/** Thumbnail size when the request gives no viewport. */
export const DEFAULT_THUMBNAIL_SIZE = 128;
/** Largest viewport side; larger requests are "not supported" (§8.3.5.1.3 → 400). */
export const MAX_VIEWPORT_SIDE = 8192;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const POSITIVE_INTEGER = /^\d+$/;
/** A keyword is a token (RFC 9110 §5.6.2) of letters, digits, '-' and '_'. */
const KEYWORD = /^[A-Za-z0-9_-]+$/;

/** A query value as Fastify parses it: a string, repeated strings, or absent. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 1 && typeof v[0] === 'string') return v[0];
    throw new RenderParamError(name, 'given more than once');
  }
  if (typeof v !== 'string') throw new RenderParamError(name, 'must be text');
  return v;
}

function decimal(parameter: string, what: string, text: string): number {
  const t = text.trim();
  if (!DECIMAL.test(t)) throw new RenderParamError(parameter, `${what} "${clip(t)}" is not a decimal number`);
  const n = Number(t);
  if (!Number.isFinite(n)) throw new RenderParamError(parameter, `${what} is out of range`);
  return n;
}

/** Shortens echoed input so error messages stay small. */
function clip(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}…` : s;
}

/**
 * Parses `window=center,width[,function]` (PS3.18 §8.3.5.1.4). Width must be at least 1
 * for LINEAR (PS3.3 C.11.2.1.2.1) and above 0 for LINEAR_EXACT and SIGMOID (C.11.2.1.3).
 */
export function parseWindow(text: string): VoiWindow {
  const parts = text.split(',');
  if (parts.length < 2 || parts.length > 3) {
    throw new RenderParamError('window', 'expected "center,width,function" (function one of linear, linear-exact, sigmoid)');
  }
  const center = decimal('window', 'center', parts[0]!);
  const width = decimal('window', 'width', parts[1]!);
  let fn: VoiFunction = 'LINEAR';
  if (parts.length === 3) {
    const key = parts[2]!.trim().toUpperCase().replace(/-/g, '_');
    if (key !== 'LINEAR' && key !== 'LINEAR_EXACT' && key !== 'SIGMOID') {
      throw new RenderParamError('window', `function "${clip(parts[2]!.trim())}" is not one of linear, linear-exact, sigmoid`);
    }
    fn = key;
  }
  if (fn === 'LINEAR' ? width < 1 : width <= 0) {
    throw new RenderParamError('window', fn === 'LINEAR' ? 'width must be at least 1 for the linear function' : 'width must be greater than 0');
  }
  return { center, width, fn };
}

/**
 * Parses `viewport=vw,vh[,sx,sy,sw,sh]` (PS3.18 §8.3.5.1.3). Elided values keep their
 * defaults; thumbnails take vw,vh only.
 */
export function parseViewport(text: string, kind: 'rendered' | 'thumbnail'): Viewport {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 6) throw new RenderParamError('viewport', 'expected "vw,vh" or "vw,vh,sx,sy,sw,sh"');
  if (kind === 'thumbnail' && parts.slice(2).some((p) => p !== '')) {
    throw new RenderParamError('viewport', 'a thumbnail takes only vw,vh');
  }
  const side = (what: string, s: string): number => {
    if (!POSITIVE_INTEGER.test(s)) throw new RenderParamError('viewport', `${what} "${clip(s)}" is not a positive integer`);
    const n = Number(s);
    if (n < 1) throw new RenderParamError('viewport', `${what} must be at least 1`);
    if (n > MAX_VIEWPORT_SIDE) throw new RenderParamError('viewport', `${what} above ${MAX_VIEWPORT_SIDE} is not supported`);
    return n;
  };
  const vp: Viewport = { width: side('vw', parts[0]!), height: side('vh', parts[1]!) };
  const names = ['sx', 'sy', 'sw', 'sh'] as const;
  names.forEach((name, i) => {
    const s = parts[i + 2];
    if (s === undefined || s === '') return;
    const n = decimal('viewport', name, s);
    if ((name === 'sw' || name === 'sh') && n === 0) throw new RenderParamError('viewport', `${name} must not be 0`);
    // sx and sy are given by their absolute values; sw and sh keep their sign (flip).
    vp[name] = name === 'sx' || name === 'sy' ? Math.abs(n) : n;
  });
  return vp;
}

/** Parses `quality=1..100` (PS3.18 §8.3.5.1.2). */
export function parseQuality(text: string): number {
  const t = text.trim();
  if (!POSITIVE_INTEGER.test(t) || Number(t) < 1 || Number(t) > 100) {
    throw new RenderParamError('quality', 'must be an integer from 1 to 100');
  }
  return Number(t);
}

/**
 * Parses `annotation=` (PS3.18 §8.3.5.1.1) and returns the keywords to ignore: none is
 * supported. Values that are not keywords, or no value, are refused.
 */
export function parseAnnotation(text: string): string[] {
  const values = text.split(',').map((v) => v.trim());
  if (values.length === 0 || values.some((v) => !KEYWORD.test(v))) {
    throw new RenderParamError('annotation', 'expected a comma-separated list of keywords such as patient,technique');
  }
  return [...new Set(values)];
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** Parses an Accept header or `accept` parameter: media ranges with their q weights (RFC 9110 §12.5.1). */
function parseMediaRanges(text: string, parameter: string | undefined): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of text.split(',')) {
    const [range, ...params] = part.split(';');
    const m = /^\s*([A-Za-z0-9!#$&^_.+*-]+)\/([A-Za-z0-9!#$&^_.+*-]+)\s*$/.exec(range ?? '');
    if (!m) {
      if ((range ?? '').trim() === '') continue;
      if (parameter) throw new RenderParamError(parameter, `"${clip((range ?? '').trim())}" is not a media type`);
      continue; // an unreadable Accept header entry is skipped
    }
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k?.toLowerCase() === 'q' && v !== undefined) {
        const n = Number(v);
        if (Number.isFinite(n)) q = Math.min(1, Math.max(0, n));
      }
    }
    out.push({ type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), q });
  }
  return out;
}

/** The weight a list of media ranges gives a media type: that of the most specific matching range. */
function weightOf(type: string, ranges: readonly MediaRange[]): number | undefined {
  const [t, s] = type.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    const specificity = r.type === t && r.subtype === s ? 2 : r.type === t && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity) best = { specificity, q: r.q };
  }
  return best?.q;
}

const SUPPORTED: readonly RenderedMediaType[] = ['image/jpeg', 'image/png'];

function isDicomMediaType(r: MediaRange): boolean {
  return r.type === 'application' && (r.subtype === 'dicom' || r.subtype.startsWith('dicom+'));
}

/**
 * Chooses the rendered media type from the `accept` query parameter and the Accept header
 * (PS3.18 §8.3.3.1, §8.7.5): the supported type the client weighs highest (image/jpeg first
 * on ties, as the default), else the default image/jpeg.
 * @throws RenderParamError when the `accept` parameter mixes DICOM and non-DICOM media types
 * @throws NotAcceptableError when the client refuses image/jpeg and accepts nothing else supported
 */
export function selectMediaType(acceptParam: string | undefined, acceptHeader: string | undefined): RenderedMediaType {
  const header = acceptHeader && acceptHeader.trim() !== '' ? parseMediaRanges(acceptHeader, undefined) : [];
  const headerRanges = header.length > 0 ? header : [{ type: '*', subtype: '*', q: 1 }];
  let acceptable: MediaRange[];
  if (acceptParam !== undefined && acceptParam.trim() !== '') {
    const types = parseMediaRanges(acceptParam, 'accept');
    if (types.some(isDicomMediaType) && types.some((t) => !isDicomMediaType(t))) {
      throw new RenderParamError('accept', 'DICOM and non-DICOM media types must not be mixed');
    }
    // Media types in the parameter count only where the Accept header also admits them.
    acceptable = types.map((t) => ({ ...t, q: Math.min(t.q, weightOf(`${t.type}/${t.subtype}`, headerRanges) ?? 0) }));
  } else {
    acceptable = headerRanges;
  }
  let chosen: RenderedMediaType | undefined;
  let chosenQ = 0;
  for (const type of SUPPORTED) {
    const q = weightOf(type, acceptable) ?? 0;
    if (q > chosenQ) {
      chosen = type;
      chosenQ = q;
    }
  }
  if (chosen) return chosen;
  // None acceptable: the default media type (Table 8.7.4-1), unless the client refused it.
  const refused = weightOf('image/jpeg', acceptable) === 0 || weightOf('image/jpeg', headerRanges) === 0;
  if (refused) throw new NotAcceptableError('none of the acceptable media types can be rendered; image/png and image/jpeg are available');
  return 'image/jpeg';
}

/**
 * Turns the query of a Retrieve Rendered or Thumbnail request, and its Accept header,
 * into a {@link RenderRequest}. Unknown parameters are ignored.
 * @param query the parsed query string (values are strings, or arrays of strings when repeated)
 * @param accept the Accept header field, if any
 * @param kind `rendered` (PS3.18 §10.4.1.1.4 rendered resources) or `thumbnail`
 * @throws RenderParamError (400) naming the parameter that is missing a value, ill-formed or unsupported
 * @throws NotAcceptableError (406) when the client refuses every media type that can be written
 */
export function parseRenderedParams(query: Record<string, unknown>, accept: string | undefined, kind: 'rendered' | 'thumbnail'): RenderRequest {
  const req: RenderRequest = {
    kind,
    mediaType: selectMediaType(single(query, 'accept'), accept),
    quality: DEFAULT_JPEG_QUALITY,
    ignoredAnnotations: [],
    frame: 1,
  };
  const quality = single(query, 'quality');
  if (quality !== undefined) req.quality = parseQuality(quality);
  const viewport = single(query, 'viewport');
  if (viewport !== undefined) req.viewport = parseViewport(viewport, kind);
  else if (kind === 'thumbnail') req.viewport = { width: DEFAULT_THUMBNAIL_SIZE, height: DEFAULT_THUMBNAIL_SIZE };
  if (kind === 'rendered') {
    // Thumbnails take accept, charset and viewport only (Table 8.3.5-2); the rest is ignored.
    const window = single(query, 'window');
    if (window !== undefined) req.window = parseWindow(window);
    const annotation = query.annotation;
    if (annotation !== undefined && annotation !== null) {
      const text = Array.isArray(annotation) ? annotation.map(String).join(',') : String(annotation);
      req.ignoredAnnotations = parseAnnotation(text);
    }
  }
  return req;
}
