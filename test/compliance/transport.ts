// The Transport port's contract (infra/ports.ts), as tests that the simulated network and real NATS
// (a single server and a cluster) must both pass. Each test builds its transports on a fresh fabric.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FRAME_BYTES_MAX } from '../../protocol/limits';
import { TransportError, type Transport, type TransportMessage, type TransportStatus } from '../../infra/ports';
import { codeOf, outcomeOf, settleWithin, type TransportFabric } from './fabric';

/** Fabric time any single wait may take; generous for loaded machines, never reached when healthy. */
const WAIT_MS = 10_000;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function collect(transport: Transport, subject: string, opts?: { queue?: string }): TransportMessage[] {
  const got: TransportMessage[] = [];
  transport.subscribe(subject, (msg) => got.push(msg), opts);
  return got;
}

/** A responder that answers every request on `subject` with `answer(request)`. */
function respond(transport: Transport, subject: string, answer: (data: Uint8Array) => Uint8Array): void {
  transport.subscribe(subject, (msg) => {
    if (msg.reply) transport.publish(msg.reply, answer(msg.data));
  });
}

function expectCode(error: unknown, code: string): void {
  expect(error).toBeInstanceOf(TransportError);
  expect((error as TransportError).code).toBe(code);
}

export function transportCompliance(label: string, makeFabric: () => Promise<TransportFabric>): void {
  describe(`Transport compliance: ${label}`, () => {
    let fabric: TransportFabric;
    beforeEach(async () => {
      fabric = await makeFabric();
    });
    afterEach(async () => {
      await fabric.close();
    });

    it('delivers a published message to a subscriber with its subject and bytes', async () => {
      const [a, b] = [await fabric.connect('a'), await fabric.connect('b')];
      const got = collect(b, 'test.hello');
      await fabric.settle([a, b]);
      a.publish('test.hello', bytes('hi'));
      expect(await fabric.waitFor(() => got.length === 1, WAIT_MS)).toBe(true);
      expect(got[0]!.subject).toBe('test.hello');
      expect(text(got[0]!.data)).toBe('hi');
      expect(got[0]!.reply).toBeUndefined();
    });

    it('the sender may reuse its buffer right after publish', async () => {
      const [a, b] = [await fabric.connect('a'), await fabric.connect('b')];
      const got = collect(b, 'test.reuse');
      await fabric.settle([a, b]);
      const buffer = bytes('first');
      a.publish('test.reuse', buffer);
      buffer.set(bytes('XXXXX'));
      expect(await fabric.waitFor(() => got.length === 1, WAIT_MS)).toBe(true);
      expect(text(got[0]!.data)).toBe('first');
    });

    it("wildcards: '*' matches exactly one token, '>' one or more", async () => {
      const [a, b] = [await fabric.connect('a'), await fabric.connect('b')];
      const star = collect(b, 'wild.*.end');
      const rest = collect(b, 'wild.>');
      const done = collect(b, 'marker');
      await fabric.settle([a, b]);
      for (const subject of ['wild.x.end', 'wild.x.y.end', 'wild.x.other', 'wild', 'wild.y.end']) {
        a.publish(subject, bytes(subject));
      }
      a.publish('marker', bytes('done'));
      expect(await fabric.waitFor(() => done.length === 1 && rest.length === 4, WAIT_MS)).toBe(true);
      expect(star.map((m) => m.subject).sort()).toEqual(['wild.x.end', 'wild.y.end']);
      expect(rest.map((m) => m.subject).sort()).toEqual(['wild.x.end', 'wild.x.other', 'wild.x.y.end', 'wild.y.end']);
    });

    it('queue group: each message reaches exactly one member; plain subscribers get them all', async () => {
      const publisher = await fabric.connect('publisher');
      const members = [await fabric.connect('m1'), await fabric.connect('m2'), await fabric.connect('m3')];
      const plain = await fabric.connect('plain');
      const received = members.map((m) => collect(m, 'work.items', { queue: 'workers' }));
      const markers = members.map((m) => collect(m, 'work.marker'));
      const everything = collect(plain, 'work.items');
      await fabric.settle([publisher, ...members, plain]);
      const count = 60;
      for (let i = 0; i < count; i++) publisher.publish('work.items', bytes(String(i)));
      publisher.publish('work.marker', bytes('end'));
      // The marker follows the items from the same publisher: once every member has it, no item is still on its way.
      expect(await fabric.waitFor(() => markers.every((m) => m.length === 1) && everything.length === count, WAIT_MS)).toBe(true);
      const seen = received.flat().map((m) => text(m.data));
      expect(seen.length).toBe(count);
      expect(new Set(seen).size).toBe(count);
    });

    it('request/reply resolves with the first reply', async () => {
      const [client, server] = [await fabric.connect('client'), await fabric.connect('server')];
      respond(server, 'svc.echo', (data) => bytes(`echo:${text(data)}`));
      await fabric.settle([client, server]);
      const outcome = await settleWithin(fabric, client.request('svc.echo', bytes('ping'), { timeoutMs: 5000 }), WAIT_MS);
      expect(outcome.ok && text(outcome.value)).toBe('echo:ping');
    });

    it('replies sent to a newInbox subject are gathered over time', async () => {
      const client = await fabric.connect('client');
      const responders = [await fabric.connect('r1'), await fabric.connect('r2')];
      for (const [i, responder] of responders.entries()) {
        responder.subscribe('svc.gather', (msg) => {
          responder.publish(msg.reply!, bytes(`r${i}-now`));
          fabric.clock.setTimeout(() => responder.publish(msg.reply!, bytes(`r${i}-later`)), 50);
        });
      }
      const inbox = client.newInbox();
      expect(inbox).not.toBe(client.newInbox());
      const replies = collect(client, inbox);
      await fabric.settle([client, ...responders]);
      client.publish('svc.gather', bytes('who is there?'), { reply: inbox });
      expect(await fabric.waitFor(() => replies.length === 4, WAIT_MS)).toBe(true);
      expect(replies.map((m) => text(m.data)).sort()).toEqual(['r0-later', 'r0-now', 'r1-later', 'r1-now']);
    });

    it('a request nobody subscribes to fails NO_RESPONDERS', async () => {
      const client = await fabric.connect('client');
      await fabric.settle([client]);
      const outcome = await settleWithin(fabric, client.request('svc.nobody', bytes('?'), { timeoutMs: 5000 }), WAIT_MS);
      expect(codeOf(outcome)).toBe('NO_RESPONDERS');
    });

    it('a request whose responder never answers fails TIMEOUT', async () => {
      const [client, server] = [await fabric.connect('client'), await fabric.connect('server')];
      server.subscribe('svc.silent', () => {});
      await fabric.settle([client, server]);
      const outcome = await settleWithin(fabric, client.request('svc.silent', bytes('?'), { timeoutMs: 200 }), WAIT_MS);
      expect(codeOf(outcome)).toBe('TIMEOUT');
      if (!outcome.ok) expectCode(outcome.error, 'TIMEOUT');
    });

    it('unsubscribe stops delivery', async () => {
      const [a, b] = [await fabric.connect('a'), await fabric.connect('b')];
      const got: string[] = [];
      const sub = b.subscribe('unsub.topic', (msg) => got.push(text(msg.data)));
      expect(sub.subject).toBe('unsub.topic');
      const markers = collect(b, 'unsub.marker');
      await fabric.settle([a, b]);
      a.publish('unsub.topic', bytes('before'));
      a.publish('unsub.marker', bytes('1'));
      expect(await fabric.waitFor(() => markers.length === 1, WAIT_MS)).toBe(true);
      sub.unsubscribe();
      sub.unsubscribe(); // twice is harmless
      await fabric.settle([a, b]);
      a.publish('unsub.topic', bytes('after'));
      a.publish('unsub.marker', bytes('2'));
      expect(await fabric.waitFor(() => markers.length === 2, WAIT_MS)).toBe(true);
      expect(got).toEqual(['before']);
    });

    it('messages from one publisher on one subject arrive in order', async () => {
      const [a, b] = [await fabric.connect('a'), await fabric.connect('b')];
      const got = collect(b, 'ordered.topic');
      await fabric.settle([a, b]);
      for (let i = 0; i < 200; i++) a.publish('ordered.topic', bytes(String(i)));
      expect(await fabric.waitFor(() => got.length === 200, WAIT_MS)).toBe(true);
      expect(got.map((m) => Number(text(m.data)))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it(`carries a payload of FRAME_BYTES_MAX (${FRAME_BYTES_MAX} bytes) intact both ways`, async () => {
      const [client, server] = [await fabric.connect('client'), await fabric.connect('server')];
      respond(server, 'svc.big', (data) => data);
      await fabric.settle([client, server]);
      const payload = new Uint8Array(FRAME_BYTES_MAX);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 11)) & 0xff;
      const outcome = await settleWithin(fabric, client.request('svc.big', payload, { timeoutMs: 10_000 }), WAIT_MS);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(Buffer.compare(Buffer.from(outcome.value), Buffer.from(payload))).toBe(0);
    });

    it("refuses a payload over the server's limit with PAYLOAD_TOO_LARGE", async () => {
      const client = await fabric.connect('client');
      const tooBig = new Uint8Array(fabric.maxPayloadBytes + 1);
      let thrown: unknown;
      try {
        client.publish('svc.big', tooBig);
      } catch (error) {
        thrown = error;
      }
      expectCode(thrown, 'PAYLOAD_TOO_LARGE');
      const outcome = await settleWithin(fabric, client.request('svc.big', tooBig, { timeoutMs: 1000 }), WAIT_MS);
      expect(codeOf(outcome)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a handler that throws (or rejects) does not stop delivery to it or to others', async () => {
      const [a, b, c] = [await fabric.connect('a'), await fabric.connect('b'), await fabric.connect('c')];
      let throwingCalls = 0;
      let rejectingCalls = 0;
      b.subscribe('fragile.topic', () => {
        throwingCalls++;
        throw new Error('handler bug (expected by this test)');
      });
      b.subscribe('fragile.topic', async () => {
        rejectingCalls++;
        throw new Error('async handler bug (expected by this test)');
      });
      const healthy = collect(c, 'fragile.topic');
      await fabric.settle([a, b, c]);
      for (let i = 0; i < 3; i++) a.publish('fragile.topic', bytes(String(i)));
      expect(await fabric.waitFor(() => healthy.length === 3 && throwingCalls === 3 && rejectingCalls === 3, WAIT_MS)).toBe(true);
    });

    it('close: pending requests and every later call fail CLOSED; status ends closed', async () => {
      const [client, server] = [await fabric.connect('client'), await fabric.connect('server')];
      const statuses: TransportStatus[] = [];
      client.status$.subscribe((status) => statuses.push(status));
      server.subscribe('svc.slow', () => {});
      await fabric.settle([client, server]);
      // Observe the outcome at once: the rejection happens while close() is still running.
      const pending = outcomeOf(client.request('svc.slow', bytes('?'), { timeoutMs: 30_000 }));
      await fabric.waitFor(() => false, 20); // let the request leave
      await client.close();
      expect(codeOf(await pending)).toBe('CLOSED');
      expect(() => client.publish('svc.slow', bytes('x'))).toThrow(TransportError);
      try {
        client.subscribe('svc.any', () => {});
        expect.unreachable('subscribe after close must throw');
      } catch (error) {
        expectCode(error, 'CLOSED');
      }
      expect(codeOf(await settleWithin(fabric, client.request('svc.slow', bytes('?'), { timeoutMs: 1000 }), WAIT_MS))).toBe('CLOSED');
      await client.close(); // twice is harmless
      expect(statuses[0]).toBe('connected');
      expect(statuses[statuses.length - 1]).toBe('closed');
    });

    it('status$ reports connected to a new subscriber while the connection is up', async () => {
      const client = await fabric.connect('client');
      let current: TransportStatus | undefined;
      const subscription = client.status$.subscribe((status) => (current = status));
      expect(current).toBe('connected');
      subscription.unsubscribe();
    });
  });
}
