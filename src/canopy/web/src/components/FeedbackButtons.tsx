/** @module Good/bad (👍/👎) on an answer, sent to /feedback so it can become part of an evaluation dataset. */
import { useState, type ReactNode } from 'react';
import { Button, Flex, HelperText, HelperTextItem } from '@patternfly/react-core';
import OutlinedThumbsDownIcon from '@patternfly/react-icons/dist/esm/icons/outlined-thumbs-down-icon';
import OutlinedThumbsUpIcon from '@patternfly/react-icons/dist/esm/icons/outlined-thumbs-up-icon';
import ThumbsDownIcon from '@patternfly/react-icons/dist/esm/icons/thumbs-down-icon';
import ThumbsUpIcon from '@patternfly/react-icons/dist/esm/icons/thumbs-up-icon';
import { errorMessage, postFeedback, type Rating, type Variant } from '../api';
import { useTranslation } from 'react-i18next';

export function FeedbackButtons({ feature, prompt, response, variant }: { feature: string; prompt: string; response: string; variant?: Variant }) {
  const { t } = useTranslation();
  const [sent, setSent] = useState<Rating | null>(null);
  const [pending, setPending] = useState<Rating | null>(null);
  const [error, setError] = useState<string | null>(null);

  const rate = async (rating: Rating) => {
    setPending(rating);
    setError(null);
    try {
      await postFeedback({ feature, prompt, response, rating, ...(variant && { variant }) });
      setSent(rating);
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setPending(null);
    }
  };

  // Icons rather than emoji: they look the same everywhere, even without an emoji font. Filled = chosen.
  const button = (rating: Rating, label: string, chosen: ReactNode, unchosen: ReactNode) => (
    <Button
      variant="plain"
      size="sm"
      aria-label={label}
      aria-pressed={sent === rating}
      isDisabled={sent !== null || pending !== null}
      isLoading={pending === rating}
      onClick={() => void rate(rating)}
      icon={sent === rating ? chosen : unchosen}
    />
  );

  return (
    <Flex gap={{ default: 'gapSm' }} alignItems={{ default: 'alignItemsCenter' }} role="group" aria-label={t('feedback.rate')}>
      {button('up', t('feedback.good'), <ThumbsUpIcon />, <OutlinedThumbsUpIcon />)}
      {button('down', t('feedback.bad'), <ThumbsDownIcon />, <OutlinedThumbsDownIcon />)}
      <HelperText aria-live="polite">
        {sent && <HelperTextItem variant="success" data-testid="feedback-thanks">
            {sent === 'up' ? t('feedback.thanksUp') : t('feedback.thanksDown')}
          </HelperTextItem>}
        {error && <HelperTextItem variant="error">{t('feedback.notSaved', { error })}</HelperTextItem>}
      </HelperText>
    </Flex>
  );
}
