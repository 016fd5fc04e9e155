/**
 * The DICOM attributes of the image on screen (from WADO-RS metadata, never the file),
 * for the roles that may see them. Pixel data and other bulk data are only named.
 */
import { Drawer, Table, Text, TextInput } from '@mantine/core';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DicomJson, DicomJsonElement } from './dicomJson.ts';
import { formatTag, isPrivate, keywordOf } from './dictionary.ts';

interface Row {
  depth: number;
  tag: string;
  vr: string;
  value: string;
}

function valueText(el: DicomJsonElement, t: (k: 'viewer.attributes.bulk' | 'viewer.attributes.binary' | 'viewer.attributes.items', o?: Record<string, unknown>) => string): string {
  if (el.BulkDataURI) return t('viewer.attributes.bulk');
  if (el.InlineBinary) return t('viewer.attributes.binary', { bytes: Math.floor((el.InlineBinary.length * 3) / 4) });
  if (el.vr === 'SQ') return t('viewer.attributes.items', { n: el.Value?.length ?? 0 });
  return (el.Value ?? [])
    .map((v) => {
      if (v && typeof v === 'object') {
        const p = v as Record<string, string>;
        return [p.Alphabetic, p.Ideographic, p.Phonetic].filter((g) => g !== undefined).join('=');
      }
      return String(v);
    })
    .join('\\');
}

function flatten(ds: DicomJson, depth: number, out: Row[], t: Parameters<typeof valueText>[1]): void {
  for (const tag of Object.keys(ds).sort()) {
    const el = ds[tag]!;
    out.push({ depth, tag, vr: el.vr, value: valueText(el, t) });
    if (el.vr === 'SQ' && depth < 3) {
      (el.Value ?? []).forEach((item) => {
        if (item && typeof item === 'object') flatten(item as DicomJson, depth + 1, out, t);
      });
    }
  }
}

export function AttributePanel({ opened, onClose, dataset, label }: { opened: boolean; onClose: () => void; dataset: DicomJson | undefined; label: string }) {
  const { t } = useTranslation();
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => {
    if (!dataset) return [];
    const out: Row[] = [];
    flatten(dataset, 0, out, t);
    return out;
  }, [dataset, t]);
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? rows.filter((r) => r.tag.toLowerCase().includes(needle.replace(/[(),]/g, '')) || (keywordOf(r.tag) ?? '').toLowerCase().includes(needle) || r.value.toLowerCase().includes(needle))
    : rows;
  return (
    <Drawer opened={opened} onClose={onClose} position="right" size="xl" title={t('viewer.attributes.title')}>
      <div data-testid="attributes-panel">
        <Text size="sm" c="dimmed" mb="xs">
          {label}
        </Text>
        <TextInput label={t('viewer.attributes.filter')} value={filter} onChange={(e) => setFilter(e.currentTarget.value)} mb="sm" data-testid="attributes-filter" />
        {!dataset ? (
          <Text size="sm">{t('viewer.attributes.loading')}</Text>
        ) : (
          <Table fz="xs" verticalSpacing={2} striped data-testid="attributes-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('viewer.attributes.tag')}</Table.Th>
                <Table.Th>{t('viewer.attributes.name')}</Table.Th>
                <Table.Th>VR</Table.Th>
                <Table.Th>{t('viewer.attributes.value')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map((r, i) => (
                <Table.Tr key={`${i}-${r.tag}`} data-testid="attribute-row" data-tag={r.tag}>
                  <Table.Td ff="monospace" style={{ paddingLeft: 8 + r.depth * 14, whiteSpace: 'nowrap' }}>
                    {r.depth ? '› ' : ''}
                    {formatTag(r.tag)}
                  </Table.Td>
                  <Table.Td>{keywordOf(r.tag) ?? (isPrivate(r.tag) ? t('viewer.attributes.private') : '')}</Table.Td>
                  <Table.Td ff="monospace">{r.vr}</Table.Td>
                  <Table.Td style={{ wordBreak: 'break-all' }}>{r.value}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </div>
    </Drawer>
  );
}
