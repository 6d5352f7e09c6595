// A node asking itself: requests to its own subject are served in-process (nothing reaches the
// network), answered on the reply subject as usual; a silent handler times out on the node's clock;
// other subjects go through the network.
import { describe, expect, test } from 'vitest';
import { LocalLoopTransport } from '../../../infra/localLoop';
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import { memoryLog } from '../imap/testLog';

function setup() {
  const clock = new SimClock();
  const network = new SimNetwork({ clock, random: new SimRandom('local-loop').fork('network') });
  const inner = network.connect('self');
  let sent = 0;
  const counting = Object.assign(Object.create(inner), { request: (...a: Parameters<typeof inner.request>) => (sent++, inner.request(...a)) });
  const self = new LocalLoopTransport(counting, (s) => s === 'node.self', clock, memoryLog());
  const other = network.connect('other');
  return { clock, self, other, sent: () => sent };
}

describe('local loop', () => {
  test('a request to its own subject is answered in-process', async () => {
    const { clock, self, sent } = setup();
    self.subscribe('node.self', (m) => self.publish(m.reply!, new TextEncoder().encode(`re:${new TextDecoder().decode(m.data)}`)));
    const reply = self.request('node.self', new TextEncoder().encode('ping'), { timeoutMs: 1000 });
    await clock.runFor(0);
    expect(new TextDecoder().decode(await reply)).toBe('re:ping');
    expect(sent()).toBe(0);
  });

  test('a handler that never answers times out on the clock', async () => {
    const { clock, self } = setup();
    self.subscribe('node.self', () => undefined);
    const reply = self.request('node.self', new Uint8Array([1]), { timeoutMs: 500 }).catch((e) => e);
    await clock.runFor(600);
    expect(await reply).toMatchObject({ code: 'TIMEOUT' });
  });

  test('other subjects go through the network', async () => {
    const { clock, self, other, sent } = setup();
    other.subscribe('node.other', (m) => other.publish(m.reply!, new Uint8Array([7])));
    await clock.runFor(10);
    const reply = self.request('node.other', new Uint8Array([1]), { timeoutMs: 1000 });
    await clock.runFor(100);
    expect([...(await reply)]).toEqual([7]);
    expect(sent()).toBe(1);
  });

  test('closing fails what is still waiting', async () => {
    const { clock, self } = setup();
    self.subscribe('node.self', () => undefined);
    const reply = self.request('node.self', new Uint8Array([1]), { timeoutMs: 5000 }).catch((e) => e);
    await clock.runFor(0);
    await self.close();
    expect(await reply).toMatchObject({ code: 'CLOSED' });
  });
});
