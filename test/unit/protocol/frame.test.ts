import { encode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import { decodeFrame } from '../../../protocol/frame';
import { FRAME_BYTES_MAX, PROTOCOL_VERSION } from '../../../protocol/limits';
import { Heartbeat, JoinReply, Route } from '../../../protocol/overlay';

const id = (c: string) => c.repeat(64);

describe('wire frames', () => {
  test('a frame round-trips through encode and decode', () => {
    const body = { root: id('a'), leafSet: [id('b'), id('c')], rows: [{ row: 0, nodes: [id('d')] }] };
    const r = JoinReply.decode(JoinReply.encode(body));
    expect(r).toEqual({ ok: true, body });
  });

  test('ids travel as 32 raw bytes', () => {
    const bytes = Heartbeat.encode({ from: id('f') });
    expect(bytes.length).toBeLessThan(64);
  });

  const refusals: [string, Uint8Array, RegExp][] = [
    ['not msgpack', new Uint8Array([0xc1, 0xff, 0x00]), /not msgpack/],
    ['truncated', Heartbeat.encode({ from: id('a') }).slice(0, 10), /not msgpack/],
    ['not a frame triple', encode({ hello: 1 }), /not a \[version, kind, body\] frame/],
    ['unknown version', encode([PROTOCOL_VERSION + 1, 'overlay.heartbeat', { from: new Uint8Array(32) }]), /unknown protocol version/],
    ['unknown kind', encode([PROTOCOL_VERSION, 'overlay.nonsense', {}]), /unknown frame kind/],
    ['wrong field type', encode([PROTOCOL_VERSION, 'overlay.heartbeat', { from: 'abc' }]), /overlay.heartbeat.from: expected 32-byte id/],
    ['short id', encode([PROTOCOL_VERSION, 'overlay.heartbeat', { from: new Uint8Array(31) }]), /expected 32-byte id, got 31 bytes/],
    ['missing field', encode([PROTOCOL_VERSION, 'overlay.heartbeat', {}]), /from: expected 32-byte id/],
    ['oversized', new Uint8Array(FRAME_BYTES_MAX + 1), /exceeds/],
  ];
  test.each(refusals)('%s is dropped with a reason, never thrown', (_, bytes, reason) => {
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  test('a list longer than its bound is refused', () => {
    const path = Array.from({ length: 40 }, () => new Uint8Array(32));
    const bytes = encode([PROTOCOL_VERSION, 'overlay.route', { msgId: 'x', key: new Uint8Array(32), origin: new Uint8Array(32), path, payload: { type: 'probe' } }]);
    const r = Route.decode(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/path: array of 40 exceeds/);
  });

  test('a tagged payload with an unknown type is refused', () => {
    const bytes = encode([PROTOCOL_VERSION, 'overlay.route', { msgId: 'x', key: new Uint8Array(32), origin: new Uint8Array(32), path: [], payload: { type: 'evil' } }]);
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/unknown type "evil"/);
  });

  test('random garbage never throws', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 200;
      const bytes = new Uint8Array(len).map(() => next() & 0xff);
      expect(() => decodeFrame(bytes)).not.toThrow();
    }
    // Mutations of a valid frame as well.
    const good = JoinReply.encode({ root: id('a'), leafSet: [id('b')], rows: [] });
    for (let i = 0; i < 2000; i++) {
      const m = good.slice();
      m[next() % m.length] = next() & 0xff;
      expect(() => decodeFrame(m)).not.toThrow();
    }
  });
});
