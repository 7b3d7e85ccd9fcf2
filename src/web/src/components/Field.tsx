/** @module A labelled form field with its hint, or its error when there is one. */
import type { ReactNode } from 'react';
import { FormGroup, FormHelperText, HelperText, HelperTextItem } from '@patternfly/react-core';

export function Field({
  label,
  fieldId,
  isRequired,
  error,
  hint,
  children,
}: {
  label: string;
  fieldId: string;
  isRequired?: boolean;
  error?: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <FormGroup label={label} fieldId={fieldId} isRequired={isRequired}>
      {children}
      {(error || hint) && (
        <FormHelperText>
          <HelperText id={`${fieldId}-helper`}>
            <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? hint}</HelperTextItem>
          </HelperText>
        </FormHelperText>
      )}
    </FormGroup>
  );
}

/** The server names fields as `models`, `/models` or `body.models`; forms want the last part. */
export function serverField(field: string | undefined): string | undefined {
  return field?.split(/[./]/).filter(Boolean).pop();
}
