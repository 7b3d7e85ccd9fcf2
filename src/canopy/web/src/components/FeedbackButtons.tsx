/** @module 👍/👎 on an answer, sent to /feedback so it can become part of an evaluation dataset. */
import { useState } from 'react';
import { Button, Flex, HelperText, HelperTextItem } from '@patternfly/react-core';
import { errorMessage, postFeedback, type Rating, type Variant } from '../api';

export function FeedbackButtons({ feature, prompt, response, variant }: { feature: string; prompt: string; response: string; variant?: Variant }) {
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

  const button = (rating: Rating, label: string, emoji: string) => (
    <Button
      variant={sent === rating ? 'secondary' : 'plain'}
      size="sm"
      aria-label={label}
      aria-pressed={sent === rating}
      isDisabled={sent !== null || pending !== null}
      isLoading={pending === rating}
      onClick={() => void rate(rating)}
    >
      <span aria-hidden>{emoji}</span>
    </Button>
  );

  return (
    <Flex gap={{ default: 'gapSm' }} alignItems={{ default: 'alignItemsCenter' }} role="group" aria-label="Rate this answer">
      {button('up', 'Good answer', '👍')}
      {button('down', 'Bad answer', '👎')}
      <HelperText aria-live="polite">
        {sent && <HelperTextItem variant="success" data-testid="feedback-thanks">Thanks for your feedback</HelperTextItem>}
        {error && <HelperTextItem variant="error">Your feedback was not saved: {error}</HelperTextItem>}
      </HelperText>
    </Flex>
  );
}
