/**
 * One viewport: the canvas the controller draws into, the mouse (stack scrolling by wheel
 * and drag, window by right-drag, pan by middle-drag, zoom by Ctrl+wheel, the measurement
 * tools), the measurement graphics, and the overlay that always states the zoom ratio,
 * the interpolation, the window and whether the frame on screen is the lossless one.
 */
import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ImagePoint } from '../../../shared/api.ts';
import { ViewportController, type ViewportSnapshot } from './controller.ts';
import { metadataStack, useSeriesStack } from './dicomweb.ts';
import { clampZoom, toCanvas, type Matrix } from './display.ts';
import type { FrameScheduler } from './frames.ts';
import type { WindowLevel } from './geometry.ts';
import { dragWindow } from './presets.ts';
import type { SyncHub } from './sync.ts';
import { pointsNeeded, type Measurement, type Tool } from './tools.ts';

export interface ViewportSeries {
  studyUid: string;
  seriesUid: string;
}

export interface ViewportProps {
  index: number;
  series: ViewportSeries | null;
  active: boolean;
  onActivate: () => void;
  scheduler: FrameScheduler;
  sync: SyncHub;
  tool: Tool;
  /** A short label of the study shown (current / prior and its date). */
  studyLabel: string;
  modality: string;
  seriesLabel: string;
  measurements: Measurement[];
  keyImageSlots: ReadonlySet<string>;
  onMeasure: (m: Omit<Measurement, 'id' | 'state'>) => void;
  onController: (index: number, controller: ViewportController | null) => void;
  onFirstImage: () => void;
  onDropSeries: (index: number, series: ViewportSeries) => void;
}

/** The key of an image for key-image marks: `sop|frame`. */
export function imageKey(sopInstanceUid: string, frame: number): string {
  return `${sopInstanceUid}|${frame}`;
}

const CT_DEFAULT_WINDOW: WindowLevel = { center: 40, width: 400 };

type Drag =
  | { kind: 'scroll'; startY: number; startIndex: number }
  | { kind: 'window'; x: number; y: number; start: WindowLevel }
  | { kind: 'pan'; x: number; y: number }
  | { kind: 'zoom'; y: number; start: number; cx: number; cy: number }
  | { kind: 'measure'; tool: 'length' | 'roi'; from: ImagePoint };

export function Viewport(props: ViewportProps) {
  const { t } = useTranslation();
  const { index, series, scheduler, sync, onController } = props;
  const [ctrl, setCtrl] = useState<ViewportController | null>(null);
  const containerRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [snap, setSnap] = useState<ViewportSnapshot | null>(null);
  const drag = useRef<Drag | null>(null);
  const [draft, setDraft] = useState<{ kind: Measurement['kind']; points: ImagePoint[]; hover: ImagePoint | null } | null>(null);
  const wheelRest = useRef(0);
  const firstImageReported = useRef(false);

  // The controller lives as long as the viewport.
  useEffect(() => {
    const c = new ViewportController(scheduler);
    setCtrl(c);
    sync.add(c);
    return () => {
      sync.remove(c);
      c.destroy();
    };
  }, [scheduler, sync]);

  useEffect(() => {
    if (!ctrl) return;
    onController(index, ctrl);
    return () => onController(index, null);
  }, [ctrl, index, onController]);

  useEffect(() => {
    if (!ctrl || !canvasRef.current || !containerRef.current) return;
    ctrl.attach(canvasRef.current, containerRef.current);
    const unsubscribe = ctrl.subscribe(setSnap);
    return () => {
      unsubscribe();
      ctrl.detach();
    };
  }, [ctrl]);

  // The series' stack: first by Instance Number (fast), then by slice position (metadata).
  const { quick, metadata } = useSeriesStack(series?.studyUid, series?.seriesUid);
  const applied = useRef<{ key: string; level: 'none' | 'quick' | 'metadata' }>({ key: '', level: 'none' });
  useEffect(() => {
    if (!ctrl || !series) return;
    const key = `${series.studyUid}|${series.seriesUid}`;
    if (applied.current.key !== key) {
      applied.current = { key, level: 'none' };
      ctrl.setWindow(undefined);
      ctrl.fit();
      setDraft(null);
    }
    if (metadata.data && applied.current.level !== 'metadata') {
      const stack = metadataStack(metadata.data, series.studyUid, series.seriesUid);
      if (stack.items.length) {
        ctrl.setStack(stack, applied.current.level === 'none' ? 'first' : undefined);
        applied.current.level = 'metadata';
      }
    } else if (quick.data && applied.current.level === 'none') {
      ctrl.setStack(quick.data, 'first');
      applied.current.level = 'quick';
    }
  }, [ctrl, series, quick.data, metadata.data]);

  useEffect(() => {
    if (snap?.quality && snap.quality !== 'none' && !firstImageReported.current) {
      firstImageReported.current = true;
      props.onFirstImage();
    }
  }, [snap?.quality, props]);

  const point = (e: { clientX: number; clientY: number }): { x: number; y: number } => {
    const rect = containerRef.current!.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  };

  // Esc drops a measurement being drawn.
  useEffect(() => {
    if (!draft) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setDraft(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [draft]);

  // Wheel: slices (Ctrl: zoom at the pointer). Not passive, so the page does not scroll.
  useEffect(() => {
    const el = containerRef.current;
    if (!el || !ctrl) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        const p = point(e);
        ctrl.zoomTo(clampZoom(ctrl.scale() * Math.exp(-e.deltaY * 0.002)), p.x, p.y);
        return;
      }
      // A mouse wheel notch (lines, pages, or 50 px and more) is one slice; the small pixel
      // deltas of touchpads add up, 40 px per slice.
      if (e.deltaMode !== 0 || Math.abs(e.deltaY) >= 50) {
        wheelRest.current = 0;
        ctrl.step(Math.sign(e.deltaY));
        return;
      }
      wheelRest.current += e.deltaY / 40;
      const steps = Math.trunc(wheelRest.current);
      if (steps !== 0) {
        wheelRest.current -= steps;
        ctrl.step(steps);
      }
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [ctrl]);

  const startWindow = (): WindowLevel => ctrl?.effectiveWindow() ?? (props.modality === 'CT' ? CT_DEFAULT_WINDOW : { center: 128, width: 256 });

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    props.onActivate();
    if (!ctrl) return;
    const p = point(e);
    const button = e.button;
    const tool: Tool | 'window' | 'pan' = button === 2 ? 'window' : button === 1 ? 'pan' : props.tool;
    if (button > 2) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    e.preventDefault();
    const image = ctrl.imagePoint(p.x, p.y);
    switch (tool) {
      case 'scroll':
        drag.current = { kind: 'scroll', startY: p.y, startIndex: ctrl.currentIndex() };
        break;
      case 'window':
        drag.current = { kind: 'window', x: p.x, y: p.y, start: startWindow() };
        break;
      case 'pan':
        drag.current = { kind: 'pan', x: p.x, y: p.y };
        break;
      case 'zoom':
        drag.current = { kind: 'zoom', y: p.y, start: ctrl.scale(), cx: p.x, cy: p.y };
        break;
      case 'length':
      case 'roi':
        if (image) {
          drag.current = { kind: 'measure', tool, from: image };
          setDraft({ kind: tool, points: [image], hover: image });
        }
        break;
      case 'angle':
        if (image) {
          const points = draft?.kind === 'angle' ? [...draft.points, image] : [image];
          if (points.length >= pointsNeeded('angle')) {
            submit('angle', points);
            setDraft(null);
          } else setDraft({ kind: 'angle', points, hover: image });
        }
        break;
    }
  };

  const onPointerMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (!ctrl) return;
    const p = point(e);
    const d = drag.current;
    if (!d) {
      if (draft?.kind === 'angle') setDraft({ ...draft, hover: ctrl.imagePoint(p.x, p.y) ?? null });
      return;
    }
    switch (d.kind) {
      case 'scroll': {
        // 8 CSS pixels per slice: a short drag moves a few slices, a long one through the stack.
        ctrl.setIndex(d.startIndex + Math.round((p.y - d.startY) / 8));
        break;
      }
      case 'window':
        ctrl.setWindow(dragWindow(d.start, p.x - d.x, p.y - d.y), true);
        break;
      case 'pan':
        ctrl.panBy(p.x - d.x, p.y - d.y);
        d.x = p.x;
        d.y = p.y;
        break;
      case 'zoom':
        ctrl.zoomTo(clampZoom(d.start * Math.exp(-(p.y - d.y) * 0.01)), d.cx, d.cy);
        break;
      case 'measure': {
        const image = ctrl.imagePoint(p.x, p.y);
        if (image) setDraft({ kind: d.tool, points: [d.from, image], hover: null });
        break;
      }
    }
  };

  const onPointerUp = (e: ReactPointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    drag.current = null;
    if (e.currentTarget.hasPointerCapture(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId);
    if (!ctrl || !d) return;
    // The release point settles a stack drag, whatever moves a busy browser merged or dropped.
    if (d.kind === 'scroll') ctrl.setIndex(d.startIndex + Math.round((point(e).y - d.startY) / 8));
    if (d.kind === 'window') ctrl.endWindowDrag();
    if (d.kind === 'measure') {
      const p = point(e);
      const end = ctrl.imagePoint(p.x, p.y);
      setDraft(null);
      if (end && Math.hypot(end.x - d.from.x, end.y - d.from.y) >= 1) submit(d.tool, [d.from, end]);
    }
  };

  const submit = (kind: Measurement['kind'], points: ImagePoint[]) => {
    const shown = snap?.shown;
    if (!shown) return;
    props.onMeasure({ studyUid: shown.studyUid, seriesUid: shown.seriesUid, sopInstanceUid: shown.sopInstanceUid, frame: shown.frame, kind, points });
  };

  const shown = snap?.shown;
  const visibleMeasurements = shown ? props.measurements.filter((m) => m.sopInstanceUid === shown.sopInstanceUid && m.frame === shown.frame) : [];
  const isKey = shown ? props.keyImageSlots.has(imageKey(shown.sopInstanceUid, shown.frame)) : false;

  return (
    <div
      className="enkaku-viewport"
      data-active={props.active}
      data-testid={`viewport-${index}`}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('application/x-enkaku-series')) e.preventDefault();
      }}
      onDrop={(e) => {
        const raw = e.dataTransfer.getData('application/x-enkaku-series');
        if (!raw) return;
        e.preventDefault();
        try {
          props.onDropSeries(index, JSON.parse(raw) as ViewportSeries);
        } catch {
          // not ours
        }
      }}
    >
      <div
        ref={containerRef}
        className="enkaku-viewport-surface"
        data-tool={props.tool}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onContextMenu={(e) => e.preventDefault()}
        role="img"
        aria-label={t('viewer.viewportLabel', { n: index + 1, series: props.seriesLabel })}
      >
        <canvas ref={canvasRef} className="enkaku-viewport-canvas" data-testid={`viewport-canvas-${index}`} />
        {snap?.matrix ? <MeasurementLayer snap={snap} measurements={visibleMeasurements} draft={draft} /> : null}
      </div>
      {series ? <Overlay snap={snap} props={props} isKey={isKey} /> : <div className="enkaku-viewport-empty">{t('viewer.emptyViewport')}</div>}
    </div>
  );
}

function Overlay({ snap, props, isKey }: { snap: ViewportSnapshot | null; props: ViewportProps; isKey: boolean }) {
  const { t } = useTranslation();
  if (!snap) return null;
  const shown = snap.shown;
  const w = snap.effectiveWindow;
  const reduced = snap.fidelity === 'reduced';
  const index = props.index;
  return (
    <div className="enkaku-overlay" aria-live="off">
      <div className="enkaku-overlay-tl">
        <div className="enkaku-overlay-strong" data-testid={`viewport-study-${index}`}>
          {props.studyLabel}
        </div>
        <div>{props.seriesLabel}</div>
        <div data-testid={`viewport-slice-${index}`} data-index={snap.index} data-count={snap.count}>
          {t('viewer.overlay.slice', { n: snap.count ? snap.index + 1 : 0, count: snap.count })}
          {snap.position !== undefined ? ` · ${t('viewer.overlay.position', { mm: snap.position.toFixed(1) })}` : ''}
        </div>
        <div
          className="enkaku-overlay-dim"
          data-testid={`viewport-sop-${index}`}
          data-sop={shown?.sopInstanceUid ?? ''}
          data-frame={shown?.frame ?? ''}
          data-shown-index={snap.shownIndex ?? ''}
          title={shown?.sopInstanceUid}
        >
          {shown ? t('viewer.overlay.instance', { number: shown.instanceNumber ?? '—', uid: `…${shown.sopInstanceUid.slice(-12)}` }) : ''}
          {shown && shown.multiFrame ? ` · ${t('viewer.overlay.frame', { n: shown.frame })}` : ''}
        </div>
        {isKey ? (
          <div className="enkaku-overlay-key" data-testid={`key-image-mark-${index}`}>
            ★ {t('viewer.keyImage.marked')}
          </div>
        ) : null}
      </div>
      <div className="enkaku-overlay-tr">
        <div data-testid={`viewport-window-${index}`} data-window={snap.window ? `${snap.window.center},${snap.window.width}` : 'auto'}>
          {!w
            ? t('viewer.overlay.windowAuto')
            : snap.window
              ? t('viewer.overlay.window', { center: round(w.center), width: round(w.width) })
              : t('viewer.overlay.windowOwn', { center: round(w.center), width: round(w.width) })}
        </div>
        {snap.invert ? <div>{t('viewer.overlay.inverted')}</div> : null}
        {snap.view.rotation || snap.view.flipH || snap.view.flipV ? (
          <div>
            {snap.view.rotation ? t('viewer.overlay.rotated', { deg: snap.view.rotation }) : ''}
            {snap.view.flipH ? ` ${t('viewer.overlay.flippedH')}` : ''}
            {snap.view.flipV ? ` ${t('viewer.overlay.flippedV')}` : ''}
          </div>
        ) : null}
        {snap.cine ? (
          <div data-testid={`cine-state-${index}`} data-fps={snap.cineRate}>
            {t('viewer.overlay.cineRate', { fps: Number.isInteger(snap.cineRate) ? snap.cineRate : snap.cineRate.toFixed(1) })}
          </div>
        ) : null}
      </div>
      <div className="enkaku-overlay-bl">
        <div className="enkaku-overlay-ratio" data-testid={`zoom-ratio-${index}`} data-scale={snap.scale} data-fidelity={snap.fidelity} data-dpr={snap.dpr}>
          {t('viewer.overlay.ratio', { ratio: snap.ratio, percent: Math.round(snap.scale * 100) })}
        </div>
        {reduced ? (
          <div className="enkaku-overlay-warning" role="status" data-testid={`zoom-warning-${index}`}>
            {t('viewer.overlay.reducedWarning')}
          </div>
        ) : null}
        <div data-testid={`interpolation-${index}`} data-interpolation={snap.fidelity === 'exact' ? 'none' : snap.interpolation}>
          {snap.fidelity === 'exact'
            ? t('viewer.overlay.interpolationNone')
            : snap.fidelity === 'magnified'
              ? t('viewer.overlay.interpolation', { method: t(`viewer.interpolation.${snap.interpolation}`) })
              : t('viewer.overlay.interpolationReduced', { method: t(`viewer.interpolation.${snap.interpolation}`) })}
        </div>
      </div>
      <div className="enkaku-overlay-br">
        <div
          data-testid={`frame-quality-${index}`}
          data-quality={snap.quality}
          data-lossy-quality={snap.lossyQuality}
          data-lossy-scale={snap.lossyScale}
          className={snap.quality === 'lossy' ? 'enkaku-overlay-lossy' : undefined}
        >
          {snap.quality === 'lossless'
            ? t('viewer.overlay.lossless')
            : snap.quality === 'lossy'
              ? t('viewer.overlay.lossy', { quality: snap.lossyQuality ?? '?', size: snap.lossyScale && snap.lossyScale < 1 ? t('viewer.overlay.halfSize') : '' })
              : ''}
          {snap.loading ? ` · ${t('viewer.overlay.loading')}` : ''}
        </div>
        {snap.errorStatus !== undefined ? (
          <div className="enkaku-overlay-warning" data-testid={`frame-error-${index}`}>
            {snap.errorStatus === 423 ? t('viewer.overlay.blocked') : t('viewer.overlay.failed', { status: snap.errorStatus || '—' })}
          </div>
        ) : null}
        {snap.imageWidth ? <div className="enkaku-overlay-dim">{t('viewer.overlay.matrix', { w: snap.imageWidth, h: snap.imageHeight })}</div> : null}
      </div>
    </div>
  );
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Measurement shapes and their server-computed values, in CSS pixels over the canvas. */
function MeasurementLayer({ snap, measurements, draft }: { snap: ViewportSnapshot; measurements: Measurement[]; draft: { kind: Measurement['kind']; points: ImagePoint[]; hover: ImagePoint | null } | null }) {
  const { t } = useTranslation();
  const m = snap.matrix!;
  const css = (p: ImagePoint) => toCss(m, snap, p);
  return (
    <svg className="enkaku-measurements" aria-hidden="false">
      {measurements.map((item) => (
        <g key={item.id} data-testid="measurement" data-kind={item.kind} data-state={item.state}>
          <Shape kind={item.kind} points={item.points.map(css)} />
          <MeasurementLabel item={item} at={css(labelAnchor(item.kind, item.points))} t={t} />
        </g>
      ))}
      {draft ? <Shape kind={draft.kind} points={[...draft.points, ...(draft.hover && draft.kind === 'angle' ? [draft.hover] : [])].map(css)} draft /> : null}
    </svg>
  );
}

function toCss(m: Matrix, snap: ViewportSnapshot, p: ImagePoint): { x: number; y: number } {
  const d = toCanvas(m, p.x, p.y);
  return { x: d.x / snap.dpr + snap.offsetX, y: d.y / snap.dpr + snap.offsetY };
}

function labelAnchor(kind: Measurement['kind'], points: ImagePoint[]): ImagePoint {
  if (kind === 'angle' && points[1]) return points[1];
  const last = points[points.length - 1]!;
  return last;
}

function Shape({ kind, points, draft = false }: { kind: Measurement['kind']; points: Array<{ x: number; y: number }>; draft?: boolean }) {
  const cls = draft ? 'enkaku-shape enkaku-shape-draft' : 'enkaku-shape';
  if (kind === 'roi' && points.length >= 2) {
    const [a, b] = points as [{ x: number; y: number }, { x: number; y: number }];
    return <ellipse className={cls} cx={(a.x + b.x) / 2} cy={(a.y + b.y) / 2} rx={Math.abs(b.x - a.x) / 2} ry={Math.abs(b.y - a.y) / 2} />;
  }
  return <polyline className={cls} points={points.map((p) => `${p.x},${p.y}`).join(' ')} />;
}

function MeasurementLabel({ item, at, t }: { item: Measurement; at: { x: number; y: number }; t: ReturnType<typeof useTranslation>['t'] }) {
  const r = item.result;
  let text: string;
  if (item.state === 'pending') text = t('viewer.measure.pending');
  else if (item.state === 'unavailable') text = t('viewer.measure.unavailable');
  else if (item.state === 'error' || !r) text = t('viewer.measure.failed');
  else if (r.kind === 'length') text = r.lengthMm != null ? t('viewer.measure.lengthMm', { mm: r.lengthMm.toFixed(1) }) : t('viewer.measure.lengthPx', { px: (r.lengthPixels ?? 0).toFixed(1) });
  else if (r.kind === 'angle') text = t('viewer.measure.angle', { deg: (r.angleDegrees ?? 0).toFixed(1) });
  else if (r.roi) {
    const unit = r.unit ? ` ${r.unit}` : '';
    text = t('viewer.measure.roi', { mean: r.roi.mean.toFixed(1), sd: r.roi.sd.toFixed(1), unit, n: r.roi.pixels });
    if (r.roi.areaMm2 != null) text += ` · ${t('viewer.measure.area', { mm2: r.roi.areaMm2.toFixed(1) })}`;
  } else text = t('viewer.measure.failed');
  return (
    <text
      className="enkaku-measure-label"
      x={at.x + 6}
      y={at.y - 6}
      data-testid="measurement-label"
      data-mean={r?.roi?.mean}
      data-sd={r?.roi?.sd}
      data-length-mm={r?.lengthMm ?? undefined}
      data-angle={r?.angleDegrees}
    >
      {text}
    </text>
  );
}
