/**
 * @module Why a key could not be shown. A stale sign-in (reauth_required) gets a "Sign in again"
 * link that comes back to the same key afterwards.
 */
import { Alert, AlertActionLink } from '@patternfly/react-core';
import { isApiError, loginUrl } from '../api';
import { errorMessage } from '../hooks/toast';
import { useMe } from '../hooks/useMe';
import { useTranslation } from 'react-i18next';

export function RevealError({ error, returnTo }: { error: unknown; returnTo: string }) {
  const { t } = useTranslation();
  const me = useMe();
  if (!error) return null;
  if (isApiError(error, 'reauth_required')) {
    // Back through the provider this session came from: a person who signed in with OpenShift may have no password.
    const method = me.data?.authMethod;
    const href =
      method === 'oidc' || method === 'openshift' ? `/api/auth/${method}/login?returnTo=${encodeURIComponent(returnTo)}` : loginUrl(returnTo);
    return (
      <Alert
        variant="warning"
        isInline
        title={t('revealError.title')}
        actionLinks={
          <AlertActionLink component="a" href={href}>
            {t('revealError.action')}
          </AlertActionLink>
        }
      >
        {t('revealError.body', { detail: errorMessage(error) })}
      </Alert>
    );
  }
  return (
    <Alert variant="danger" isInline title={t('revealError.failed')}>
      {errorMessage(error)}
    </Alert>
  );
}
