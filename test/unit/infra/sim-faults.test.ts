// The simulated network's faults do what they are configured to do, and a seed replays a run exactly.
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork, type NetworkFaults, type SimTransport } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import type { TransportStatus } from '../../../infra/ports';
import { codeOf, settleWithin, type TransportFabric } from '../../compliance/fabric';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function world(seed: string | number, faults: Partial<NetworkFaults> & { reconnectMs?: number } = {}) {
  const clock = new SimClock();
  const random = new SimRandom(seed);
  const network = new SimNetwork({ clock, random: random.fork('network'), ...faults });
  // Just enough of a fabric for settleWithin.
  const fabric = { waitFor: (done: () => boolean, maxMs: number) => clock.runUntil(done, { maxMs }) } as TransportFabric;
  return { clock, random, network, fabric };
}

/** A busy little run: 12 endpoints publishing, requesting and replying on a jittery, lossy network. */
async function busyRun(seed: number) {
  const { clock, random, network } = world(seed, {
    delay: { minMs: 1, maxMs: 20 },
    lossProbability: 0.05,
    duplicateProbability: 0.05,
  });
  const load = random.fork('load');
  const trace: string[] = [];
  const endpoints = Array.from({ length: 12 }, (_, i) => network.connect(`n${i}`));
  endpoints.forEach((endpoint, i) => {
    endpoint.subscribe(`node.${i}`, (msg) => {
      trace.push(`${clock.now()} n${i} <- ${text(msg.data)}`);
      if (msg.reply) endpoint.publish(msg.reply, bytes(`ack ${text(msg.data)}`));
    });
    endpoint.subscribe('jobs', (msg) => trace.push(`${clock.now()} n${i} job ${text(msg.data)}`), { queue: 'workers' });
  });
  for (let round = 0; round < 40; round++) {
    clock.setTimeout(() => {
      for (const [i, endpoint] of endpoints.entries()) {
        const to = load.int(endpoints.length);
        if (load.float() < 0.5) endpoint.publish(`node.${to}`, bytes(`m${round}.${i}`));
        else {
          endpoint.request(`node.${to}`, bytes(`q${round}.${i}`), { timeoutMs: 50 }).then(
            (reply) => trace.push(`${clock.now()} n${i} reply ${text(reply)}`),
            (error: { code: string }) => trace.push(`${clock.now()} n${i} failed ${error.code}`),
          );
        }
        if (i === 0) endpoint.publish('jobs', bytes(`job${round}`));
      }
      if (round === 20) network.partition([['n0', 'n1', 'n2']]);
      if (round === 30) network.heal();
    }, round * 7);
  }
  await clock.runFor(1000);
  return { trace, stats: network.stats(), now: clock.now() };
}

describe('SimNetwork: determinism', () => {
  it('a seed replays exactly: same deliveries in the same order, same counters', async () => {
    const first = await busyRun(42);
    const second = await busyRun(42);
    expect(first.trace.length).toBeGreaterThan(500);
    expect(second.trace).toEqual(first.trace);
    expect(second.stats).toEqual(first.stats);
    expect(first.stats.dropped.loss.messages).toBeGreaterThan(0);
    expect(first.stats.duplicated.messages).toBeGreaterThan(0);
    expect(first.stats.dropped.partition.messages).toBeGreaterThan(0);
  });

  it('another seed gives another run', async () => {
    expect((await busyRun(43)).trace).not.toEqual((await busyRun(42)).trace);
  });
});

describe('SimNetwork: delivery', () => {
  it('never delivers inside publish: only when the clock runs past the delay', async () => {
    const { clock, network } = world(1, { delay: { minMs: 5, maxMs: 5 } });
    const [a, b] = [network.connect('a'), network.connect('b')];
    const got: string[] = [];
    b.subscribe('x', (msg) => got.push(text(msg.data)));
    a.publish('x', bytes('hello'));
    expect(got).toEqual([]);
    await clock.runFor(4);
    expect(got).toEqual([]);
    await clock.runFor(1);
    expect(got).toEqual(['hello']);
  });

  it('each receiver gets its own copy of the payload', async () => {
    const { clock, network } = world(1);
    const [a, b, c] = [network.connect('a'), network.connect('b'), network.connect('c')];
    const got: Uint8Array[] = [];
    b.subscribe('x', (msg) => {
      msg.data[0] = 0; // a careless receiver
      got.push(msg.data);
    });
    c.subscribe('x', (msg) => got.push(msg.data));
    a.publish('x', bytes('AB'));
    await clock.runFor(10);
    expect(got.map(text).sort()).toEqual(['\0B', 'AB']);
  });

  it('queue groups pick members with the seeded random source, spreading the load', async () => {
    const { clock, network } = world(3);
    const publisher = network.connect('p');
    const counts = [0, 0, 0];
    for (let i = 0; i < 3; i++) network.connect(`w${i}`).subscribe('jobs', () => counts[i]!++, { queue: 'q' });
    for (let i = 0; i < 300; i++) publisher.publish('jobs', bytes(String(i)));
    await clock.runFor(10);
    expect(counts.reduce((x, y) => x + y)).toBe(300);
    for (const count of counts) expect(count).toBeGreaterThan(60);
  });

  it('a request whose only subscriber leaves before it arrives fails NO_RESPONDERS', async () => {
    const { clock, network, fabric } = world(1, { delay: { minMs: 10, maxMs: 10 } });
    const [client, server] = [network.connect('client'), network.connect('server')];
    const sub = server.subscribe('svc', () => {});
    const pending = client.request('svc', bytes('?'), { timeoutMs: 1000 });
    clock.setTimeout(() => sub.unsubscribe(), 5);
    expect(codeOf(await settleWithin(fabric, pending, 2000))).toBe('NO_RESPONDERS');
    expect(network.stats().noResponders).toBe(1);
    expect(network.stats().dropped.unsubscribed.messages).toBe(1);
  });

  it('a delay function sees each link and sets its delay', async () => {
    const links: string[] = [];
    const { clock, network } = world(1, {
      delay: (link) => {
        links.push(`${link.from}->${link.to} ${link.subject} ${link.bytes}`);
        return link.to === 'far' ? 50 : 1;
      },
    });
    const [a, near, far] = [network.connect('a'), network.connect('near'), network.connect('far')];
    const order: string[] = [];
    far.subscribe('x', () => order.push('far'));
    near.subscribe('x', () => order.push('near'));
    a.publish('x', bytes('abc'));
    await clock.runFor(100);
    expect(links.sort()).toEqual(['a->far x 3', 'a->near x 3']);
    expect(order).toEqual(['near', 'far']);
  });
});

describe('SimNetwork: faults', () => {
  async function sendMany(faults: Partial<NetworkFaults>, n = 1000, seed = 5) {
    const { clock, network } = world(seed, faults);
    const [a, b] = [network.connect('a'), network.connect('b')];
    const got: number[] = [];
    b.subscribe('x', (msg) => got.push(Number(text(msg.data))));
    for (let i = 0; i < n; i++) a.publish('x', bytes(String(i)));
    await clock.runFor(1000);
    return { got, stats: network.stats() };
  }

  it('loss drops about the configured share of copies, counted as loss', async () => {
    const { got, stats } = await sendMany({ lossProbability: 0.3 });
    expect(got.length + stats.dropped.loss.messages).toBe(1000);
    expect(stats.dropped.loss.messages).toBeGreaterThan(230); // mean 300, sd ~14.5
    expect(stats.dropped.loss.messages).toBeLessThan(370);
    expect((await sendMany({ lossProbability: 1 })).got).toEqual([]);
  });

  it('duplication delivers some copies twice', async () => {
    const { got, stats } = await sendMany({ duplicateProbability: 1 }, 100);
    expect(got.length).toBe(200);
    expect(stats.duplicated.messages).toBe(100);
    expect(new Set(got).size).toBe(100);
  });

  it('jitter reorders messages; a fixed delay keeps them in order', async () => {
    const jittery = (await sendMany({ delay: { minMs: 1, maxMs: 30 } }, 200)).got;
    expect(jittery).not.toEqual([...jittery].sort((x, y) => x - y));
    const steady = (await sendMany({ delay: { minMs: 3, maxMs: 3 } }, 200)).got;
    expect(steady).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('a partition drops what crosses it (requests time out) until healed', async () => {
    const { clock, network, fabric } = world(1);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => network.connect(name)) as [SimTransport, SimTransport, SimTransport];
    for (const endpoint of [b, c]) endpoint.subscribe(`svc.${endpoint.name}`, (msg) => endpoint.publish(msg.reply!, bytes('pong')));
    network.partition([['a', 'b'], ['c']]);
    const ask = (to: string) => settleWithin(fabric, a.request(`svc.${to}`, bytes('ping'), { timeoutMs: 100 }), 1000);
    expect(codeOf(await ask('b'))).toBe('ok');
    expect(codeOf(await ask('c'))).toBe('TIMEOUT');
    network.heal();
    expect(codeOf(await ask('c'))).toBe('ok');
    network.isolate('b');
    expect(codeOf(await ask('b'))).toBe('TIMEOUT');
    expect(codeOf(await ask('c'))).toBe('ok');
    expect(network.stats().dropped.partition.messages).toBe(2);
    await clock.runFor(10);
  });

  it('a partition made while a message is in flight drops it on arrival', async () => {
    const { clock, network } = world(1, { delay: { minMs: 10, maxMs: 10 } });
    const [a, b] = [network.connect('a'), network.connect('b')];
    const got: string[] = [];
    b.subscribe('x', (msg) => got.push(text(msg.data)));
    a.publish('x', bytes('doomed'));
    await clock.runFor(5);
    network.isolate('a');
    await clock.runFor(10);
    expect(got).toEqual([]);
    expect(network.stats().dropped.partition.messages).toBe(1);
  });

  it('a slow endpoint receives later than a normal one', async () => {
    const { clock, network } = world(1);
    const [a, slow, fast] = [network.connect('a'), network.connect('slow'), network.connect('fast')];
    network.slow('slow', 40);
    const order: string[] = [];
    slow.subscribe('x', () => order.push('slow'));
    fast.subscribe('x', () => order.push('fast'));
    a.publish('x', bytes('1'));
    clock.setTimeout(() => a.publish('x', bytes('2')), 20);
    await clock.runFor(100);
    expect(order).toEqual(['fast', 'fast', 'slow', 'slow']);
    network.slow('slow', 0);
  });

  it('kill: the endpoint vanishes, its pending requests fail CLOSED, requests to it fail NO_RESPONDERS', async () => {
    const { clock, network, fabric } = world(1, { delay: { minMs: 5, maxMs: 5 } });
    const [a, b] = [network.connect('a'), network.connect('b')];
    b.subscribe('svc.b', () => {}); // never answers
    a.subscribe('svc.a', () => {});
    const statuses: TransportStatus[] = [];
    b.status$.subscribe((status) => statuses.push(status));
    const fromB = b.request('svc.a', bytes('?'), { timeoutMs: 1000 });
    const toB = a.request('svc.b', bytes('?'), { timeoutMs: 100 });
    a.publish('svc.b', bytes('in flight'));
    await clock.runFor(2);
    network.kill('b');
    expect(codeOf(await settleWithin(fabric, fromB, 1000))).toBe('CLOSED');
    expect(codeOf(await settleWithin(fabric, toB, 1000))).toBe('NO_RESPONDERS');
    expect(statuses).toEqual(['connected', 'closed']);
    await clock.runFor(10);
    expect(network.stats().dropped.closed.messages).toBe(2);
    expect(codeOf(await settleWithin(fabric, a.request('svc.b', bytes('?'), { timeoutMs: 100 }), 1000))).toBe('NO_RESPONDERS');
    // The node restarts under the same name.
    const reborn = network.connect('b');
    reborn.subscribe('svc.b', (msg) => reborn.publish(msg.reply!, bytes('back')));
    const outcome = await settleWithin(fabric, a.request('svc.b', bytes('?'), { timeoutMs: 100 }), 1000);
    expect(outcome.ok && text(outcome.value)).toBe('back');
    expect(network.endpointNames()).toEqual(['a', 'b']);
  });

  it('a server crash loses everything in flight; requests time out; clients reconnect and go on', async () => {
    const { clock, network, fabric } = world(1, { delay: { minMs: 5, maxMs: 5 }, reconnectMs: 20 });
    const [a, b] = [network.connect('a'), network.connect('b')];
    const got: string[] = [];
    b.subscribe('x', (msg) => got.push(text(msg.data)));
    b.subscribe('svc', (msg) => b.publish(msg.reply!, bytes('pong')));
    const statuses: TransportStatus[] = [];
    a.status$.subscribe((status) => statuses.push(status));
    a.publish('x', bytes('lost'));
    const inFlight = a.request('svc', bytes('?'), { timeoutMs: 100 });
    await clock.runFor(2);
    expect(network.inFlight).toBe(2);
    network.dropInFlight();
    a.publish('x', bytes('buffered while reconnecting'));
    expect(codeOf(await settleWithin(fabric, inFlight, 1000))).toBe('TIMEOUT');
    await clock.runFor(50);
    expect(got).toEqual(['buffered while reconnecting']);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
    expect(network.stats().dropped.serverCrash.messages).toBe(2);
    expect(codeOf(await settleWithin(fabric, a.request('svc', bytes('?'), { timeoutMs: 100 }), 1000))).toBe('ok');
  });

  it('refuses impossible fault settings', () => {
    const { network } = world(1);
    expect(() => network.configure({ lossProbability: 1.5 })).toThrow(RangeError);
    expect(() => network.configure({ delay: { minMs: -1, maxMs: 2 } })).toThrow(RangeError);
    expect(() => network.partition([['a'], ['a', 'b']])).toThrow(/two groups/);
    expect(() => {
      network.connect('dup');
      network.connect('dup');
    }).toThrow(/already connected/);
  });
});
