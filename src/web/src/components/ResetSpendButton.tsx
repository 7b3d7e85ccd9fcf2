/**
 * @module An admin's "Reset spend" for a key or a user: the current period's spend counts from
 * zero again (usage history is kept), after a confirmation. Audited by the server.
 */
import { useState } from 'react';
import { Button } from '@patternfly/react-core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { adminKeys } from '../hooks/adminQueries';
import { useToast } from '../hooks/toast';
import { ConfirmModal } from './ConfirmModal';
import { useTranslation } from 'react-i18next';

export function ResetSpendButton({ kind, id, name, userId }: { kind: 'key' | 'user'; id: string; name: string; userId: string }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const client = useQueryClient();
  const toast = useToast();
  const reset = useMutation({
    mutationFn: () => api<unknown>('POST', kind === 'key' ? `/admin/api-keys/${encodeURIComponent(id)}/reset-spend` : `/admin/users/${encodeURIComponent(id)}/reset-spend`),
    onSuccess: () => {
      toast.success(t('resetSpend.done', { name }), t('resetSpend.doneBody'));
      setConfirming(false);
      void client.invalidateQueries({ queryKey: adminKeys.userKeys(userId) });
      void client.invalidateQueries({ queryKey: adminKeys.users });
    },
    onError: (error) => toast.failure(t('resetSpend.failed'), error),
  });
  return (
    <>
      <Button variant="link" size="sm" onClick={() => setConfirming(true)}>
        {t('resetSpend.action')}
      </Button>
      {confirming && (
        <ConfirmModal
          title={t('resetSpend.title', { name })}
          confirmLabel={t('resetSpend.action')}
          isWorking={reset.isPending}
          onConfirm={() => reset.mutate()}
          onClose={() => setConfirming(false)}
        >
          {kind === 'key' ? t('resetSpend.bodyKey') : t('resetSpend.bodyUser')}
        </ConfirmModal>
      )}
    </>
  );
}
