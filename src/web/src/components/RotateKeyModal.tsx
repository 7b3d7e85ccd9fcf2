/**
 * @module "Rotate key?" with a choice of how long the current secret keeps working (a grace
 * period, so applications can be moved to the new secret without an outage).
 */
import { useState } from 'react';
import { Button, Form, FormSelect, FormSelectOption, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { Field } from './Field';
import { useTranslation } from 'react-i18next';

/** Grace periods in seconds; each one's label is `rotateKey.grace.<seconds>`. */
const GRACES = [0, 3600, 86_400, 7 * 86_400];

export function RotateKeyModal({ name, isWorking, onConfirm, onClose }: { name: string; isWorking: boolean; onConfirm: (graceSeconds: number) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const [grace, setGrace] = useState(0);
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="rotate-title" aria-describedby="rotate-body">
      <ModalHeader title={t('rotateKey.title', { name })} labelId="rotate-title" titleIconVariant="warning" />
      <ModalBody id="rotate-body">
        <p style={{ marginBottom: 16 }}>{t('rotateKey.body')}</p>
        <Form onSubmit={(e) => e.preventDefault()}>
          <Field label={t('rotateKey.current')} fieldId="rotate-grace">
            <FormSelect id="rotate-grace" value={String(grace)} onChange={(_e, v) => setGrace(Number(v))}>
              {GRACES.map((seconds) => (
                <FormSelectOption key={seconds} value={String(seconds)} label={t(`rotateKey.grace.${seconds}`)} />
              ))}
            </FormSelect>
          </Field>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="danger" onClick={() => onConfirm(grace)} isLoading={isWorking} isDisabled={isWorking}>
          {t('rotateKey.confirm')}
        </Button>
        <Button variant="link" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
