/** @module The input under a conversation: a labelled text area, its send button, and Stop while an answer streams. */
import type { KeyboardEvent, ReactNode } from 'react';
import { ActionGroup, Button, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, TextArea } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';

interface Props {
  id: string;
  label: string;
  submitLabel: string;
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  isStreaming: boolean;
  onStop: () => void;
  /** Why sending is not possible yet, shown in place of the hint. */
  blockedReason?: string;
  hint?: ReactNode;
  rows?: number;
}

export function AskForm({ id, label, submitLabel, value, onChange, onSubmit, isStreaming, onStop, blockedReason, hint, rows = 4 }: Props) {
  const { t } = useTranslation();
  const canSend = value.trim() !== '' && !isStreaming && !blockedReason;
  const submit = () => canSend && onSubmit();
  // Enter alone adds a line (pasted texts have many); Ctrl/⌘+Enter sends.
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  };
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <FormGroup label={label} fieldId={id}>
        <TextArea id={id} value={value} onChange={(_event, next) => onChange(next)} onKeyDown={onKeyDown} rows={rows} resizeOrientation="vertical" aria-describedby={`${id}-helper`} />
        <FormHelperText>
          <HelperText id={`${id}-helper`}>
            {blockedReason ? <HelperTextItem variant="warning">{blockedReason}</HelperTextItem> : <HelperTextItem>{hint}</HelperTextItem>}
          </HelperText>
        </FormHelperText>
      </FormGroup>
      <ActionGroup>
        <Button type="submit" variant="primary" isDisabled={!canSend}>
          {submitLabel}
        </Button>
        {isStreaming && (
          <Button variant="secondary" onClick={onStop}>
            {t('ask.stop')}
          </Button>
        )}
      </ActionGroup>
    </Form>
  );
}
