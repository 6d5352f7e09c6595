import { describe, expect, test } from 'vitest';
import { GLOBAL_RING_ID, ringLabel, subjects } from '../../../protocol/subjects';

describe('subjects', () => {
  const ring = 'ab'.repeat(32);
  test('are built from the first 16 hex digits of the ring id', () => {
    expect(subjects.node(ring, 'cd'.repeat(32))).toBe(`post.abababababababab.node.${'cd'.repeat(32)}`);
    expect(subjects.join(ring)).toBe('post.abababababababab.join');
    expect(subjects.inbox(ring, 'u1')).toBe('post.abababababababab.inbox.u1');
    expect(subjects.inspect(ring, 'n1')).toBe('post.abababababababab.inspect.n1');
  });
  test('the global ring is post.global.*', () => {
    expect(ringLabel(GLOBAL_RING_ID)).toBe('global');
    expect(subjects.join(GLOBAL_RING_ID)).toBe('post.global.join');
  });
});
