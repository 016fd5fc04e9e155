/** Pieces shared by the order pages: patient names, status and priority badges, the exam in words. */
import { Badge, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import type { Jj1017View, OrderSummary, PersonName } from '../../../shared/api.ts';

/** `山田^太郎` → `山田 太郎`. */
export function nameGroup(value: string): string {
  return value.split('^').filter(Boolean).join(' ');
}

/** The name in kanji with kana beneath (the alphabetic form when there is no kanji). */
export function PatientName({ name }: { name: PersonName }) {
  const main = nameGroup(name.ideographic) || nameGroup(name.alphabetic) || nameGroup(name.phonetic);
  const kana = name.ideographic ? nameGroup(name.phonetic) : '';
  return (
    <span data-testid="patient-name">
      <span>{main || '—'}</span>
      {kana ? (
        <Text component="span" size="xs" c="dimmed" display="block">
          {kana}
        </Text>
      ) : null}
    </span>
  );
}

/** `19650412` → `1965/04/12` (or `1965-04-12` in English). */
export function formatBirthDate(value: string, language: string): string {
  if (!/^\d{8}$/.test(value)) return value || '—';
  const sep = language === 'ja' ? '/' : '-';
  return `${value.slice(0, 4)}${sep}${value.slice(4, 6)}${sep}${value.slice(6, 8)}`;
}

const STATUS_COLOURS: Record<OrderSummary['status'], string> = { scheduled: 'blue', 'in-progress': 'yellow', completed: 'teal', cancelled: 'gray' };

export function StatusBadge({ status }: { status: OrderSummary['status'] }) {
  const { t } = useOrdersTranslation();
  return (
    <Badge color={STATUS_COLOURS[status]} variant="light" tt="none" data-status={status}>
      {t(`orders.status.${status}`)}
    </Badge>
  );
}

/** Priority; STAT stands out (filled red). */
export function PriorityBadge({ priority }: { priority: OrderSummary['priority'] }) {
  const { t } = useOrdersTranslation();
  const look = priority === 'stat' ? { color: 'red', variant: 'filled' } : priority === 'urgent' ? { color: 'orange', variant: 'light' } : { color: 'gray', variant: 'light' };
  return (
    <Badge {...look} tt="none" data-priority={priority} data-testid="order-priority">
      {t(`orders.priority.${priority}`)}
    </Badge>
  );
}

/** The JJ1017 code's description in the current language, with the code. */
export function Jj1017Words({ jj }: { jj: Jj1017View }) {
  const { t, i18n } = useOrdersTranslation();
  const words = i18n.language === 'en' ? jj.description.en : jj.description.ja;
  return (
    <Stack gap={2} data-testid="order-jj1017" data-valid={String(jj.valid)}>
      <Text fw={600} data-testid="order-jj1017-words">
        {jj.valid ? words : t('orders.detail.jj1017Invalid')}
      </Text>
      <Text size="xs" ff="monospace" c="dimmed">
        {jj.code}
        {jj.form ? ` (${jj.form})` : ''}
      </Text>
      {jj.error ? (
        <Text size="xs" c="red">
          {jj.error}
        </Text>
      ) : null}
      {jj.valid ? (
        <Text size="xs" c="dimmed">
          {jj.elements
            .filter((e) => e.specified && e.words)
            .map((e) => `${i18n.language === 'en' ? e.en : e.ja}: ${i18n.language === 'en' ? e.words!.en : e.words!.ja}`)
            .join(' / ')}
        </Text>
      ) : null}
    </Stack>
  );
}

/** A titled panel of a page. */
export function Panel({ title, testId, children, actions }: { title: string; testId?: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" data-testid={testId}>
      <Stack gap="sm">
        <Title order={2} fz="h4">
          {title}
          {actions ? <span style={{ float: 'right' }}>{actions}</span> : null}
        </Title>
        {children}
      </Stack>
    </Paper>
  );
}
