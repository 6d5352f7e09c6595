// The simulated network passes the same Transport contract as real NATS.
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork, type SimTransport } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import { transportCompliance } from '../../compliance/transport';
import { LocalLoopTransport } from '../../../infra/localLoop';
import { memoryLog as testLog } from '../imap/testLog';

transportCompliance('simulated network', async () => {
  const clock = new SimClock();
  const network = new SimNetwork({ clock, random: new SimRandom('transport-compliance').fork('network') });
  const transports: SimTransport[] = [];
  return {
    clock,
    maxPayloadBytes: network.maxPayloadBytes,
    connect: async (name) => {
      const transport = network.connect(name);
      transports.push(transport);
      return transport;
    },
    settle: async () => clock.runFor(0),
    waitFor: (done, maxMs) => clock.runUntil(done, { maxMs }),
    close: async () => {
      await Promise.all(transports.map((t) => t.close()));
    },
  };
});

// The same contract through the local loop (actors/node.ts wraps each node's transport in it): a
// request to a subject the same transport subscribed to is served in-process, everything else passes.
transportCompliance('simulated network through the local loop', async () => {
  const clock = new SimClock();
  const network = new SimNetwork({ clock, random: new SimRandom('transport-compliance-loop').fork('network') });
  const transports: LocalLoopTransport[] = [];
  return {
    clock,
    maxPayloadBytes: network.maxPayloadBytes,
    connect: async (name) => {
      const transport = new LocalLoopTransport(network.connect(name), () => true, clock, testLog());
      transports.push(transport);
      return transport;
    },
    settle: async () => clock.runFor(0),
    waitFor: (done, maxMs) => clock.runUntil(done, { maxMs }),
    close: async () => {
      await Promise.all(transports.map((t) => t.close()));
    },
  };
});
