// What a phase of the mail benchmark measures against: a running mail system (the reference or
// POST) with its users, endpoints, and what it can tell about its own processes (CPU, memory).
// Also the CPU meter every phase uses: this process is the clients, the target's processes the server.
import type { Endpoint, MailUser } from '../reference/mailServer';
import type { MemorySample } from '../reference/processes';
import { round } from '../stats';
import type { WriteFloorOptions, WriteFloorRun } from './writeFloor';

export type { Endpoint, MailUser, MemorySample };

/** Another place users can be hosted, holding none of the target's users: the user-count growth. */
export interface SpareHost {
  /** IMAP of the host (users added here log in there). */
  imap: Endpoint;
  /** Memory of the host's processes. */
  memory(): MemorySample;
  /** Creates the users and hosts them here; resolves once each can log in, or with those that failed and why. */
  addUsers(users: readonly MailUser[], log: Log): Promise<{ failed: { user: MailUser; error: string }[] }>;
}

/**
 * Another node of the users' organisation, where a user hosted elsewhere logs in (POST: a session
 * there delivers the user's mail itself, issue 13), and control of the users' home node.
 */
export interface AwayHost {
  smtp: Endpoint;
  imap: Endpoint;
  /** Kills the node that hosts the users (SIGKILL), resolving once it is gone. */
  stopHome(): Promise<void>;
  /** Starts it again from its data, resolving once it serves. */
  startHome(): Promise<void>;
}

export interface MailTarget {
  name: string;
  smtp: Endpoint;
  imap: Endpoint;
  /** Every user the selected phases asked for, with its password; phases find theirs by local part. */
  users: readonly MailUser[];
  /** CPU time used so far by the target's server processes, when it can tell: shows who was busy. */
  serverCpuMs?: () => number;
  /** The same, by part of the server, where it has parts worth telling apart (POST: its first node, its other nodes, its NATS servers). */
  serverCpuParts?: () => Record<string, number>;
  /** Memory of the processes that serve the users' mailboxes (POST: the hosting node; reference: Dovecot). */
  serverMemory?: () => MemorySample;
  /** A host with no users yet (POST: another node of the lab); absent where users cost nothing until they log in. */
  spareHost?: SpareHost;
  /** Absent where there is one server (the reference): nothing is away from home there. */
  awayHost?: AwayHost;
  /**
   * The replicated-write floor on this target's machine and broker (POST: writeFloor.ts on the lab's
   * NATS servers), at each client count, for a value of the size asked; absent where there is nothing
   * to replicate (the reference).
   */
  writeFloor?: (opts: WriteFloorOptions, log: Log) => Promise<WriteFloorRun[]>;
  /** The endpoints of the node that hosts `user`, when users live on different nodes (POST with `--spread`); else smtp and imap above. */
  endpointsOf?: (user: MailUser) => { smtp: Endpoint; imap: Endpoint };
}

/** Where `user`'s mail client connects for IMAP: its own node, or the target's one server. */
export const imapOf = (target: MailTarget, user: MailUser): Endpoint => target.endpointsOf?.(user).imap ?? target.imap;
/** Where `user`'s mail client submits: its own node, or the target's one server. */
export const smtpOf = (target: MailTarget, user: MailUser): Endpoint => target.endpointsOf?.(user).smtp ?? target.smtp;

/** `spread`: users to host across every node of the target (the rest on its first), when it has several. */
export type MailTargetProvider = (users: readonly MailUser[], placement?: { spread: readonly MailUser[] }) => Promise<{ target: MailTarget; stop: () => Promise<void> }>;

export type Log = (line: string) => void;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The target's user with this local part; a phase asks only for users it declared. */
export function userNamed(target: MailTarget, localPart: string): MailUser {
  const user = target.users.find((u) => u.address.split('@')[0] === localPart);
  if (!user) throw new Error(`${target.name}: no user ${localPart}@ (the phase did not declare it)`);
  return user;
}

export interface CpuUse {
  wallMs: number;
  clientMs: number;
  serverMs: number | null;
  clientPercent: number;
  serverPercent: number | null;
  /** Of serverPercent, each part's share (percent of one core), where the target tells its parts. */
  serverParts?: Record<string, number>;
}

/** A server using less than this much of one core is quiet: the work left over from the last run is done. */
const QUIET_PERCENT = 15;
const QUIET_WINDOW_MS = 500;
const QUIET_WAIT_MAX_MS = 30_000;

/**
 * Waits until the target's server is quiet (one window under QUIET_PERCENT), at most QUIET_WAIT_MAX_MS:
 * a lab just started, or just loaded, still replicates, repairs and warms standbys for a while, and
 * that work would be counted against the next measurement.
 */
export async function untilQuiet(target: Pick<MailTarget, 'serverCpuMs'>, log: Log): Promise<void> {
  const cpu = target.serverCpuMs;
  if (!cpu) return;
  const deadline = performance.now() + QUIET_WAIT_MAX_MS;
  for (;;) {
    const [t0, c0] = [performance.now(), cpu()];
    await sleep(QUIET_WINDOW_MS);
    const percent = round(((cpu() - c0) / (performance.now() - t0)) * 100, 0);
    if (percent < QUIET_PERCENT) return;
    if (performance.now() > deadline) return log(`    WARNING: the server still used ${percent}% of a core after ${QUIET_WAIT_MAX_MS / 1000} s without load; measuring anyway`);
  }
}

/** CPU used by this process (the clients) and by the target's server from now until the returned function is called. */
export function cpuMeter(target: { serverCpuMs?: () => number; serverCpuParts?: () => Record<string, number> }): () => CpuUse {
  const parts = target.serverCpuParts;
  const [wall0, client0, server0, parts0] = [performance.now(), process.cpuUsage(), target.serverCpuMs?.(), parts?.()];
  return () => {
    const wallMs = performance.now() - wall0;
    const client = process.cpuUsage(client0);
    const clientMs = (client.user + client.system) / 1000;
    const server = target.serverCpuMs?.();
    const serverMs = server === undefined || server0 === undefined ? null : server - server0;
    return {
      wallMs: round(wallMs, 0),
      clientMs: round(clientMs, 0),
      serverMs: serverMs === null ? null : round(serverMs, 0),
      clientPercent: round((clientMs / wallMs) * 100, 0),
      serverPercent: serverMs === null ? null : round((serverMs / wallMs) * 100, 0),
      ...(parts && parts0 ? { serverParts: partsPercent(parts0, parts(), wallMs) } : {}),
    };
  };
}

function partsPercent(before: Record<string, number>, after: Record<string, number>, wallMs: number): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([part, ms]) => [part, round(((ms - (before[part] ?? 0)) / wallMs) * 100, 0)]));
}

export const cpuText = (cpu: CpuUse) =>
  `CPU: clients ${cpu.clientPercent}%, server ${cpu.serverPercent === null ? 'unknown' : `${cpu.serverPercent}%`} of one core` +
  (cpu.serverParts ? ` (${Object.entries(cpu.serverParts).map(([part, percent]) => `${part} ${percent}%`).join(', ')})` : '');

export const perOpText = (phase: { serverCpuMsPerOp: number | null; clientCpuMsPerOp: number }) =>
  `; CPU per command: server ${phase.serverCpuMsPerOp ?? 'unknown'} ms, clients ${phase.clientCpuMsPerOp} ms`;

/** CPU per command of both sides, in ms. */
export function cpuPerOp(cpu: CpuUse, ops: number) {
  return { serverCpuMsPerOp: cpu.serverMs === null || ops === 0 ? null : round(cpu.serverMs / ops, 3), clientCpuMsPerOp: ops === 0 ? 0 : round(cpu.clientMs / ops, 3) };
}

/**
 * Logs a warning when the clients used more CPU than the server: the figures of such a phase are
 * bounded by the clients (both share this machine's cores), not by the server. Returns whether it did.
 */
export function warnIfClientBound(cpu: CpuUse, what: string, log: Log): boolean {
  if (cpu.serverMs === null || cpu.clientMs <= cpu.serverMs) return false;
  log(`    WARNING: ${what}: the clients used more CPU than the server (${cpu.clientMs} against ${cpu.serverMs} ms): this measures the clients as much as the server`);
  return true;
}

/** Runs `work` over `items` with at most `concurrency` at once, in order of start. */
export async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** A small seeded random source (mulberry32): the same seed gives the same command mix. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const mib = (bytes: number) => round(bytes / (1024 * 1024), 1);

/** `1 client`, `10 clients`. */
export const clientsText = (n: number) => `${n} client${n === 1 ? '' : 's'}`;
/** A size in whole KiB, as the phases name their messages and values ("4 KiB", "100 KiB"). */
export const kibText = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
