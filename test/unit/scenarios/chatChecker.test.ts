// chat-churn's checker: per conversation, the recipient's messages from the sender are the sent
// sequence, each once, in order, with no acknowledged one missing; an unknown send may be missing but
// not out of place, and a refused one must not be there.
import { describe, expect, test } from 'vitest';
import { chatConversations, type Received } from '../../../scenarios/checkers';
import { History } from '../../../scenarios/history';
import type { Outcome } from '../../../scenarios/history';

function conversation(outcomes: Outcome[]): { history: History; texts: string[] } {
  const history = new History(() => 0, 'run1');
  const texts = outcomes.map((outcome, i) => {
    const op = history.chat('a@x', 'b@x', `a@x->b@x #${i + 1}`);
    history.complete(op, outcome);
    return op.text;
  });
  return { history, texts };
}

const at = (texts: string[], from = 'a@x'): Received => new Map([['b@x', texts.map((text) => ({ from, text }))]]);
const failing = (history: History, received: Received) => chatConversations(history, received).filter((c) => !c.ok).map((c) => c.name);

describe('chat-churn checker', () => {
  test('the sent sequence, received once and in order, passes; an unknown send may be missing', () => {
    const { history, texts } = conversation(['ok', 'unknown', 'ok', 'ok']);
    expect(failing(history, at(texts))).toEqual([]);
    expect(failing(history, at([texts[0]!, texts[2]!, texts[3]!]))).toEqual([]);
  });

  test('a duplicate, a refused message delivered, or one from another sender fails exactly-once', () => {
    const { history, texts } = conversation(['ok', 'failed', 'ok']);
    expect(failing(history, at([texts[0]!, texts[0]!, texts[2]!]))).toEqual(['every chat message arrives at most once, from its sender']);
    expect(failing(history, at(texts))).toEqual(['every chat message arrives at most once, from its sender']);
    const spoofed: Received = new Map([['b@x', [{ from: 'a@x', text: texts[0]! }, { from: 'c@x', text: texts[1]! }, { from: 'a@x', text: texts[2]! }]]]);
    expect(failing(history, spoofed)).toEqual(['every chat message arrives at most once, from its sender']);
  });

  test('an acknowledged message missing is a gap', () => {
    const { history, texts } = conversation(['ok', 'ok', 'ok']);
    expect(failing(history, at([texts[0]!, texts[2]!]))).toEqual(['no acknowledged chat message missing (no gap)']);
  });

  test('a message received before one sent earlier is out of order, an unknown one included', () => {
    const { history, texts } = conversation(['ok', 'unknown', 'ok']);
    expect(failing(history, at([texts[0]!, texts[2]!, texts[1]!]))).toEqual(['each conversation is received in the order it was sent']);
    expect(failing(history, at([texts[2]!, texts[0]!]))).toEqual(['each conversation is received in the order it was sent']);
  });
});
