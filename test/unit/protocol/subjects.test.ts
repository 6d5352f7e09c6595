import { describe, expect, test } from 'vitest';
import { gatewayPermissions, GLOBAL_RING_ID, nodePermissions, replyPrefix, ringLabel, subjects } from '../../../protocol/subjects';
import { subjectMatches } from '../../../infra/subject';

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

describe('NATS permissions, built from the subjects', () => {
  const ring = 'ab'.repeat(32);
  const other = 'cd'.repeat(32);
  const [me, peer] = ['11'.repeat(32), '22'.repeat(32)];
  const allowed = (list: readonly string[], subject: string) => list.some((pattern) => subjectMatches(pattern, subject));

  test('a node publishes to its ring and replies, never a control request, another node\'s inspection or another ring', () => {
    const { publish } = nodePermissions(ring, me);
    for (const s of [subjects.node(ring, peer), subjects.join(ring), subjects.discover(ring), subjects.inbox(ring, 'u1'), subjects.head(ring, 'o1'), subjects.gateway(ring), subjects.inspect(ring, me), '_INBOX.x.y.z', '_R_.a.b'])
      expect(allowed(publish, s), s).toBe(true);
    for (const s of [subjects.control(ring, peer), subjects.inspect(ring, peer), subjects.node(other, peer), subjects.join(GLOBAL_RING_ID), subjects.ringGateways(other), subjects.scenario()])
      expect(allowed(publish, s), s).toBe(false);
  });

  test('a node listens to its own direct, control and reply subjects and the ring\'s shared ones only', () => {
    const { subscribe } = nodePermissions(ring, me);
    for (const s of [subjects.node(ring, me), subjects.control(ring, me), subjects.join(ring), subjects.discover(ring), subjects.inbox(ring, 'u1'), subjects.head(ring, 'o1'), subjects.gateway(ring), `${replyPrefix(me)}.abc.1`])
      expect(allowed(subscribe, s), s).toBe(true);
    for (const s of [subjects.node(ring, peer), subjects.control(ring, peer), subjects.inspect(ring, peer), `${replyPrefix(peer)}.abc.1`, subjects.node(other, me), subjects.node(GLOBAL_RING_ID, me)])
      expect(allowed(subscribe, s), s).toBe(false);
    expect(subscribe).not.toContain('>');
  });

  test("a gateway's global-ring key answers only for its own organisation", () => {
    const { publish, subscribe } = gatewayPermissions(ring, me);
    expect(allowed(publish, subjects.ringGateways(other))).toBe(true);
    expect(allowed(publish, subjects.node(GLOBAL_RING_ID, peer))).toBe(true);
    expect(allowed(subscribe, subjects.ringGateways(ring))).toBe(true);
    expect(allowed(subscribe, subjects.ringGateways(other))).toBe(false);
    expect(allowed(subscribe, subjects.node(GLOBAL_RING_ID, peer))).toBe(false);
    expect(allowed(publish, subjects.node(ring, peer))).toBe(false);
  });
});
