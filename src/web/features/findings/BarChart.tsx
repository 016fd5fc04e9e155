/**
 * Small SVG bar charts for the management view: horizontal bars, one group per row and one
 * bar per series, values written beside the bars. `@mantine/charts` could not be installed
 * beside the installed `@mantine/core` (its newest release requires an older core exactly),
 * and these charts need nothing more. Each chart has a text alternative (`aria-label`) and
 * the page shows the same figures in tables.
 */
import { Group, Stack, Text } from '@mantine/core';

export interface ChartSeries {
  key: string;
  label: string;
  /** A Mantine colour name (`red`, `teal`, ...). */
  colour: string;
}

export interface ChartRow {
  label: string;
  values: Record<string, number | null>;
}

const WIDTH = 640;
const LABEL_W = 170;
const VALUE_W = 70;
const BAR_H = 14;
const BAR_GAP = 3;
const ROW_GAP = 12;

const fill = (colour: string) => ({ fill: `var(--mantine-color-${colour}-6)` });

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function Legend({ series }: { series: ChartSeries[] }) {
  return (
    <Group gap="md">
      {series.map((s) => (
        <Group key={s.key} gap={4}>
          <svg width={12} height={12} aria-hidden="true">
            <rect width={12} height={12} rx={2} style={fill(s.colour)} />
          </svg>
          <Text size="xs">{s.label}</Text>
        </Group>
      ))}
    </Group>
  );
}

/** Grouped horizontal bars; `format` writes a value (null: no data, shown as `—`). */
export function BarChart({ title, rows, series, format, empty, testId }: { title: string; rows: ChartRow[]; series: ChartSeries[]; format: (v: number) => string; empty: string; testId: string }) {
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r.values[s.key] ?? 0)));
  const groupH = series.length * BAR_H + (series.length - 1) * BAR_GAP;
  const height = Math.max(rows.length, 1) * (groupH + ROW_GAP) + ROW_GAP;
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const describe = rows.map((r) => `${r.label}: ${series.map((s) => `${s.label} ${r.values[s.key] === null || r.values[s.key] === undefined ? '—' : format(r.values[s.key]!)}`).join(', ')}`).join('; ');
  return (
    <Stack gap={4} data-testid={testId} data-rows={rows.length}>
      <Text fw={700} size="sm">
        {title}
      </Text>
      {series.length > 1 ? <Legend series={series} /> : null}
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          {empty}
        </Text>
      ) : (
        <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" style={{ maxWidth: WIDTH }} role="img" aria-label={`${title}: ${describe}`}>
          <line x1={LABEL_W} x2={LABEL_W} y1={0} y2={height} style={{ stroke: 'var(--mantine-color-gray-4)' }} />
          {rows.map((r, i) => {
            const y0 = ROW_GAP + i * (groupH + ROW_GAP);
            return (
              <g key={`${r.label}-${i}`} data-testid={`${testId}-row`}>
                <text x={LABEL_W - 8} y={y0 + groupH / 2} textAnchor="end" dominantBaseline="middle" fontSize={12} style={{ fill: 'var(--mantine-color-text)' }}>
                  <title>{r.label}</title>
                  {truncate(r.label, 14)}
                </text>
                {series.map((s, j) => {
                  const v = r.values[s.key];
                  const w = v === null || v === undefined ? 0 : Math.max(v > 0 ? 2 : 0, (v / max) * plotW);
                  const y = y0 + j * (BAR_H + BAR_GAP);
                  return (
                    <g key={s.key}>
                      <rect x={LABEL_W} y={y} width={w} height={BAR_H} rx={2} style={fill(s.colour)}>
                        <title>{`${r.label} / ${s.label}: ${v === null || v === undefined ? '—' : format(v)}`}</title>
                      </rect>
                      <text x={LABEL_W + w + 4} y={y + BAR_H / 2} dominantBaseline="middle" fontSize={11} style={{ fill: 'var(--mantine-color-dimmed)' }}>
                        {v === null || v === undefined ? '—' : format(v)}
                      </text>
                    </g>
                  );
                })}
              </g>
            );
          })}
        </svg>
      )}
    </Stack>
  );
}

/** One bar split into parts (e.g. follow-ups completed / pending / overdue), with shares. */
export function StackedBar({ title, parts, testId }: { title: string; parts: Array<{ key: string; label: string; colour: string; value: number }>; testId: string }) {
  const total = parts.reduce((n, p) => n + p.value, 0);
  let x = 0;
  const describe = parts.map((p) => `${p.label} ${p.value}`).join(', ');
  return (
    <Stack gap={4} data-testid={testId} data-total={total}>
      <Text fw={700} size="sm">
        {title}
      </Text>
      <Legend series={parts} />
      <svg viewBox={`0 0 ${WIDTH} 28`} width="100%" style={{ maxWidth: WIDTH }} role="img" aria-label={`${title}: ${describe}`}>
        {total === 0 ? <rect x={0} y={4} width={WIDTH} height={20} rx={3} style={{ fill: 'var(--mantine-color-gray-2)' }} /> : null}
        {parts.map((p) => {
          const w = total ? (p.value / total) * WIDTH : 0;
          const rect = (
            <g key={p.key}>
              <rect x={x} y={4} width={w} height={20} style={fill(p.colour)}>
                <title>{`${p.label}: ${p.value}`}</title>
              </rect>
              {w > 36 ? (
                <text x={x + w / 2} y={14} textAnchor="middle" dominantBaseline="middle" fontSize={11} style={{ fill: 'white', fontWeight: 700 }}>
                  {Math.round((p.value / total) * 100)}%
                </text>
              ) : null}
            </g>
          );
          x += w;
          return rect;
        })}
      </svg>
    </Stack>
  );
}
