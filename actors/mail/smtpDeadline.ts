// Bounds a wait on the node's Clock: the SMTP client is waiting for a reply, so no port call or
// relay may keep it waiting for ever. The work itself is not cancelled (a promise cannot be);
// its late result is dropped, which is why submit() must be idempotent.
import type { Clock } from '../../infra/ports';

export class DeadlineExceeded extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'DeadlineExceeded';
  }
}

export function withDeadline<T>(clock: Clock, work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new DeadlineExceeded(what, timeoutMs)), timeoutMs);
    work.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
