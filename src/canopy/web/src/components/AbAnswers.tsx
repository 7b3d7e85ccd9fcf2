/**
 * @module The two answers of an A/B test, side by side (stacked on a phone), each streaming on its
 * own. Preferring one records it as feedback and makes it the answer follow-ups build on.
 */
import { useState } from 'react';
import { Button, Card, CardBody, CardFooter, CardTitle, Flex, Grid, GridItem, HelperText, HelperTextItem, Label } from '@patternfly/react-core';
import { errorMessage, postFeedback, type Variant } from '../api';
import type { AbTurn } from '../conversation';
import { AnswerView } from './AnswerView';
import { FeedbackButtons } from './FeedbackButtons';
import { StreamError } from './StreamError';
import { useTranslation } from 'react-i18next';

interface Props {
  turn: AbTurn;
  feature: string;
  prompt: string;
  isFeedbackEnabled: boolean;
  onPrefer: (variant: Variant) => void;
}

export function AbAnswers({ turn, feature, prompt, isFeedbackEnabled, onPrefer }: Props) {
  const { t } = useTranslation();
  const [saveError, setSaveError] = useState<string | null>(null);
  const isFinished = turn.a.status !== 'streaming' && turn.b.status !== 'streaming';

  const prefer = async (variant: Variant) => {
    // The conversation goes on with it whether or not the preference is saved.
    onPrefer(variant);
    setSaveError(null);
    try {
      await postFeedback({ feature, prompt, response: turn[variant].content, rating: 'up', variant });
    } catch (error) {
      setSaveError(errorMessage(error));
    }
  };

  const card = (variant: Variant) => {
    const answer = turn[variant];
    const name = t('ab.answer', { variant: variant.toUpperCase() });
    return (
      <Card isCompact data-testid={`answer-${variant}`} aria-label={name} component="section">
        <CardTitle>
          <Flex gap={{ default: 'gapSm' }}>
            <span>{name}</span>
            {turn.preferred === variant && (
              <Label isCompact color="green">
                {t('ab.preferred')}
              </Label>
            )}
          </Flex>
        </CardTitle>
        <CardBody>
          <AnswerView
            answer={answer}
            testId={`answer-${variant}-text`}
            footer={isFeedbackEnabled && <FeedbackButtons feature={feature} prompt={prompt} response={answer.content} variant={variant} />}
          />
        </CardBody>
        {isFinished && !turn.preferred && answer.status === 'done' && (
          <CardFooter>
            <Button variant="secondary" onClick={() => void prefer(variant)}>
              {t('ab.prefer', { variant: variant.toUpperCase() })}
            </Button>
          </CardFooter>
        )}
      </Card>
    );
  };

  return (
    <div>
      <Grid hasGutter md={6}>
        <GridItem>{card('a')}</GridItem>
        <GridItem>{card('b')}</GridItem>
      </Grid>
      {turn.error && <StreamError message={turn.error} />}
      <HelperText aria-live="polite" style={{ marginTop: 8 }}>
        {turn.preferred && (
          <HelperTextItem variant="success" data-testid="preference">
            {t('ab.youPreferred', { variant: turn.preferred.toUpperCase() })}
          </HelperTextItem>
        )}
        {saveError && <HelperTextItem variant="warning">{t('ab.notSaved', { error: saveError })}</HelperTextItem>}
      </HelperText>
    </div>
  );
}
