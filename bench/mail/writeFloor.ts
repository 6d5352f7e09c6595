// The replicated-write floor (issue 11): what a write durable at k = 3 replicas costs on this machine
// with nothing of POST between the parts, measured on the lab's own NATS servers in the same run as
// POST's STORE (a value of a head's size) and its SMTP cells (a value of the mail's size). Three
// processes (writeFloorWorker.ts): a host that clients reach over loopback TCP, which hashes and signs
// each write, commits it to its own LMDB and sends it to two replica processes through NATS (TLS, the
// lab's credentials), each of which checks hash and signature and commits durably. The clients wait
// for each answer, like IMAP clients for their STOREs and SMTP clients for their 250s. CPU per write
// of the three processes and the NATS servers, as POST's server CPU per command is counted.
// With `fanOut`, each client count is measured a second time with the value published once on a
// subject both replicas listen on (NATS copies it to each) instead of a request to each: the least a
// write could cost through this broker with any placement or protocol, where POST (and the first
// measurement) sends a put to each replica.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TSX_LOADER } from '../../lab/paths';
import { groupsCpuMs } from '../reference/processes';
import { round } from '../stats';
import { clientsText, kibText, type Log } from './target';

const WORKER = fileURLToPath(new URL('./writeFloorWorker.ts', import.meta.url));
const REPLICAS = 2;
const READY_TIMEOUT_MS = 30_000;
const ANSWER_TIMEOUT_MS = 15_000;
/** Writes each client makes before the clock starts: connections, caches and LMDB's files warm. */
const WARM_UP_WRITES = 50;
/** The value a STORE's floor writes: about a STORE's head on the lab (0.7-1.4 KiB measured). */
export const HEAD_VALUE_BYTES = 1024;

export interface WriteFloorRun {
  clients: number;
  /** Published once to every replica (NATS fan-out) rather than a request to each. */
  fanOut: boolean;
  /** The size of each write's value. */
  valueBytes: number;
  writes: number;
  writesPerSecond: number;
  /** CPU of the host, the replicas and the NATS servers per write, in ms. */
  serverCpuMsPerWrite: number;
  /** The same by part: host, replicas, NATS servers. */
  partsMsPerWrite: Record<string, number>;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<{ port?: number }>;
}

function startWorker(labFile: string, role: 'host' | 'replica', dir: string, valueBytes: number, subjects: readonly string[]): Worker {
  // Its own process group (detached): its CPU is read by group, as the lab's nodes' is.
  const child = spawn(process.execPath, ['--import', TSX_LOADER, WORKER, labFile, role, dir, String(valueBytes), ...subjects], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()).length > 4000 && (stderr = stderr.slice(-4000)));
  const ready = new Promise<{ port?: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`write floor ${role} not ready within ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`)), READY_TIMEOUT_MS);
    child.once('message', (m: { port?: number }) => (clearTimeout(timer), resolve(m)));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`write floor ${role} exited (${code}): ${stderr.trim()}`))));
  });
  return { child, ready };
}

/** A client: one line a write, the next only after the answer. */
class FloorClient {
  private buffered = '';
  private waiting: { resolve(): void; reject(e: Error): void } | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString('latin1');
      const nl = this.buffered.indexOf('\n');
      if (nl < 0) return;
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const waiter = this.waiting;
      this.waiting = undefined;
      if (line === 'K') waiter?.resolve();
      else waiter?.reject(new Error(`write floor host: ${line}`));
    });
    socket.on('error', (e) => this.waiting?.reject(e));
  }

  static async open(port: number): Promise<FloorClient> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new FloorClient(socket);
  }

  /** One write: a request to each replica, or (`fanOut`) one publish they all receive. */
  write(fanOut: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`write floor: no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      this.waiting = { resolve: () => (clearTimeout(timer), resolve()), reject: (e) => (clearTimeout(timer), reject(e)) };
      this.socket.write(fanOut ? 'F\n' : 'W\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

async function measure(port: number, clients: number, fanOut: boolean, valueBytes: number, durationMs: number, parts: () => Record<string, number>): Promise<WriteFloorRun> {
  const open = await Promise.all(Array.from({ length: clients }, () => FloorClient.open(port)));
  try {
    await Promise.all(
      open.map(async (c) => {
        for (let i = 0; i < WARM_UP_WRITES; i++) await c.write(fanOut);
      }),
    );
    const before = parts();
    const t0 = performance.now();
    let writes = 0;
    await Promise.all(
      open.map(async (c) => {
        for (; performance.now() - t0 < durationMs; writes++) await c.write(fanOut);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = parts();
    const partsMsPerWrite = Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, round((ms - before[name]!) / writes, 3)]));
    const total = Object.values(after).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
    return { clients, fanOut, valueBytes, writes, writesPerSecond: round(writes / seconds, 1), serverCpuMsPerWrite: round(total / writes, 3), partsMsPerWrite };
  } finally {
    open.forEach((c) => c.close());
  }
}

export interface WriteFloorOptions {
  clientCounts: readonly number[];
  durationMs: number;
  /** Each write's value; HEAD_VALUE_BYTES when not given. */
  valueBytes?: number;
  /** Measure each client count again with each write published once to both replicas (see above). */
  fanOut?: boolean;
}

/** The floor at each client count, on the lab in `labFile` (its NATS servers' pids: `natsPids`). */
export async function measureWriteFloor(labFile: string, natsPids: readonly number[], opts: WriteFloorOptions, log: Log): Promise<WriteFloorRun[]> {
  const valueBytes = opts.valueBytes ?? HEAD_VALUE_BYTES;
  const dir = mkdtempSync(join(tmpdir(), 'post-write-floor-'));
  const run = randomBytes(4).toString('hex');
  const shared = `bench.floor.${run}.all`;
  const subjects = Array.from({ length: REPLICAS }, (_, i) => `bench.floor.${run}.r${i}`);
  const workers: Worker[] = [];
  try {
    workers.push(...subjects.map((s, i) => startWorker(labFile, 'replica', join(dir, `replica-${i}`), valueBytes, [shared, s])));
    await Promise.all(workers.map((w) => w.ready));
    const hostWorker = startWorker(labFile, 'host', join(dir, 'host'), valueBytes, [shared, ...subjects]);
    workers.push(hostWorker);
    const { port } = await hostWorker.ready;
    if (!port) throw new Error('write floor host told no port');
    const pid = (w: Worker) => w.child.pid!;
    const parts = () => ({ host: groupsCpuMs([pid(hostWorker)]), replicas: groupsCpuMs(workers.slice(0, REPLICAS).map(pid)), 'NATS servers': groupsCpuMs(natsPids) });
    const runs: WriteFloorRun[] = [];
    for (const clients of opts.clientCounts)
      for (const fanOut of opts.fanOut ? [false, true] : [false]) {
        const r = await measure(port, clients, fanOut, valueBytes, opts.durationMs, parts);
        const how = fanOut ? ', published once to both replicas' : '';
        log(`    write floor, ${clientsText(clients)}, ${kibText(valueBytes)} a write${how}: ${r.writesPerSecond} writes/s (${r.writes}); CPU per write ${r.serverCpuMsPerWrite} ms (${Object.entries(r.partsMsPerWrite).map(([k, v]) => `${k} ${v}`).join(', ')})`);
        runs.push(r);
      }
    return runs;
  } finally {
    for (const w of workers) {
      try {
        process.kill(-w.child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
