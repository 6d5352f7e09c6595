#!/usr/bin/env node
// One-time set-up for a fresh machine, run by `npm test` and `npm run lab`: installs the npm
// dependencies when missing or stale, and the system packages the tests use (nats-server; openssl for
// the NATS TLS certificates; docker-compose to validate the compose lab; docker.io and debootstrap to
// run it (the test starts dockerd and builds a stand-in base image where no image registry is
// reachable); isync, fetchmail, offlineimap3 and mutt for the real-client IMAP tests; chromium for the
// dashboard's browser tests) when they are missing and this user can install them. Otherwise it says how.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (m) => quiet || console.error(`setup: ${m}`);

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`setup: Node ${process.versions.node} is too old; POST needs Node 20.19 or newer (20.x is what it is tested on).`);
  process.exit(1);
}

// npm dependencies: install when node_modules is missing or older than the lock file.
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm dependencies (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd} || test -x /usr/bin/${cmd}`], { stdio: 'ignore' }).status === 0;
const canApt = process.getuid?.() === 0 && has('apt-get');

function aptInstall(pkgs) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: quiet ? 'ignore' : 'inherit', env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update'], { stdio: quiet ? 'ignore' : 'inherit', env });
  return install();
}

/** System packages: [command it provides, Debian package, needed (fail without) or optional]. */
const system = [
  ['nats-server', 'nats-server', true],
  // Makes the NATS TLS CA and server certificates of every lab (infra/nats/tls.ts).
  ['openssl', 'openssl', true],
  ['docker-compose', 'docker-compose', true], // validates the compose lab (no Docker engine needed)
  // The compose lab run for real: the Docker engine (the test starts dockerd as root) and debootstrap
  // for a stand-in of the Dockerfile's base image (infra/docker/stand-in-base.sh).
  ['dockerd', 'docker.io', false],
  ['debootstrap', 'debootstrap', false],
  ['mbsync', 'isync', false],
  ['fetchmail', 'fetchmail', false],
  ['offlineimap', 'offlineimap3', false],
  ['mutt', 'mutt', false],
  // A CalDAV client syncing both ways with a folder (issue 16's lab test).
  ['vdirsyncer', 'vdirsyncer', false],
  // A calendar for the terminal, listing and creating events in vdirsyncer's folder (issue 16's lab test).
  ['khal', 'khal', false],
  // A command-line XMPP sender (issue 17's lab test; Perl's Net::XMPP underneath).
  ['sendxmpp', 'sendxmpp', false],
  // A terminal XMPP client (libstrophe) and tmux to drive it: issue 17's lab test types into it and reads its screen.
  ['profanity', 'profanity', false],
  ['tmux', 'tmux', false],
  // The XMPP server `post bench im` measures POST against (a private instance the bench starts on loopback).
  ['prosody', 'prosody', false],
  // The CalDAV server `post bench calendar` measures POST against (a private instance the bench starts on loopback).
  ['radicale', 'radicale', false],
  // Headless browser for the lab dashboard's browser test (playwright-core drives it; it downloads nothing).
  ['chromium', 'chromium', false],
];
for (const [cmd, pkg, needed] of system) {
  if (has(cmd)) continue;
  if (canApt) {
    say(`installing ${pkg} (apt-get)`);
    if (aptInstall([pkg]) && has(cmd)) continue;
  }
  const how = `install it with: sudo apt-get install -y ${pkg}`;
  if (needed) {
    console.error(`setup: ${cmd} is missing and could not be installed here; ${how}`);
    process.exit(1);
  }
  say(`${cmd} is missing (optional: the tests that use it are skipped with a reason); ${how}`);
}
try {
  execFileSync('python3', ['--version'], { stdio: 'ignore' });
} catch {
  say('python3 is missing: the Python client tests will fail; install python3');
}
/** Python libraries the client tests drive the lab with: [module, Debian package]. Optional: their tests skip with a reason. */
// slixmpp: the XMPP client of issue 17's lab test.
const pythonModules = [['caldav', 'python3-caldav'], ['slixmpp', 'python3-slixmpp']];
/** Debian's python3 (its packages), not a python3 of pyenv or a virtualenv earlier on the PATH. */
const debianPython = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasModule = (mod) => spawnSync(debianPython, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
for (const [mod, pkg] of pythonModules) {
  if (hasModule(mod)) continue;
  if (canApt) {
    say(`installing ${pkg} (apt-get)`);
    if (aptInstall([pkg]) && hasModule(mod)) continue;
  }
  say(`python3 module ${mod} is missing (optional: the tests that use it are skipped with a reason); install it with: sudo apt-get install -y ${pkg}`);
}
