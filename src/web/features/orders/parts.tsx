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

/** The elements a line in the order list names: modality, technique, body part (with its side). */
const BRIEF_ELEMENTS: ReadonlyArray<ReadonlyArray<string>> = [['modality'], ['procedureMajor', 'procedureMinor'], ['bodyPart', 'laterality']];

/**
 * A JJ1017 code in one line for lists: modality, technique and body part in words, e.g.
 * 「X線CT · 造影 · 胸部」. An element whose code has no words here is named with its code
 * (「手技(大分類) 21」), never guessed; elements not specified are left out.
 */
export function jj1017Brief(jj: Jj1017View, language: string): string {
  const en = language === 'en';
  return BRIEF_ELEMENTS.map((names) =>
    names
      .map((name) => jj.elements.find((e) => e.element === name))
      .filter((e): e is Jj1017View['elements'][number] => !!e && e.specified)
      .map((e) => (e.words ? (en ? e.words.en : e.words.ja) : `${en ? e.en : e.ja} ${e.code}`))
      .join(' '),
  )
    .filter(Boolean)
    .join(' · ');
}

/** The JJ1017 code of an order in the list: in words (as on the order screen), the code on hover. */
export function Jj1017Brief({ jj }: { jj: Jj1017View }) {
  const { t, i18n } = useOrdersTranslation();
  const words = jj.valid ? jj1017Brief(jj, i18n.language) : '';
  return (
    <Text size="xs" c={jj.valid ? undefined : 'red'} title={`JJ1017${jj.form ? `-${jj.form}` : ''} ${jj.code}`} data-testid="order-row-jj1017" data-valid={String(jj.valid)}>
      {jj.valid ? words || jj.code : t('orders.detail.jj1017Invalid')}
    </Text>
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
