// `post node start --inspect URL`: a real node process over a real nats-server streams its actors'
// transitions to an XState inspector over WebSocket, and runs on when no inspector is listening
// (logged once; it connects when one appears, and again after the inspector went away).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postCommand } from '../../../lab/paths';
import { freePorts } from '../../../infra/nats/free-ports';
import { type NatsCluster, startNatsServer } from '../../../infra/nats/server';
import { NODE_STOP_GRACE_MS } from '../../../protocol/limits';
import { post } from '../lab/cli';
import { type InspectorStandIn, startInspectorStandIn } from './wsServer';

/** The inspector's adapter retries an unreachable URL every 5 s; our reconnect after a close is 5 s too. */
const RETRY_WINDOW_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'post-inspect-'));
let nats: NatsCluster;
const started: RunningNode[] = [];
const inspectors: InspectorStandIn[] = [];

interface RunningNode {
  readonly child: ChildProcess;
  /** The node's JSON log lines so far. */
  readonly log: { event?: string; [k: string]: unknown }[];
  /** Until the node has logged `event` `times` times (its stdout is read apart from the inspector's socket). */
  waitLog(event: string, timeoutMs: number, times?: number): Promise<void>;
  stop(): Promise<void>;
}

function startNode(data: string, inspectUrl: string): RunningNode {
  const [exe, argv] = postCommand(['node', 'start', '--data', data, '--nats', nats.urls.join(','), '--imap', '0', '--smtp', '0', '--http', '0', '--inspect', inspectUrl]);
  const child = spawn(exe, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: RunningNode['log'] = [];
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        log.push(JSON.parse(line));
      } catch {
        log.push({ text: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const node: RunningNode = {
    child,
    log,
    waitLog: async (event, timeoutMs, times = 1) => {
      const deadline = Date.now() + timeoutMs;
      while (log.filter((l) => l.event === event).length < times) {
        if (child.exitCode !== null) throw new Error(`the node exited (${child.exitCode}) before logging ${event}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`the node did not log ${event} within ${timeoutMs} ms; it logged: ${log.map((l) => l.event).join(', ')}`);
        await sleep(100);
      }
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = sleep(NODE_STOP_GRACE_MS + 2000).then(() => 'timeout' as const);
      if ((await Promise.race([exited, killed])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  started.push(node);
  return node;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function standIn(port?: number): Promise<InspectorStandIn> {
  const s = await startInspectorStandIn(port);
  inspectors.push(s);
  return s;
}

/** The router's registration (its name is its id in the supervisor), then a snapshot of that actor. */
async function routerSnapshot(inspector: InspectorStandIn, timeoutMs: number): Promise<any> {
  const actor = await inspector.waitFor((m) => m?.type === '@xstate.actor' && m.name === 'router', timeoutMs, "'@xstate.actor' event of the router");
  return inspector.waitFor((m) => m?.type === '@xstate.snapshot' && m.sessionId === actor.sessionId, timeoutMs, "'@xstate.snapshot' of the router");
}

async function nodeIdentity(name: string): Promise<string> {
  const data = join(dir, name);
  const r = await post(['node', 'init', '--ca', join(dir, 'ca'), '--data', data]);
  expect(r.code, r.stderr).toBe(0);
  return data;
}

describe('post node start --inspect', () => {
  beforeAll(async () => {
    nats = await startNatsServer({ dir: join(dir, 'nats') });
    const r = await post(['ca', 'init', '--org', 'inspect.example', '--out', join(dir, 'ca')]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await Promise.all(inspectors.map((i) => i.close()));
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('streams the node actors\' transitions to the inspector: the router registers and its snapshots arrive', async () => {
    const inspector = await standIn();
    const node = startNode(await nodeIdentity('streaming'), inspector.url);
    await node.waitLog('node.ready', READY_TIMEOUT_MS);
    const snapshot = await routerSnapshot(inspector, READY_TIMEOUT_MS);
    expect(snapshot.snapshot.status).toBe('active');
    // Alone in its ring, the router founds it: a snapshot in `ready` follows.
    await inspector.waitFor((m) => m?.type === '@xstate.snapshot' && m.sessionId === snapshot.sessionId && typeof m.snapshot?.value === 'object' && 'ready' in m.snapshot.value, RETRY_WINDOW_MS, 'router snapshot in ready');
    const names = inspector.messages.filter((m: any) => m?.type === '@xstate.actor').map((m: any) => m.name);
    expect(names).toEqual(expect.arrayContaining(['supervisor', 'transport', 'store', 'router', 'replicaManager', 'notifier', 'logWriter', 'mailGateway']));
    expect(inspector.messages.some((m: any) => m?.type === '@xstate.event')).toBe(true);
    // Byte arrays (keys, payloads) leave the node as their length only.
    expect(JSON.stringify(inspector.messages)).not.toMatch(/\{"0":\d+,"1":\d+,"2":\d+/);
    expect(node.log.filter((l) => l.event === 'inspect.connected')).toHaveLength(1);
    await node.stop();
  }, 90_000);

  test('with no inspector listening the node runs on, logs it once, and connects when the inspector appears and again after it went away', async () => {
    const [port] = await freePorts(1);
    const node = startNode(await nodeIdentity('unreachable'), `ws://127.0.0.1:${port}`);
    await node.waitLog('node.ready', READY_TIMEOUT_MS);
    await node.waitLog('inspect.unavailable', RETRY_WINDOW_MS);
    await sleep(6000); // at least one more failed attempt
    expect(node.child.exitCode).toBeNull();
    expect(node.log.filter((l) => l.event === 'inspect.unavailable')).toHaveLength(1);

    const first = await standIn(port);
    await routerSnapshot(first, RETRY_WINDOW_MS);
    await node.waitLog('inspect.connected', 1000);

    await first.close();
    const second = await standIn(port);
    await routerSnapshot(second, RETRY_WINDOW_MS); // the actor tree again, for an inspector that came late
    await node.waitLog('inspect.connected', 5_000, 2);
    expect(node.log.filter((l) => l.event === 'inspect.connected')).toHaveLength(2);
    expect(node.child.exitCode).toBeNull();
    await node.stop();
  }, 90_000);

  test('a URL that is not a WebSocket URL is refused before the node starts', async () => {
    const r = await post(['node', 'start', '--data', await nodeIdentity('refused'), '--nats', nats.urls.join(','), '--inspect', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--inspect must be the inspector\'s WebSocket URL');
  }, 60_000);
});
