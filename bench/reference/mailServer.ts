// The reference mail system of the mail benchmark: Debian's Postfix delivering over LMTP to Debian's
// Dovecot, as a private instance under one directory, started and stopped by the harness. Nothing
// system-wide is touched: Postfix runs from its own config_directory (`-c`), Dovecot from its own
// dovecot.conf (`-c`), both listen on free 127.0.0.1 ports only, and neither needs systemd.
//
//   const mail = await startReferenceMail({ dir, users: [{ address, password }] });
//   // SMTP submission with AUTH PLAIN at mail.smtp, IMAP (plaintext LOGIN/PLAIN) at mail.imap
//   await mail.stop();
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, onFreshPorts } from '../../infra/nats/free-ports';
import { LOOPBACK, dovecotConf, dovecotUsers, postfixMailboxes, postfixMainCf, postfixMasterCf, type ReferenceLayout, type ReferencePorts } from './config';
import { Daemon, groupsCpuMs, groupsMemory, processesInGroups, type MemorySample } from './processes';
import { ensureReferencePackages } from './packages';

export interface MailUser {
  address: string;
  password: string;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface ReferenceMail {
  smtp: Endpoint;
  imap: Endpoint;
  /** Process groups of the daemons, for checking that stop() left nothing behind. */
  processGroups: readonly number[];
  /** CPU time used so far by the instance's processes (those still running and what they reaped). */
  cpuMs(): number;
  /** Memory of Dovecot's processes (they hold the mailboxes and the IMAP sessions). */
  dovecotMemory(): MemorySample;
  /** Log files of both daemons. */
  logs: { postfix: string; dovecot: string };
  /** Stops both daemons and every process they started; removes the directory if it created it. */
  stop(): Promise<void>;
}

export interface ReferenceMailOptions {
  /** Instance directory (created if missing); a fresh temporary one when omitted. */
  dir?: string;
  users: readonly MailUser[];
  /** Bound on the wait for both daemons to accept connections. */
  readyTimeoutMs?: number;
  /** Progress lines (package installation). */
  log?: (line: string) => void;
  /** Keep the directory after stop() (its logs and mail), even one this call created. */
  keepDir?: boolean;
}

const READY_TIMEOUT_MS = 30_000;
const POSTFIX_CHECK_TIMEOUT_MS = 60_000;
const POLL_MS = 50;
const LOG_TAIL_CHARS = 3000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Uid and gid of a system account (Debian's packages create `postfix`, `dovecot`, `prosody`; `mail` is base). */
export function account(name: string): { uid: number; gid: number } {
  try {
    return { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })) };
  } catch {
    throw new Error(`reference server: the system account '${name}' is missing (its Debian package creates it)`);
  }
}

function layoutUnder(root: string): ReferenceLayout {
  return {
    root,
    postfixConfigDir: join(root, 'postfix', 'etc'),
    postfixQueueDir: join(root, 'postfix', 'queue'),
    postfixDataDir: join(root, 'postfix', 'data'),
    dovecotBaseDir: join(root, 'dovecot', 'run'),
    dovecotStateDir: join(root, 'dovecot', 'state'),
    dovecotUsersFile: join(root, 'dovecot', 'users'),
    mailDir: join(root, 'mail'),
    logDir: join(root, 'log'),
  };
}

/** Whether something accepts TCP connections and greets with a line starting with `greeting`. */
function greets(endpoint: Endpoint, greeting: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(endpoint.port, endpoint.host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    let received = '';
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\n')) done(received.startsWith(greeting));
    });
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-LOG_TAIL_CHARS);
  } catch {
    return '(no log)';
  }
}

/** Writes the configuration files and the directories the daemons need, with the owners they need. */
function prepare(layout: ReferenceLayout, ports: ReferencePorts, users: readonly MailUser[]): void {
  const postfixUser = account('postfix');
  const dovecotUser = account('dovecot');
  const mailUser = account('mail');
  // The daemons drop privileges, and they must still reach their files: the path to the root must
  // be traversable (mkdtemp makes 0700 directories).
  for (const dir of [layout.root, join(layout.root, 'postfix'), join(layout.root, 'dovecot'), layout.postfixConfigDir, layout.logDir]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }
  mkdirSync(layout.postfixQueueDir, { recursive: true, mode: 0o755 });
  mkdirSync(layout.postfixDataDir, { recursive: true, mode: 0o700 });
  chownSync(layout.postfixDataDir, postfixUser.uid, postfixUser.gid);
  mkdirSync(layout.mailDir, { recursive: true, mode: 0o700 });
  chownSync(layout.mailDir, mailUser.uid, mailUser.gid);
  const domains = [...new Set(users.map((u) => u.address.split('@')[1]!))];
  const mailboxesFile = join(layout.postfixConfigDir, 'virtual_mailboxes');
  writeFileSync(mailboxesFile, postfixMailboxes(users));
  writeFileSync(join(layout.postfixConfigDir, 'main.cf'), postfixMainCf(layout, ports, domains, mailboxesFile));
  writeFileSync(join(layout.postfixConfigDir, 'master.cf'), postfixMasterCf(ports));
  writeFileSync(layout.dovecotUsersFile, dovecotUsers(users), { mode: 0o640 });
  chownSync(layout.dovecotUsersFile, 0, dovecotUser.gid);
  const instance = `post-ref-${process.pid}-${ports.imap}`;
  writeFileSync(join(layout.root, 'dovecot', 'dovecot.conf'), dovecotConf(layout, ports, mailUser, instance));
}

/** `postfix check` creates the queue's subdirectories with Postfix's owners and modes. */
function postfixCheck(layout: ReferenceLayout): void {
  try {
    execFileSync('/usr/sbin/postfix', ['-c', layout.postfixConfigDir, 'check'], { stdio: 'pipe', timeout: POSTFIX_CHECK_TIMEOUT_MS });
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`reference mail: postfix check failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

async function waitReady(daemons: readonly { daemon: Daemon; logs: string[] }[], probes: { name: string; endpoint: Endpoint; greeting: string; log: string }[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(probes);
  while (pending.size > 0) {
    for (const { daemon, logs } of daemons) {
      if (daemon.exited) throw new Error(`reference mail: ${daemon.name} exited while starting (${daemon.exitStatus}); its logs end:\n${logs.map(tail).join('\n')}`);
    }
    for (const probe of [...pending]) if (await greets(probe.endpoint, probe.greeting)) pending.delete(probe);
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const probe = [...pending][0]!;
      throw new Error(`reference mail: ${probe.name} did not answer on ${probe.endpoint.host}:${probe.endpoint.port} within ${timeoutMs} ms; its log ends:\n${tail(probe.log)}`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * Installs the packages if needed, starts Dovecot then Postfix, and waits until both answer; on fresh
 * ports again when one of the ports found free was taken before a daemon bound it.
 */
export async function startReferenceMail(opts: ReferenceMailOptions): Promise<ReferenceMail> {
  if (opts.users.length === 0) throw new Error('reference mail: at least one user is needed');
  if (process.getuid?.() !== 0) throw new Error('reference mail: Postfix and Dovecot must be started as root (they drop privileges themselves)');
  await ensureReferencePackages(opts.log);
  return onFreshPorts(() => startDaemons(opts));
}

/** One start on ports found free; stops what it started (and removes the folder it made) when it fails. */
async function startDaemons(opts: ReferenceMailOptions): Promise<ReferenceMail> {
  const created = opts.dir === undefined || !existsSync(opts.dir);
  const root = opts.dir ?? mkdtempSync(join(tmpdir(), 'post-refmail-'));
  const layout = layoutUnder(root);
  const [submission, imap, lmtp, auth] = await freePorts(4, LOOPBACK);
  const ports: ReferencePorts = { submission: submission!, imap: imap!, lmtp: lmtp!, auth: auth! };
  const logs = { postfix: join(layout.logDir, 'postfix.log'), dovecot: join(layout.logDir, 'dovecot.log') };
  const daemons: Daemon[] = [];
  const stop = async () => {
    // Postfix first: it delivers into Dovecot. Reverse of the start order.
    const errors: unknown[] = [];
    for (const daemon of [...daemons].reverse()) await daemon.stop().catch((e) => errors.push(e));
    if (created && !opts.keepDir) rmSync(root, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  };
  try {
    prepare(layout, ports, opts.users);
    postfixCheck(layout);
    // Dovecot first, and answering (auth included) before Postfix starts: a submission smtpd that
    // finds no SASL socket exits, and Postfix's master then throttles smtpd for a minute.
    const timeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    daemons.push(new Daemon('dovecot', '/usr/sbin/dovecot', ['-F', '-c', join(root, 'dovecot', 'dovecot.conf')], join(layout.logDir, 'dovecot.out')));
    const dovecot = { daemon: daemons[0]!, logs: [daemons[0]!.logPath, logs.dovecot] };
    const smtp = { host: LOOPBACK, port: ports.submission };
    const imapEndpoint = { host: LOOPBACK, port: ports.imap };
    await waitReady(
      [dovecot],
      [
        { name: 'Dovecot IMAP', endpoint: imapEndpoint, greeting: '* OK', log: logs.dovecot },
        { name: 'Dovecot LMTP', endpoint: { host: LOOPBACK, port: ports.lmtp }, greeting: '220', log: logs.dovecot },
        { name: 'Dovecot auth', endpoint: { host: LOOPBACK, port: ports.auth }, greeting: 'VERSION', log: logs.dovecot },
      ],
      timeoutMs,
    );
    daemons.push(new Daemon('postfix', '/usr/lib/postfix/sbin/master', ['-d', '-c', layout.postfixConfigDir], join(layout.logDir, 'postfix.out')));
    await waitReady(
      [dovecot, { daemon: daemons[1]!, logs: [daemons[1]!.logPath, logs.postfix] }],
      [{ name: 'Postfix submission', endpoint: smtp, greeting: '220', log: logs.postfix }],
      timeoutMs,
    );
    const processGroups = daemons.map((d) => d.pgid);
    const dovecotGroup = [daemons[0]!.pgid];
    return { smtp, imap: imapEndpoint, processGroups, cpuMs: () => groupsCpuMs(processGroups), dovecotMemory: () => groupsMemory(dovecotGroup), logs, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

export { processesInGroups };
