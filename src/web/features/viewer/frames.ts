/**
 * Rendered frames in memory only (REQUIREMENTS S6, Q5): a bounded cache of decoded
 * images and a scheduler that fetches what the viewports want, most urgent first.
 *
 * - Images are fetched with `cache: 'no-store'` and decoded straight into `ImageBitmap`s;
 *   nothing is written to Cache Storage, IndexedDB or a service worker, and no object URL
 *   outlives the decode. Evicted and discarded bitmaps are closed at once.
 * - Each viewport says, after every change, which frames it wants and how urgently; the
 *   scheduler aborts what nobody wants any more (a reader who reverses the scroll
 *   direction) and keeps at most a few requests in flight, so the frame on screen never
 *   waits behind a long prefetch queue.
 * - A frame slot keeps a lossless (PNG) and a fast (JPEG) image; the lossless one wins, and
 *   the fast one is dropped once the lossless one has arrived.
 */
import { LinkEstimator } from './link.ts';

/** One decoded frame. */
export interface LoadedFrame {
  bitmap: ImageBitmap;
  lossless: boolean;
  /** Lossy rung (see `link.ts`), for fast frames. */
  rung: number | undefined;
  bytes: number;
  /** `X-Enkaku-Display-Profile` of the answer, when the server sent one. */
  displayProfile: string | null;
}

/** A frame a viewport wants. */
export interface FrameWant {
  /** Identifies the frame and window (the cache slot). */
  slot: string;
  url: string;
  lossless: boolean;
  rung?: number;
  /** Image pixels of the full frame (for the size prediction of fast frames). */
  pixels: number;
  /** Lower is sooner. */
  priority: number;
  /** False: keep it if it is already on the way, but do not ask for it now. */
  start?: boolean;
}

interface Slot {
  lossless?: LoadedFrame;
  lossy?: LoadedFrame;
}

function decodedBytes(bitmap: ImageBitmap): number {
  return bitmap.width * bitmap.height * 4;
}

/**
 * Decoded frames, bounded by their decoded size. Bitmaps on screen are never closed under
 * a viewport's feet: eviction of a displayed bitmap waits until it is no longer shown.
 */
export class FrameCache {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;
  private readonly shown = new Map<ImageBitmap, number>();
  private readonly closeWhenHidden = new Set<ImageBitmap>();

  constructor(private budgetBytes = 256 * 1024 * 1024) {}

  /** The best image of a slot (lossless first), marking it recently used. */
  get(slot: string): LoadedFrame | undefined {
    const s = this.slots.get(slot);
    if (!s) return undefined;
    this.slots.delete(slot);
    this.slots.set(slot, s);
    return s.lossless ?? s.lossy;
  }

  /** Whether the slot holds a lossless image, or any image. */
  has(slot: string, lossless: boolean): boolean {
    const s = this.slots.get(slot);
    return lossless ? !!s?.lossless : !!(s?.lossless ?? s?.lossy);
  }

  put(slot: string, frame: LoadedFrame): void {
    const s = this.slots.get(slot) ?? {};
    this.slots.delete(slot);
    if (frame.lossless) {
      if (s.lossless) this.drop(s.lossless.bitmap);
      if (s.lossy) this.drop(s.lossy.bitmap);
      s.lossless = frame;
      s.lossy = undefined;
    } else {
      if (s.lossless) {
        this.release(frame.bitmap);
        this.slots.set(slot, s);
        return;
      }
      if (s.lossy) this.drop(s.lossy.bitmap);
      s.lossy = frame;
    }
    this.bytes += decodedBytes(frame.bitmap);
    this.slots.set(slot, s);
    this.evict();
  }

  /** A viewport starts showing a bitmap. */
  show(bitmap: ImageBitmap): void {
    this.shown.set(bitmap, (this.shown.get(bitmap) ?? 0) + 1);
  }

  /** A viewport stops showing a bitmap. */
  hide(bitmap: ImageBitmap): void {
    const n = (this.shown.get(bitmap) ?? 0) - 1;
    if (n > 0) {
      this.shown.set(bitmap, n);
      return;
    }
    this.shown.delete(bitmap);
    if (this.closeWhenHidden.delete(bitmap)) bitmap.close();
  }

  /** Decoded bytes held. */
  size(): number {
    return this.bytes;
  }

  /** Frees everything (the viewer closes, the session ends). */
  clear(): void {
    for (const s of this.slots.values()) {
      if (s.lossless) this.drop(s.lossless.bitmap);
      if (s.lossy) this.drop(s.lossy.bitmap);
    }
    this.slots.clear();
    this.bytes = 0;
  }

  setBudget(bytes: number): void {
    this.budgetBytes = bytes;
    this.evict();
  }

  private drop(bitmap: ImageBitmap): void {
    this.bytes -= decodedBytes(bitmap);
    this.release(bitmap);
  }

  private release(bitmap: ImageBitmap): void {
    if (this.shown.has(bitmap)) this.closeWhenHidden.add(bitmap);
    else bitmap.close();
  }

  private evict(): void {
    if (this.bytes <= this.budgetBytes) return;
    for (const [key, s] of this.slots) {
      if (this.bytes <= this.budgetBytes) break;
      if (s.lossless) this.drop(s.lossless.bitmap);
      if (s.lossy) this.drop(s.lossy.bitmap);
      this.slots.delete(key);
    }
  }
}

/** What the scheduler reports to the page: answers seen, for the display honesty and tests. */
export interface FetchObserver {
  /** Every answer: its status and headers (e.g. to read the display profile). */
  onAnswer?(url: string, response: Response): void;
  /** The server refused because the session ended (401) or reading is blocked (423). */
  onRefused?(status: number, response: Response): void;
}

type Listener = (slot: string, frame: LoadedFrame | undefined, error?: unknown) => void;

/** A frame that failed is asked for again after this long (if still wanted). */
const RETRY_AFTER_MS = 5_000;

interface InFlight {
  want: FrameWant;
  controller: AbortController;
}

/** A key for one request: the slot and what kind of image. */
function requestKey(w: Pick<FrameWant, 'slot' | 'lossless'>): string {
  return `${w.slot}|${w.lossless ? 'L' : 'J'}`;
}

export class FrameScheduler {
  private readonly wants = new Map<string, FrameWant[]>();
  private readonly listeners = new Map<string, Listener>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly failures = new Map<string, number>();
  private pumping = false;

  constructor(
    readonly cache: FrameCache,
    readonly link: LinkEstimator,
    private readonly maxInFlight = 6,
    private readonly observer: FetchObserver = {},
  ) {}

  /** Registers a viewport; `listener` hears about every frame that arrives or fails. */
  register(owner: string, listener: Listener): void {
    this.listeners.set(owner, listener);
  }

  unregister(owner: string): void {
    this.listeners.delete(owner);
    this.wants.delete(owner);
    this.pump();
  }

  /** Replaces what `owner` wants. */
  setWants(owner: string, wants: FrameWant[]): void {
    this.wants.set(owner, wants);
    this.pump();
  }

  /** Requests in flight (for the overlay's activity mark). */
  busy(): number {
    return this.inFlight.size;
  }

  /** Aborts everything and forgets every want (the viewer closes). */
  stop(): void {
    this.wants.clear();
    this.failures.clear();
    for (const f of this.inFlight.values()) f.controller.abort();
    this.inFlight.clear();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const wanted = new Map<string, FrameWant>();
      for (const list of this.wants.values()) {
        for (const w of list) {
          const key = requestKey(w);
          const seen = wanted.get(key);
          if (!seen || (w.start !== false && seen.start === false) || (w.start !== false) === (seen.start !== false) && w.priority < seen.priority) wanted.set(key, w);
        }
      }
      // Nobody wants it any more: stop spending the link on it.
      for (const [key, f] of this.inFlight) {
        if (!wanted.has(key)) {
          f.controller.abort();
          this.inFlight.delete(key);
        }
      }
      const now = performance.now();
      const queue = [...wanted.entries()]
        .filter(([key, w]) => w.start !== false && !this.inFlight.has(key) && !this.cache.has(w.slot, w.lossless) && !((this.failures.get(key) ?? 0) > now))
        .sort((a, b) => a[1].priority - b[1].priority);
      for (const [key, w] of queue) {
        if (this.inFlight.size >= this.maxInFlight) {
          // The most urgent frame may take the place of the least urgent prefetch.
          const worst = [...this.inFlight.entries()].sort((a, b) => b[1].want.priority - a[1].want.priority)[0];
          if (!worst || worst[1].want.priority <= w.priority + 8) break;
          worst[1].controller.abort();
          this.inFlight.delete(worst[0]);
        }
        this.start(key, w);
      }
    } finally {
      this.pumping = false;
    }
  }

  private start(key: string, want: FrameWant): void {
    const controller = new AbortController();
    this.inFlight.set(key, { want, controller });
    void this.load(want, controller.signal).then(
      (frame) => {
        if (this.inFlight.get(key)?.controller !== controller) {
          if (frame) frame.bitmap.close();
          return;
        }
        this.inFlight.delete(key);
        if (frame) {
          this.cache.put(want.slot, frame);
          this.failures.delete(key);
        }
        for (const l of this.listeners.values()) l(want.slot, frame);
        this.pump();
      },
      (error: unknown) => {
        if (this.inFlight.get(key)?.controller === controller) this.inFlight.delete(key);
        if (!(error instanceof DOMException && error.name === 'AbortError')) {
          // Not asked for again for a few seconds; then whoever still wants it gets it.
          this.failures.set(key, performance.now() + RETRY_AFTER_MS);
          window.setTimeout(() => this.pump(), RETRY_AFTER_MS + 10);
          for (const l of this.listeners.values()) l(want.slot, undefined, error);
        }
        this.pump();
      },
    );
  }

  private async load(want: FrameWant, signal: AbortSignal): Promise<LoadedFrame | undefined> {
    const sent = performance.now();
    const response = await fetch(want.url, {
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { Accept: want.lossless ? 'image/png' : 'image/jpeg' },
      signal,
    });
    const headers = performance.now();
    this.observer.onAnswer?.(want.url, response);
    if (response.status === 401 || response.status === 423) {
      this.observer.onRefused?.(response.status, response);
      throw new RenderedError(response.status);
    }
    if (!response.ok) throw new RenderedError(response.status);
    const blob = await response.blob();
    const end = performance.now();
    this.link.record(sent, headers, end, blob.size);
    if (!want.lossless && want.rung !== undefined) this.link.recordLossy(want.rung, blob.size, want.pixels);
    // Pixels exactly as sent: no colour management, no premultiplication.
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    if (signal.aborted) {
      bitmap.close();
      return undefined;
    }
    return { bitmap, lossless: want.lossless, rung: want.rung, bytes: blob.size, displayProfile: displayProfileOf(response) };
  }
}

/** The `X-Enkaku-Display-Profile` header (percent-encoded UTF-8), or null. */
export function displayProfileOf(response: Response): string | null {
  const raw = response.headers.get('x-enkaku-display-profile');
  if (raw === null) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** A rendered image the server refused or could not make. */
export class RenderedError extends Error {
  override readonly name = 'RenderedError';
  constructor(readonly status: number) {
    super(`rendered image: HTTP ${status}`);
  }
}
