// One nats-server process: started from a config file with its output appended to a log file,
// either as our child or detached (it outlives us; another process stops it by pid). A process we
// did not start (read back from a pid file) is adopted: we can signal it and watch it exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { serverReady } from './monitor';

export interface NatsServerSpec {
  name: string;
  configPath: string;
  logPath: string;
  /** `nats://host:port` for clients. */
  clientUrl: string;
  /** `http://host:port` of the monitoring endpoint. */
  httpUrl: string;
}

const POLL_MS = 50;
const EXIT_WAIT_MS = 5000;
const LOG_TAIL_CHARS = 2000;
/**
 * Go scheduler threads per server (GOMAXPROCS) unless the environment sets it. The servers started here
 * share a few cores with each other and with the nodes (a lab, a test): with one thread each, a
 * server's goroutines hand work over without waking a second OS thread. Measured under the mail
 * bench's mixed load on two cores (three runs each): the three servers' context switches 137-181k ->
 * 84-94k in 15 s and their CPU 3.3-4.3 -> 3.0-3.1 s, at the same throughput.
 */
const NATS_SERVER_GOMAXPROCS = 1;

/** Children started attached are killed if this process exits first, so no test leaks a server. */
const attached = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAttachedOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of attached) child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `pid` is a live process (zombies count as dead). */
export function isAlive(pid: number): boolean {
  // 0 and negative pids name process groups: never "alive" as one process (and never signalled).
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

/** Whether `pid` is a nats-server running `configPath`: a pid file may outlive its process. */
export function isNatsServerWithConfig(pid: number, configPath: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((arg) => arg.endsWith('nats-server')) && argv.includes(configPath);
  } catch {
    return isAlive(pid);
  }
}

export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private pidValue: number | undefined;

  constructor(
    readonly spec: NatsServerSpec,
    private readonly binary: string,
  ) {}

  /** A process started elsewhere (detached), known by its pid. */
  static adopt(spec: NatsServerSpec, binary: string, pid: number): NatsServerProcess {
    const server = new NatsServerProcess(spec, binary);
    server.pidValue = pid;
    return server;
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  get running(): boolean {
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null;
    return this.pidValue !== undefined && isAlive(this.pidValue);
  }

  start(opts: { detached?: boolean } = {}): void {
    if (this.running) throw new Error(`nats-server ${this.spec.name} is already running (pid ${this.pidValue})`);
    const log = openSync(this.spec.logPath, 'a');
    try {
      const child = spawn(this.binary, ['-c', this.spec.configPath], {
        stdio: ['ignore', log, log],
        env: { ...process.env, GOMAXPROCS: process.env.GOMAXPROCS ?? String(NATS_SERVER_GOMAXPROCS) },
        detached: opts.detached === true,
      });
      if (child.pid === undefined) throw new Error(`could not start ${this.binary}: no pid`);
      child.on('error', () => {}); // reported through `running` and waitReady's log tail
      this.child = child;
      this.pidValue = child.pid;
      if (opts.detached) child.unref();
      else {
        attached.add(child);
        killAttachedOnExit();
        child.once('exit', () => attached.delete(child));
      }
    } finally {
      closeSync(log);
    }
  }

  /** Waits until the server serves clients and routes to `routesWanted` members; throws with its log on failure. */
  async waitReady(routesWanted: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`nats-server ${this.spec.name} exited while starting:\n${this.logTail()}`);
      if (await serverReady(this.spec.httpUrl, routesWanted)) return;
      await sleep(POLL_MS);
    }
    throw new Error(
      `nats-server ${this.spec.name} not ready within ${timeoutMs} ms ` +
        `(wanted ${routesWanted} routes; monitoring at ${this.spec.httpUrl}):\n${this.logTail()}`,
    );
  }

  /** Sends `signal`; for a terminating signal, waits (bounded) until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.signal(signal)) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGHUP' || signal === 'SIGUSR1') return;
    await this.waitExit(EXIT_WAIT_MS);
  }

  /** SIGTERM, then SIGKILL if the server has not exited after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    this.signal('SIGCONT'); // a stopped (SIGSTOP) process cannot act on SIGTERM
    if (this.signal('SIGTERM') && !(await this.waitExit(graceMs))) await this.kill('SIGKILL');
  }

  /** Sends a signal to a running server; false when there is none. */
  private signal(signal: NodeJS.Signals): boolean {
    if (this.pidValue === undefined || !this.running) return false;
    try {
      process.kill(this.pidValue, signal);
      return true;
    } catch {
      return false; // exited meanwhile
    }
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
    return true;
  }

  logTail(): string {
    try {
      const text = readFileSync(this.spec.logPath, 'utf8');
      return text.slice(-LOG_TAIL_CHARS);
    } catch {
      return '(no log)';
    }
  }
}
