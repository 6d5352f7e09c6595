// The dashboard's HTTP side on loopback, without a browser: the page is self-contained, /api/state
// is the state's snapshot, /events starts with the whole state and then streams changes, and the
// number of browsers following it is bounded.
import { afterEach, describe, expect, test } from 'vitest';
import { type DashboardServer, startDashboardServer } from '../../../cli/dashboard/server';
import { DashboardState } from '../../../cli/dashboard/state';
import { DASHBOARD_SSE_CLIENTS_MAX } from '../../../protocol/limits';

const RING = 'ab'.repeat(32);
const A = '11'.repeat(32);
let server: DashboardServer | undefined;
const aborts: AbortController[] = [];

afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  await server?.close();
  server = undefined;
});

async function start(state: DashboardState, now = () => 5000) {
  server = await startDashboardServer(state, { host: '127.0.0.1', port: 0, now });
  return `http://127.0.0.1:${server.port}`;
}

/** Follow /events and collect its events as they come. */
async function follow(url: string) {
  const abort = new AbortController();
  aborts.push(abort);
  const res = await fetch(`${url}/events`, { signal: abort.signal });
  const events: { event: string; data: any }[] = [];
  let buffer = '';
  let ended = false;
  let heard: (() => void) | undefined; // wakes until() on each chunk and at the end of the stream
  const reader = res.body!.getReader();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      heard?.();
      if (done) return void (ended = true);
      buffer += Buffer.from(value!).toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  /** Reads the stream until `pred` holds (or the stream ends): what it waits for is the server's writes. */
  const until = async (pred: () => boolean) => {
    while (!pred() && !ended) await new Promise<void>((r) => (heard = r));
    expect(pred()).toBe(true);
  };
  return { res, events, until };
}

describe('dashboard server', () => {
  test('/ is one self-contained page: inline script and style, nothing loaded from elsewhere', async () => {
    const url = await start(new DashboardState());
    const res = await fetch(`${url}/`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<script>');
    expect(html).toContain('EventSource');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });

  test('/api/state is the snapshot; /events starts with it and streams node, health and scenario events', async () => {
    const state = new DashboardState();
    state.setLab({ orgs: [{ domain: 'lab.example', ringId: RING }], nodes: [{ id: A, org: 'lab.example', pid: 1 }] }, 0);
    const url = await start(state);
    const snap = await (await fetch(`${url}/api/state`)).json();
    expect(snap).toMatchObject({ nowMs: 5000, orgs: [{ domain: 'lab.example' }], nodes: [{ id: A, health: 'waiting' }] });

    const stream = await follow(url);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream');
    await stream.until(() => stream.events.length >= 1);
    expect(stream.events[0]).toMatchObject({ event: 'state', data: { nodes: [{ id: A }] } });
    await stream.until(() => server!.clients === 1);

    server!.broadcast(state.onScenario(Buffer.from(JSON.stringify({ scenario: 's1', phase: 'start' })), 6000));
    server!.broadcast(state.tick(60_000));
    await stream.until(() => stream.events.length >= 3);
    expect(stream.events.slice(1)).toMatchObject([
      { event: 'scenario', data: { entry: { event: { scenario: 's1', phase: 'start' } }, run: { key: 's1' } } },
      { event: 'health', data: { id: A, health: 'down' } },
    ]);
  });

  test(`at most ${DASHBOARD_SSE_CLIENTS_MAX} browsers follow /events; the next is told to come back later`, async () => {
    const url = await start(new DashboardState());
    const streams = await Promise.all(Array.from({ length: DASHBOARD_SSE_CLIENTS_MAX }, () => follow(url)));
    expect(streams.every((s) => s.res.status === 200)).toBe(true);
    const extra = await fetch(`${url}/events`);
    expect(extra.status).toBe(503);
    expect(await extra.text()).toMatch(/close one/);
  });
});

describe('dashboard page: the last known state is in the page', () => {
  test('/ carries the snapshot as of the request (names and host ports from lab.json), with no "<" to end its script early', async () => {
    const state = new DashboardState();
    state.setLab(
      {
        orgs: [{ domain: 'a.example', ringId: RING }],
        nodes: [
          {
            id: A,
            org: 'a.example',
            pid: 0,
            name: 'node-a1</script><b>',
            imap: { host: 'node-a1', port: 1143 },
            published: { imap: { host: '127.0.0.1', port: 11143 }, smtp: { host: '127.0.0.1', port: 11525 }, http: { host: '127.0.0.1', port: 11025 } },
          },
        ],
      },
      0,
    );
    const html = await (await fetch(await start(state))).text();
    const json = /<script id="initial-state" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1];
    expect(json, 'the initial state element').toBeDefined();
    expect(json).not.toContain('<');
    const initial = JSON.parse(json!);
    expect(initial.nodes).toHaveLength(1);
    expect(initial.nodes[0]).toMatchObject({ id: A, name: 'node-a1</script><b>', endpoints: { imap: '127.0.0.1:11143', smtp: '127.0.0.1:11525', http: '127.0.0.1:11025' } });
  });
});
