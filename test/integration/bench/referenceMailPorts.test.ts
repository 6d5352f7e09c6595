// The reference mail server when a port found free is taken before Dovecot binds it (seen in CI, tests
// running side by side: "service(auth): listen(127.0.0.1, N) failed: Address already in use"): the
// start is made again on fresh ports instead of failing the benchmark. The race is forced: the first
// ports handed out are wrapped so that the one for Dovecot's auth listener is already held by this test.
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { processesInGroups, startReferenceMail } from '../../../bench/reference/mailServer';
import { ensureReferencePackages, referenceUnavailable } from '../../../bench/reference/packages';

const held = vi.hoisted(() => ({ servers: [] as Server[], firstPorts: [] as number[] }));

vi.mock('../../../infra/nats/free-ports', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../infra/nats/free-ports')>();
  return {
    ...real,
    // The first four ports (submission, IMAP, LMTP, auth): another process takes the auth one first.
    freePorts: async (count: number, host?: string) => {
      const ports = await real.freePorts(count, host);
      if (count === 4 && held.firstPorts.length === 0) {
        held.firstPorts = ports;
        const server = createServer();
        await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[3], host, resolve));
        held.servers.push(server);
      }
      return ports;
    },
  };
});

async function unavailableReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'Postfix and Dovecot need root to start (they drop privileges themselves)';
  return referenceUnavailable(() => ensureReferencePackages());
}

const skipReason = await unavailableReason();
if (skipReason) console.warn(`skipping the reference mail port test: ${skipReason}`);

afterAll(async () => {
  await Promise.all(held.servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe.skipIf(skipReason !== undefined)('reference mail on a taken port', () => {
  it('Dovecot finds its auth port taken: the reference starts again on fresh ports and answers', async () => {
    const mail = await startReferenceMail({ users: [{ address: 'carol@bench.example', password: 'carol-secret' }], readyTimeoutMs: 30_000 });
    try {
      expect(held.firstPorts).toHaveLength(4);
      expect(held.servers[0]!.listening).toBe(true);
      // Not the ports of the failed start: those were given up with it.
      expect(held.firstPorts).not.toContain(mail.smtp.port);
      expect(held.firstPorts).not.toContain(mail.imap.port);
      expect(processesInGroups(mail.processGroups).length).toBeGreaterThan(2);
    } finally {
      await mail.stop();
    }
    expect(processesInGroups(mail.processGroups)).toEqual([]);
  });
});
