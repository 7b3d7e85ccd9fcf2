/**
 * @module Shown right after a key is created or rotated: the full key, and the same examples as
 * View key, already filled in with it.
 */
import { Alert, Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import type { ApiKeyWithSecret } from '../types';
import { KeyUsageExamples } from './KeyUsageExamples';

export function NewKeyModal({ apiKey, title, onClose }: { apiKey: ApiKeyWithSecret; title: string; onClose: () => void }) {
  return (
    <Modal isOpen onClose={onClose} variant="large" aria-labelledby="new-key-title">
      <ModalHeader title={title} labelId="new-key-title" titleIconVariant="success" />
      <ModalBody>
        <Alert variant="info" isInline isPlain title="Copy your key now" style={{ marginBottom: 16 }}>
          Store it somewhere safe, like a secret manager. You can see it again later with View key after a recent sign-in.
        </Alert>
        <KeyUsageExamples apiKey={apiKey} knownSecret={apiKey.key} returnTo={`/api-keys?view=${encodeURIComponent(apiKey.id)}`} />
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </ModalFooter>
    </Modal>
  );
}
