// The POST side of the IM benchmark: a real local lab (`post lab up`, one organisation) with 2 x pairs
// users, spread over the nodes so that each pair's sender and recipient live on different nodes; each
// logs in over XMPP to its own home node, as a chat client talks to its user's node. Its CPU is the
// node processes' (each is its own process group).
import { labServerPids, startBenchLab } from './benchLab';
import type { ImPair, ImTarget } from './im/workload';
import { groupsCpuMs } from './reference/processes';

export async function startPostIm(opts: { domain: string; nodes: number; pairs: number }): Promise<{ target: ImTarget; stop: () => Promise<void> }> {
  const benchLab = await startBenchLab('post-bench-im-', ['--nodes', String(opts.nodes), '--orgs', opts.domain, '--users', String(2 * opts.pairs)]);
  try {
    const { lab } = benchLab;
    const login = (n: number) => {
      const user = lab.users.find((u) => u.address === `user${n}@${opts.domain}`);
      const node = lab.nodes.find((x) => x.id === user?.node);
      if (!user || !node?.xmpp) throw new Error(`POST: the lab has no user${n}@${opts.domain} with an XMPP port on its node`);
      return { endpoint: node.xmpp, account: { jid: user.address, password: user.password }, node: node.id };
    };
    const pairs: ImPair[] = [];
    for (let i = 0; i < opts.pairs; i++) {
      const [sender, recipient] = [login(2 * i + 1), login(2 * i + 2)];
      if (sender.node === recipient.node) throw new Error(`POST: pair ${i}'s users are both on node ${sender.node.slice(0, 12)}; the benchmark wants them on two nodes`);
      pairs.push({ sender, recipient });
    }
    const pids = labServerPids(lab);
    return { target: { name: `POST (${opts.nodes} nodes)`, pairs, serverCpuMs: () => groupsCpuMs(pids) }, stop: benchLab.stop };
  } catch (e) {
    await benchLab.stop();
    throw e;
  }
}
