// The reference of the calendar benchmark: Debian's Radicale (3.x) as a private instance under one
// temporary directory, started and stopped by the harness. Nothing system-wide is touched: Radicale
// reads a generated config (`--config`, nothing from /etc/radicale), keeps its collections in that
// directory, listens on one free 127.0.0.1 port only, and runs unprivileged (as the `radicale` account
// when started by root, as the caller otherwise).
//
// Users log in with HTTP Basic against an htpasswd file of plain passwords: the same header the
// benchmark sends POST. Radicale's own delay after a failed login is off (none fail here); its rights
// are owner_only (a user reaches only /USER/), as POST's are.
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, onFreshPorts } from '../../infra/nats/free-ports';
import { LOOPBACK } from './config';
import { account, type MailUser } from './mailServer';
import { ensureRadicale } from './packages';
import { Daemon, groupsCpuMs, logTail, untilAccepting } from './processes';

const READY_TIMEOUT_MS = 30_000;
/** Radicale's own bound on concurrent connections: above the benchmark's clients. */
const RADICALE_CONNECTIONS_MAX = 64;

/** The config file of the instance. */
export function radicaleConfig(root: string, port: number): string {
  return [
    '[server]',
    `hosts = ${LOOPBACK}:${port}`,
    `max_connections = ${RADICALE_CONNECTIONS_MAX}`,
    '[auth]',
    'type = htpasswd',
    `htpasswd_filename = ${join(root, 'users')}`,
    'htpasswd_encryption = plain',
    'delay = 0',
    '[rights]',
    'type = owner_only',
    '[storage]',
    `filesystem_folder = ${join(root, 'collections')}`,
    '[web]',
    'type = none',
    '[logging]',
    'level = warning',
    'mask_passwords = True',
    '',
  ].join('\n');
}

export interface ReferenceRadicale {
  /** http://127.0.0.1:PORT/ */
  origin: string;
  cpuMs(): number;
  /** Writes events as files into the first user's collection `slug` (made before): how an operator imports into Radicale's storage. */
  importEvents(slug: string, events: readonly { name: string; ics: string }[]): Promise<void>;
  stop(): Promise<void>;
}

/** Installs Radicale if needed, writes its users, starts it and waits until it accepts connections (on a fresh port again if its port was taken). */
export async function startReferenceRadicale(opts: { users: readonly MailUser[]; log?: (line: string) => void }): Promise<ReferenceRadicale> {
  await ensureRadicale(opts.log);
  return onFreshPorts(() => startRadicale(opts.users));
}

/** One start on a port found free, in a folder of its own; removes both when it fails. */
async function startRadicale(users: readonly MailUser[]): Promise<ReferenceRadicale> {
  const runAs = process.getuid?.() === 0 ? account('radicale') : undefined;
  const root = mkdtempSync(join(tmpdir(), 'post-ref-radicale-'));
  let daemon: Daemon | undefined;
  const stop = async () => {
    try {
      await daemon?.stop();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    const [port] = await freePorts(1, LOOPBACK);
    const config = join(root, 'radicale.conf');
    mkdirSync(join(root, 'collections'));
    writeFileSync(join(root, 'users'), users.map((u) => `${u.address}:${u.password}\n`).join(''));
    writeFileSync(config, radicaleConfig(root, port!));
    if (runAs) for (const path of [root, join(root, 'collections'), join(root, 'users'), config]) chownSync(path, runAs.uid, runAs.gid);
    const out = join(root, 'radicale.out');
    daemon = new Daemon('radicale', 'radicale', ['--config', config], out, runAs);
    await untilAccepting(daemon, { host: LOOPBACK, port: port! }, READY_TIMEOUT_MS, () => logTail(out));
    const groups = [daemon.pgid];
    const importEvents = async (slug: string, events: readonly { name: string; ics: string }[]) => {
      const folder = join(root, 'collections', 'collection-root', users[0]!.address, slug);
      for (const { name, ics } of events) {
        writeFileSync(join(folder, name), ics);
        if (runAs) chownSync(join(folder, name), runAs.uid, runAs.gid);
      }
    };
    return { origin: `http://${LOOPBACK}:${port}/`, cpuMs: () => groupsCpuMs(groups), importEvents, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
