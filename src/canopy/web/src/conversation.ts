/** @module The turns of a conversation, and which of them the model sees on the next question. */
import type { ChatMessage, Variant } from './api';

export type AnswerStatus = 'streaming' | 'done' | 'error' | 'stopped';

export interface Answer {
  content: string;
  status: AnswerStatus;
  /** The backend's message, for people, when status is 'error'. */
  error?: string;
}

export interface UserTurn {
  id: number;
  role: 'user';
  content: string;
}

export interface AssistantTurn {
  id: number;
  role: 'assistant';
  answer: Answer;
}

/** Two answers to the same text, from the two prompts of an A/B test. */
export interface AbTurn {
  id: number;
  role: 'ab';
  a: Answer;
  b: Answer;
  /** A failure of the whole request rather than of one variant. */
  error?: string;
  preferred?: Variant;
}

export type Turn = UserTurn | AssistantTurn | AbTurn;

export const emptyAnswer = (): Answer => ({ content: '', status: 'streaming' });

/** The answer a follow-up builds on: the reply itself, or the preferred one of an A/B pair. */
export function usableAnswer(turn: Turn): string | undefined {
  if (turn.role === 'assistant') return turn.answer.status === 'done' ? turn.answer.content : undefined;
  if (turn.role === 'ab' && turn.preferred) {
    const answer = turn[turn.preferred];
    return answer.status === 'done' ? answer.content : undefined;
  }
  return undefined;
}

/**
 * The messages to send with the next question: each question with its finished answer. A question
 * whose answer failed or was stopped is left out, so the model never sees half an exchange.
 */
export function historyOf(turns: Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  turns.forEach((turn, index) => {
    const next = turns[index + 1];
    if (turn.role !== 'user' || !next) return;
    const answer = usableAnswer(next);
    if (answer === undefined) return;
    messages.push({ role: 'user', content: turn.content }, { role: 'assistant', content: answer });
  });
  return messages;
}

/** The question an answer replied to, for feedback. */
export function questionBefore(turns: Turn[], id: number): string {
  const index = turns.findIndex((turn) => turn.id === id);
  const before = turns[index - 1];
  return before?.role === 'user' ? before.content : '';
}
