// A real local lab for a benchmark's POST side, started with `post lab up` as an operator would, in a
// temporary folder, and stopped (with `post lab down`, or process by process when that fails) by the
// returned stop(), which also removes the folder.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../infra/nats/process';
import { stopByPidFile } from '../infra/nats/server';
import { readLab, type LabFile } from '../lab/labFile';
import { postCommand } from '../lab/paths';

const run = promisify(execFile);
const LAB_COMMAND_TIMEOUT_MS = 180_000;

export async function post(args: string[]): Promise<string> {
  const [exe, argv] = postCommand(args);
  return (await run(exe, argv, { timeout: LAB_COMMAND_TIMEOUT_MS })).stdout;
}

/** The pids of the lab's NATS servers (from its pid file; none when it cannot be read). */
export function labNatsPids(lab: LabFile): number[] {
  try {
    const members = (JSON.parse(readFileSync(lab.natsPidFile, 'utf8')) as { members?: { pid?: number }[] }).members ?? [];
    return members.flatMap((m) => (m.pid ? [m.pid] : []));
  } catch {
    return [];
  }
}

/**
 * The process groups whose CPU is POST's server CPU in a benchmark: every node of the lab and the NATS
 * servers they talk through (the reference's figure counts all of its server processes too).
 */
export function labServerPids(lab: LabFile): number[] {
  return [...lab.nodes.map((n) => n.pid), ...labNatsPids(lab)];
}

export interface BenchLab {
  dir: string;
  labFile: string;
  lab: LabFile;
  stop(): Promise<void>;
}

/** `post lab up --dir TEMP --no-dashboard ...upArgs`; a lab that fails to come up is stopped before the error is thrown. */
export async function startBenchLab(prefix: string, upArgs: readonly string[]): Promise<BenchLab> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let started: LabFile | undefined;
  const stop = async () => {
    const down = await post(['lab', 'down', '--dir', dir]).then(
      () => undefined,
      (e: Error) => e,
    );
    if (down && started) {
      // `post lab down` itself failed (e.g. the checkout changed under the benchmark): stop what we know of.
      process.stderr.write(`bench: post lab down failed (${down.message.split('\n')[0]}); stopping the lab's processes directly\n`);
      let nodes = started.nodes;
      try {
        nodes = readLab(join(dir, 'lab.json')).nodes; // a restarted node has a new pid there
      } catch {
        /* the lab file as it was at the start, then */
      }
      for (const { pid } of nodes) if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      await stopByPidFile(started.natsPidFile).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const labFile = (await post(['lab', 'up', '--dir', dir, '--no-dashboard', ...upArgs])).trim();
    started = readLab(labFile);
    return { dir, labFile, lab: started, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
