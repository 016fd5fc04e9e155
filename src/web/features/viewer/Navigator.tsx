/**
 * The series navigator: the series of the study with thumbnails (click to show in the
 * active viewport, or drag onto a viewport), and the patient's other studies (priors),
 * each of which can be opened beside the current study.
 */
import { Badge, Button, Collapse, Group, Loader, Stack, Text, UnstyledButton } from '@mantine/core';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDicomDate } from './dicomJson.ts';
import { useSeriesList, type SeriesSummary, type StudySummary } from './dicomweb.ts';
import { seriesThumbnailUrl } from './rendered.ts';
import { useThumbnail } from './thumbnails.ts';
import type { ViewportSeries } from './Viewport.tsx';

function Thumbnail({ series }: { series: SeriesSummary }) {
  const { t } = useTranslation();
  const src = useThumbnail(seriesThumbnailUrl(series.studyUid, series.seriesUid));
  if (src === 'error') return <div className="enkaku-thumb enkaku-thumb-missing">{t('viewer.navigator.noThumbnail')}</div>;
  if (!src) return <div className="enkaku-thumb" />;
  return <img className="enkaku-thumb" src={src} alt="" draggable={false} />;
}

function SeriesButton({ series, testId, shownIn, onOpen }: { series: SeriesSummary; testId: string; shownIn: number[]; onOpen: (s: ViewportSeries) => void }) {
  const { t } = useTranslation();
  return (
    <UnstyledButton
      className="enkaku-series"
      data-shown={shownIn.length > 0}
      onClick={() => onOpen({ studyUid: series.studyUid, seriesUid: series.seriesUid })}
      draggable
      onDragStart={(e) => e.dataTransfer.setData('application/x-enkaku-series', JSON.stringify({ studyUid: series.studyUid, seriesUid: series.seriesUid }))}
      data-testid={testId}
      data-series-uid={series.seriesUid}
      title={t('viewer.navigator.openHint')}
    >
      <Thumbnail series={series} />
      <div className="enkaku-series-text">
        <Text size="xs" fw={600} lineClamp={2}>
          {series.number !== undefined ? `#${series.number} ` : ''}
          {series.description || series.modality}
        </Text>
        <Text size="xs" c="dimmed">
          {series.modality} · {t('viewer.navigator.images', { count: series.instances ?? 0 })}
        </Text>
        {shownIn.length ? (
          <Text size="xs" c="indigo">
            {t('viewer.navigator.shownIn', { viewports: shownIn.map((i) => i + 1).join(', ') })}
          </Text>
        ) : null}
      </div>
    </UnstyledButton>
  );
}

function SeriesList({ studyUid, testPrefix, shown, onOpen }: { studyUid: string; testPrefix: string; shown: Array<ViewportSeries | null>; onOpen: (s: ViewportSeries) => void }) {
  const { t } = useTranslation();
  const list = useSeriesList(studyUid);
  if (list.isPending) return <Loader size="xs" aria-label={t('common.loading')} />;
  if (list.error) return <Text size="xs" c="red">{t('viewer.navigator.loadFailed')}</Text>;
  return (
    <Stack gap={4}>
      {(list.data ?? []).map((s, j) => (
        <SeriesButton
          key={s.seriesUid}
          series={s}
          testId={`${testPrefix}-${j}`}
          shownIn={shown.flatMap((v, i) => (v && v.seriesUid === s.seriesUid ? [i] : []))}
          onOpen={onOpen}
        />
      ))}
    </Stack>
  );
}

export interface NavigatorProps {
  study: StudySummary;
  priors: StudySummary[] | undefined;
  priorsLoading: boolean;
  shown: Array<ViewportSeries | null>;
  onOpenSeries: (s: ViewportSeries) => void;
  onCompare: (prior: StudySummary) => void;
}

export function Navigator({ study, priors, priorsLoading, shown, onOpenSeries, onCompare }: NavigatorProps) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState<string | null>(null);
  return (
    <nav className="enkaku-navigator" aria-label={t('viewer.navigator.label')} data-testid="series-navigator">
      <Text size="xs" fw={700} c="dimmed" tt="uppercase" mb={4}>
        {t('viewer.navigator.series')}
      </Text>
      <SeriesList studyUid={study.studyUid} testPrefix="series" shown={shown} onOpen={onOpenSeries} />
      <Text size="xs" fw={700} c="dimmed" tt="uppercase" mt="md" mb={4}>
        {t('viewer.navigator.priors')}
      </Text>
      {priorsLoading ? <Loader size="xs" aria-label={t('common.loading')} /> : null}
      {priors && priors.length === 0 ? (
        <Text size="xs" c="dimmed" data-testid="priors-none">
          {t('viewer.navigator.noPriors')}
        </Text>
      ) : null}
      <Stack gap={6}>
        {(priors ?? []).map((p, i) => (
          <div key={p.studyUid} className="enkaku-prior" data-testid={`prior-${i}`} data-study-uid={p.studyUid}>
            <Group justify="space-between" gap={4} wrap="nowrap">
              <div>
                <Text size="xs" fw={600}>
                  {formatDicomDate(p.studyDate, i18n.language)}
                </Text>
                <Text size="xs" c="dimmed" lineClamp={1}>
                  {p.description}
                </Text>
                <Group gap={2}>
                  {p.modalities.map((m) => (
                    <Badge key={m} size="xs" variant="light" tt="none">
                      {m}
                    </Badge>
                  ))}
                </Group>
              </div>
              <Stack gap={2}>
                <Button size="compact-xs" onClick={() => onCompare(p)} data-testid={`prior-compare-${i}`}>
                  {t('viewer.navigator.compare')}
                </Button>
                <Button size="compact-xs" variant="subtle" onClick={() => setOpen(open === p.studyUid ? null : p.studyUid)} aria-expanded={open === p.studyUid} data-testid={`prior-expand-${i}`}>
                  {t('viewer.navigator.seriesOf')}
                </Button>
              </Stack>
            </Group>
            <Collapse expanded={open === p.studyUid}>
              {open === p.studyUid ? <SeriesList studyUid={p.studyUid} testPrefix={`prior-series-${i}`} shown={shown} onOpen={onOpenSeries} /> : null}
            </Collapse>
          </div>
        ))}
      </Stack>
    </nav>
  );
}
