/**
 * @module A copy-to-clipboard button whose text may have to be fetched first (a key that is
 * revealed only when it is copied). Says "Copied" in its tooltip, or why it could not.
 */
import { useState } from 'react';
import { ClipboardCopyButton } from '@patternfly/react-core';
import { copyText } from '../clipboard';
import { errorMessage } from '../hooks/toast';
import { useDomId } from '../hooks/useDomId';
import { useTranslation } from 'react-i18next';

export function CopyButton({ label, text }: { label: string; text: string | (() => Promise<string | undefined>) }) {
  const { t } = useTranslation();
  const id = useDomId('copy');
  const [state, setState] = useState<'idle' | 'copied' | string>('idle');
  const onClick = async () => {
    try {
      const value = typeof text === 'string' ? text : await text();
      if (value === undefined) return; // the caller already told the person why
      await copyText(value);
      setState('copied');
    } catch (error) {
      setState(errorMessage(error));
    }
  };
  return (
    <ClipboardCopyButton
      id={id}
      aria-label={label}
      variant="plain"
      exitDelay={1500}
      onClick={() => void onClick()}
      onTooltipHidden={() => setState('idle')}
    >
      {state === 'idle' ? label : state === 'copied' ? t('common.copied') : state}
    </ClipboardCopyButton>
  );
}
