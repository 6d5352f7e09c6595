// Daemons of the reference instance, each started in a process group of its own so that it and
// every process it forks can be found (by group, in /proc) and stopped, also when the daemon
// re-parents or detaches a child. Linux only (/proc), like the rest of the benchmark harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

const STOP_GRACE_MS = 5000;
const KILL_WAIT_MS = 2000;
const POLL_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Group leaders started by this process: killed if it exits without stopping them. */
const groups = new Set<number>();
let exitHookInstalled = false;
function killGroupsOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // no such group left
  }
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux for every architecture we run on). */
const TICKS_PER_SECOND = 100;

/** Live (non-zombie) processes whose process group or session is one of `pgids`, with their CPU time. */
export function processesInGroups(pgids: readonly number[]): { pid: number; command: string; cpuMs: number }[] {
  if (pgids.length === 0) return [];
  const wanted = new Set(pgids);
  const found: { pid: number; command: string; cpuMs: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    // Fields after the command: state ppid pgrp session ... utime(12) stime(13) cutime(14) cstime(15).
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') continue;
    if (!wanted.has(Number(fields[2])) && !wanted.has(Number(fields[3]))) continue;
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    found.push({ pid: Number(entry), command: stat.slice(stat.indexOf('(') + 1, close), cpuMs: (ticks * 1000) / TICKS_PER_SECOND });
  }
  return found;
}

/** CPU time used so far by the live processes of the groups (and the children they reaped). */
export function groupsCpuMs(pgids: readonly number[]): number {
  return processesInGroups(pgids).reduce((sum, p) => sum + p.cpuMs, 0);
}

export class Daemon {
  private readonly child: ChildProcess;
  readonly pgid: number;

  /** Starts `command` as the leader of a new process group, output appended to `logPath`; as another account when `user` is given (root only). */
  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    readonly logPath: string,
    user?: { uid: number; gid: number },
  ) {
    const log = openSync(logPath, 'a');
    try {
      this.child = spawn(command, args, { stdio: ['ignore', log, log], detached: true, ...user });
    } finally {
      closeSync(log);
    }
    this.child.on('error', () => {}); // seen as `exited` by the readiness wait, with the log
    if (this.child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    this.pgid = this.child.pid;
    groups.add(this.pgid);
    killGroupsOnExit();
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get exitStatus(): string {
    return this.child.signalCode ?? `exit code ${this.child.exitCode}`;
  }

  /**
   * SIGTERM to the daemon (it stops its own children), then SIGKILL to whatever is left of its group
   * after a grace period; waits until none is left.
   */
  async stop(): Promise<void> {
    if (!this.exited) this.child.kill('SIGTERM');
    const killAt = Date.now() + STOP_GRACE_MS;
    while (processesInGroups([this.pgid]).length > 0 && Date.now() < killAt) await sleep(POLL_MS);
    const left = processesInGroups([this.pgid]);
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    signalGroup(this.pgid, 'SIGKILL');
    const giveUpAt = Date.now() + KILL_WAIT_MS;
    while (processesInGroups([this.pgid]).length > 0 && Date.now() < giveUpAt) await sleep(POLL_MS);
    groups.delete(this.pgid);
    const stuck = processesInGroups([this.pgid]);
    if (stuck.length > 0) throw new Error(`${this.name}: processes still running after SIGKILL: ${stuck.map((p) => `${p.pid} ${p.command}`).join(', ')}`);
  }
}

export interface MemorySample {
  /** Resident set: every page the processes have in memory (pages shared between them counted in each). */
  rssBytes: number;
  /** Proportional set: shared pages divided among the processes sharing them (the fair sum over many processes). */
  pssBytes: number;
  processes: number;
}

/** Memory of live processes, from /proc/PID/smaps_rollup (processes that exited meanwhile count nothing). */
export function processesMemory(pids: readonly number[]): MemorySample {
  const sample: MemorySample = { rssBytes: 0, pssBytes: 0, processes: 0 };
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') continue; // exited meanwhile
      throw error;
    }
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    sample.rssBytes += kib('Rss');
    sample.pssBytes += kib('Pss');
    sample.processes++;
  }
  return sample;
}

/** Memory of the live processes of the groups. */
export function groupsMemory(pgids: readonly number[]): MemorySample {
  return processesMemory(processesInGroups(pgids).map((p) => p.pid));
}

const LOG_TAIL_CHARS = 3000;

/** The end of a daemon's log, for an error that says why it did not start. */
export function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-LOG_TAIL_CHARS);
  } catch {
    return '(no log)';
  }
}

function accepts(endpoint: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(endpoint.port, endpoint.host);
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(false));
    socket.on('connect', () => (socket.destroy(), resolve(true)));
  });
}

/** Waits until `endpoint` accepts TCP connections; throws with the daemon's logs (`logs()`) when it exits first or `timeoutMs` pass. */
export async function untilAccepting(daemon: Daemon, endpoint: { host: string; port: number }, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(endpoint))) {
    if (daemon.exited || Date.now() > deadline)
      throw new Error(`reference ${daemon.name} ${daemon.exited ? `exited while starting (${daemon.exitStatus})` : `did not accept connections within ${timeoutMs} ms`}; its logs end:\n${logs()}`);
    await sleep(POLL_MS);
  }
}
