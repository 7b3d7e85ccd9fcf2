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

export function ResetSpendButton({ kind, id, name, userId }: { kind: 'key' | 'user'; id: string; name: string; userId: string }) {
  const [confirming, setConfirming] = useState(false);
  const client = useQueryClient();
  const toast = useToast();
  const reset = useMutation({
    mutationFn: () => api<unknown>('POST', kind === 'key' ? `/admin/api-keys/${encodeURIComponent(id)}/reset-spend` : `/admin/users/${encodeURIComponent(id)}/reset-spend`),
    onSuccess: () => {
      toast.success(`Spend of ${name} reset`, 'The current period counts from zero again.');
      setConfirming(false);
      void client.invalidateQueries({ queryKey: adminKeys.userKeys(userId) });
      void client.invalidateQueries({ queryKey: adminKeys.users });
    },
    onError: (error) => toast.failure('Could not reset the spend', error),
  });
  return (
    <>
      <Button variant="link" size="sm" onClick={() => setConfirming(true)}>
        Reset spend
      </Button>
      {confirming && (
        <ConfirmModal
          title={`Reset the spend of ${name}?`}
          confirmLabel="Reset spend"
          isWorking={reset.isPending}
          onConfirm={() => reset.mutate()}
          onClose={() => setConfirming(false)}
        >
          The spend counted toward {kind === 'key' ? "this key's" : "this user's"} budget starts from zero for the rest of the current period.
          Usage history and reports keep every request.
        </ConfirmModal>
      )}
    </>
  );
}
