/**
 * @module "Rotate key?" with a choice of how long the current secret keeps working (a grace
 * period, so applications can be moved to the new secret without an outage).
 */
import { useState } from 'react';
import { Button, Form, FormSelect, FormSelectOption, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { Field } from './Field';

const GRACES: Array<[number, string]> = [
  [0, 'Stops at once'],
  [3600, 'Keeps working for 1 hour'],
  [86_400, 'Keeps working for 24 hours'],
  [7 * 86_400, 'Keeps working for 7 days'],
];

export function RotateKeyModal({ name, isWorking, onConfirm, onClose }: { name: string; isWorking: boolean; onConfirm: (graceSeconds: number) => void; onClose: () => void }) {
  const [grace, setGrace] = useState(0);
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="rotate-title" aria-describedby="rotate-body">
      <ModalHeader title={`Rotate key ${name}?`} labelId="rotate-title" titleIconVariant="warning" />
      <ModalBody id="rotate-body">
        <p style={{ marginBottom: 16 }}>
          The key gets a new secret. Its name, models, budget and usage history stay the same; what the old secret spends while it still
          works is counted on this key too.
        </p>
        <Form onSubmit={(e) => e.preventDefault()}>
          <Field label="The current secret" fieldId="rotate-grace">
            <FormSelect id="rotate-grace" value={String(grace)} onChange={(_e, v) => setGrace(Number(v))}>
              {GRACES.map(([seconds, label]) => (
                <FormSelectOption key={seconds} value={String(seconds)} label={label} />
              ))}
            </FormSelect>
          </Field>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button variant="danger" onClick={() => onConfirm(grace)} isLoading={isWorking} isDisabled={isWorking}>
          Rotate key
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
