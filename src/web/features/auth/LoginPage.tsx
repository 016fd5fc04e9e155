/**
 * Login in two steps (REQUIREMENTS S4): username and password, then the six-digit code of
 * the authenticator app (or a registered passkey), or, the first time, the enrolment of
 * that app. Nothing of the exchange is stored outside this component's state.
 */
import { Alert, Anchor, Button, Divider, Paper, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { LoginRequest, LoginResponse, MfaRequest, TotpEnrolment as Enrolment } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { useFlashOnce } from '../../app/flash.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PAGE_HEADING_ID, PageHeader } from '../../ui/PageHeader.tsx';
import { isTotpCode, normaliseTotpCode } from './password.ts';
import { PasskeyErrorAlert } from './PasskeyErrorAlert.tsx';
import { loginWithPasskey, PasskeyLoginExpired, passkeysSupported } from './passkeys.ts';
import { storeSession } from './session.ts';
import { TotpEnrolment } from './TotpEnrolment.tsx';

type Step = { kind: 'password' } | { kind: 'mfa'; passkeyAvailable: boolean } | { kind: 'enrol'; enrolment: Enrolment };

export function LoginPage() {
  const { t } = useTranslation();
  const flash = useFlashOnce();
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const queryClient = useQueryClient();

  /** `ok` stores the session; the session guard then leaves the login page. */
  const onAnswer = (answer: LoginResponse) => {
    switch (answer.status) {
      case 'ok':
        storeSession(queryClient, answer.session);
        break;
      case 'mfa-required':
        setStep({ kind: 'mfa', passkeyAvailable: answer.passkeyAvailable === true });
        break;
      case 'mfa-enrolment-required':
        setStep({ kind: 'enrol', enrolment: answer.enrolment });
        break;
    }
  };

  const title = step.kind === 'password' ? t('login.title') : step.kind === 'mfa' ? t('mfa.title') : t('mfa.enrol.title');

  return (
    <Paper withBorder p="xl" radius="md">
      <PageHeader title={title} />
      {flash && step.kind === 'password' ? (
        <Alert color={flash === 'sessionEnded' ? 'yellow' : 'teal'} mb="md" role="status" data-testid="login-notice">
          {t(`flash.${flash}`)}
        </Alert>
      ) : null}
      {step.kind === 'password' ? (
        <PasswordStep onAnswer={onAnswer} />
      ) : (
        <CodeStep
          enrolment={step.kind === 'enrol' ? step.enrolment : null}
          passkeyAvailable={step.kind === 'mfa' && step.passkeyAvailable}
          onAnswer={onAnswer}
          onRestart={() => setStep({ kind: 'password' })}
        />
      )}
    </Paper>
  );
}

function PasswordStep({ onAnswer }: { onAnswer: (answer: LoginResponse) => void }) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);

  const login = useMutation({
    mutationFn: (request: LoginRequest) => api.post<LoginResponse>('/api/auth/login', request, { credentialCheck: true }),
    onSuccess: onAnswer,
    onError: () => {
      setPassword('');
      passwordRef.current?.focus();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (!username.trim() || !password) return;
    login.mutate({ username: username.trim(), password });
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="md">
        <TextInput
          label={t('fields.username')}
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          required
          error={touched && !username.trim() ? t('forms.required') : null}
          data-testid="login-username"
        />
        <PasswordInput
          ref={passwordRef}
          label={t('fields.password')}
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          autoComplete="current-password"
          required
          error={touched && !password && !login.isError ? t('forms.required') : null}
          data-testid="login-password"
        />
        <ErrorAlert
          error={login.error}
          messages={{ 401: t('login.invalidCredentials'), 423: t('login.locked') }}
          testId="login-error"
        />
        <Button type="submit" loading={login.isPending} data-testid="login-submit">
          {t('login.submit')}
        </Button>
        <Text size="xs" c="dimmed">
          {t('login.personalAccountNote')}
        </Text>
      </Stack>
    </form>
  );
}

function CodeStep({
  enrolment,
  passkeyAvailable,
  onAnswer,
  onRestart,
}: {
  enrolment: Enrolment | null;
  passkeyAvailable: boolean;
  onAnswer: (answer: LoginResponse) => void;
  onRestart: () => void;
}) {
  const { t } = useTranslation();
  const [code, setCode] = useState('');
  const [invalid, setInvalid] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);

  // The code field gets focus at once in the plain code step; enrolment starts with its
  // explanation, so focus goes to the heading and screen readers read on from there.
  useEffect(() => {
    if (enrolment) document.getElementById(PAGE_HEADING_ID)?.focus();
    else codeRef.current?.focus();
  }, [enrolment]);

  const verify = useMutation({
    mutationFn: (request: MfaRequest) => api.post<LoginResponse>('/api/auth/mfa', request, { credentialCheck: true }),
    onSuccess: onAnswer,
    onError: () => {
      setCode('');
      codeRef.current?.focus();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const normalised = normaliseTotpCode(code);
    const wellFormed = isTotpCode(normalised);
    setInvalid(!wellFormed);
    if (!wellFormed) return;
    verify.mutate({ code: normalised });
  };

  return (
    <Stack gap="lg">
      {enrolment ? <TotpEnrolment enrolment={enrolment} /> : <Text>{t('mfa.prompt')}</Text>}
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput
            ref={codeRef}
            label={enrolment ? t('mfa.enrol.firstCode') : t('mfa.code')}
            description={t('mfa.codeHelp')}
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
            autoComplete="one-time-code"
            inputMode="numeric"
            maxLength={9}
            spellCheck={false}
            required
            error={invalid ? t('mfa.codeFormat') : null}
            styles={{ input: { fontSize: 'var(--mantine-font-size-xl)', letterSpacing: '0.3em', fontVariantNumeric: 'tabular-nums' } }}
            data-testid="mfa-code"
          />
          <ErrorAlert error={verify.error} messages={{ 401: t('mfa.invalidCode'), 423: t('login.locked') }} testId="mfa-error" />
          <Button type="submit" loading={verify.isPending} data-testid="mfa-submit">
            {enrolment ? t('mfa.enrol.submit') : t('mfa.submit')}
          </Button>
        </Stack>
      </form>
      {passkeyAvailable && !enrolment ? <PasskeyOption onAnswer={onAnswer} /> : null}
      <Anchor component="button" type="button" size="sm" onClick={onRestart} data-testid="mfa-restart">
        {t('mfa.restart')}
      </Anchor>
    </Stack>
  );
}

/** The passkey instead of the code: the server's challenge, the authenticator, the server's check. */
function PasskeyOption({ onAnswer }: { onAnswer: (answer: LoginResponse) => void }) {
  const { t } = useTranslation();
  const supported = passkeysSupported();
  const login = useMutation({ mutationFn: loginWithPasskey, onSuccess: onAnswer });
  const expired = login.error instanceof PasskeyLoginExpired;

  return (
    <Stack gap="sm">
      <Divider label={t('mfa.passkey.or')} labelPosition="center" />
      <Text size="sm" c="dimmed">
        {supported ? t('mfa.passkey.help') : t('mfa.passkey.unsupported')}
      </Text>
      {expired ? (
        <Alert color="red" variant="light" role="alert" data-testid="passkey-login-error">
          {t('mfa.passkey.expired')}
        </Alert>
      ) : (
        <PasskeyErrorAlert
          error={login.error}
          title={t('mfa.passkey.failed')}
          messages={{ 401: t('mfa.passkey.rejected'), 423: t('login.locked') }}
          testId="passkey-login-error"
        />
      )}
      <Button variant="light" onClick={() => login.mutate()} loading={login.isPending} disabled={!supported} data-testid="passkey-login">
        {t('mfa.passkey.login')}
      </Button>
    </Stack>
  );
}
