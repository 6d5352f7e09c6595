// NatsTransport against real nats-server processes: the Transport contract on a single server and on
// a 3-server cluster (every transport pinned to a different member, so traffic crosses routes), then
// what a cluster adds: requests across servers, servers taken in the order given, and failover when a
// client's server is SIGKILLed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_MAX_PAYLOAD_BYTES } from '../../../infra/nats/config';
import { NatsCluster, startNatsServer } from '../../../infra/nats/server';
import { NatsTransport } from '../../../infra/nats/transport';
import type { TransportStatus } from '../../../infra/ports';
import { codeOf, outcomeOf, waitInRealTime } from '../../compliance/fabric';
import { transportCompliance } from '../../compliance/transport';
import { connectTo, natsFabric } from './nats-fabric';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Retries a request (bounded) while interest is still propagating or a failover is settling. */
async function requestUntilAnswered(client: NatsTransport, subject: string, attempts = 40): Promise<string> {
  let last = 'never tried';
  for (let i = 0; i < attempts; i++) {
    const outcome = await outcomeOf(client.request(subject, enc.encode('ping'), { timeoutMs: 250 }));
    if (outcome.ok) return dec.decode(outcome.value);
    last = codeOf(outcome);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no answer on ${subject} after ${attempts} attempts (last: ${last})`);
}

function answer(transport: NatsTransport, subject: string, reply: string, delayMs = 0): void {
  transport.subscribe(subject, (msg) => {
    const send = () => transport.status$.value !== 'closed' && transport.publish(msg.reply!, enc.encode(reply));
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
}

describe('NatsTransport on a single nats-server', () => {
  let dir: string;
  let server: NatsCluster | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-nats-single-'));
    server = await startNatsServer({ dir });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  transportCompliance('NATS, single server', () => natsFabric({ urls: server!.urls, maxPayloadBytes: NATS_MAX_PAYLOAD_BYTES }));

  it('a handed-over payload is sent as it is, without a copy (publish and request)', async () => {
    const [url] = server!.urls;
    const a = await NatsTransport.connect({ servers: [url!] });
    const b = await NatsTransport.connect({ servers: [url!] });
    try {
      const got: string[] = [];
      b.subscribe('handover.pub', (msg) => got.push(dec.decode(msg.data)));
      b.subscribe('handover.req', (msg) => b.publish(msg.reply!, msg.data, { handOver: true }));
      await b.flush();
      // The client sends what it holds at its next flush (a microtask later): a buffer changed before
      // then shows whether the transport kept the caller's buffer (handed over) or a copy.
      const copied = enc.encode('first');
      a.publish('handover.pub', copied);
      copied.set(enc.encode('XXXXX'));
      const kept = enc.encode('first');
      a.publish('handover.pub', kept, { handOver: true });
      kept.set(enc.encode('later'));
      const asked = enc.encode('ask 1');
      const reply = a.request('handover.req', asked, { timeoutMs: 2000, handOver: true });
      asked.set(enc.encode('ask 2'));
      expect(dec.decode(await reply)).toBe('ask 2');
      await waitInRealTime(() => got.length === 2, 2000);
      expect(got).toEqual(['first', 'later']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('says what to do when no server answers', async () => {
    const [url] = server!.urls;
    const unused = url!.replace(/:\d+$/, ':1');
    await expect(NatsTransport.connect({ servers: [unused], connectTimeoutMs: 1000 })).rejects.toThrow(/nats-server is running/);
  });
});

describe('NatsTransport on a 3-server nats cluster', () => {
  let dir: string;
  let cluster: NatsCluster | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-nats-cluster-'));
    cluster = await NatsCluster.start({ dir, size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  transportCompliance('NATS, 3-server cluster', () => natsFabric({ urls: cluster!.urls, maxPayloadBytes: NATS_MAX_PAYLOAD_BYTES }));

  it('a request crosses servers of the cluster', async () => {
    const [url0, url1] = cluster!.urls;
    const responder = await connectTo(url0!, 'responder');
    const client = await connectTo(url1!, 'client');
    try {
      answer(responder, 'svc.across', 'from server 0');
      expect(cluster!.indexOf(responder.server)).toBe(0);
      expect(cluster!.indexOf(client.server)).toBe(1);
      expect(await requestUntilAnswered(client, 'svc.across')).toBe('from server 0');
    } finally {
      await Promise.all([client.close(), responder.close()]);
    }
  });

  it('connects to the first server listed and fails over down the list, never shuffling it', async () => {
    const c = cluster!;
    const order = [c.urls[2]!, c.urls[0]!, c.urls[1]!];
    const clients = await Promise.all([1, 2, 3, 4].map((i) => NatsTransport.connect({ servers: order, name: `ordered-${i}` })));
    try {
      // Shuffled (nats.js's default), four clients would all pick the first one time in 81.
      expect(clients.map((client) => c.indexOf(client.server))).toEqual([2, 2, 2, 2]);
      await c.kill(2, 'SIGKILL');
      expect(await waitInRealTime(() => clients.every((client) => client.status$.value === 'connected' && c.indexOf(client.server) !== 2), 10_000)).toBe(true);
      expect(clients.map((client) => c.indexOf(client.server))).toEqual([0, 0, 0, 0]);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await c.restart(2);
    }
  });

  it("after SIGKILL of a client's server, the client reconnects to another member and requests work again", async () => {
    const c = cluster!;
    const client = await NatsTransport.connect({ servers: c.urls, name: 'failover-client' });
    const killed = c.indexOf(client.server);
    expect(killed).toBeGreaterThanOrEqual(0);
    const survivor = (killed + 1) % 3;
    const responder = await connectTo(c.urls[survivor]!, 'failover-responder');
    const statuses: TransportStatus[] = [];
    client.status$.subscribe((status) => statuses.push(status));
    try {
      answer(responder, 'svc.failover', 'fast');
      answer(responder, 'svc.failover.slow', 'slow', 300);
      expect(await requestUntilAnswered(client, 'svc.failover')).toBe('fast');

      // A request in flight when the server dies may be lost: it then surfaces as TIMEOUT (STACK.md).
      const inFlight = outcomeOf(client.request('svc.failover.slow', enc.encode('?'), { timeoutMs: 1500 }));
      await client.flush();
      await c.kill(killed, 'SIGKILL');
      expect(['ok', 'TIMEOUT']).toContain(codeOf(await inFlight));

      expect(await waitInRealTime(() => statuses.includes('reconnecting') && client.status$.value === 'connected', 10_000)).toBe(true);
      expect(c.indexOf(client.server)).not.toBe(killed);
      expect(await requestUntilAnswered(client, 'svc.failover')).toBe('fast');

      // The crashed member comes back on its ports and rejoins the mesh.
      await c.restart(killed);
      const rejoined = await connectTo(c.urls[killed]!, 'rejoined-client');
      try {
        expect(await requestUntilAnswered(rejoined, 'svc.failover')).toBe('fast');
      } finally {
        await rejoined.close();
      }
    } finally {
      await Promise.all([client.close(), responder.close()]);
    }
  });
});
