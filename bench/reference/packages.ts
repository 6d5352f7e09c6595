// The Debian packages of the reference systems (mail: Postfix + Dovecot; instant messaging: Prosody),
// installed on demand. As root with apt-get, a missing package is installed non-interactively
// (Postfix preseeded to "No configuration", so it writes no /etc/postfix/main.cf and nothing prompts)
// with service starts denied for the duration of the install: the references run only as the private
// instances the benchmarks start themselves (a system Prosody would also hold port 5222).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, writeFileSync } from 'node:fs';

export const REFERENCE_PACKAGES = ['postfix', 'dovecot-imapd', 'dovecot-lmtpd'] as const;

/** What each package must have put on disk. */
const REQUIRED_FILES: Record<(typeof REFERENCE_PACKAGES)[number], string[]> = {
  postfix: ['/usr/sbin/postfix', '/usr/lib/postfix/sbin/master'],
  'dovecot-imapd': ['/usr/sbin/dovecot', '/usr/lib/dovecot/imap', '/usr/lib/dovecot/imap-login'],
  'dovecot-lmtpd': ['/usr/lib/dovecot/lmtp'],
};

export const INSTALL_HINT =
  'install them as root with: echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && ' +
  `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${REFERENCE_PACKAGES.join(' ')}`;

const INSTALL_TIMEOUT_MS = 10 * 60_000;
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

export class ReferenceMailUnavailableError extends Error {
  constructor(reason: string) {
    super(`the reference mail system (Postfix + Dovecot) is not available: ${reason}; ${INSTALL_HINT}`);
    this.name = 'ReferenceMailUnavailableError';
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function missingReferencePackages(): string[] {
  return missingOf(REQUIRED_FILES);
}

function missingOf(required: Record<string, readonly string[]>): string[] {
  return Object.keys(required).filter((pkg) => !required[pkg]!.every(executable));
}

/** Prosody, the instant-messaging benchmark's reference server, and its account tool. */
export const PROSODY_FILES: Record<string, readonly string[]> = { prosody: ['/usr/bin/prosody', '/usr/bin/prosodyctl'] };

/** Radicale, the calendar benchmark's reference CalDAV server (Python; Debian's package runs it as /usr/bin/radicale). */
export const RADICALE_FILES: Record<string, readonly string[]> = { radicale: ['/usr/bin/radicale'] };

export class ReferencePackagesUnavailableError extends Error {
  constructor(what: string, reason: string, packages: readonly string[]) {
    super(`${what} is not available: ${reason}; install it as root with: DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`);
    this.name = 'ReferencePackagesUnavailableError';
  }
}

function run(command: string, args: string[], input: string | undefined, log: (line: string) => void): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      log(`  ${command} did not finish within ${INSTALL_TIMEOUT_MS / 1000} s; stopping it`);
      child.kill('SIGTERM');
    }, INSTALL_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `${output}\n${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output });
    });
    child.stdin.end(input ?? '');
  });
}

let installing: Promise<void> | undefined;

/**
 * Makes sure Postfix, Dovecot IMAP and Dovecot LMTP are installed; installs what is missing when this
 * process is root and apt-get exists. Throws ReferenceMailUnavailableError saying what to install.
 */
export function ensureReferencePackages(log: (line: string) => void = () => {}): Promise<void> {
  installing ??= install(REQUIRED_FILES, (reason) => new ReferenceMailUnavailableError(reason), log).finally(() => (installing = undefined));
  return installing;
}

/** Makes sure Prosody is installed, as ensureReferencePackages does for the mail reference. Throws ReferencePackagesUnavailableError. */
export function ensureProsody(log: (line: string) => void = () => {}): Promise<void> {
  return install(PROSODY_FILES, (reason) => new ReferencePackagesUnavailableError('Prosody (the instant-messaging reference)', reason, Object.keys(PROSODY_FILES)), log);
}

/** Makes sure Radicale is installed, as ensureProsody does for Prosody. Throws ReferencePackagesUnavailableError. */
export function ensureRadicale(log: (line: string) => void = () => {}): Promise<void> {
  return install(RADICALE_FILES, (reason) => new ReferencePackagesUnavailableError('Radicale (the calendar reference)', reason, Object.keys(RADICALE_FILES)), log);
}

async function install(required: Record<string, readonly string[]>, unavailable: (reason: string) => Error, log: (line: string) => void): Promise<void> {
  const missing = missingOf(required);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw unavailable(`${missing.join(', ')} missing and this process is not root`);
  if (!executable('/usr/bin/apt-get')) throw unavailable(`${missing.join(', ')} missing and apt-get is not available`);
  log(`  installing ${missing.join(' ')} (apt-get; service starts denied${missing.includes('postfix') ? '; Postfix preseeded to "No configuration"' : ''})`);
  if (missing.includes('postfix')) await run('debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n', log);
  // A policy-rc.d that exits 101 is Debian's way to keep maintainer scripts from starting daemons.
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by a POST benchmark for the duration of one apt-get install\nexit 101\n', { mode: 0o755 });
  try {
    const args = ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '--no-install-recommends', ...missing];
    let result = await run('apt-get', args, undefined, log);
    if (!result.ok) {
      log('  apt-get install failed; running apt-get update and trying again');
      await run('apt-get', ['update'], undefined, log);
      result = await run('apt-get', args, undefined, log);
    }
    const still = missingOf(required);
    if (still.length > 0) throw unavailable(`apt-get could not install ${still.join(', ')}:\n${result.output.trim().split('\n').slice(-15).join('\n')}`);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
}

/** Why a reference cannot run here (its packages are missing and cannot be installed), or undefined once `ensure` succeeded: tests skip with the reason. */
export async function referenceUnavailable(ensure: () => Promise<void>): Promise<string | undefined> {
  try {
    await ensure();
    return undefined;
  } catch (error) {
    if (error instanceof ReferenceMailUnavailableError || error instanceof ReferencePackagesUnavailableError) return error.message;
    throw error;
  }
}
