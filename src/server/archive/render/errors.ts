/**
 * Errors of the rendering engine. Each carries the HTTP status a DICOMweb route answers
 * with, so a route maps them without knowing the renderer's internals. Messages name
 * parameters and attributes only; they never contain patient data.
 */
import { AppError } from '../../platform/errors.ts';

/**
 * A rendering query parameter (PS3.18 §8.3.5.1) is missing a value, ill-formed or not
 * supported: the route answers 400 (Bad Request). The message says which parameter and why.
 */
export class RenderParamError extends AppError {
  /** HTTP status for the route. */
  readonly status = 400;
  constructor(
    /** The query parameter at fault (`window`, `viewport`, `quality`, `annotation`, `accept`). */
    readonly parameter: string,
    reason: string,
  ) {
    super('bad_request', `${parameter}: ${reason}`);
    this.name = 'RenderParamError';
  }
}

/**
 * The client refused every media type the renderer can produce, including the default
 * image/jpeg (for example `Accept: image/jpeg;q=0, image/png;q=0`): the route answers 406
 * (Not Acceptable). PS3.18 §8.3.3.1 otherwise answers in the default media type.
 */
export class NotAcceptableError extends Error {
  /** HTTP status for the route. */
  readonly status = 406;
  constructor(message: string) {
    super(message);
    this.name = 'NotAcceptableError';
  }
}

/**
 * The requested frame does not exist in the instance. Frame numbers are 1-based
 * (Frame Number, PS3.18 §10.4.1.1.3): a number below 1 is ill-formed (400), a number past
 * Number of Frames (0028,0008) names a resource that does not exist (404).
 */
export class FrameOutOfRangeError extends AppError {
  /** HTTP status for the route: 400 for a frame number below 1, 404 past the last frame. */
  readonly status: 400 | 404;
  constructor(
    readonly frame: number,
    readonly frames: number,
  ) {
    const below = !(frame >= 1);
    super(below ? 'bad_request' : 'not_found', `frame ${frame} does not exist: frame numbers run from 1 to ${frames}`);
    this.status = below ? 400 : 404;
    this.name = 'FrameOutOfRangeError';
  }
}

/**
 * The stored object cannot be rendered: no pixel data, a photometric interpretation,
 * bit depth or transfer syntax the renderer does not handle, or a codec failure. The
 * route answers 422 (Unprocessable Content); the object itself stays retrievable as DICOM.
 */
export class RenderUnsupportedError extends AppError {
  /** HTTP status for the route. */
  readonly status = 422;
  constructor(message: string) {
    super('unprocessable', message);
    this.name = 'RenderUnsupportedError';
  }
}
