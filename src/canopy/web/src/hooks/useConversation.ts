/**
 * @module A conversation that streams its answers: sends a question, shows the answer growing
 * delta by delta, and always ends in a settled state (done, error or stopped) so the input can
 * be used again.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { CUT_OFF, errorMessage, isAbort, streamEvents, type Variant } from '../api';
import { emptyAnswer, type AbTurn, type Answer, type Turn } from '../conversation';

/** Settles an answer that was still streaming; one that already failed keeps its own message. */
function settle(answer: Answer, status: 'done' | 'error' | 'stopped', error?: string): Answer {
  if (answer.status !== 'streaming') return answer;
  return status === 'error' ? { ...answer, status, error } : { ...answer, status };
}

export function useConversation() {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [isStreaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const nextId = useRef(1);

  // Leaving the page ends the answer in flight rather than streaming into nothing.
  useEffect(() => () => controller.current?.abort(), []);

  const update = useCallback(<T extends Turn>(id: number, change: (turn: T) => T) => {
    setTurns((all) => all.map((turn) => (turn.id === id ? change(turn as T) : turn)));
  }, []);

  /** Adds the question and an empty reply of `reply`'s shape; `fresh` starts a new conversation. */
  const begin = (question: string, reply: 'assistant' | 'ab', fresh: boolean) => {
    const userTurn: Turn = { id: nextId.current++, role: 'user', content: question };
    const id = nextId.current++;
    const replyTurn: Turn = reply === 'ab' ? { id, role: 'ab', a: emptyAnswer(), b: emptyAnswer() } : { id, role: 'assistant', answer: emptyAnswer() };
    setTurns((all) => [...(fresh ? [] : all), userTurn, replyTurn]);
    controller.current?.abort();
    controller.current = new AbortController();
    setStreaming(true);
    return { id, signal: controller.current.signal };
  };

  const end = (signal: AbortSignal) => {
    if (controller.current?.signal === signal) {
      controller.current = null;
      setStreaming(false);
    }
  };

  /** Streams one answer from `path`. Resolves true when it finished, false when it failed or was stopped. */
  const ask = async (question: string, path: string, body: unknown, fresh = false): Promise<boolean> => {
    const { id, signal } = begin(question, 'assistant', fresh);
    const change = (fn: (answer: Answer) => Answer) => update<Extract<Turn, { role: 'assistant' }>>(id, (turn) => ({ ...turn, answer: fn(turn.answer) }));
    let failed = false;
    try {
      await streamEvents(
        path,
        body,
        (event) => {
          if (event.error) {
            failed = true;
            change((answer) => settle(answer, 'error', event.error));
          } else if (event.delta) {
            change((answer) => (answer.status === 'streaming' ? { ...answer, content: answer.content + event.delta } : answer));
          }
        },
        signal,
      );
      change((answer) => settle(answer, 'done'));
      return !failed;
    } catch (error) {
      // After an error event the stream may simply close; that is not a second failure.
      if (isAbort(error)) change((answer) => settle(answer, 'stopped'));
      else if (!(failed && errorMessage(error) === CUT_OFF)) change((answer) => settle(answer, 'error', errorMessage(error)));
      return false;
    } finally {
      end(signal);
    }
  };

  /** Streams the two answers of an A/B test from `path`. Resolves true when at least one finished. */
  const askAb = async (question: string, path: string, body: unknown): Promise<boolean> => {
    const { id, signal } = begin(question, 'ab', true);
    const change = (variant: Variant, fn: (answer: Answer) => Answer) => update<AbTurn>(id, (turn) => ({ ...turn, [variant]: fn(turn[variant]) }));
    const both = (fn: (answer: Answer) => Answer, turnError?: string) =>
      update<AbTurn>(id, (turn) => ({ ...turn, a: fn(turn.a), b: fn(turn.b), error: turn.error ?? turnError }));
    let settled = { a: false, b: false };
    try {
      await streamEvents(
        path,
        body,
        (event) => {
          if (event.error) {
            if (event.variant) {
              settled = { ...settled, [event.variant]: true };
              change(event.variant, (answer) => settle(answer, 'error', event.error));
            } else {
              settled = { a: true, b: true };
              both((answer) => settle(answer, 'error'), event.error);
            }
          } else if (event.delta && event.variant) {
            const variant = event.variant;
            change(variant, (answer) => (answer.status === 'streaming' ? { ...answer, content: answer.content + event.delta } : answer));
          }
        },
        signal,
      );
      both((answer) => settle(answer, 'done'));
      return !(settled.a && settled.b);
    } catch (error) {
      if (isAbort(error)) both((answer) => settle(answer, 'stopped'));
      else if (!(settled.a && settled.b && errorMessage(error) === CUT_OFF)) both((answer) => settle(answer, 'error'), errorMessage(error));
      return false;
    } finally {
      end(signal);
    }
  };

  const prefer = (id: number, variant: Variant) => update<AbTurn>(id, (turn) => ({ ...turn, preferred: variant }));

  const stop = () => controller.current?.abort();

  const reset = () => {
    controller.current?.abort();
    setTurns([]);
  };

  return { turns, isStreaming, ask, askAb, prefer, stop, reset };
}
