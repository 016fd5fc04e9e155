/**
 * TOTP enrolment, shown once at the first login (REQUIREMENTS S4: multi-factor
 * authentication): the QR code for an authenticator app and the same secret for typing
 * in by hand, in groups of four.
 */
import { Anchor, Button, Center, Code, CopyButton, Group, List, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { TotpEnrolment as Enrolment } from '../../../shared/api.ts';

/** `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`. */
export function groupSecret(secret: string): string {
  return (secret.replace(/\s+/g, '').toUpperCase().match(/.{1,4}/g) ?? []).join(' ');
}

/**
 * The server's QR code SVG as an image source. As an `<img>`, an SVG cannot run scripts
 * or reach the page, whatever it contains.
 */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function TotpEnrolment({ enrolment }: { enrolment: Enrolment }) {
  const { t } = useTranslation();
  const grouped = groupSecret(enrolment.secret);
  return (
    <Stack gap="md">
      <Text>{t('mfa.enrol.intro')}</Text>
      <List type="ordered" spacing="xs" size="sm">
        <List.Item>{t('mfa.enrol.step1')}</List.Item>
        <List.Item>{t('mfa.enrol.step2')}</List.Item>
        <List.Item>{t('mfa.enrol.step3')}</List.Item>
      </List>
      <Center>
        <img
          src={svgDataUrl(enrolment.qrSvg)}
          alt={t('mfa.enrol.qrAlt')}
          width={208}
          height={208}
          style={{ background: '#fff', padding: 8, border: '1px solid var(--mantine-color-gray-3)' }}
          data-testid="totp-qr"
        />
      </Center>
      <Stack gap={4}>
        <Text size="sm" id="totp-secret-label">
          {t('mfa.enrol.manual')}
        </Text>
        <Group gap="sm" wrap="nowrap">
          <Code
            fz="lg"
            p="xs"
            style={{ letterSpacing: '0.08em', wordBreak: 'break-all' }}
            aria-labelledby="totp-secret-label"
            data-testid="totp-secret"
            data-secret={enrolment.secret}
          >
            {grouped}
          </Code>
          <CopyButton value={enrolment.secret.replace(/\s+/g, '')} timeout={3000}>
            {({ copied, copy }) => (
              <Button variant="light" size="compact-sm" onClick={copy} aria-live="polite" data-testid="totp-copy">
                {copied ? t('common.copied') : t('common.copy')}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Text size="xs" c="dimmed">
          {t('mfa.enrol.manualDetails')}
        </Text>
      </Stack>
      <Anchor href={enrolment.otpauthUrl} size="sm" data-testid="totp-open-app">
        {t('mfa.enrol.openApp')}
      </Anchor>
    </Stack>
  );
}
