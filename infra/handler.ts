// Handlers never throw into a transport (infra/ports.ts). Both adapters call them through here, so a
// synchronous throw and a rejected promise from an async handler are caught and reported alike.
import type { MessageHandler, TransportMessage } from './ports';

export function runHandler(
  handler: MessageHandler,
  msg: TransportMessage,
  onError: (error: unknown) => void,
): void {
  try {
    const result: unknown = handler(msg);
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}
