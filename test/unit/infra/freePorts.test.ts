// Ports found free, and starting again on fresh ones when another process took a port first: what
// the lab, the NATS clusters and the benchmarks' reference servers rely on when tests run side by side.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { freePorts, onFreshPorts, portWasTaken } from '../../../infra/nats/free-ports';
import { PORT_START_ATTEMPTS } from '../../../protocol/limits';

const HOST = '127.0.0.1';
const servers: Server[] = [];

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, HOST, () => {
      servers.push(server);
      resolve(server);
    });
  });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('freePorts', () => {
  test('gives distinct ports that can then be bound', async () => {
    const ports = await freePorts(4, HOST);
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) await listen(port);
  });
});

describe('onFreshPorts', () => {
  test('a start whose port was taken meanwhile is made again on fresh ports', async () => {
    const [first] = await freePorts(1, HOST);
    await listen(first!); // another process takes it before "our server" binds it
    let attempts = 0;
    const server = await onFreshPorts(async () => {
      attempts++;
      const [port] = attempts === 1 ? [first!] : await freePorts(1, HOST);
      return listen(port!);
    });
    expect(attempts).toBe(2);
    expect(server.listening).toBe(true);
  });

  test('any other failure is thrown at once', async () => {
    let attempts = 0;
    await expect(
      onFreshPorts(async () => {
        attempts++;
        throw new Error('dovecot exited: doveconf: Fatal: Error in configuration file');
      }),
    ).rejects.toThrow(/configuration/);
    expect(attempts).toBe(1);
  });

  test(`gives up after ${PORT_START_ATTEMPTS} starts, with the last failure`, async () => {
    const [taken] = await freePorts(1, HOST);
    await listen(taken!);
    let attempts = 0;
    await expect(
      onFreshPorts(async () => {
        attempts++;
        return listen(taken!);
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    expect(attempts).toBe(PORT_START_ATTEMPTS);
  });

  test('a taken port is told by the error or by the log tail a failed start carries', () => {
    expect(portWasTaken(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4222'))).toBe(true);
    expect(portWasTaken(new Error("dovecot exited while starting; its logs end:\nError: service(auth): listen(127.0.0.1, 46439) failed: Address already in use"))).toBe(true);
    expect(portWasTaken(new Error('postfix check failed'))).toBe(false);
    expect(portWasTaken(undefined)).toBe(false);
  });
});
