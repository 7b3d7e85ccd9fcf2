/** @module "Are you sure?" for actions that cannot be undone. The confirm button names the action. */
import type { ReactNode } from 'react';
import { Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';

export function ConfirmModal({
  title,
  children,
  confirmLabel,
  cancelLabel,
  isDanger = true,
  isWorking = false,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  isDanger?: boolean;
  isWorking?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="confirm-title" aria-describedby="confirm-body">
      <ModalHeader title={title} labelId="confirm-title" titleIconVariant={isDanger ? 'warning' : undefined} />
      <ModalBody id="confirm-body">{children}</ModalBody>
      <ModalFooter>
        <Button variant={isDanger ? 'danger' : 'primary'} onClick={onConfirm} isLoading={isWorking} isDisabled={isWorking}>
          {confirmLabel}
        </Button>
        <Button variant="link" onClick={onClose}>
          {cancelLabel ?? t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
