// Several requests to one node in one frame (issue 11): the requests a node makes to one peer in one
// event-loop turn, each encoded as it would travel alone, go as one batch frame, and their replies
// come back in one, in the same order, each the frame it would have been answered with alone. A
// batch is not atomic: the peer serves each request as if it came alone (its own checks, its own
// refusal). Storage puts (storage.batch) and inbox-drop puts (notify.batch) travel this way.
import { arr, bytes, obj } from './codec';
import { defineFrame, type FrameKind } from './frame';
import { FRAME_BYTES_MAX, STORAGE_BATCH_REQUESTS_MAX } from './limits';

export interface BatchKinds {
  readonly request: FrameKind<{ frames: Uint8Array[] }>;
  readonly reply: FrameKind<{ replies: Uint8Array[] }>;
  /** The request kinds the batch may carry: writes that answer with one small reply each. */
  readonly carries: ReadonlySet<string>;
}

const frames = arr(bytes({ max: FRAME_BYTES_MAX }), { max: STORAGE_BATCH_REQUESTS_MAX });

/** The batch frame `kind` and its reply `kind.reply`, carrying the request kinds `carries`. */
export function defineBatch(kind: string, carries: readonly FrameKind<unknown>[]): BatchKinds {
  return {
    request: defineFrame(kind, obj({ frames })),
    reply: defineFrame(`${kind}.reply`, obj({ replies: frames })),
    carries: new Set(carries.map((k) => k.kind)),
  };
}
