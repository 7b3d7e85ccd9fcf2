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

/** The server names a field by its path (`models`, `models.0`, `keyDefaults.rpm`); forms want the top-level field. */
export function serverField(field: string | undefined): string | undefined {
  return field?.split(/[./]/).filter(Boolean)[0];
}
