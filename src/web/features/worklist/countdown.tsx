/**
 * The live countdown to a study's due time: one shared one-second tick for the whole page
 * (only the countdown cells re-render), corrected by the server's clock, red once overdue.
 */
import { Text } from '@mantine/core';
import { formatDateTime } from '../../ui/time.ts';
import { formatDuration } from './format.ts';
import { useWorklistTranslation } from './i18n.ts';

import { useNow } from '../../ui/now.ts';

export { useNow };

/** Time left to `dueAt` (red when overdue, orange in the last 30 minutes), with the due time in Japan time. */
export function Countdown({ dueAt, clockOffsetMs, open }: { dueAt: string; clockOffsetMs: number; open: boolean }) {
  const { t, i18n } = useWorklistTranslation();
  const current = useNow() + clockOffsetMs;
  const left = Date.parse(dueAt) - current;
  const overdue = left < 0;
  const colour = !open ? 'dimmed' : overdue ? 'red' : left < 30 * 60_000 ? 'orange' : undefined;
  return (
    <div data-testid="worklist-due" data-overdue={String(open && overdue)}>
      <Text size="sm" fw={open && (overdue || left < 30 * 60_000) ? 700 : 400} c={colour} role="timer" aria-live="off">
        {open ? t(overdue ? 'worklist.countdown.overdue' : 'worklist.countdown.remaining', { time: formatDuration(left, t) }) : '—'}
      </Text>
      <Text size="xs" c="dimmed">
        <time dateTime={dueAt}>{formatDateTime(dueAt, i18n.language)}</time>
      </Text>
    </div>
  );
}
