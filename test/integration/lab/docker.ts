// A Docker engine for the compose lab's test: the one running, or dockerd started here (as root) and
// stopped again by whoever started it. No engine (not installed, not root, or it does not come up):
// a reason to skip with.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

/** dockerd needs a few seconds; on a loaded machine, more. */
const ENGINE_START_TIMEOUT_MS = 60_000;
const ENGINE_STOP_TIMEOUT_MS = 30_000;

export interface DockerEngine {
  /** Stops dockerd if this process started it. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const engineAnswers = () => spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

const dockerdPath = () => which('dockerd') || (existsSync('/usr/sbin/dockerd') ? '/usr/sbin/dockerd' : '');

/** Why no engine can run here (checked without starting one), or undefined when one runs or can be started. */
export function noDockerEngine(): string | undefined {
  if (!which('docker')) return 'the docker command is missing (apt-get install -y docker.io; `node scripts/setup.mjs` does it as root)';
  if (!which('docker-compose')) return 'docker-compose is missing (apt-get install -y docker-compose)';
  if (engineAnswers()) return undefined;
  if (!dockerdPath()) return 'no Docker engine answers and dockerd is not installed (apt-get install -y docker.io)';
  if (process.getuid?.() !== 0) return 'no Docker engine answers and only root can start dockerd here';
  return undefined;
}

/** The running engine, or one started now; a string says why there is none. */
export async function dockerEngine(logPath: string): Promise<DockerEngine | string> {
  const missing = noDockerEngine();
  if (missing) return missing;
  if (engineAnswers()) return { stop: async () => {} };
  const out = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(dockerdPath(), [], { detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + ENGINE_START_TIMEOUT_MS;
  while (!engineAnswers()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
      return `dockerd did not come up within ${ENGINE_START_TIMEOUT_MS / 1000} s (no engine can run here); its log ends:\n${tail}`;
    }
    await sleep(500);
  }
  return {
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ENGINE_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
