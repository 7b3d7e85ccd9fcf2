/**
 * @module Shown right after a key is created or rotated: the full key, and the same examples as
 * View key, already filled in with it.
 */
import { Alert, Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import type { ApiKeyWithSecret } from '../types';
import { KeyUsageExamples } from './KeyUsageExamples';
import { useTranslation } from 'react-i18next';

export function NewKeyModal({ apiKey, title, onClose }: { apiKey: ApiKeyWithSecret; title: string; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal isOpen onClose={onClose} variant="large" aria-labelledby="new-key-title">
      <ModalHeader title={title} labelId="new-key-title" titleIconVariant="success" />
      <ModalBody>
        <Alert variant="info" isInline isPlain title={t('newKey.copyNow')} style={{ marginBottom: 16 }}>
          {t('newKey.copyNowBody')}
        </Alert>
        <KeyUsageExamples apiKey={apiKey} knownSecret={apiKey.key} returnTo={`/api-keys?view=${encodeURIComponent(apiKey.id)}`} />
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          {t('modelDetail.done')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
