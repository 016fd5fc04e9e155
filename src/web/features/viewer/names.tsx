/** A patient name with all its component groups (漢字, かな, ローマ字), as DICOM PN carries them. */
import { Stack, Text } from '@mantine/core';
import { formatNameGroup, type PersonName } from './dicomJson.ts';

/** The name's main form (ideographic when there is one) and the other groups beneath it. */
export function PatientNameView({ name, compact = false }: { name: PersonName; compact?: boolean }) {
  const main = formatNameGroup(name.ideographic) || formatNameGroup(name.alphabetic) || formatNameGroup(name.phonetic);
  const others = [name.phonetic, name.ideographic ? name.alphabetic : '']
    .map(formatNameGroup)
    .filter((g) => g && g !== main);
  if (compact) {
    return (
      <span>
        {main || '—'}
        {others.length ? <span className="enkaku-name-groups"> （{others.join(' / ')}）</span> : null}
      </span>
    );
  }
  return (
    <Stack gap={0}>
      <Text fw={600} size="sm" lang="ja">
        {main || '—'}
      </Text>
      {others.length ? (
        <Text size="xs" c="dimmed">
          {others.join(' / ')}
        </Text>
      ) : null}
    </Stack>
  );
}

/** All groups in one line, for titles and overlays. */
export function nameLine(name: PersonName): string {
  const groups = [name.ideographic, name.phonetic, name.alphabetic].map(formatNameGroup).filter(Boolean);
  return groups.length ? groups.join(' / ') : '—';
}
