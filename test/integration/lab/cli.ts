// Run the real `post` command as a user would, from tests.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAlive } from '../../../infra/nats/process';
import { readLab } from '../../../lab/labFile';
import { labPath, stopLab } from '../../../lab/processes';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const POST = fileURLToPath(new URL('../../../bin/post', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function post(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  try {
    const r = await run(POST, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/**
 * Stop a lab a test started: `post lab down`, then, whatever that did (on a loaded machine the command
 * can run out of time before it stopped anything), stop in this process whatever lab.json names that
 * still runs, so a failed or slow test leaves nothing behind. The command's result is returned.
 */
export async function labDown(dir: string, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const path = labPath(dir);
  const lab = existsSync(path) ? readLab(path) : undefined;
  try {
    return await post(['lab', 'down', '--dir', dir], opts);
  } finally {
    if (lab) await stopLab(lab);
  }
}

export async function postJson<T = any>(args: string[], opts?: { timeoutMs?: number }): Promise<T> {
  const r = await post([...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`post ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const LOG_TAIL_LINES = 40;

/** A node's log, a line each (none if it has no log yet). */
const logLines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n') : []);

/**
 * For a failed lab test: which nodes are gone, and the last lines of each node's log (warnings and
 * errors first), so that a failure on a loaded CI machine can be read after the lab is removed.
 */
export function labTrouble(lab: { nodes: { id: string; pid: number; log: string }[] } | undefined): string {
  if (!lab) return 'no lab';
  return lab.nodes
    .map((n) => {
      const lines = logLines(n.log);
      const loud = lines.filter((l) => /"level":"(warn|error|fatal)"/.test(l)).slice(-LOG_TAIL_LINES);
      return [`node ${n.id.slice(0, 8)} pid ${n.pid} ${isAlive(n.pid) ? 'alive' : 'GONE'} (${n.log})`, ...loud, '  ...', ...lines.slice(-LOG_TAIL_LINES)].join('\n  ');
    })
    .join('\n');
}

/**
 * For a failed scenario on the lab: per node, how often each warning or error event was logged, and
 * the last lines that speak of forks, deliveries, drops or standbys (what a lost or doubled mail
 * leaves behind), so that a failure on a loaded CI machine can be read after the lab is removed.
 */
export function labEvents(lab: { nodes: { id: string; log: string }[] } | undefined): string {
  if (!lab) return 'no lab';
  return lab.nodes
    .map((n) => {
      const lines = logLines(n.log);
      const counts = new Map<string, number>();
      for (const l of lines) {
        const m = /"level":"(warn|error|fatal)","event":"([^"]+)"/.exec(l);
        if (m) counts.set(`${m[1]} ${m[2]}`, (counts.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
      }
      const telling = lines.filter((l) => /"event":"[^"]*(fork|deliver|drop|standby|notify|inbox)[^"]*"/.test(l) && !/"level":"debug"/.test(l)).slice(-LOG_TAIL_LINES);
      return [`node ${n.id.slice(0, 8)} (${n.log})`, ...[...counts].map(([k, v]) => `${v} x ${k}`), '  ...', ...telling.map((l) => l.slice(0, 600))].join('\n  ');
    })
    .join('\n');
}
