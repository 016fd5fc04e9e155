/** The worklist's rows and badges: priority (STAT / 至急 / 通常), status, patient, claim. */
import { Badge, Button, Group, Table, Text } from '@mantine/core';
import { memo } from 'react';
import type { PersonName } from '../../../shared/api.ts';
import { OPEN_STATUSES, type ReadingPriority, type ReadingStatus, type WorklistItem } from '../../../shared/worklist.ts';
import { formatDateTime } from '../../ui/time.ts';
import { Countdown } from './countdown.tsx';
import { useWorklistTranslation } from './i18n.ts';

export function isOpenStatus(status: ReadingStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

const nameGroup = (value: string) => value.split('^').filter(Boolean).join(' ');

/** The name in kanji with the kana reading beneath (the alphabetic form when there is no kanji). */
export function PatientName({ name }: { name: PersonName }) {
  const main = nameGroup(name.ideographic) || nameGroup(name.alphabetic) || nameGroup(name.phonetic);
  const kana = name.ideographic ? nameGroup(name.phonetic) : '';
  return (
    <span data-testid="worklist-patient" lang="ja">
      <span>{main || '—'}</span>
      {kana ? (
        <Text component="span" size="xs" c="dimmed" display="block">
          {kana}
        </Text>
      ) : null}
    </span>
  );
}

/** Priority; STAT stands out (filled red). */
export function PriorityBadge({ priority }: { priority: ReadingPriority }) {
  const { t } = useWorklistTranslation();
  const look = priority === 'stat' ? { color: 'red', variant: 'filled' } : priority === 'urgent' ? { color: 'orange', variant: 'light' } : { color: 'gray', variant: 'light' };
  return (
    <Badge {...look} tt="none" data-priority={priority} data-testid="worklist-priority">
      {t(`worklist.priority.${priority}`)}
    </Badge>
  );
}

const STATUS_COLOURS: Record<ReadingStatus, string> = { unread: 'blue', 'in-progress': 'yellow', draft: 'grape', preliminary: 'cyan', final: 'teal', cancelled: 'gray' };

export function StatusBadge({ status }: { status: ReadingStatus }) {
  const { t } = useWorklistTranslation();
  return (
    <Badge color={STATUS_COLOURS[status]} variant="light" tt="none" data-status={status} data-testid="worklist-status">
      {t(`worklist.status.${status}`)}
    </Badge>
  );
}

interface RowProps {
  item: WorklistItem;
  selected: boolean;
  userId: string;
  clockOffsetMs: number;
  canClaim: boolean;
  canRelease: boolean;
  busy: boolean;
  onSelect: () => void;
  onOpen: () => void;
  onClaim: () => void;
  onRelease: () => void;
}

/** One study of the worklist; the selected row is outlined (keyboard focus of the list). */
export const WorklistRow = memo(function WorklistRow({ item, selected, userId, clockOffsetMs, canClaim, canRelease, busy, onSelect, onOpen, onClaim, onRelease }: RowProps) {
  const { t, i18n } = useWorklistTranslation();
  const open = isOpenStatus(item.status);
  const mine = item.claimedBy?.id === userId;
  return (
    <Table.Tr
      data-testid="worklist-row"
      data-item-id={item.id}
      data-priority={item.priority}
      data-selected={String(selected)}
      aria-selected={selected}
      onClick={onSelect}
      onDoubleClick={onOpen}
      style={{
        cursor: 'pointer',
        background: selected ? 'var(--mantine-color-blue-light)' : item.priority === 'stat' && open ? 'var(--mantine-color-red-0)' : undefined,
        outline: selected ? '2px solid var(--mantine-color-blue-filled)' : undefined,
        outlineOffset: -2,
      }}
    >
      <Table.Td>
        <PriorityBadge priority={item.priority} />
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <Countdown dueAt={item.dueAt} clockOffsetMs={clockOffsetMs} open={open} />
      </Table.Td>
      <Table.Td>{item.facilityName}</Table.Td>
      <Table.Td>
        <PatientName name={item.patient.name} />
      </Table.Td>
      <Table.Td ff="monospace">{item.modality}</Table.Td>
      <Table.Td>{item.bodyPart || '—'}</Table.Td>
      <Table.Td>
        <div>{item.description || '—'}</div>
        <Text size="xs" c="dimmed" ff="monospace">
          {item.accessionNumber}
          {item.readingMode === 'double' ? ` · ${t('worklist.doubleReading')}` : ''}
        </Text>
      </Table.Td>
      <Table.Td>
        <StatusBadge status={item.status} />
      </Table.Td>
      <Table.Td data-testid="worklist-claimed-by">
        {item.claimedBy ? (
          <>
            <Text size="sm" fw={mine ? 700 : 400}>
              {mine ? t('worklist.me') : item.claimedBy.name}
            </Text>
            {item.claimExpiresAt ? (
              <Text size="xs" c="dimmed">
                {t('worklist.until', { time: formatDateTime(item.claimExpiresAt, i18n.language).slice(-8, -3) })}
              </Text>
            ) : null}
          </>
        ) : item.assignedTo ? (
          <Text size="sm" c="dimmed">
            {t('worklist.columns.assignedTo')}: {item.assignedTo.id === userId ? t('worklist.me') : item.assignedTo.name}
          </Text>
        ) : (
          '—'
        )}
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          <Button size="compact-sm" variant="light" onClick={onOpen} data-testid="worklist-open">
            {t('worklist.actions.open')}
          </Button>
          {canRelease ? (
            <Button size="compact-sm" variant="default" onClick={onRelease} loading={busy} data-testid="worklist-release" aria-keyshortcuts="r">
              {t('worklist.actions.release')}
            </Button>
          ) : canClaim ? (
            <Button size="compact-sm" onClick={onClaim} loading={busy} disabled={mine} data-testid="worklist-claim" aria-keyshortcuts="c">
              {t('worklist.actions.claim')}
            </Button>
          ) : null}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
});
