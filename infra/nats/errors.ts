// The NATS client's errors, translated into the Transport port's stable codes.
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { TransportError, type TransportErrorCode } from '../ports';

/** The port's code for a client error, or undefined when the error is not an operating error we know. */
export function transportCodeOf(error: unknown): TransportErrorCode | undefined {
  if (error instanceof TransportError) return error.code;
  if (error instanceof TimeoutError) return 'TIMEOUT';
  if (error instanceof NoRespondersError) return 'NO_RESPONDERS';
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) return 'CLOSED';
  if (error instanceof InvalidArgumentError && /max_payload/.test(error.message)) return 'PAYLOAD_TOO_LARGE';
  if (error instanceof RequestError) {
    if (error.isNoResponders()) return 'NO_RESPONDERS';
    // The client rejects what is pending with this plain message when its connection closes.
    if (error.message === 'connection closed') return 'CLOSED';
    return transportCodeOf(error.cause);
  }
  return undefined;
}

export function transportError(code: TransportErrorCode, message: string, cause?: unknown): TransportError {
  const error = new TransportError(code, message);
  if (cause !== undefined) error.cause = cause;
  return error;
}
