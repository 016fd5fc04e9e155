/**
 * Server-side rendering of stored DICOM instances to PNG or JPEG for thin clients
 * (PS3.18 §10.4.1.1.4 rendered resources and thumbnails), and the stored bytes of single
 * frames for WADO-RS frame retrieval (PS3.18 §10.4.1.1.3).
 */
export { RenderEngine, type MeasurementAttributes, type ModalityFrame, type RenderSource, type SourceRead, type RenderedImage, type RenderedPixels, type RenderStats } from './engine.ts';
export {
  parseRenderedParams,
  selectMediaType,
  DEFAULT_JPEG_QUALITY,
  DEFAULT_THUMBNAIL_SIZE,
  type RenderRequest,
  type RenderedMediaType,
  type Viewport,
  type VoiFunction,
  type VoiWindow,
} from './params.ts';
export { extractFrame, frameOf, type StoredFrame } from './frames.ts';
export { readImageInfo, isGrayscale, type ImageInfo } from './image-info.ts';
export { FrameCache, type FrameCacheStats } from './cache.ts';
export { initRenderCodecs } from './decode.ts';
export { encodeJpeg, jpegEncoder } from './jpeg.ts';
export type { OutputLut } from './gray.ts';
export { FrameOutOfRangeError, NotAcceptableError, RenderParamError, RenderUnsupportedError } from './errors.ts';
