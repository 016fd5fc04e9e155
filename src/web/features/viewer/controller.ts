/**
 * One viewport's image stack on a canvas: which slice is shown, how it is windowed and
 * placed, what to fetch next, and drawing. Imperative on purpose: scrolling at 30 or more
 * frames a second should not go through React; the React overlay hears a snapshot after
 * each change (at most once per animation frame).
 */
import type { FrameScheduler, FrameWant, LoadedFrame } from './frames.ts';
import type { Stack, StackItem, WindowLevel } from './geometry.ts';
import { LOSSY_LADDER } from './link.ts';
import {
  clampZoom,
  effectiveScale,
  fidelityOf,
  imageMatrix,
  INITIAL_TRANSFORM,
  isOneToOne,
  panForZoomAt,
  ratioLabel,
  toImage,
  type Fidelity,
  type Interpolation,
  type Matrix,
  type ViewTransform,
} from './display.ts';
import { renderedUrl } from './rendered.ts';

/** Time without a slice change after which scrolling counts as stopped (then the lossless frame is fetched). */
export const SCROLL_IDLE_MS = 90;
/** Fast frames fetched ahead in the scroll direction. */
export const PREFETCH_AHEAD = 24;
/** Cine rate when neither the reader nor the object gives one (frames per second). */
export const DEFAULT_CINE_FPS = 15;
/** The fastest cine the viewer plays (a display refreshes at about 60 Hz). */
export const MAX_CINE_FPS = 60;

export type ChangeSource = 'user' | 'sync' | 'cine' | 'load';

/** What the overlay shows and tests read. */
export interface ViewportSnapshot {
  count: number;
  /** The slice asked for. */
  index: number;
  /** The slice on screen (it may lag `index` while its image is on the way). */
  shownIndex: number | undefined;
  shown: StackItem | undefined;
  quality: 'lossless' | 'lossy' | 'none';
  /** The fast frame's JPEG quality and size fraction, when a fast frame is on screen. */
  lossyQuality: number | undefined;
  lossyScale: number | undefined;
  loading: boolean;
  /** The window asked for, or undefined for the object's own window. */
  window: WindowLevel | undefined;
  /** The window in effect as far as the viewer knows (the object's own when `window` is undefined). */
  effectiveWindow: WindowLevel | undefined;
  scale: number;
  ratio: string;
  fidelity: Fidelity;
  interpolation: Interpolation;
  view: ViewTransform;
  invert: boolean;
  /** Slice position (mm along the normal) of the slice asked for. */
  position: number | undefined;
  /** HTTP status of the last failure for the slice asked for. */
  errorStatus: number | undefined;
  displayProfile: string | null;
  cine: boolean;
  /** The reader's cine rate in frames per second, or undefined for the object's own (Frame Time, else 15). */
  cineRateChoice: number | undefined;
  /** The rate cine plays (or would play) at, frames per second. */
  cineRate: number;
  /** Image → canvas device pixels, and the canvas placement, for overlays. */
  matrix: Matrix | undefined;
  dpr: number;
  offsetX: number;
  offsetY: number;
  imageWidth: number;
  imageHeight: number;
}

let nextId = 1;

function windowKey(window: WindowLevel | undefined): string {
  return window ? `${window.center},${window.width}` : 'auto';
}

/** The cache slot of a frame under a window. */
export function frameSlot(item: StackItem, window: WindowLevel | undefined): string {
  return `${item.seriesUid}|${item.sopInstanceUid}|${item.frame}|${windowKey(window)}`;
}

/** A request for a frame: lossless PNG, or a fast JPEG of a rung of the ladder. */
export function frameWant(item: StackItem, window: WindowLevel | undefined, lossless: boolean, priority: number, rung: number): FrameWant {
  const variant = LOSSY_LADDER[rung]!;
  return {
    slot: frameSlot(item, window),
    url: renderedUrl(item, lossless ? { window, format: 'png' } : { window, format: 'jpeg', quality: variant.quality, scale: variant.scale }),
    lossless,
    rung: lossless ? undefined : rung,
    pixels: (item.rows ?? 512) * (item.columns ?? 512),
    priority,
  };
}

export class ViewportController {
  readonly id = `vp${nextId++}`;
  private stack: Stack = { items: [], normal: undefined, positions: [] };
  private index = 0;
  private direction: 1 | -1 = 1;
  private lastMoveAt = -Infinity;
  /** Recent slice changes: when, and to which index (for the scroll rate). */
  private steps: Array<[number, number]> = [];
  private idleTimer: number | undefined;
  private window: WindowLevel | undefined;
  private windowDragging = false;
  /** The fast frame in flight while the window is dragged. */
  private dragSlot: string | undefined;
  private view: ViewTransform = INITIAL_TRANSFORM;
  private invert = false;
  private interpolation: Interpolation = 'nearest';
  private canvas: HTMLCanvasElement | undefined;
  private container: HTMLElement | undefined;
  private resizeObserver: ResizeObserver | undefined;
  private dprQuery: MediaQueryList | undefined;
  private cw = 0;
  private ch = 0;
  private dpr = 1;
  private offsetX = 0;
  private offsetY = 0;
  private shown: { slot: string; index: number; frame: LoadedFrame; window: string } | undefined;
  private errorSlot: { slot: string; status: number } | undefined;
  private drawPending = 0;
  private notifyPending = 0;
  private cineTimer: number | undefined;
  /** The rate the reader chose for cine (frames per second), or undefined for the object's own. */
  private cineRateChoice: number | undefined;
  private displayProfile: string | null = null;
  private matrix: Matrix | undefined;
  private readonly listeners = new Set<(s: ViewportSnapshot) => void>();
  /** Called when the slice changes by the reader's hand or cine (not by synchronisation). */
  onSliceChange: ((source: ChangeSource) => void) | undefined;
  /** Called after a new stack is shown (e.g. when slice positions arrive). */
  onStackChange: (() => void) | undefined;

  constructor(private readonly scheduler: FrameScheduler) {
    scheduler.register(this.id, (slot, frame, error) => this.frameArrived(slot, frame, error));
  }

  // ---------------------------------------------------------------------------------------
  // Canvas

  attach(canvas: HTMLCanvasElement, container: HTMLElement): void {
    this.canvas = canvas;
    this.container = container;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.watchDpr();
    this.resize();
  }

  detach(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = undefined;
    this.dprQuery?.removeEventListener('change', this.onDprChange);
    this.canvas = undefined;
    this.container = undefined;
  }

  private readonly onDprChange = (): void => {
    this.watchDpr();
    this.resize();
  };

  private watchDpr(): void {
    this.dprQuery?.removeEventListener('change', this.onDprChange);
    this.dprQuery = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    this.dprQuery.addEventListener('change', this.onDprChange);
  }

  /**
   * Sizes the canvas to one backing pixel per device pixel and places it on a whole device
   * pixel of the screen, so that 1:1 really is one image pixel per device pixel.
   */
  resize(): void {
    const canvas = this.canvas;
    const container = this.container;
    if (!canvas || !container) return;
    const dpr = window.devicePixelRatio || 1;
    const rect = container.getBoundingClientRect();
    const left = rect.left * dpr;
    const top = rect.top * dpr;
    const offX = Math.ceil(left - 1e-6) - left;
    const offY = Math.ceil(top - 1e-6) - top;
    const cw = Math.max(1, Math.floor(rect.width * dpr - offX));
    const ch = Math.max(1, Math.floor(rect.height * dpr - offY));
    this.dpr = dpr;
    this.offsetX = offX / dpr;
    this.offsetY = offY / dpr;
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
    }
    canvas.style.left = `${this.offsetX}px`;
    canvas.style.top = `${this.offsetY}px`;
    canvas.style.width = `${cw / dpr}px`;
    canvas.style.height = `${ch / dpr}px`;
    this.cw = cw;
    this.ch = ch;
    this.requestDraw();
  }

  // ---------------------------------------------------------------------------------------
  // State

  /** Shows a new stack; keeps the slice on screen if the new stack has it (e.g. re-sorted by position). */
  setStack(stack: Stack, keep?: { sopInstanceUid: string; frame: number } | 'first'): void {
    const before = this.stack.items[this.index];
    this.stack = stack;
    let index = 0;
    const wanted = keep === 'first' ? undefined : (keep ?? before);
    if (wanted) {
      const i = stack.items.findIndex((f) => f.sopInstanceUid === wanted.sopInstanceUid && f.frame === wanted.frame);
      if (i >= 0) index = i;
    }
    this.index = Math.min(index, Math.max(0, stack.items.length - 1));
    if (this.shown) {
      // The image on screen keeps its place if the new stack has it; otherwise it goes.
      const i = stack.items.findIndex((f) => this.slotOf(f) === this.shown!.slot);
      if (i >= 0) this.shown.index = i;
      else {
        this.scheduler.cache.hide(this.shown.frame.bitmap);
        this.shown = undefined;
        this.matrix = undefined;
      }
    }
    this.plan();
    this.requestDraw();
    this.onStackChange?.();
  }

  getStack(): Stack {
    return this.stack;
  }

  current(): StackItem | undefined {
    return this.stack.items[this.index];
  }

  currentIndex(): number {
    return this.index;
  }

  /** The slice position (mm) of the slice asked for. */
  position(): number | undefined {
    return this.stack.positions[this.index];
  }

  setIndex(index: number, source: ChangeSource = 'user'): void {
    const n = this.stack.items.length;
    if (n === 0) return;
    const next = Math.max(0, Math.min(n - 1, Math.round(index)));
    if (next === this.index) return;
    this.direction = next > this.index ? 1 : -1;
    this.index = next;
    this.moved();
    if (source === 'user' || source === 'cine') this.onSliceChange?.(source);
  }

  /** One slice (or `delta` slices) forward or back. */
  step(delta: number, source: ChangeSource = 'user'): void {
    this.setIndex(this.index + delta, source);
  }

  private moved(): void {
    this.lastMoveAt = performance.now();
    this.steps.push([this.lastMoveAt, this.index]);
    if (this.steps.length > 16) this.steps.shift();
    window.clearTimeout(this.idleTimer);
    this.idleTimer = window.setTimeout(() => this.plan(), SCROLL_IDLE_MS + 5);
    this.plan();
    this.requestDraw();
  }

  /**
   * The window to ask the server for (undefined: the object's own). While the reader drags
   * (`interactive`), one fast frame is in flight at a time and the next one asks for the
   * window reached by then, so the image follows the mouse as fast as the link allows.
   */
  setWindow(win: WindowLevel | undefined, interactive = false): void {
    this.window = win ? { center: win.center, width: Math.max(1, win.width) } : undefined;
    if (interactive) {
      this.windowDragging = true;
      this.lastMoveAt = performance.now();
      if (!this.dragSlot) this.plan();
    } else {
      this.windowDragging = false;
      this.plan();
    }
    this.requestDraw();
  }

  /** Ends an interactive window change: the lossless frame follows. */
  endWindowDrag(): void {
    this.windowDragging = false;
    this.dragSlot = undefined;
    this.lastMoveAt = -Infinity;
    this.plan();
  }

  getWindow(): WindowLevel | undefined {
    return this.window;
  }

  /** The window in effect: the one asked for, or the object's own, or a guess for the modality. */
  effectiveWindow(): WindowLevel | undefined {
    return this.window ?? this.current()?.window;
  }

  getView(): ViewTransform {
    return this.view;
  }

  setView(view: Partial<ViewTransform>): void {
    this.view = { ...this.view, ...view };
    this.requestDraw();
  }

  /** Device pixels per image pixel now. */
  scale(): number {
    const item = this.current();
    if (!item) return 1;
    return effectiveScale(this.view, this.cw, this.ch, item.columns ?? 1, item.rows ?? 1);
  }

  /** Exactly one image pixel per device pixel, centred as before. */
  oneToOne(): void {
    const s = this.scale();
    this.setView({ zoom: 1, panX: this.view.panX / s, panY: this.view.panY / s });
  }

  /** Whole image in the viewport, centred. */
  fit(): void {
    this.setView({ zoom: 'fit', panX: 0, panY: 0 });
  }

  /** Zooms to `to` keeping the point (`x`, `y`, CSS pixels in the viewport) in place; default the centre. */
  zoomTo(to: number, x?: number, y?: number): void {
    const from = this.scale();
    const target = clampZoom(to);
    const px = x === undefined ? this.cw / 2 : (x - this.offsetX) * this.dpr;
    const py = y === undefined ? this.ch / 2 : (y - this.offsetY) * this.dpr;
    const pan = panForZoomAt(this.view, this.cw, this.ch, px, py, from, target);
    this.setView({ zoom: target, ...pan });
  }

  /** Moves the image by CSS pixels. */
  panBy(dx: number, dy: number): void {
    this.setView({ panX: this.view.panX + dx * this.dpr, panY: this.view.panY + dy * this.dpr });
  }

  setInvert(invert: boolean): void {
    this.invert = invert;
    this.requestDraw();
  }

  getInvert(): boolean {
    return this.invert;
  }

  setInterpolation(interpolation: Interpolation): void {
    this.interpolation = interpolation;
    this.requestDraw();
  }

  getInterpolation(): Interpolation {
    return this.interpolation;
  }

  /** Image coordinates (pixels) of a point in CSS pixels relative to the viewport. */
  imagePoint(x: number, y: number): { x: number; y: number } | undefined {
    if (!this.matrix) return undefined;
    return toImage(this.matrix, (x - this.offsetX) * this.dpr, (y - this.offsetY) * this.dpr);
  }

  // ---------------------------------------------------------------------------------------
  // Cine

  /**
   * The rate cine plays at, 1 to 60 frames per second: the reader's choice, else the object's
   * Frame Time (0018,1063) or Cine Rate (0018,0040), else 15 per second.
   */
  cineRate(): number {
    const frameTime = this.current()?.frameTimeMs;
    const rate = this.cineRateChoice ?? (frameTime ? 1000 / frameTime : DEFAULT_CINE_FPS);
    return Math.min(MAX_CINE_FPS, Math.max(1, rate));
  }

  /**
   * Chooses the cine rate (frames per second; undefined goes back to the object's own). A
   * running cine continues at the new rate.
   */
  setCineRate(fps: number | undefined): void {
    this.cineRateChoice = fps !== undefined && Number.isFinite(fps) && fps > 0 ? Math.min(MAX_CINE_FPS, fps) : undefined;
    if (this.cineTimer !== undefined) this.startCine();
    else this.notify();
  }

  /** Plays the stack in a loop at `fps` when given (it becomes the chosen rate), else at {@link cineRate}. */
  startCine(fps?: number): void {
    if (fps !== undefined) this.cineRateChoice = Math.min(MAX_CINE_FPS, Math.max(1, fps));
    this.stopCine();
    const n = this.stack.items.length;
    if (n < 2) return;
    const rate = this.cineRate();
    this.direction = 1;
    this.cineTimer = window.setInterval(() => {
      const next = (this.index + 1) % this.stack.items.length;
      this.direction = 1;
      this.index = next;
      this.moved();
      this.onSliceChange?.('cine');
    }, 1000 / rate);
    this.notify();
  }

  stopCine(): void {
    if (this.cineTimer === undefined) return;
    window.clearInterval(this.cineTimer);
    this.cineTimer = undefined;
    this.lastMoveAt = -Infinity;
    this.plan();
    this.notify();
  }

  cineRunning(): boolean {
    return this.cineTimer !== undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Fetching

  private windowKey(): string {
    return windowKey(this.window);
  }

  private slotOf(item: StackItem): string {
    return frameSlot(item, this.window);
  }

  private want(item: StackItem, lossless: boolean, priority: number, rung: number): FrameWant {
    return frameWant(item, this.window, lossless, priority, rung);
  }

  /** Slices per second over the last half second of scrolling (0 when not scrolling). */
  private scrollRate(): number {
    const now = performance.now();
    const recent = this.steps.filter(([t]) => now - t < 500);
    if (recent.length < 3) return 0;
    const [t0, i0] = recent[0]!;
    const [t1, i1] = recent[recent.length - 1]!;
    return t1 > t0 ? (Math.abs(i1 - i0) * 1000) / (t1 - t0) : 0;
  }

  /** Whether the reader is scrolling, playing cine or dragging the window right now. */
  private busyMoving(): boolean {
    return this.windowDragging || this.cineTimer !== undefined || performance.now() - this.lastMoveAt < SCROLL_IDLE_MS;
  }

  /** Tells the scheduler what this viewport wants now, most urgent first. */
  private plan(): void {
    const items = this.stack.items;
    const n = items.length;
    const cur = items[this.index];
    if (!cur) {
      this.scheduler.setWants(this.id, []);
      return;
    }
    const pixels = (cur.rows ?? 512) * (cur.columns ?? 512);
    const rung = this.scheduler.link.choose(pixels);
    const wants: FrameWant[] = [];
    const at = (i: number): StackItem | undefined => (this.cineTimer !== undefined ? items[((i % n) + n) % n] : items[i]);
    if (this.windowDragging) {
      const w = this.want(cur, false, 0, rung);
      this.dragSlot = this.scheduler.cache.has(w.slot, false) ? undefined : w.slot;
      wants.push(w);
    } else if (this.busyMoving()) {
      // Slices the scroll will pass before an answer could arrive are not asked for: the
      // prefetch leads by the expected arrival time, so that a server or link slower than
      // the scroll still delivers every few slices instead of answers that come too late.
      const arrival = this.scheduler.link.expectedArrivalMs(rung, pixels);
      const lead = arrival === undefined ? 0 : Math.floor((this.scrollRate() * arrival) / 1000);
      if (lead <= 1) wants.push(this.want(cur, false, 0, rung));
      for (let d = lead <= 1 ? 1 : 0; d < lead; d++) {
        // Closer than the lead: answers already on the way may still make it.
        const item = at(this.index + this.direction * d);
        if (item) wants.push({ ...this.want(item, false, d, rung), start: false });
      }
      for (let d = Math.max(1, lead); d <= lead + PREFETCH_AHEAD; d++) {
        const item = at(this.index + this.direction * d);
        if (item) wants.push(this.want(item, false, d - lead + 1, rung));
      }
      for (let d = 1; d <= 2; d++) {
        const item = at(this.index - this.direction * d);
        if (item) wants.push(this.want(item, false, 30 + d, rung));
      }
    } else if (!this.scheduler.cache.has(this.slotOf(cur), true)) {
      // Stopped (or the first image): the lossless frame alone, so that it has the link and
      // the server to itself; prefetching resumes once it is on screen.
      wants.push(this.want(cur, true, 0, rung));
    } else {
      wants.push(this.want(cur, true, 0, rung));
      for (let d = 1; d <= 12; d++) {
        const item = items[this.index + this.direction * d];
        if (item) wants.push(this.want(item, false, 20 + d, rung));
      }
      for (let d = 1; d <= 2; d++) {
        for (const item of [items[this.index + this.direction * d], items[this.index - this.direction * d]]) {
          if (item) wants.push(this.want(item, true, 40 + d, rung));
        }
      }
    }
    this.scheduler.setWants(this.id, wants);
  }

  private frameArrived(slot: string, frame: LoadedFrame | undefined, error?: unknown): void {
    const cur = this.current();
    if (!cur) return;
    if (this.dragSlot === slot) {
      // A dragged window's frame: show it even if the mouse has moved on, then ask for the next.
      this.dragSlot = undefined;
      if (frame && this.slotOf(cur) !== slot) this.showFrame(slot, this.index, frame, slot.slice(slot.lastIndexOf('|') + 1));
      if (this.windowDragging) this.plan();
    }
    if (this.slotOf(cur) !== slot) return;
    if (!frame) {
      const status = error && typeof error === 'object' && 'status' in error ? Number((error as { status: unknown }).status) : 0;
      this.errorSlot = { slot, status };
      this.notify();
      return;
    }
    if (frame.displayProfile !== null) this.displayProfile = frame.displayProfile;
    this.requestDraw();
    // The lossless frame is here: prefetching may resume.
    if (frame.lossless && !this.busyMoving()) this.plan();
  }

  // ---------------------------------------------------------------------------------------
  // Drawing

  requestDraw(): void {
    if (this.drawPending) return;
    this.drawPending = window.requestAnimationFrame(() => {
      this.drawPending = 0;
      this.draw();
    });
  }

  private showFrame(slot: string, index: number, frame: LoadedFrame, window: string, redraw = true): void {
    const first = !this.shown;
    if (this.shown) this.scheduler.cache.hide(this.shown.frame.bitmap);
    this.scheduler.cache.show(frame.bitmap);
    this.shown = { slot, index, frame, window };
    if (frame.displayProfile !== null) this.displayProfile = frame.displayProfile;
    if (redraw) this.requestDraw();
    if (first) queueMicrotask(() => this.plan());
  }

  private draw(): void {
    const canvas = this.canvas;
    const ctx = canvas?.getContext('2d', { alpha: false });
    const cur = this.current();
    if (cur) {
      const slot = this.slotOf(cur);
      const frame = this.scheduler.cache.get(slot);
      if (frame && frame !== this.shown?.frame) {
        this.showFrame(slot, this.index, frame, this.windowKey(), false);
        if (this.errorSlot?.slot === slot) this.errorSlot = undefined;
      }
    }
    if (canvas && ctx) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalCompositeOperation = 'source-over';
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const shownItem = this.shown ? this.stack.items[this.shown.index] : undefined;
      if (this.shown && shownItem) {
        const bitmap = this.shown.frame.bitmap;
        const w = shownItem.columns ?? bitmap.width;
        const h = shownItem.rows ?? bitmap.height;
        const m = imageMatrix(this.view, this.cw, this.ch, w, h);
        this.matrix = m;
        const s = effectiveScale(this.view, this.cw, this.ch, w, h);
        const halfSize = bitmap.width !== w || bitmap.height !== h;
        // At exactly 1:1 nothing is interpolated; magnified, the reader's choice; a
        // half-size fast frame is smoothed so that it does not look like real pixels.
        ctx.imageSmoothingEnabled = halfSize || (!isOneToOne(s) && this.interpolation === 'smooth');
        ctx.imageSmoothingQuality = 'high';
        ctx.setTransform(m.a, m.b, m.c, m.d, m.e, m.f);
        ctx.drawImage(bitmap, 0, 0, w, h);
        if (this.invert) {
          // |255 - v| per channel: an exact inversion of the 8-bit values.
          ctx.globalCompositeOperation = 'difference';
          ctx.fillStyle = '#fff';
          ctx.fillRect(0, 0, w, h);
          ctx.globalCompositeOperation = 'source-over';
        }
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        canvas.dataset.sop = shownItem.sopInstanceUid;
        canvas.dataset.frame = String(shownItem.frame);
        canvas.dataset.index = String(this.shown.index);
        canvas.dataset.quality = this.shown.frame.lossless ? 'lossless' : 'lossy';
        canvas.dataset.matrix = [m.a, m.b, m.c, m.d, m.e, m.f].join(',');
        canvas.dataset.window = this.shown.window;
        canvas.dataset.invert = String(this.invert);
      } else {
        for (const key of ['sop', 'frame', 'index', 'quality', 'matrix', 'window', 'invert']) delete canvas.dataset[key];
      }
    }
    this.notify();
  }

  // ---------------------------------------------------------------------------------------
  // Overlay

  subscribe(listener: (s: ViewportSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot());
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    if (this.notifyPending || this.listeners.size === 0) return;
    this.notifyPending = window.requestAnimationFrame(() => {
      this.notifyPending = 0;
      const s = this.snapshot();
      for (const l of this.listeners) l(s);
    });
  }

  snapshot(): ViewportSnapshot {
    const cur = this.current();
    const shownItem = this.shown ? this.stack.items[this.shown.index] : undefined;
    const w = shownItem?.columns ?? cur?.columns ?? 0;
    const h = shownItem?.rows ?? cur?.rows ?? 0;
    const scale = cur ? effectiveScale(this.view, this.cw, this.ch, w || 1, h || 1) : 1;
    const frame = this.shown?.frame;
    const variant = frame && !frame.lossless && frame.rung !== undefined ? LOSSY_LADDER[frame.rung] : undefined;
    const slot = cur ? this.slotOf(cur) : undefined;
    return {
      count: this.stack.items.length,
      index: this.index,
      shownIndex: this.shown?.index,
      shown: shownItem,
      quality: frame ? (frame.lossless ? 'lossless' : 'lossy') : 'none',
      lossyQuality: variant?.quality,
      lossyScale: variant?.scale,
      loading: !!cur && !!slot && this.shown?.slot !== slot,
      window: this.window,
      effectiveWindow: this.effectiveWindow(),
      scale,
      ratio: ratioLabel(scale),
      fidelity: fidelityOf(scale),
      interpolation: this.interpolation,
      view: this.view,
      invert: this.invert,
      position: this.position(),
      errorStatus: this.errorSlot && this.errorSlot.slot === slot ? this.errorSlot.status : undefined,
      displayProfile: this.displayProfile,
      cine: this.cineTimer !== undefined,
      cineRateChoice: this.cineRateChoice,
      cineRate: this.cineRate(),
      matrix: this.matrix,
      dpr: this.dpr,
      offsetX: this.offsetX,
      offsetY: this.offsetY,
      imageWidth: w,
      imageHeight: h,
    };
  }

  destroy(): void {
    this.stopCine();
    window.clearTimeout(this.idleTimer);
    if (this.drawPending) window.cancelAnimationFrame(this.drawPending);
    if (this.notifyPending) window.cancelAnimationFrame(this.notifyPending);
    if (this.shown) this.scheduler.cache.hide(this.shown.frame.bitmap);
    this.shown = undefined;
    this.scheduler.unregister(this.id);
    this.detach();
    this.listeners.clear();
  }
}
