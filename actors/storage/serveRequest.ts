// The replica-side request loop shared by storage and inbox-drop handlers: answer on the request's
// reply subject; a handler that throws is answered with a failure, never left unanswered. An
// operating failure (a PostError, the transport's, a frame that does not decode) is answered with its
// own code; anything else is a bug in this node: logged with its stack, answered UNAVAILABLE (the
// requester tries another replica) and reported through `onBug`, which crashes the owning actor so
// its supervisor restarts it and counts the restart (issue 18: nothing disappears).
import { type Log, TransportError, type TransportMessage } from '../../infra/ports';
import { FrameError } from '../../protocol/codec';
import { type ErrorCode, ErrorCodes, PostError } from '../../protocol/errors';
import type { AnyFrame, FrameKind } from '../../protocol/frame';

export type Answer = <T>(kind: FrameKind<T>, body: T) => void;

/** The failure reply kinds share this body shape. */
type FailureBody = { ok: false; code: ErrorCode; message: string };

export interface ServeDeps {
  /** Publish an answer: a frame encoded for it, never changed after (the transport may send it without a copy). */
  readonly publish: (subject: string, bytes: Uint8Array) => void;
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

export function serveRequest(
  frame: AnyFrame,
  msg: TransportMessage,
  deps: ServeDeps,
  opts: { event: string; failure: FrameKind<any> },
  dispatch: (frame: AnyFrame, answer: Answer) => Promise<void>,
): void {
  const reply = msg.reply;
  if (!reply) return;
  void serveFrame(frame, (bytes) => deps.publish(reply, bytes), deps, opts, dispatch);
}

/**
 * Serve one request whose answer goes to `respond`, encoded (a request alone: its reply subject; one
 * of a batch: the batch's answer). Settles once the handler has finished; it never rejects.
 */
export function serveFrame(
  frame: AnyFrame,
  respond: (bytes: Uint8Array) => void,
  deps: Omit<ServeDeps, 'publish'>,
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
