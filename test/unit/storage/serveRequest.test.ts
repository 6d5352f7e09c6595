// The replica-side request loop: every request is answered; an operating failure with its own code,
// a programmer error as UNAVAILABLE, logged with its stack and reported so its actor is crashed.
import { describe, expect, test } from 'vitest';
import { serveRequest } from '../../../actors/storage/serveRequest';
import { MemoryLog } from '../../../infra/log';
import { TransportError } from '../../../infra/ports';
import { ErrorCodes, PostError } from '../../../protocol/errors';
import { decodeFrame } from '../../../protocol/frame';
import { BlockGet, StorageReply } from '../../../protocol/storage';

function serve(failWith: unknown) {
  const published: { subject: string; body: unknown }[] = [];
  const bugs: unknown[] = [];
  const log = new MemoryLog();
  const frame = decodeFrame(BlockGet.encode({ id: 'ab'.repeat(32) }));
  if (!frame.ok) throw new Error(frame.reason);
  serveRequest(
    frame.frame,
    { subject: 'post.x.node.y', data: new Uint8Array(), reply: 'reply.1' },
    { publish: (subject, bytes) => published.push({ subject, body: (decodeFrame(bytes) as { frame: { body: unknown } }).frame.body }), log, onBug: (e) => bugs.push(e) },
    { event: 'storage.request.failed', failure: StorageReply },
    async () => {
      throw failWith;
    },
  );
  return { published, bugs, log };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('serveRequest', () => {
  test('an operating failure is answered with its own code and logged as a warning; the actor is not crashed', async () => {
    for (const [error, code] of [
      [new PostError(ErrorCodes.STORE_FAILED, 'disk full'), ErrorCodes.STORE_FAILED],
      [new TransportError('CLOSED', 'transport closed'), 'CLOSED'],
    ] as const) {
      const r = serve(error);
      await settle();
      expect(r.published).toEqual([{ subject: 'reply.1', body: { ok: false, code, message: expect.stringContaining(error.message) } }]);
      expect(r.bugs).toEqual([]);
      expect(r.log.entries().map((e) => [e.level, e.event])).toEqual([['warn', 'storage.request.failed']]);
    }
  });

  test('a programmer error is answered UNAVAILABLE, logged with its stack, and crashes the actor', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'ids')");
    const r = serve(bug);
    await settle();
    expect(r.published).toEqual([{ subject: 'reply.1', body: { ok: false, code: ErrorCodes.UNAVAILABLE, message: expect.stringContaining('internal error') } }]);
    expect(r.bugs).toEqual([bug]);
    const [entry] = r.log.entries();
    expect(entry).toMatchObject({ level: 'error', event: 'storage.request.failed', bug: true });
    expect(String(entry!.error)).toContain('TypeError');
  });
});
