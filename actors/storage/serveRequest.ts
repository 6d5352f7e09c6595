// The replica-side request loop shared by storage and inbox-drop handlers: answer on the request's
// reply subject; a handler that throws is logged and answered with a failure, never left unanswered.
import type { Log, TransportMessage } from '../../infra/ports';
import { ErrorCodes } from '../../protocol/errors';
import type { AnyFrame, FrameKind } from '../../protocol/frame';

export type Answer = <T>(kind: FrameKind<T>, body: T) => void;

/** The failure reply kinds share this body shape. */
type FailureBody = { ok: false; code: string; message: string };

export function serveRequest(
  frame: AnyFrame,
  msg: TransportMessage,
  deps: { publish: (subject: string, bytes: Uint8Array) => void; log: Log },
  opts: { event: string; failure: FrameKind<any> },
  dispatch: (frame: AnyFrame, answer: Answer) => Promise<void>,
): void {
  const reply = msg.reply;
  if (!reply) return;
  const answer: Answer = (kind, body) => deps.publish(reply, kind.encode(body));
  dispatch(frame, answer).catch((e: Error) => {
    deps.log.error(opts.event, { kind: frame.kind, error: e.message });
    answer<FailureBody>(opts.failure, { ok: false, code: ErrorCodes.UNAVAILABLE, message: `replica failed: ${e.message}` });
  });
}
