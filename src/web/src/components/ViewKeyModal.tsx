/** @module "View key: <name>": the key's details and how to call the gateway with it. */
import { Button, Modal, ModalBody, ModalFooter, ModalHeader, Title } from '@patternfly/react-core';
import type { ApiKey } from '../types';
import { KeyDetails } from './KeyDetails';
import { KeyUsageExamples } from './KeyUsageExamples';
import { useTranslation } from 'react-i18next';

export function ViewKeyModal({ apiKey, onClose }: { apiKey: ApiKey; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal isOpen onClose={onClose} variant="large" aria-labelledby="view-key-title">
      <ModalHeader title={t('viewKey.title', { name: apiKey.name })} labelId="view-key-title" />
      <ModalBody>
        {/* How to use the key comes first: it is what people open this for. */}
        <KeyUsageExamples apiKey={apiKey} returnTo={`/api-keys?view=${encodeURIComponent(apiKey.id)}`} />
        <Title headingLevel="h3" style={{ margin: '24px 0 12px' }}>
          {t('viewKey.details')}
        </Title>
        <KeyDetails apiKey={apiKey} />
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          {t('modelDetail.done')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
