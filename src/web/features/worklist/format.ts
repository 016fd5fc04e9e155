/** Pure formatting of the worklist: durations of the countdown. */

/** The translation function of the duration keys (`worklist.duration.*`). */
export type DurationT = (key: 'worklist.duration.dh' | 'worklist.duration.hm' | 'worklist.duration.ms', options: Record<string, unknown>) => string;

const two = (n: number) => String(n).padStart(2, '0');

/** A duration in words, coarser as it grows: `1日3時間`, `2時間05分`, `12分34秒` (or `1d 3h`, ...). */
export function formatDuration(ms: number, t: DurationT): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return t('worklist.duration.dh', { d, h });
  if (h > 0) return t('worklist.duration.hm', { h, m: two(m) });
  return t('worklist.duration.ms', { m, s: two(s % 60) });
}
