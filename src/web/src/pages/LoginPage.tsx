/**
 * @module Sign-in: "Sign in with OpenShift" first when the server has it (the workshop's default), then
 * username and password, and the OIDC button when the server has OIDC configured.
 * Also where "sign in again" lands, so it never redirects a signed-in person away by itself.
 */
import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import {
  ActionGroup,
  Alert,
  Button,
  Divider,
  Form,
  FormGroup,
  LoginPage as PfLoginPage,
  TextInput,
} from '@patternfly/react-core';
import { api, isApiError } from '../api';
import { useConfig } from '../hooks/useConfig';
import { useMe } from '../hooks/useMe';
import { errorMessage } from '../hooks/toast';
import i18n from '../i18n';
import type { Me } from '../types';
import { Trans, useTranslation } from 'react-i18next';

/** Only same-site paths, so a crafted link cannot bounce someone to another site after sign-in. */
function safeReturnTo(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/login') ? value : '/models';
}

function signInError(error: unknown): string {
  const t = i18n.t.bind(i18n);
  if (isApiError(error) && error.status === 401) return t('login.wrongPassword');
  if (isApiError(error) && error.status === 429) {
    const wait = error.retryAfter ? t('login.waitSeconds', { count: Math.ceil(error.retryAfter) }) : t('login.waitMinute');
    return t('login.tooManyAttempts', { wait });
  }
  return errorMessage(error);
}

export function LoginPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const returnTo = safeReturnTo(params.get('returnTo'));
  const config = useConfig();
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(params.get('error'));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!username || !password) {
      setError(t('login.missingFields'));
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      const { user } = await api<{ user: Me }>('POST', '/api/auth/login', { username, password });
      // A new session can mean a different person: forget everything cached for the old one.
      queryClient.clear();
      queryClient.setQueryData(['me'], user);
      navigate(returnTo, { replace: true });
    } catch (failure) {
      setError(signInError(failure));
      setSubmitting(false);
    }
  };

  const oidc = config.data?.oidc;
  const passwordLogin = config.data?.passwordLogin ?? true;
  const oidcHref = `/api/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`;
  const openshift = config.data?.openshift?.enabled ?? false;
  const openshiftHref = `/api/auth/openshift/login?returnTo=${encodeURIComponent(returnTo)}`;

  return (
    <PfLoginPage
      loginTitle={t('login.title')}
      loginSubtitle={t('login.subtitle')}
      textContent={t('login.text')}
    >
      {error && (
        <Alert variant="danger" isInline title={t('login.failed')} style={{ marginBottom: 16 }}>
          {error}
        </Alert>
      )}
      {me.data && (
        <Alert variant="info" isInline isPlain title={t('login.signedInAs', { username: me.data.username })} style={{ marginBottom: 16 }}>
          <Trans i18nKey="login.signInAgain" components={{ continue: <Button variant="link" isInline onClick={() => navigate(returnTo)} /> }} />
        </Alert>
      )}
      {config.isError && <Alert variant="warning" isInline title={t('login.optionsError')} style={{ marginBottom: 16 }}>{errorMessage(config.error)}</Alert>}
      {openshift && (
        <>
          <Button component="a" href={openshiftHref} variant="primary" isBlock>
            {t('login.withOpenShift')}
          </Button>
          {passwordLogin && <Divider style={{ margin: '16px 0' }} />}
        </>
      )}
      {passwordLogin && (
        <Form onSubmit={(event) => void submit(event)} noValidate>
          <FormGroup label={t('login.username')} fieldId="login-username" isRequired>
            <TextInput
              id="login-username"
              name="username"
              autoComplete="username"
              autoFocus={!openshift}
              isRequired
              value={username}
              onChange={(_event, value) => setUsername(value)}
            />
          </FormGroup>
          <FormGroup label={t('login.password')} fieldId="login-password" isRequired>
            <TextInput
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              isRequired
              value={password}
              onChange={(_event, value) => setPassword(value)}
            />
          </FormGroup>
          <ActionGroup>
            <Button type="submit" variant={openshift ? 'secondary' : 'primary'} isBlock isLoading={submitting} isDisabled={submitting}>
              {t('login.submit')}
            </Button>
          </ActionGroup>
        </Form>
      )}
      {oidc?.enabled && (
        <>
          {passwordLogin && <Divider style={{ margin: '16px 0' }} />}
          <Button component="a" href={oidcHref} variant="secondary" isBlock>
            {t('login.withOidc', { provider: oidc.label || t('login.singleSignOn') })}
          </Button>
        </>
      )}
    </PfLoginPage>
  );
}
