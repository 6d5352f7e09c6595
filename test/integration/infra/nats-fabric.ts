// A TransportFabric over real nats-server processes, for the compliance suite and cluster tests.
//
// settle() is a barrier, not a sleep: on a cluster, a subscription made on one server reaches the
// others asynchronously over the routes. One watcher per server listens on a barrier subject; after
// subscribing, each transport publishes a barrier message, which its server forwards over the same
// ordered route connections as the subscription's interest. Once every watcher has the message,
// every server has processed the interest that preceded it.
import { wallClock } from '../../../infra/clock';
import { NatsTransport } from '../../../infra/nats/transport';
import type { Transport } from '../../../infra/ports';
import { waitInRealTime, type TransportFabric } from '../../compliance/fabric';

const BARRIER_WAIT_MS = 10_000;
const BARRIER_RESEND_MS = 100;
const enc = new TextEncoder();

export interface NatsFabricOptions {
  /** Client URLs of the servers; transports are spread over them in turn. */
  urls: readonly string[];
  maxPayloadBytes: number;
}

/** Pins the i-th connection to one server, so that traffic crosses the cluster's routes. */
export async function connectTo(url: string, name: string): Promise<NatsTransport> {
  return NatsTransport.connect({ servers: [url], name });
}

export async function natsFabric(opts: NatsFabricOptions): Promise<TransportFabric & { barrier(from: Transport): Promise<void> }> {
  const made: NatsTransport[] = [];
  let next = 0;
  let barriers = 0;
  const watchers = await Promise.all(opts.urls.map((url, i) => connectTo(url, `barrier-watcher-${i}`)));
  const seen = watchers.map(() => new Set<string>());
  watchers.forEach((watcher, i) => watcher.subscribe('_barrier.>', (msg) => seen[i]!.add(msg.subject)));
  await Promise.all(watchers.map((watcher) => watcher.flush()));

  /** Waits until every server has processed everything `from` sent before. */
  async function barrier(from: Transport): Promise<void> {
    const subject = `_barrier.${barriers++}`;
    const arrived = () => seen.every((subjects) => subjects.has(subject));
    // The watchers' own interest may still be propagating right after start: resend until all have it.
    let sentAt = 0;
    const ok = await waitInRealTime(() => {
      if (arrived()) return true;
      if (Date.now() - sentAt >= BARRIER_RESEND_MS) {
        from.publish(subject, enc.encode('barrier'));
        sentAt = Date.now();
      }
      return false;
    }, BARRIER_WAIT_MS);
    if (!ok) throw new Error(`barrier ${subject} did not reach every server within ${BARRIER_WAIT_MS} ms`);
  }

  return {
    clock: wallClock,
    maxPayloadBytes: opts.maxPayloadBytes,
    barrier,
    connect: async (name) => {
      const transport = await connectTo(opts.urls[next++ % opts.urls.length]!, name);
      made.push(transport);
      return transport;
    },
    settle: async (transports) => {
      for (const transport of transports) await barrier(transport);
    },
    waitFor: waitInRealTime,
    close: async () => {
      await Promise.all([...made, ...watchers].map((transport) => transport.close()));
    },
  };
}
