// Submit a raw mail as an authenticated user through a simulated node's submission service (the
// SMTP gateway's storage side, without SMTP), for the simulator tests.
import type { PostNode } from '../../actors/node';
import type { SubmissionReceipt } from '../../mail/submission';
import { submitAs } from '../../scenarios/env/simEnv';
import type { SimCluster } from '../../scenarios/sim/cluster';

export function submitMail(cluster: SimCluster, node: PostNode, from: string, password: string, to: string, raw: Buffer, key: string): Promise<SubmissionReceipt> {
  return cluster.settle(submitAs(node, { from, password, to, key, helo: 'sim' }, raw, () => cluster.clock.now()));
}
