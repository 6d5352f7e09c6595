// A mail notification as a replica keeps it in the recipient's inbox drop, built the way
// Notifier.send builds it (actors/notify/notifier.ts): the mail body of postSubmission.ts, wrapped in
// the application payload, sealed to the recipient's box key, in an envelope carrying the sender's
// certificate and signed by the sender; its encoded bytes are what the store counts.
import { envelopeNonce, sealTo, signEnvelope } from '../../crypto/notification';
import type { Random } from '../../infra/ports';
import { appPayloadCodec, MAIL_APP, mailBodyCodec, type MailBody } from '../../protocol/apps';
import { canonicalBytes } from '../../protocol/frame';
import type { UserCertificate } from '../../protocol/identity';
import { encodeEnvelope } from '../../protocol/notify';
import type { UnlockedUser } from '../../storage/users/unlockedUser';

export async function dropEntryBytes(sender: UnlockedUser, recipient: UserCertificate, body: MailBody, timeMs: number, random: Random): Promise<number> {
  const payload = canonicalBytes(appPayloadCodec.encode({ app: MAIL_APP, body: canonicalBytes(mailBodyCodec.encode(body)) }));
  const fields = { toUserId: recipient.userId, to: recipient.address, from: sender.certificate.address, timeMs: Math.floor(timeMs), nonce: envelopeNonce(random), sealed: sealTo(recipient.boxKey, payload) };
  const signature = await signEnvelope(fields, sender.signing.secretKey);
  return encodeEnvelope({ ...fields, fromCert: sender.certificate, signature }).length;
}
