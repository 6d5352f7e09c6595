// The ring the per-command simulator tests share: five nodes (50 ms apart), k = 3, one user hosted by
// the second node, with a mailbox session open there.
import type { PostNode } from '../../actors/node';
import type { MailUserSession } from '../../mail/backend';
import type { SimCluster } from '../../scenarios/sim/cluster';

export async function sessionOnFiveNodes(cluster: SimCluster, address: string, password: string): Promise<{ home: PostNode; session: MailUserSession }> {
  await cluster.addNodes(5, 50);
  await cluster.runUntil(() => cluster.allReady(), 20_000);
  const home = cluster.live()[1]!;
  await cluster.addUser(address, password, home);
  await cluster.runFor(5_000);
  const session = await cluster.settle(home.mail.authenticator.authenticate(address, password));
  return { home, session };
}
