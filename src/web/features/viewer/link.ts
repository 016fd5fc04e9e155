/**
 * How fast the link to the server is, measured from the rendered images themselves, and
 * which fast (lossy) frame to ask for while the reader scrolls (REQUIREMENTS Q5).
 *
 * Throughput is the bytes of recent answers divided by the time during which at least one
 * answer body was arriving (so several answers in parallel count once); latency is the
 * time to the answer's headers. From both and the frame sizes seen so far, the estimator
 * picks the best JPEG that still arrives at the scrolling frame rate: lower quality first,
 * then half resolution. Lossless frames are never degraded; they simply come when they come.
 */

/** A fast frame variant: JPEG quality and the fraction of the full size in each direction. */
export interface LossyVariant {
  quality: number;
  scale: 1 | 0.5;
}

/** From best to smallest. */
export const LOSSY_LADDER: readonly LossyVariant[] = [
  { quality: 75, scale: 1 },
  { quality: 60, scale: 1 },
  { quality: 45, scale: 1 },
  { quality: 30, scale: 1 },
  { quality: 50, scale: 0.5 },
  { quality: 30, scale: 0.5 },
];

/** The starting variant before anything is measured (quality about 60, full size). */
export const DEFAULT_VARIANT_INDEX = 1;

/**
 * First guesses of bytes per image pixel for each rung (a noisy 512×512 CT in a soft-tissue
 * window), replaced by what is measured.
 */
const INITIAL_BYTES_PER_PIXEL = [0.4, 0.3, 0.22, 0.16, 0.28, 0.18];

interface Sample {
  bytes: number;
  /** When the headers arrived and when the last byte did (ms, performance.now()). */
  start: number;
  end: number;
}

export interface LinkSnapshot {
  /** Bytes per second while answers were arriving, or undefined before enough samples. */
  throughput: number | undefined;
  /** Median time to headers (ms) of recent requests. */
  latencyMs: number | undefined;
  /** The current lossy rung. */
  variant: LossyVariant;
}

export class LinkEstimator {
  private samples: Sample[] = [];
  private latencies: number[] = [];
  private readonly bytesPerPixel = [...INITIAL_BYTES_PER_PIXEL];
  private rung = DEFAULT_VARIANT_INDEX;

  constructor(
    /** Frames per second the fast frames must sustain while scrolling. */
    private readonly targetFps = 30,
    /** Share of the measured throughput that fast frames may use. */
    private readonly headroom = 0.75,
    private readonly maxSamples = 48,
  ) {}

  /** Records one answer: when it was sent, when its headers and its last byte arrived, and its size. */
  record(sent: number, headers: number, end: number, bytes: number): void {
    this.samples.push({ bytes, start: headers, end: Math.max(end, headers) });
    if (this.samples.length > this.maxSamples) this.samples.shift();
    this.latencies.push(Math.max(0, headers - sent));
    if (this.latencies.length > 24) this.latencies.shift();
  }

  /** Records the size of a lossy answer of a given rung, for the size prediction. */
  recordLossy(rung: number, bytes: number, imagePixels: number): void {
    if (rung < 0 || rung >= LOSSY_LADDER.length || imagePixels <= 0) return;
    const observed = bytes / imagePixels;
    const previous = this.bytesPerPixel[rung]!;
    this.bytesPerPixel[rung] = previous * 0.7 + observed * 0.3;
    // Sizes of the other rungs move in proportion, so a data set that compresses better or
    // worse than the first guess shifts the whole ladder.
    const ratio = this.bytesPerPixel[rung]! / previous;
    for (let i = 0; i < this.bytesPerPixel.length; i++) if (i !== rung) this.bytesPerPixel[i]! *= Math.sqrt(ratio);
  }

  /** Bytes per second over the union of recent body-transfer intervals. */
  throughput(): number | undefined {
    if (this.samples.length < 4) return undefined;
    const sorted = [...this.samples].sort((x, y) => x.start - y.start);
    let busy = 0;
    let curStart = sorted[0]!.start;
    let curEnd = sorted[0]!.end;
    let bytes = 0;
    for (const s of sorted) {
      bytes += s.bytes;
      if (s.start > curEnd) {
        busy += curEnd - curStart;
        curStart = s.start;
        curEnd = s.end;
      } else {
        curEnd = Math.max(curEnd, s.end);
      }
    }
    busy += curEnd - curStart;
    // Bodies that arrive within a millisecond (loopback) say only that the link is fast.
    return (bytes / Math.max(busy, 1)) * 1000;
  }

  /** Median latency (ms) to the headers of recent answers. */
  latencyMs(): number | undefined {
    if (this.latencies.length === 0) return undefined;
    const sorted = [...this.latencies].sort((x, y) => x - y);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Predicted bytes of a frame of `imagePixels` at a rung. */
  predictBytes(rung: number, imagePixels: number): number {
    return this.bytesPerPixel[rung]! * imagePixels;
  }

  /**
   * Chooses the rung for fast frames of `imagePixels` pixels: the best whose predicted
   * size times the target frame rate fits the measured throughput. Moves at most one rung
   * up at a time (a burst of fast answers should not flip straight to the largest frames).
   */
  choose(imagePixels: number): number {
    const throughput = this.throughput();
    if (throughput === undefined) return this.rung;
    const budget = (throughput * this.headroom) / this.targetFps;
    let fit = LOSSY_LADDER.length - 1;
    for (let i = 0; i < LOSSY_LADDER.length; i++) {
      if (this.predictBytes(i, imagePixels) <= budget) {
        fit = i;
        break;
      }
    }
    this.rung = fit < this.rung ? this.rung - 1 : fit;
    return this.rung;
  }

  /**
   * When a fast frame of a rung asked for now would arrive (ms): the recent time to headers
   * (which includes the server's queue) plus its transfer; undefined before any answer.
   */
  expectedArrivalMs(rung: number, imagePixels: number): number | undefined {
    const latency = this.latencyMs();
    if (latency === undefined) return undefined;
    const throughput = this.throughput();
    return latency + (throughput ? (this.predictBytes(rung, imagePixels) / throughput) * 1000 : 0);
  }

  /** The rung in use. */
  current(): number {
    return this.rung;
  }

  snapshot(): LinkSnapshot {
    return { throughput: this.throughput(), latencyMs: this.latencyMs(), variant: LOSSY_LADDER[this.rung]! };
  }
}
