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
import type { Me } from '../types';

/** Only same-site paths, so a crafted link cannot bounce someone to another site after sign-in. */
function safeReturnTo(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/login') ? value : '/models';
}

function signInError(error: unknown): string {
  if (isApiError(error) && error.status === 401) return 'Wrong username or password.';
  if (isApiError(error) && error.status === 429) {
    const wait = error.retryAfter ? `${Math.ceil(error.retryAfter)} seconds` : 'a minute';
    return `Too many sign-in attempts. Wait ${wait} and try again.`;
  }
  return errorMessage(error);
}

export function LoginPage() {
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
      setError('Enter your username and password.');
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
      loginTitle="Sign in to LiteMaaS"
      loginSubtitle="Models as a Service: subscribe to models, create API keys, watch your usage."
      textContent="LiteMaaS gives your team OpenAI-compatible access to shared models, with a key per application, budgets and limits, and usage you can see as it happens."
    >
      {error && (
        <Alert variant="danger" isInline title="Could not sign in" style={{ marginBottom: 16 }}>
          {error}
        </Alert>
      )}
      {me.data && (
        <Alert variant="info" isInline isPlain title={`You are signed in as ${me.data.username}.`} style={{ marginBottom: 16 }}>
          Sign in again below to refresh your session, or{' '}
          <Button variant="link" isInline onClick={() => navigate(returnTo)}>
            continue
          </Button>
          .
        </Alert>
      )}
      {config.isError && <Alert variant="warning" isInline title="Could not load the sign-in options" style={{ marginBottom: 16 }}>{errorMessage(config.error)}</Alert>}
      {openshift && (
        <>
          <Button component="a" href={openshiftHref} variant="primary" isBlock>
            Sign in with OpenShift
          </Button>
          {passwordLogin && <Divider style={{ margin: '16px 0' }} />}
        </>
      )}
      {passwordLogin && (
        <Form onSubmit={(event) => void submit(event)} noValidate>
          <FormGroup label="Username" fieldId="login-username" isRequired>
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
          <FormGroup label="Password" fieldId="login-password" isRequired>
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
              Sign in
            </Button>
          </ActionGroup>
        </Form>
      )}
      {oidc?.enabled && (
        <>
          {passwordLogin && <Divider style={{ margin: '16px 0' }} />}
          <Button component="a" href={oidcHref} variant="secondary" isBlock>
            Sign in with {oidc.label || 'single sign-on'}
          </Button>
        </>
      )}
    </PfLoginPage>
  );
}
