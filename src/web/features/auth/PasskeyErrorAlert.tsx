import { Alert } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, type StatusMessages } from '../../ui/ErrorAlert.tsx';
import { describeCeremonyError } from './passkeys.ts';

/**
 * An error of a passkey action: the browser's ceremony (cancelled, timed out, already
 * registered...) in words of its own, anything else (server, network) as usual.
 */
export function PasskeyErrorAlert({
  error,
  title,
  messages,
  testId,
}: {
  error: unknown;
  title?: string;
  messages?: StatusMessages;
  testId: string;
}) {
  const { t } = useTranslation();
  if (!error) return null;
  const ceremony = describeCeremonyError(t, error);
  if (!ceremony) return <ErrorAlert error={error} title={title} messages={messages} testId={testId} />;
  return (
    <Alert
      color="red"
      variant="light"
      title={title ?? ceremony.title}
      role="alert"
      data-testid={testId}
      data-error-name={error instanceof Error ? error.name : undefined}
    >
      {title ? ceremony.title : null}
      {title && ceremony.detail ? ' ' : null}
      {ceremony.detail ? `(${ceremony.detail})` : null}
    </Alert>
  );
}
