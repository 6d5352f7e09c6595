// The simulated network passes the same Transport contract as real NATS.
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork, type SimTransport } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import { transportCompliance } from '../../compliance/transport';

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
