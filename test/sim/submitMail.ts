// Submit a raw mail as an authenticated user through a simulated node's submission service (the
// SMTP gateway's storage side, without SMTP), for the simulator tests.
import type { PostNode } from '../../actors/node';
import type { SubmissionReceipt } from '../../mail/submission';
import type { SimCluster } from '../../scenarios/sim/cluster';

export async function submitMail(cluster: SimCluster, node: PostNode, from: string, password: string, to: string, raw: Buffer, key: string): Promise<SubmissionReceipt> {
  const submission = node.mail.submission;
  await cluster.settle(submission.authenticate(from, password));
  return cluster.settle(
    submission.submit({
      envelope: {
        authenticated: true,
        submitter: from,
        mailFrom: from,
        postRecipients: [to],
        externalRecipients: [],
        client: { address: '127.0.0.1', helo: 'sim', protocol: 'ESMTPA', tls: false },
        eightBitMime: false,
        smtpUtf8: false,
        receivedAtMs: cluster.clock.now(),
        sessionId: key,
      },
      raw,
      idempotencyKey: key,
    }),
  );
}
