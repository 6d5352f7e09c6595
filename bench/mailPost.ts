// The POST side of the mail benchmark: a real local lab (five node processes of one organisation on
// three nats-server processes, started with `post lab up` as an operator would) whose first node hosts
// every benchmark user; the clients talk SMTP and IMAP to that node, as a user's mail client talks to
// its own node. Its CPU is the node processes' (each is its own process group); its memory is the
// first node's. The second node hosts nobody at first: the spare host of the user-count growth, to
// which users are added as `post user add` does (through the lab's control path). With `--spread` the
// load phases' users are hosted round-robin on every node instead, each client at its user's node.
import { LabClient } from '../lab/client';
import { readLab, type LabFile, type LabNode } from '../lab/labFile';
import { addUser } from '../lab/users';
import { isAlive } from '../infra/nats/process';
import { labNatsPids, labServerPids, post, startBenchLab } from './benchLab';
import type { MailTargetProvider, MailUser } from './mail';
import { inPool, sleep, type Endpoint, type Log } from './mail/target';
import { measureWriteFloor } from './mail/writeFloor';
import { groupsCpuMs, groupsMemory } from './reference/processes';

/** Nodes of the benchmark lab: k = 3 replicas, so every write goes to three processes. */
const BENCH_LAB_NODES = 5;
/** Messages per minute / at once a benchmark user may submit (post node start --submission-rate). */
const BENCH_SUBMISSION_RATE = '1000000/100000';
/** Users created at once: each costs an Argon2id here and one on the node, which run on other cores. */
const USER_ADD_CONCURRENCY = 4;
const USER_ADD_PROGRESS_EVERY = 100;

/** Creates and hosts the users on `node`, a few at once; returns those that failed (the others are hosted). */
async function addUsers(client: LabClient, lab: LabFile, node: LabNode, users: readonly MailUser[], log: Log): Promise<{ failed: { user: MailUser; error: string }[] }> {
  const failed: { user: MailUser; error: string }[] = [];
  await inPool(users, USER_ADD_CONCURRENCY, async (user, i) => {
    try {
      // No standby hosts: the bench measures what hosting costs, and each grant opens the keystore again.
      await addUser(client, node, lab.orgs[0]!.ca, user.address, user.password, { standbys: 0 });
    } catch (error) {
      failed.push({ user, error: (error as Error).message });
    }
    if ((i + 1) % USER_ADD_PROGRESS_EVERY === 0) log(`      ${i + 1} of ${users.length} users added to node ${node.id.slice(0, 12)}`);
  });
  return { failed };
}

/** Each user's node: the first for all, or round-robin over every node for the users to spread. */
export function placeUsers(lab: LabFile, users: readonly MailUser[], spread: readonly MailUser[]): Map<LabNode, MailUser[]> {
  const byNode = new Map<LabNode, MailUser[]>(lab.nodes.map((n) => [n, []]));
  const spreadSet = new Set(spread);
  users.forEach((user) => {
    const index = spreadSet.has(user) ? spread.indexOf(user) % lab.nodes.length : 0;
    byNode.get(lab.nodes[index]!)!.push(user);
  });
  return byNode;
}

/** The endpoints of the node each placed user lives on. */
export function endpointsIn(placed: Map<LabNode, MailUser[]>): (user: MailUser) => { smtp: Endpoint; imap: Endpoint } {
  const homes = new Map<string, LabNode>([...placed].flatMap(([host, hosted]) => hosted.map((u) => [u.address, host] as const)));
  return (user) => {
    const home = homes.get(user.address);
    if (!home) throw new Error(`POST: ${user.address} is not a benchmark user`);
    return { smtp: home.smtp, imap: home.imap };
  };
}

export const postMailTarget: MailTargetProvider = async (users, placement) => {
  const domain = users[0]!.address.split('@')[1]!;
  const benchLab = await startBenchLab('post-bench-mail-', ['--nodes', String(BENCH_LAB_NODES), '--orgs', domain, '--submission-rate', BENCH_SUBMISSION_RATE]);
  const { dir, labFile, lab } = benchLab;
  let client: LabClient | undefined;
  const stop = async () => {
    await client?.close();
    await benchLab.stop();
  };
  try {
    const [node, spare] = [lab.nodes[0]!, lab.nodes[1]!];
    client = await LabClient.connect(lab);
    const spread = placement?.spread ?? [];
    const placed = placeUsers(lab, users, spread);
    const failed: { user: MailUser; error: string }[] = [];
    for (const [host, hosted] of placed) failed.push(...(await addUsers(client, lab, host, hosted, () => {})).failed); // one node at a time: USER_ADD_CONCURRENCY bounds the Argon2ids
    if (failed.length > 0) throw new Error(`POST: ${failed.length} of the benchmark's users could not be created, e.g. ${failed[0]!.user.address}: ${failed[0]!.error}`);
    const labClient = client;
    const pids = labServerPids(lab);
    return {
      target: {
        name: `POST (${BENCH_LAB_NODES} nodes${spread.length > 0 ? `, ${spread.length} load users across them` : ''})`,
        smtp: node.smtp,
        imap: node.imap,
        users,
        serverCpuMs: () => groupsCpuMs(pids),
        serverCpuParts: () => ({
          [spread.length > 0 ? 'node 1' : 'hosting node']: groupsCpuMs([node.pid]),
          [`nodes 2-${lab.nodes.length}`]: groupsCpuMs(lab.nodes.slice(1).map((n) => n.pid)),
          'NATS servers': groupsCpuMs(labNatsPids(lab)),
        }),
        serverMemory: () => groupsMemory([node.pid]),
        writeFloor: (opts, log) => measureWriteFloor(labFile, labNatsPids(lab), opts, log),
        ...(spread.length > 0 ? { endpointsOf: endpointsIn(placed) } : {}),
        spareHost: { imap: spare.imap, memory: () => groupsMemory([spare.pid]), addUsers: (more, log) => addUsers(labClient, lab, spare, more, log) },
        // The third node: the away phase's user logs in there while the users' node is killed and restarted.
        awayHost: {
          smtp: lab.nodes[2]!.smtp,
          imap: lab.nodes[2]!.imap,
          stopHome: async () => {
            const pid = readLab(labFile).nodes[0]!.pid; // a restart gave it a new one
            try {
              process.kill(-pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
            while (isAlive(pid)) await sleep(20);
          },
          startHome: async () => void (await post(['lab', 'restart', '--node', node.id, '--dir', dir])),
        },
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
};
