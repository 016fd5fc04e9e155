/**
 * The diagnostic viewer (issue 6): a study's series in one, two or four viewports, its
 * priors beside it with scrolling synchronised by slice position, measurements computed on
 * the server, key images, and the DICOM attributes for the roles that may see them.
 *
 * Thin client (S6): the page receives rendered images only and keeps them in memory
 * (`frames.ts`); leaving the page frees them. Opening a study opens a viewing session on
 * the server (audited with the terminal and its display profile), and leaving ends it.
 */
import { Alert, Anchor, Badge, Group, Loader, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { KeyImage, ViewerSession } from '../../../shared/api.ts';
import { ApiError } from '../../api/client.ts';
import { hasAnyRole } from '../../app/access.ts';
import { linkProps } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PAGE_HEADING_ID, useDocumentTitle } from '../../ui/PageHeader.tsx';
import { useSessionUser } from '../auth/session.ts';
import { AttributePanel } from './AttributePanel.tsx';
import type { ViewportController } from './controller.ts';
import { formatDicomDate, str, TAG } from './dicomJson.ts';
import { fetchSeries, fetchSeriesMetadata, usePriors, useSeriesList, useStudy, type SeriesSummary, type StudySummary } from './dicomweb.ts';
import { rotate, zoomStep } from './display.ts';
import { emptyEngine, getEngine, preloadDone, preloadStudy } from './engine.ts';
import { HelpOverlay } from './HelpOverlay.tsx';
import { nameLine } from './names.tsx';
import { Navigator } from './Navigator.tsx';
import { ReportPanel } from '../report/ReportPanel.tsx';
import { presetForKey, WINDOW_PRESETS, type PresetId } from './presets.ts';
import { endViewerSession, isMissingRoute, measure, openViewerSession, useKeyImages, useSessionTerminal, useToggleKeyImage } from './serverApi.ts';
import { holdThumbnails, releaseThumbnails } from './thumbnails.ts';
import { Toolbar, useControllerSnapshot, type Layout } from './Toolbar.tsx';
import { TOOL_KEYS, type Measurement, type Tool } from './tools.ts';
import { imageKey, Viewport, type ViewportSeries } from './Viewport.tsx';
import './viewer.css';

const VIEWPORTS: Record<Layout, number> = { '1x1': 1, '1x2': 2, '2x2': 4 };

/** The viewer's image machinery, emptied when the page closes. */
function useEngine(onProfile: (profile: string) => void, onBlocked: () => void) {
  const [engine] = useState(getEngine);
  engine.events.onProfile = onProfile;
  engine.events.onBlocked = onBlocked;
  useEffect(() => () => emptyEngine(), []);
  return engine;
}

/** Whether the focus is in a text field (keys then belong to it). */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** The viewing session of the study: opened on arrival, ended on leaving. */
function useViewerSession(studyUid: string) {
  const [state, setState] = useState<{ session: ViewerSession | null; blocked: string | null; error: unknown; unavailable: boolean }>({ session: null, blocked: null, error: null, unavailable: false });
  useEffect(() => {
    let cancelled = false;
    let opened: ViewerSession | null = null;
    setState({ session: null, blocked: null, error: null, unavailable: false });
    openViewerSession(studyUid).then(
      (session) => {
        opened = session;
        if (cancelled) endViewerSession(session.id);
        else setState({ session, blocked: null, error: null, unavailable: false });
      },
      (error: unknown) => {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 423) setState({ session: null, blocked: error.message || 'blocked', error: null, unavailable: false });
        else if (isMissingRoute(error)) setState({ session: null, blocked: null, error: null, unavailable: true });
        else setState({ session: null, blocked: null, error, unavailable: false });
      },
    );
    const onUnload = () => {
      if (opened) endViewerSession(opened.id);
      opened = null;
    };
    window.addEventListener('pagehide', onUnload);
    return () => {
      cancelled = true;
      window.removeEventListener('pagehide', onUnload);
      onUnload();
    };
  }, [studyUid]);
  return state;
}

export function ViewerPage({ studyUid }: { studyUid: string }) {
  const { t, i18n } = useTranslation();
  const user = useSessionUser();
  const queryClient = useQueryClient();
  const study = useStudy(studyUid);
  // What the first image does not need waits until it is on screen (or a second has passed).
  const [settled, setSettled] = useState(false);
  const priors = usePriors(settled ? study.data : undefined);
  const viewerSession = useViewerSession(studyUid);
  const terminal = useSessionTerminal();
  const keyImages = useKeyImages(studyUid, settled);
  const toggleKey = useToggleKeyImage(studyUid);
  const [headerProfile, setHeaderProfile] = useState<string | null>(null);
  const [renderBlocked, setRenderBlocked] = useState(false);
  const engine = useEngine(setHeaderProfile, () => setRenderBlocked(true));
  // The first image is asked for without waiting for the viewports to render (Q5); the
  // study list has usually started this already with the click.
  useState(() => preloadStudy(queryClient, studyUid));
  const seriesList = useSeriesList(studyUid);
  const [layout, setLayout] = useState<Layout>('1x1');
  const [assigned, setAssigned] = useState<Array<ViewportSeries | null>>([null, null, null, null]);
  const [active, setActive] = useState(0);
  const activeRef = useRef(0);
  activeRef.current = active;
  const [tool, setTool] = useState<Tool>('scroll');
  const [syncOn, setSyncOn] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const [attrsOpen, setAttrsOpen] = useState(false);
  const [measurements, setMeasurements] = useState<Measurement[]>([]);
  const controllers = useRef<Array<ViewportController | null>>([null, null, null, null]);
  const [activeCtrl, setActiveCtrl] = useState<ViewportController | null>(null);
  const canSeeAttributes = hasAnyRole(user, 'radiologist', 'management-physician');
  const writesReports = hasAnyRole(user, 'radiologist', 'management-physician', 'transcriptionist');

  useDocumentTitle(t('viewer.title'));

  // Thumbnails, priors and key images wait for the first image (or a second).
  const settle = useCallback(() => {
    releaseThumbnails();
    setSettled(true);
  }, []);
  const onFirstImage = useCallback(() => {
    preloadDone();
    settle();
  }, [settle]);
  useEffect(() => {
    holdThumbnails();
    setSettled(false);
    const timer = window.setTimeout(settle, 1000);
    return () => window.clearTimeout(timer);
  }, [studyUid, settle]);

  // The first series goes into the first viewport as soon as the series are known.
  useEffect(() => {
    setAssigned([null, null, null, null]);
    setMeasurements([]);
    setLayout('1x1');
    setActive(0);
  }, [studyUid]);
  useEffect(() => {
    const first = seriesList.data?.[0];
    if (first) setAssigned((a) => (a.every((x) => x === null) ? [{ studyUid, seriesUid: first.seriesUid }, null, null, null] : a));
  }, [seriesList.data, studyUid]);

  useEffect(() => {
    engine.sync.setEnabled(syncOn, controllers.current[activeRef.current] ?? undefined);
  }, [engine, syncOn]);

  const onController = useCallback(
    (index: number, c: ViewportController | null) => {
      controllers.current[index] = c;
      if (index === active) setActiveCtrl(c);
    },
    [active],
  );
  useEffect(() => {
    setActiveCtrl(controllers.current[active] ?? null);
  }, [active]);

  const studies = useMemo(() => {
    const map = new Map<string, StudySummary>();
    if (study.data) map.set(study.data.studyUid, study.data);
    for (const p of priors.data ?? []) map.set(p.studyUid, p);
    return map;
  }, [study.data, priors.data]);

  const seriesInfo = useQuery({
    queryKey: ['dicomweb', 'series-of', [...new Set(assigned.filter(Boolean).map((a) => a!.studyUid))].sort()],
    queryFn: async ({ signal }) => {
      const uids = [...new Set(assigned.filter(Boolean).map((a) => a!.studyUid))];
      const lists = await Promise.all(uids.map((u) => queryClient.fetchQuery({ queryKey: ['dicomweb', 'series', u], queryFn: () => fetchSeries(u, signal) })));
      return new Map(lists.flat().map((s) => [s.seriesUid, s] as const));
    },
    enabled: assigned.some(Boolean),
  });

  const openSeries = useCallback(
    (s: ViewportSeries, index?: number) => {
      setAssigned((a) => {
        const next = [...a];
        next[index ?? active] = s;
        return next;
      });
    },
    [active],
  );

  /** The prior beside the current study: its series most like the one on screen, scrolling synchronised. */
  const compare = useCallback(
    async (prior: StudySummary) => {
      const current = assigned[0] ?? assigned[active];
      const currentSeries = current ? seriesInfo.data?.get(current.seriesUid) : undefined;
      const list: SeriesSummary[] = await queryClient.fetchQuery({ queryKey: ['dicomweb', 'series', prior.studyUid], queryFn: () => fetchSeries(prior.studyUid) });
      if (!list.length) return;
      const sameModality = list.filter((s) => !currentSeries || s.modality === currentSeries.modality);
      const pick = sameModality.find((s) => s.description === currentSeries?.description) ?? sameModality[0] ?? list[0]!;
      setLayout((l) => (l === '1x1' ? '1x2' : l));
      setAssigned((a) => {
        const next = [...a];
        if (!next[0] && current) next[0] = current;
        next[1] = { studyUid: prior.studyUid, seriesUid: pick.seriesUid };
        return next;
      });
      setSyncOn(true);
    },
    [assigned, active, seriesInfo.data, queryClient],
  );

  const onMeasure = useCallback((m: Omit<Measurement, 'id' | 'state'>) => {
    const id = `m${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    setMeasurements((list) => [...list, { ...m, id, state: 'pending' }]);
    measure({ studyUid: m.studyUid, seriesUid: m.seriesUid, sopInstanceUid: m.sopInstanceUid, frame: m.frame, kind: m.kind, shape: m.kind === 'roi' ? 'ellipse' : undefined, points: m.points }).then(
      (result) => setMeasurements((list) => list.map((x) => (x.id === id ? { ...x, state: 'done', result } : x))),
      (error: unknown) => setMeasurements((list) => list.map((x) => (x.id === id ? { ...x, state: isMissingRoute(error) ? 'unavailable' : 'error', error } : x))),
    );
  }, []);

  const keyList: KeyImage[] = keyImages.data?.images ?? [];
  const keySlots = useMemo(() => new Set(keyList.map((k) => imageKey(k.sopInstanceUid, k.frame))), [keyList]);

  const toggleKeyImage = useCallback(() => {
    const c = controllers.current[active];
    const snap = c?.snapshot();
    const shown = snap?.shown;
    if (!c || !shown || shown.studyUid !== studyUid || !keyImages.data?.available) return;
    const existing = keyList.find((k) => k.sopInstanceUid === shown.sopInstanceUid && k.frame === shown.frame);
    const w = snap.effectiveWindow;
    toggleKey.mutate({ existing, request: { seriesUid: shown.seriesUid, sopInstanceUid: shown.sopInstanceUid, frame: shown.frame, window: w ? { center: w.center, width: w.width, fn: 'linear' } : null } });
  }, [active, studyUid, keyImages.data, keyList, toggleKey]);

  const applyPreset = useCallback(
    (id: PresetId) => {
      const preset = WINDOW_PRESETS.find((p) => p.id === id);
      if (preset) controllers.current[active]?.setWindow(preset.window);
    },
    [active],
  );

  // Keyboard shortcuts (documented in HelpOverlay).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
      if (helpOpen || attrsOpen) return;
      const c = controllers.current[active];
      const key = e.key;
      let handled = true;
      const count = c?.getStack().items.length ?? 0;
      switch (key) {
        case 'ArrowUp':
        case 'ArrowLeft':
          c?.step(-1);
          break;
        case 'ArrowDown':
        case 'ArrowRight':
          c?.step(1);
          break;
        case 'PageUp':
          c?.step(-Math.max(1, Math.round(count / 10)));
          break;
        case 'PageDown':
          c?.step(Math.max(1, Math.round(count / 10)));
          break;
        case 'Home':
          c?.setIndex(0);
          break;
        case 'End':
          c?.setIndex(count - 1);
          break;
        case 'z':
        case 'Z':
          c?.oneToOne();
          break;
        case 'x':
        case 'X':
          c?.fit();
          break;
        case '+':
        case '=':
          if (c) c.zoomTo(zoomStep(c.scale(), 1));
          break;
        case '-':
        case '_':
          if (c) c.zoomTo(zoomStep(c.scale(), -1));
          break;
        case 'i':
        case 'I':
          c?.setInvert(!c.getInvert());
          break;
        case 'r':
          c?.setView({ rotation: rotate(c.getView().rotation, 1) });
          break;
        case 'R':
          c?.setView({ rotation: rotate(c.getView().rotation, -1) });
          break;
        case 'f':
        case 'F':
          c?.setView({ flipH: !c.getView().flipH });
          break;
        case 'v':
        case 'V':
          c?.setView({ flipV: !c.getView().flipV });
          break;
        case 'n':
        case 'N':
          c?.setInterpolation(c.getInterpolation() === 'nearest' ? 'smooth' : 'nearest');
          break;
        case 'c':
        case 'C':
          if (c?.cineRunning()) c.stopCine();
          else c?.startCine();
          break;
        case 'k':
        case 'K':
          toggleKeyImage();
          break;
        case 'y':
        case 'Y':
          setSyncOn((s) => !s);
          break;
        case '?':
        case 'h':
        case 'H':
          setHelpOpen(true);
          break;
        case 'Escape':
          c?.stopCine();
          break;
        default: {
          const preset = presetForKey(key);
          const toolKey = TOOL_KEYS[key.toLowerCase()];
          if (preset) c?.setWindow(preset.window);
          else if (toolKey) setTool(toolKey);
          else handled = false;
        }
      }
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [active, helpOpen, attrsOpen, toggleKeyImage]);

  const current = study.data;
  const profileLabel = headerProfile ?? viewerSession.session?.profile?.label ?? terminal.data?.profile?.label ?? null;
  const warnings = viewerSession.session?.reading.warnings ?? terminal.data?.status?.reading.warnings ?? [];

  if (study.isPending) return <Loader aria-label={t('common.loading')} />;
  if (study.error) return <ErrorAlert error={study.error} title={t('viewer.loadFailed')} />;
  if (!current) {
    return (
      <Alert color="gray" title={t('viewer.notFound')} data-testid="viewer-not-found">
        <Anchor {...linkProps('/viewer')}>{t('viewer.backToList')}</Anchor>
      </Alert>
    );
  }

  const blocked = viewerSession.blocked ?? (renderBlocked ? t('viewer.blockedByQc') : null);
  const n = VIEWPORTS[layout];
  const labelOf = (s: ViewportSeries | null | undefined): { study: string; series: string; modality: string } => {
    if (!s) return { study: '', series: '', modality: '' };
    const st = studies.get(s.studyUid);
    const se = seriesInfo.data?.get(s.seriesUid);
    const when = st ? formatDicomDate(st.studyDate, i18n.language) : '';
    const which = s.studyUid === studyUid ? t('viewer.currentStudy') : t('viewer.priorStudy');
    return { study: `${which} ${when}`, series: se ? `${se.number !== undefined ? `#${se.number} ` : ''}${se.description || se.modality}` : '', modality: se?.modality ?? current.modalities[0] ?? '' };
  };
  const activeLabel = labelOf(assigned[active]);

  return (
    <div className="enkaku-viewer" data-testid="viewer">
      <header className="enkaku-viewer-header">
        <Group gap="md" wrap="wrap" align="baseline">
          <h1 id={PAGE_HEADING_ID} tabIndex={-1} className="enkaku-viewer-title" data-testid="viewer-patient">
            {nameLine(current.patientName)}
          </h1>
          <Text size="sm">
            {t('viewer.header.patientId')}: <span data-testid="viewer-patient-id">{current.patientId || '—'}</span>
          </Text>
          <Text size="sm">{[current.sex, formatDicomDate(current.birthDate, i18n.language)].filter(Boolean).join(' · ')}</Text>
          <Text size="sm">
            {formatDicomDate(current.studyDate, i18n.language)} {current.description}
          </Text>
          {current.facility ? <Text size="sm">{current.facility}</Text> : null}
          <Badge variant={profileLabel ? 'light' : 'outline'} color={profileLabel ? 'teal' : 'gray'} tt="none" data-testid="display-profile" data-profile={profileLabel ?? ''}>
            {profileLabel ? t('viewer.header.profile', { label: profileLabel }) : t('viewer.header.noProfile')}
          </Badge>
          <Anchor size="sm" {...linkProps('/qc')}>
            {t('viewer.header.qcLink')}
          </Anchor>
          <Anchor size="sm" {...linkProps('/viewer')}>
            {t('viewer.backToList')}
          </Anchor>
        </Group>
        {warnings.length ? (
          <Alert color="yellow" p="xs" mt={4} data-testid="viewer-warnings">
            {warnings.join(' / ')}
          </Alert>
        ) : null}
        {viewerSession.error ? <ErrorAlert error={viewerSession.error} title={t('viewer.sessionFailed')} /> : null}
      </header>
      {blocked ? (
        <Alert color="red" title={t('viewer.blockedTitle')} data-testid="viewer-blocked">
          <Text size="sm">{blocked}</Text>
          <Anchor size="sm" {...linkProps('/qc')}>
            {t('viewer.header.qcLink')}
          </Anchor>
        </Alert>
      ) : (
        <>
          <Toolbar
            layout={layout}
            onLayout={setLayout}
            tool={tool}
            onTool={setTool}
            ctrl={activeCtrl}
            modality={activeLabel.modality}
            onPreset={applyPreset}
            sync={syncOn}
            onSync={() => setSyncOn((s) => !s)}
            onAlign={() => {
              const c = controllers.current[active];
              if (c) engine.sync.alignHere(c);
            }}
            keySlots={keySlots}
            keyImagesAvailable={!!keyImages.data?.available && assigned[active]?.studyUid === studyUid}
            onKeyImage={toggleKeyImage}
            canSeeAttributes={canSeeAttributes}
            onAttributes={() => setAttrsOpen(true)}
            onHelp={() => setHelpOpen(true)}
          />
          <div className="enkaku-viewer-body">
            <Navigator
              study={current}
              priors={priors.data}
              priorsLoading={priors.isPending}
              shown={assigned.slice(0, n)}
              onOpenSeries={(s) => openSeries(s)}
              onCompare={(p) => void compare(p)}
            />
            <div className={`enkaku-viewports enkaku-layout-${layout}`} data-testid="viewports" data-layout={layout}>
              {assigned.slice(0, n).map((s, i) => {
                const label = labelOf(s);
                return (
                  <Viewport
                    key={i}
                    index={i}
                    series={s}
                    active={i === active}
                    onActivate={() => setActive(i)}
                    scheduler={engine.scheduler}
                    sync={engine.sync}
                    tool={tool}
                    studyLabel={label.study}
                    seriesLabel={label.series}
                    modality={label.modality}
                    measurements={measurements}
                    keyImageSlots={s?.studyUid === studyUid ? keySlots : new Set()}
                    onMeasure={onMeasure}
                    onController={onController}
                    onFirstImage={onFirstImage}
                    onDropSeries={(index, series) => openSeries(series, index)}
                  />
                );
              })}
            </div>
            {writesReports ? <ReportPanel studyUid={studyUid} modality={current.modalities?.[0] ?? ''} /> : null}
          </div>
        </>
      )}
      <HelpOverlay opened={helpOpen} onClose={() => setHelpOpen(false)} />
      {canSeeAttributes && attrsOpen ? <ActiveAttributes ctrl={activeCtrl} series={assigned[active] ?? null} seriesLabel={activeLabel.series} onClose={() => setAttrsOpen(false)} /> : null}
      {seriesList.error ? <ErrorAlert error={seriesList.error} title={t('viewer.loadFailed')} /> : null}
      {seriesList.data && seriesList.data.length === 0 ? <Text c="dimmed">{t('viewer.noSeries')}</Text> : null}
    </div>
  );
}

/** The attribute panel of the instance on screen in the active viewport. */
function ActiveAttributes({ ctrl, series, seriesLabel, onClose }: { ctrl: ViewportController | null; series: ViewportSeries | null; seriesLabel: string; onClose: () => void }) {
  const snap = useControllerSnapshot(ctrl, (s) => ({ sop: s.shown?.sopInstanceUid }));
  const shown = snap?.sop ? ctrl?.snapshot().shown : undefined;
  const attributes = useQuery({
    queryKey: ['dicomweb', 'metadata', series?.studyUid, series?.seriesUid],
    queryFn: ({ signal }) => fetchSeriesMetadata(series!.studyUid, series!.seriesUid, signal),
    enabled: !!series,
    staleTime: Infinity,
  });
  const dataset = shown ? attributes.data?.find((d) => str(d, TAG.SOPInstanceUID) === shown.sopInstanceUid) : undefined;
  return <AttributePanel opened onClose={onClose} dataset={dataset} label={shown ? `${seriesLabel} · ${shown.sopInstanceUid}` : ''} />;
}
