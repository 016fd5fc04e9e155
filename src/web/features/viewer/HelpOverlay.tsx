/** The keyboard shortcuts and mouse actions of the viewer (opened with `?` or `H`). */
import { Group, Kbd, Modal, Table, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';

type HelpKey =
  | 'scroll' | 'scrollPage' | 'firstLast' | 'presets' | 'auto' | 'oneToOne' | 'fit' | 'zoomKeys' | 'invert' | 'rotate' | 'rotateBack'
  | 'flipH' | 'flipV' | 'interpolation' | 'cine' | 'keyImage' | 'sync' | 'tools' | 'cancel' | 'help';

export const SHORTCUTS: ReadonlyArray<{ keys: string[]; action: HelpKey }> = [
  { keys: ['↑', '↓', '←', '→'], action: 'scroll' },
  { keys: ['PageUp', 'PageDown'], action: 'scrollPage' },
  { keys: ['Home', 'End'], action: 'firstLast' },
  { keys: ['1', '…', '7'], action: 'presets' },
  { keys: ['0'], action: 'auto' },
  { keys: ['Z'], action: 'oneToOne' },
  { keys: ['X'], action: 'fit' },
  { keys: ['+', '-'], action: 'zoomKeys' },
  { keys: ['I'], action: 'invert' },
  { keys: ['R'], action: 'rotate' },
  { keys: ['Shift', 'R'], action: 'rotateBack' },
  { keys: ['F'], action: 'flipH' },
  { keys: ['V'], action: 'flipV' },
  { keys: ['N'], action: 'interpolation' },
  { keys: ['C'], action: 'cine' },
  { keys: ['K'], action: 'keyImage' },
  { keys: ['Y'], action: 'sync' },
  { keys: ['S', 'W', 'P', 'M', 'L', 'A', 'O'], action: 'tools' },
  { keys: ['Esc'], action: 'cancel' },
  { keys: ['?', 'H'], action: 'help' },
];

type MouseKey = 'wheel' | 'ctrlWheel' | 'leftDrag' | 'rightDrag' | 'middleDrag' | 'drop';
const MOUSE: MouseKey[] = ['wheel', 'ctrlWheel', 'leftDrag', 'rightDrag', 'middleDrag', 'drop'];

export function HelpOverlay({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={t('viewer.help.title')} size="lg">
      <div data-testid="viewer-help">
        <Table fz="sm" verticalSpacing={4}>
          <Table.Tbody>
            {SHORTCUTS.map((s) => (
              <Table.Tr key={s.action} data-testid="shortcut-row">
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  <Group gap={4} wrap="nowrap">
                    {s.keys.map((k, i) => (k === '…' ? <Text key={i} span>…</Text> : <Kbd key={i}>{k}</Kbd>))}
                  </Group>
                </Table.Td>
                <Table.Td>{t(`viewer.help.keys.${s.action}`)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Text fw={600} size="sm" mt="md" mb={4}>
          {t('viewer.help.mouseHeading')}
        </Text>
        <Table fz="sm" verticalSpacing={4}>
          <Table.Tbody>
            {MOUSE.map((m) => (
              <Table.Tr key={m}>
                <Table.Td>{t(`viewer.help.mouse.${m}`)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Text size="xs" c="dimmed" mt="md">
          {t('viewer.help.honesty')}
        </Text>
      </div>
    </Modal>
  );
}
