// Submit a raw mail as an authenticated user through a simulated node's submission service (the
// SMTP gateway's storage side, without SMTP), for the simulator tests.
import type { PostNode } from '../../actors/node';
import type { SubmissionReceipt } from '../../mail/submission';
import { submitAs } from '../../scenarios/env/simEnv';
import type { SimCluster } from '../../scenarios/sim/cluster';
import { rawMail } from '../../scenarios/env/env';

export function submitMail(cluster: SimCluster, node: PostNode, from: string, password: string, to: string, raw: Buffer, key: string): Promise<SubmissionReceipt> {
  return cluster.settle(submitAs(node, { from, password, to, key, helo: 'sim' }, raw, () => cluster.clock.now()));
}

/** A mail whose body is `bodyBytes` of text. */
export function textMail(from: string, to: string, subject: string, bodyBytes: number, dateMs: number): Buffer {
  const line = 'All work and no play makes a dull mail system.\r\n';
  return rawMail(from, to, subject, dateMs, `${line.repeat(Math.ceil(bodyBytes / line.length)).slice(0, bodyBytes)}\r\n`);
}
