import { Alert } from '@mantine/core';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { ApiError, NetworkError } from '../api/client.ts';

/** Sentences that replace the generic one for some HTTP statuses (e.g. 401 on the login form). */
export type StatusMessages = Partial<Record<number, string>>;

/** What to tell the user about an error: a sentence in their language, and the server's own words. */
export function describeError(t: TFunction, error: unknown, messages: StatusMessages = {}): { title: string; detail: string } {
  if (error instanceof NetworkError) return { title: t('errors.network'), detail: '' };
  if (error instanceof ApiError) {
    const detail = error.message;
    // A sentence written for this very case says more than the server's generic words.
    const specific = messages[error.status];
    if (specific) return { title: specific, detail: '' };
    switch (error.status) {
      case 400:
        return { title: t('errors.badRequest'), detail };
      case 401:
        return { title: t('errors.unauthorized'), detail };
      case 403:
        return { title: t('errors.forbidden'), detail };
      case 404:
        return { title: t('errors.notFound'), detail };
      case 409:
        return { title: t('errors.conflict'), detail };
      case 423:
        return { title: t('errors.locked'), detail };
      case 429:
        return { title: t('errors.tooManyRequests'), detail };
      default:
        return { title: error.status >= 500 ? t('errors.server') : t('errors.unexpected'), detail };
    }
  }
  return { title: t('errors.unexpected'), detail: '' };
}

/** An error shown where it happened, announced to screen readers. */
export function ErrorAlert({
  error,
  title,
  messages,
  testId,
}: {
  error: unknown;
  /** A heading saying what failed ("could not save"); the cause follows. */
  title?: string;
  messages?: StatusMessages;
  testId?: string;
}) {
  const { t } = useTranslation();
  if (!error) return null;
  const described = describeError(t, error, messages);
  return (
    <Alert color="red" variant="light" title={title ?? described.title} role="alert" data-testid={testId ?? 'error-alert'}>
      {title ? described.title : null}
      {title && described.detail ? ' ' : null}
      {described.detail}
    </Alert>
  );
}
