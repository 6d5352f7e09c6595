// The POST side of the mail benchmark: a real local lab (five node processes of one organisation on
// three nats-server processes, started with `post lab up` as an operator would) whose first node hosts
// every benchmark user; the clients talk SMTP and IMAP to that node, as a user's mail client talks to
// its own node. Its CPU is the node processes' (each is its own process group).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LabClient } from '../cli/lab/client';
import { readLab } from '../cli/lab/labFile';
import { addUser } from '../cli/lab/users';
import { postCommand } from '../cli/paths';
import type { MailTargetProvider } from './mail';
import { groupsCpuMs } from './reference/processes';

const run = promisify(execFile);
/** Nodes of the benchmark lab: k = 3 replicas, so every write goes to three processes. */
const BENCH_LAB_NODES = 5;
const LAB_COMMAND_TIMEOUT_MS = 180_000;
/** Messages per minute / at once a benchmark user may submit (post node start --submission-rate). */
const BENCH_SUBMISSION_RATE = '1000000/100000';

async function post(args: string[]): Promise<string> {
  const [exe, argv] = postCommand(args);
  return (await run(exe, argv, { timeout: LAB_COMMAND_TIMEOUT_MS })).stdout;
}

export const postMailTarget: MailTargetProvider = async (users) => {
  const domain = users[0]!.address.split('@')[1]!;
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-mail-'));
  const stop = async () => {
    await post(['lab', 'down', '--dir', dir]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // One benchmark user submits over a thousand messages in a minute: far past a person's rate limit.
    const lab = readLab((await post(['lab', 'up', '--nodes', String(BENCH_LAB_NODES), '--orgs', domain, '--dir', dir, '--no-dashboard', '--submission-rate', BENCH_SUBMISSION_RATE])).trim());
    const node = lab.nodes[0]!;
    const client = await LabClient.connect(lab);
    try {
      for (const u of users) await addUser(client, node, lab.orgs[0]!.ca, u.address, u.password);
    } finally {
      await client.close();
    }
    const pids = lab.nodes.map((n) => n.pid);
    return { target: { name: `POST (${BENCH_LAB_NODES} nodes)`, smtp: node.smtp, imap: node.imap, users, serverCpuMs: () => groupsCpuMs(pids) }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
};
