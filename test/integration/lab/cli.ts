// Run the real `post` command as a user would, from tests.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const POST = fileURLToPath(new URL('../../../bin/post', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function post(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const r = await run(POST, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

export async function postJson<T = any>(args: string[], opts?: { timeoutMs?: number }): Promise<T> {
  const r = await post([...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`post ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
