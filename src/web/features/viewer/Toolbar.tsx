/**
 * The viewer's toolbar: layout, mouse tool, window presets, invert / rotate / flip,
 * 1:1 and fit, interpolation, cine, synchronised scrolling, key image, attributes and help.
 * Every action here has a key too (see the help overlay).
 */
import { ActionIcon, Button, Group, NativeSelect, Tooltip } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ViewportController, ViewportSnapshot } from './controller.ts';
import { WINDOW_PRESETS, presetsFor, type PresetId } from './presets.ts';
import { TOOLS, type Tool } from './tools.ts';

/** Cine rates the reader can choose, frames per second (besides the object's own). */
export const CINE_RATES = [2, 5, 10, 15, 20, 30] as const;

export type Layout = '1x1' | '1x2' | '2x2';
export const LAYOUTS: readonly Layout[] = ['1x1', '1x2', '2x2'];

/**
 * Parts of a controller's snapshot, re-rendered only when one of them changes (the
 * snapshot itself changes with every slice while scrolling).
 */
export function useControllerSnapshot<T extends Record<string, unknown>>(ctrl: ViewportController | null | undefined, select: (s: ViewportSnapshot) => T): T | null {
  const [value, setValue] = useState<T | null>(null);
  const selectRef = useRef(select);
  selectRef.current = select;
  useEffect(() => {
    if (!ctrl) {
      setValue(null);
      return;
    }
    return ctrl.subscribe((s) => {
      const next = selectRef.current(s);
      setValue((prev) => (prev && shallowEqual(prev, next) ? prev : next));
    });
  }, [ctrl]);
  return value;
}

function shallowEqual(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.is(a[k], b[k]));
}

/** What the toolbar shows of the active viewport. */
function toolbarState(s: ViewportSnapshot) {
  return {
    invert: s.invert,
    rotation: s.view.rotation,
    flipH: s.view.flipH,
    flipV: s.view.flipV,
    fit: s.view.zoom === 'fit',
    exact: s.fidelity === 'exact',
    interpolation: s.interpolation,
    cine: s.cine,
    cineRateChoice: s.cineRateChoice,
    cineRate: s.cineRate,
    count: s.count,
    windowCenter: s.window?.center,
    windowWidth: s.window?.width,
    shownSop: s.shown?.sopInstanceUid,
    shownFrame: s.shown?.frame,
  };
}

/** The preset whose window is in use, if any. */
function presetOf(snap: ReturnType<typeof toolbarState> | null): PresetId | '' {
  if (!snap) return '';
  if (snap.windowCenter === undefined) return 'auto';
  const p = WINDOW_PRESETS.find((x) => x.window && x.window.center === snap.windowCenter && x.window.width === snap.windowWidth);
  return p?.id ?? '';
}

export interface ToolbarProps {
  layout: Layout;
  onLayout: (l: Layout) => void;
  tool: Tool;
  onTool: (t: Tool) => void;
  ctrl: ViewportController | null;
  modality: string;
  onPreset: (id: PresetId) => void;
  sync: boolean;
  onSync: () => void;
  onAlign: () => void;
  /** Key images of the study as `sop|frame`. */
  keySlots: ReadonlySet<string>;
  keyImagesAvailable: boolean;
  onKeyImage: () => void;
  canSeeAttributes: boolean;
  onAttributes: () => void;
  onHelp: () => void;
}

export function Toolbar(p: ToolbarProps) {
  const { t } = useTranslation();
  const snap = useControllerSnapshot(p.ctrl, toolbarState);
  const ctrl = p.ctrl;
  const preset = presetOf(snap);
  const multi = (snap?.count ?? 0) > 1;
  const isKeyImage = !!snap?.shownSop && p.keySlots.has(`${snap.shownSop}|${snap.shownFrame}`);
  return (
    <div className="enkaku-toolbar" role="toolbar" aria-label={t('viewer.toolbar.label')}>
      <Choice label={t('viewer.toolbar.layout')} value={p.layout} onChange={p.onLayout} options={LAYOUTS.map((l) => ({ value: l, label: l, testId: `layout-${l}` }))} />
      <Choice label={t('viewer.toolbar.tool')} value={p.tool} onChange={p.onTool} options={TOOLS.map((tool) => ({ value: tool, label: t(`viewer.tools.${tool}`), testId: `tool-${tool}` }))} />
      <NativeSelect
        size="xs"
        value={preset}
        onChange={(e) => p.onPreset(e.currentTarget.value as PresetId)}
        data={[
          ...(preset === '' ? [{ value: '', label: t('viewer.presets.custom') }] : []),
          ...presetsFor(p.modality).map((x) => ({ value: x.id, label: `${x.key}: ${t(`viewer.presets.${x.id}`)}${x.window ? ` (${x.window.center}/${x.window.width})` : ''}` })),
        ]}
        aria-label={t('viewer.toolbar.preset')}
        data-testid="preset-select"
      />
      <Group gap={4} wrap="nowrap">
        <Button size="compact-xs" variant={snap?.invert ? 'filled' : 'default'} onClick={() => ctrl?.setInvert(!ctrl.getInvert())} data-testid="invert">
          {t('viewer.toolbar.invert')}
        </Button>
        <Button size="compact-xs" variant="default" onClick={() => ctrl?.setView({ rotation: (((snap?.rotation ?? 0) + 90) % 360) as 0 | 90 | 180 | 270 })} data-testid="rotate">
          {t('viewer.toolbar.rotate')}
        </Button>
        <Button size="compact-xs" variant={snap?.flipH ? 'filled' : 'default'} onClick={() => ctrl?.setView({ flipH: !snap?.flipH })} data-testid="flip-h">
          {t('viewer.toolbar.flipH')}
        </Button>
        <Button size="compact-xs" variant={snap?.flipV ? 'filled' : 'default'} onClick={() => ctrl?.setView({ flipV: !snap?.flipV })} data-testid="flip-v">
          {t('viewer.toolbar.flipV')}
        </Button>
      </Group>
      <Group gap={4} wrap="nowrap">
        <Button size="compact-xs" variant={snap?.exact ? 'filled' : 'default'} onClick={() => ctrl?.oneToOne()} data-testid="one-to-one">
          1:1
        </Button>
        <Button size="compact-xs" variant={snap?.fit ? 'filled' : 'default'} onClick={() => ctrl?.fit()} data-testid="fit">
          {t('viewer.toolbar.fit')}
        </Button>
        <Choice
          label={t('viewer.toolbar.interpolation')}
          value={snap?.interpolation ?? 'nearest'}
          onChange={(v) => ctrl?.setInterpolation(v)}
          options={[
            { value: 'nearest' as const, label: t('viewer.interpolation.nearest'), testId: 'interp-nearest' },
            { value: 'smooth' as const, label: t('viewer.interpolation.smooth'), testId: 'interp-smooth' },
          ]}
        />
      </Group>
      <Group gap={4} wrap="nowrap">
        <Button size="compact-xs" variant={snap?.cine ? 'filled' : 'default'} disabled={!multi} onClick={() => (ctrl?.cineRunning() ? ctrl.stopCine() : ctrl?.startCine())} data-testid="cine">
          {snap?.cine ? t('viewer.toolbar.cineStop') : t('viewer.toolbar.cine')}
        </Button>
        <NativeSelect
          size="xs"
          disabled={!multi}
          value={snap?.cineRateChoice === undefined ? '' : String(snap.cineRateChoice)}
          onChange={(e) => ctrl?.setCineRate(e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))}
          data={[
            { value: '', label: snap?.cineRateChoice === undefined ? t('viewer.toolbar.cineRateAutoIs', { fps: fmtFps(snap?.cineRate ?? 15) }) : t('viewer.toolbar.cineRateAuto') },
            ...CINE_RATES.map((r) => ({ value: String(r), label: t('viewer.toolbar.cineRateFps', { fps: r }) })),
          ]}
          aria-label={t('viewer.toolbar.cineRate')}
          data-testid="cine-rate"
          data-fps={snap?.cineRate ?? ''}
        />
        <Button size="compact-xs" variant={p.sync ? 'filled' : 'default'} onClick={p.onSync} data-testid="sync" aria-pressed={p.sync}>
          {t('viewer.toolbar.sync')}
        </Button>
        <Tooltip label={t('viewer.toolbar.alignHint')}>
          <Button size="compact-xs" variant="default" disabled={!p.sync} onClick={p.onAlign} data-testid="sync-align">
            {t('viewer.toolbar.align')}
          </Button>
        </Tooltip>
        <Button
          size="compact-xs"
          variant={isKeyImage ? 'filled' : 'default'}
          color={isKeyImage ? 'yellow' : undefined}
          disabled={!p.keyImagesAvailable || !snap?.shownSop}
          onClick={p.onKeyImage}
          data-testid="key-image"
          aria-pressed={isKeyImage}
        >
          ★ {t('viewer.toolbar.keyImage')}
        </Button>
        {p.canSeeAttributes ? (
          <Button size="compact-xs" variant="default" onClick={p.onAttributes} data-testid="attributes-open">
            {t('viewer.toolbar.attributes')}
          </Button>
        ) : null}
        <ActionIcon variant="default" size="sm" onClick={p.onHelp} aria-label={t('viewer.toolbar.help')} data-testid="help-open">
          ?
        </ActionIcon>
      </Group>
    </div>
  );
}

/** A group of buttons of which one is chosen (lighter than a segmented control, which measures itself on every render). */
/** A frame rate as shown: whole numbers plain, others to one decimal. */
function fmtFps(fps: number): string {
  return Number.isInteger(fps) ? String(fps) : fps.toFixed(1);
}

function Choice<V extends string>({ label, value, onChange, options }: { label: string; value: V; onChange: (v: V) => void; options: Array<{ value: V; label: string; testId: string }> }) {
  return (
    <Button.Group aria-label={label}>
      {options.map((o) => (
        <Button key={o.value} size="compact-xs" variant={o.value === value ? 'filled' : 'default'} aria-pressed={o.value === value} onClick={() => onChange(o.value)} data-testid={o.testId}>
          {o.label}
        </Button>
      ))}
    </Button.Group>
  );
}
