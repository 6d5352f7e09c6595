// Subject rules and the simulator's subject index agree with NATS matching semantics.
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { SubjectIndex } from '../../../infra/sim/subject-index';
import { assertPublishSubject, assertSubscribeSubject, subjectMatches } from '../../../infra/subject';

describe('subject rules', () => {
  it('accepts valid subjects and wildcards where NATS allows them', () => {
    for (const s of ['a', 'a.b.c', 'post.0123456789abcdef.node.ff', '_INBOX.c1.r.7']) {
      expect(() => assertPublishSubject(s)).not.toThrow();
    }
    for (const s of ['*', '>', 'a.*', 'a.>', '*.b.>', 'a.*.c']) expect(() => assertSubscribeSubject(s)).not.toThrow();
  });

  it('refuses malformed subjects with a reason', () => {
    for (const s of ['', 'a..b', '.a', 'a.', 'a b', 'a.>.c', 'a*', 'a.b>', 'tab\there']) {
      expect(() => assertSubscribeSubject(s)).toThrow(/invalid subscription subject/);
    }
    for (const s of ['a.*', 'a.>', '*']) expect(() => assertPublishSubject(s)).toThrow(/wildcard/);
  });

  it('matches like NATS', () => {
    expect(subjectMatches('a.*', 'a.b')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('>', 'a')).toBe(true);
    expect(subjectMatches('*.b', 'a.b')).toBe(true);
  });
});

describe('SubjectIndex', () => {
  it('finds exactly the subscriptions whose pattern matches, through adds and removes', () => {
    const random = new SimRandom('subject-index');
    const tokens = ['a', 'b', 'c'];
    const pattern = () => {
      const length = 1 + random.int(3);
      return Array.from({ length }, (_, i) => {
        const roll = random.int(10);
        if (roll === 0) return '*';
        if (roll === 1 && i === length - 1) return '>';
        return random.pick(tokens);
      }).join('.');
    };
    const literal = () => Array.from({ length: 1 + random.int(4) }, () => random.pick(tokens)).join('.');
    const index = new SubjectIndex<{ subject: string }>();
    const live: { subject: string }[] = [];
    for (let step = 0; step < 3000; step++) {
      if (live.length > 0 && random.float() < 0.4) {
        const [removed] = live.splice(random.int(live.length), 1);
        index.remove(removed!);
      } else {
        const sub = { subject: pattern() };
        live.push(sub);
        index.add(sub);
      }
      const subject = literal();
      const expected = live.filter((sub) => subjectMatches(sub.subject, subject));
      expect(new Set(index.match(subject))).toEqual(new Set(expected));
    }
    expect(index.size).toBe(live.length);
  });
});
