// Free TCP ports on one interface, found by binding port 0. All listeners stay open until every port
// is known, so one call never returns the same port twice. (Another process may still take a port
// before its server binds it; the server then fails to start and says so in its log: onFreshPorts
// starts it again.)
import { createServer, type Server } from 'node:net';
import { PORT_START_ATTEMPTS } from '../../protocol/limits';

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('freePorts: not a TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Whether a server's error or log says that a port it was given was taken. */
export const saysPortTaken = (text: string): boolean => /address already in use|EADDRINUSE/i.test(text);

/** Whether a server's start failed because a port it was given was taken (its error or the log tail it carries says so). */
export const portWasTaken = (error: unknown): boolean => saysPortTaken((error as Error | undefined)?.message ?? '');

/**
 * Start a server that picks its ports with freePorts, again (it picks fresh ones) while a start fails
 * because one of them was taken before the server bound it: up to PORT_START_ATTEMPTS starts in all.
 * `start` must leave nothing running when it fails. Any other failure is thrown at once.
 */
export async function onFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!portWasTaken(error) || attempt >= PORT_START_ATTEMPTS) throw error;
    }
  }
}
