/**
 * The deadline countdown of a notice: one shared one-second tick (only the countdowns
 * re-render), red once the deadline has passed, with the deadline in Japan time.
 */
import { Text, type MantineSize } from '@mantine/core';
import { formatDateTime } from '../../ui/time.ts';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';

import { useNow } from '../../ui/now.ts';

export { useNow };

const two = (n: number) => String(n).padStart(2, '0');

/** A duration in words, coarser as it grows: `1日3時間`, `2時間05分`, `12分34秒`. */
export function formatDuration(ms: number, t: FindingsT): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return t('findings.duration.dh', { d, h });
  if (h > 0) return t('findings.duration.hm', { h, m: two(m) });
  return t('findings.duration.ms', { m, s: two(s % 60) });
}

/** Time left to `deadlineAt` (or past it), with the deadline itself; `—` when there is none. */
export function DeadlineCountdown({ deadlineAt, size = 'sm', testId = 'finding-deadline' }: { deadlineAt: string | null; size?: MantineSize; testId?: string }) {
  const { t, i18n } = useFindingsTranslation();
  const current = useNow();
  if (!deadlineAt) {
    return (
      <Text size={size} span c="dimmed" data-testid={testId} data-overdue="false">
        —
      </Text>
    );
  }
  const left = Date.parse(deadlineAt) - current;
  const overdue = left < 0;
  return (
    <Text size={size} span data-testid={testId} data-overdue={String(overdue)}>
      <Text span fw={700} c={overdue ? 'red' : left < 5 * 60_000 ? 'orange' : undefined} role="timer" aria-live="off" inherit>
        {t(overdue ? 'findings.countdown.overdue' : 'findings.countdown.remaining', { time: formatDuration(left, t) })}
      </Text>{' '}
      <Text span c="dimmed" size="xs">
        ({t('findings.countdown.deadline')} <time dateTime={deadlineAt}>{formatDateTime(deadlineAt, i18n.language)}</time>)
      </Text>
    </Text>
  );
}
