// The reference of the instant-messaging benchmark: Debian's Prosody as a private instance under one
// temporary directory, started and stopped by the harness. Nothing system-wide is touched: Prosody
// reads a generated config (`--config`), keeps its data, pid and logs in that directory, listens for
// clients on one free 127.0.0.1 port and for nothing else (no s2s, no HTTP), and runs unprivileged
// (as the `prosody` account when started by root, as the caller otherwise). Users are created with
// `prosodyctl register` before it starts.
//
// The modules are what a chat server of today runs and what POST does for the same message: roster,
// presence, carbons, and MAM with every message archived (POST keeps every message in the user's log).
// Plaintext PLAIN over loopback: the benchmark's client does not use TLS, on either target.
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, onFreshPorts } from '../../infra/nats/free-ports';
import { inPool } from '../mail/target';
import { LOOPBACK } from './config';
import { account, type Endpoint, type MailUser } from './mailServer';
import { ensureProsody } from './packages';
import { Daemon, groupsCpuMs, logTail, untilAccepting } from './processes';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 30_000;
const REGISTER_TIMEOUT_MS = 30_000;
/** prosodyctl processes at once: each is a short Lua start-up. */
const REGISTER_CONCURRENCY = 4;
const lua = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for these paths and names

/** prosody.cfg.lua of the instance (nothing included from /etc/prosody). */
export function prosodyConfig(root: string, port: number, domain: string): string {
  return [
    `pidfile = ${lua(join(root, 'prosody.pid'))}`,
    `data_path = ${lua(join(root, 'data'))}`,
    `certificates = ${lua(join(root, 'certs'))}`,
    `log = { info = ${lua(join(root, 'prosody.log'))}; error = ${lua(join(root, 'prosody.err'))} }`,
    'modules_enabled = { "roster"; "saslauth"; "disco"; "carbons"; "mam"; "ping"; "presence"; "message"; "iq" }',
    'modules_disabled = { "s2s" }',
    `c2s_ports = { ${port} }`,
    `c2s_interfaces = { ${lua(LOOPBACK)} }`,
    'c2s_direct_tls_ports = {}',
    'legacy_ssl_ports = {}',
    's2s_ports = {}',
    'c2s_require_encryption = false',
    'allow_unencrypted_plain_auth = true',
    'authentication = "internal_hashed"',
    'storage = "internal"',
    'default_archive_policy = true',
    'archive_expires_after = "never"',
    `VirtualHost ${lua(domain)}`,
    '',
  ].join('\n');
}

export interface ReferenceProsody {
  xmpp: Endpoint;
  processGroups: readonly number[];
  /** CPU time used so far by Prosody. */
  cpuMs(): number;
  log: string;
  stop(): Promise<void>;
}

/** Installs Prosody if needed, creates the users of one domain, starts it and waits until it accepts connections (on a fresh port again if its port was taken). */
export async function startReferenceProsody(opts: { users: readonly MailUser[]; log?: (line: string) => void }): Promise<ReferenceProsody> {
  const domains = [...new Set(opts.users.map((u) => u.address.split('@')[1]!))];
  if (domains.length !== 1) throw new Error(`reference Prosody: the users must share one domain, got ${domains.join(', ') || 'none'}`);
  await ensureProsody(opts.log);
  return onFreshPorts(() => startProsody(opts.users, domains[0]!));
}

/** One start on a port found free, in a folder of its own; removes both when it fails. */
async function startProsody(users: readonly MailUser[], xmppDomain: string): Promise<ReferenceProsody> {
  const runAs = process.getuid?.() === 0 ? account('prosody') : undefined;
  const root = mkdtempSync(join(tmpdir(), 'post-ref-prosody-'));
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
    const config = join(root, 'prosody.cfg.lua');
    for (const dir of ['data', 'certs']) mkdirSync(join(root, dir));
    writeFileSync(config, prosodyConfig(root, port!, xmppDomain));
    if (runAs) for (const path of [root, join(root, 'data'), join(root, 'certs'), config]) chownSync(path, runAs.uid, runAs.gid);
    await inPool(users, REGISTER_CONCURRENCY, async ({ address, password }) => {
      const [local, domain] = address.split('@');
      await run('prosodyctl', ['--config', config, 'register', local!, domain!, password], { timeout: REGISTER_TIMEOUT_MS, ...runAs }).catch((e: { stderr?: string; message: string }) => {
        throw new Error(`reference Prosody: prosodyctl register ${address} failed: ${e.stderr?.trim() || e.message}`);
      });
    });
    daemon = new Daemon('prosody', 'prosody', ['-F', '--config', config], join(root, 'prosody.out'), runAs);
    const xmpp = { host: LOOPBACK, port: port! };
    await untilAccepting(daemon, xmpp, READY_TIMEOUT_MS, () => `${logTail(join(root, 'prosody.out'))}\n${logTail(join(root, 'prosody.err'))}`);
    const groups = [daemon.pgid];
    return { xmpp, processGroups: groups, cpuMs: () => groupsCpuMs(groups), log: join(root, 'prosody.log'), stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
