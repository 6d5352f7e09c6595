// The replica-side request loop shared by storage and inbox-drop handlers: every request is answered
// (on its reply subject, or inside its batch's answer); a handler that throws is answered with a
// failure, never left unanswered. An operating failure (a PostError, the transport's, a frame that
// does not decode) is answered with its own code; anything else is a bug in this node: logged with
// its stack, answered UNAVAILABLE (the requester tries another replica) and reported through
// `onBug`, which crashes the owning actor so its supervisor restarts it and counts the restart
// (issue 18: nothing disappears).
import { type Log, TransportError } from '../../infra/ports';
import { FrameError } from '../../protocol/codec';
import type { BatchKinds } from '../../protocol/batch';
import { type ErrorCode, ErrorCodes, PostError } from '../../protocol/errors';
import { type AnyFrame, decodeFrame, type FrameKind } from '../../protocol/frame';
import { FrameRefused } from '../../protocol/refusal';

export type Answer = <T>(kind: FrameKind<T>, body: T) => void;

/** The failure reply kinds share this body shape. */
type FailureBody = { ok: false; code: ErrorCode; message: string };

export interface ServeDeps {
  readonly log: Log;
  /** A handler failed with a programmer error: crash the actor that serves these requests. */
  readonly onBug?: (error: unknown) => void;
}

/** The code of an operating failure; undefined for a programmer error. */
export function operatingCode(error: unknown): ErrorCode | undefined {
  if (error instanceof PostError || error instanceof TransportError) return error.code;
  if (error instanceof FrameError) return ErrorCodes.BAD_FRAME;
  return undefined;
}

/**
 * Serve one request whose answer goes to `respond`, encoded (a request alone: its reply subject; one
 * of a batch: the batch's answer). Settles once the handler has finished; it never rejects.
 */
export function serveFrame(
  frame: AnyFrame,
  respond: (bytes: Uint8Array) => void,
  deps: ServeDeps,
  opts: { event: string; failure: FrameKind<any> },
  dispatch: (frame: AnyFrame, answer: Answer) => Promise<void>,
): Promise<void> {
  const answer: Answer = (kind, body) => respond(kind.encode(body));
  return dispatch(frame, answer).catch((e: unknown) => {
    const code = operatingCode(e);
    const message = String((e as Error)?.message ?? e);
    if (code !== undefined) {
      deps.log.warn(opts.event, { kind: frame.kind, code, error: message });
      return answer<FailureBody>(opts.failure, { ok: false, code, message: `replica failed: ${message}` });
    }
    deps.log.error(opts.event, { kind: frame.kind, bug: true, error: String((e as Error)?.stack ?? e) });
    answer<FailureBody>(opts.failure, { ok: false, code: ErrorCodes.UNAVAILABLE, message: 'replica failed: internal error (see its log)' });
    deps.onBug?.(e);
  });
}

/**
 * The requests of a batch frame (protocol/batch.ts), each served by `serve` as if it came alone, all
 * at once; their replies in order, each what it would have been answered alone (an undecodable one:
 * what the router answers; a kind the batch may not carry: a `failure` refusal). lmdb-js commits
 * writes made together in one transaction, so a batch's puts share their disk flush too.
 */
export function serveBatch(
  frames: readonly Uint8Array[],
  kinds: BatchKinds,
  failure: FrameKind<any>,
  serve: (frame: AnyFrame, respond: (bytes: Uint8Array) => void) => Promise<void>,
): Promise<Uint8Array[]> {
  return Promise.all(
    frames.map(async (bytes) => {
      const decoded = decodeFrame(bytes);
      if (!decoded.ok) return FrameRefused.encode({ code: ErrorCodes.BAD_FRAME, reason: decoded.reason });
      const kind = decoded.frame.kind;
      if (!kinds.carries.has(kind)) return failure.encode({ ok: false, code: ErrorCodes.BAD_REQUEST, message: `${kind.slice(0, 64)} cannot travel in a ${kinds.request.kind}` } satisfies FailureBody);
      let reply: Uint8Array | undefined;
      await serve(decoded.frame, (b) => (reply ??= b));
      return reply ?? failure.encode({ ok: false, code: ErrorCodes.UNAVAILABLE, message: `replica failed: ${kind} not answered` } satisfies FailureBody);
    }),
  );
}
