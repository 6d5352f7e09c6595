// The replica-side request loop: every request is answered; an operating failure with its own code,
// a programmer error as UNAVAILABLE, logged with its stack and reported so its actor is crashed. A
// batch's requests are each answered as if they came alone, in order.
import { describe, expect, test } from 'vitest';
import { serveBatch, serveFrame } from '../../../actors/storage/serveRequest';
import { MemoryLog } from '../../../infra/log';
import { TransportError } from '../../../infra/ports';
import { ErrorCodes, PostError } from '../../../protocol/errors';
import { type AnyFrame, decodeFrame } from '../../../protocol/frame';
import { DROP_BATCH, DropPutReply } from '../../../protocol/notify';
import { FrameRefused } from '../../../protocol/refusal';
import { BlockGet, ObjectGet, STORAGE_BATCH, StorageReply } from '../../../protocol/storage';

const bodyOf = (bytes: Uint8Array) => {
  const d = decodeFrame(bytes);
  if (!d.ok) throw new Error(d.reason);
  return { kind: d.frame.kind, body: d.frame.body };
};

async function serve(failWith: unknown) {
  const answered: unknown[] = [];
  const bugs: unknown[] = [];
  const log = new MemoryLog();
  const frame = decodeFrame(BlockGet.encode({ id: 'ab'.repeat(32) }));
  if (!frame.ok) throw new Error(frame.reason);
  await serveFrame(frame.frame, (bytes) => answered.push(bodyOf(bytes).body), { log, onBug: (e) => bugs.push(e) }, { event: 'storage.request.failed', failure: StorageReply }, async () => {
    throw failWith;
  });
  return { answered, bugs, log };
}

describe('serveFrame', () => {
  test('an operating failure is answered with its own code and logged as a warning; the actor is not crashed', async () => {
    for (const [error, code] of [
      [new PostError(ErrorCodes.STORE_FAILED, 'disk full'), ErrorCodes.STORE_FAILED],
      [new TransportError('CLOSED', 'transport closed'), 'CLOSED'],
    ] as const) {
      const r = await serve(error);
      expect(r.answered).toEqual([{ ok: false, code, message: expect.stringContaining(error.message) }]);
      expect(r.bugs).toEqual([]);
      expect(r.log.entries().map((e) => [e.level, e.event])).toEqual([['warn', 'storage.request.failed']]);
    }
  });

  test('a programmer error is answered UNAVAILABLE, logged with its stack, and crashes the actor', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'ids')");
    const r = await serve(bug);
    expect(r.answered).toEqual([{ ok: false, code: ErrorCodes.UNAVAILABLE, message: expect.stringContaining('internal error') }]);
    expect(r.bugs).toEqual([bug]);
    const [entry] = r.log.entries();
    expect(entry).toMatchObject({ level: 'error', event: 'storage.request.failed', bug: true });
    expect(String(entry!.error)).toContain('TypeError');
  });
});

describe('serveBatch', () => {
  test('each request answered as alone, in order: served, undecodable, a kind the batch may not carry, never answered', async () => {
    const carried = DROP_BATCH.request.encode({ frames: [] }); // stands in for a request the batch carries: see `kinds`
    const kinds = { ...STORAGE_BATCH, carries: new Set([BlockGet.kind, DROP_BATCH.request.kind]) };
    const served: string[] = [];
    const replies = await serveBatch(
      [BlockGet.encode({ id: '01'.repeat(32) }), new Uint8Array([0xc1]), ObjectGet.encode({ objectId: '02'.repeat(32) }), carried],
      kinds,
      StorageReply,
      async (frame: AnyFrame, respond) => {
        served.push(frame.kind);
        if (frame.kind === BlockGet.kind) {
          respond(StorageReply.encode({ ok: true }));
          respond(StorageReply.encode({ ok: false, code: 'SECOND', message: 'only the first answer counts' }));
        }
      },
    );
    expect(served).toEqual([BlockGet.kind, DROP_BATCH.request.kind]);
    expect(replies.map(bodyOf)).toEqual([
      { kind: StorageReply.kind, body: { ok: true } },
      { kind: FrameRefused.kind, body: { code: ErrorCodes.BAD_FRAME, reason: expect.any(String) } },
      { kind: StorageReply.kind, body: { ok: false, code: ErrorCodes.BAD_REQUEST, message: `${ObjectGet.kind} cannot travel in a storage.batch` } },
      { kind: StorageReply.kind, body: { ok: false, code: ErrorCodes.UNAVAILABLE, message: `replica failed: ${DROP_BATCH.request.kind} not answered` } },
    ]);
  });

  test('the drop batch carries drop puts only, and refuses with its own reply kind', async () => {
    const [reply] = await serveBatch([BlockGet.encode({ id: '01'.repeat(32) })], DROP_BATCH, DropPutReply, async () => {
      throw new Error('not served');
    });
    expect(bodyOf(reply!)).toEqual({ kind: DropPutReply.kind, body: { ok: false, code: ErrorCodes.BAD_REQUEST, message: `${BlockGet.kind} cannot travel in a notify.batch` } });
  });
});
