// The SMTP gateway's storage side (DESIGN 6): MailSubmission over POST. A submission stores the raw
// message convergently (as the sender, so identical messages are stored once) and puts one `mail`
// notification per POST recipient into that recipient's inbox drop; it resolves only when all of that
// is durable at a majority of replicas, so a 250 means nothing can be lost. Small mail to a few
// recipients of this organisation (SUBMISSION_INLINE_BYTES_MAX) is not stored by the sender: it
// travels inside the notifications, durable in each drop, and each recipient's node stores it as the
// same convergent blocks when it delivers; one replicated write before the 250 instead of two.
// A recipient this node hosts is not notified at all: the mail goes straight into their INBOX here (a
// replicated head write, durable at k replicas as a drop is), with no drop, push or receipt between.
//
// Idempotence: a client retrying after a 4xx or a lost connection resubmits the same message under
// the same idempotency key; recipients already notified under that key are not notified again (kept
// for SUBMISSION_DEDUP_MS in a bounded map).
import type { RingTrust } from '../../crypto/certificates';
import type { Clock, Log } from '../../infra/ports';
import { RecentKeys } from '../../infra/recentKeys';
import { type MailSubmission, type RecipientClass, type RecipientQuery, type SubmissionErrorCode, SubmissionError, type SubmissionReceipt, type SubmittedMessage, type SubmitterIdentity } from '../../mail/submission';
import { messageSegments } from '../../mail/mime/messageSegments';
import { MAIL_APP, mailBodyCodec } from '../../protocol/apps';
import { canonicalBytes } from '../../protocol/frame';
import { SUBMISSION_DEDUP_ENTRIES_MAX, SUBMISSION_DEDUP_MS, SUBMISSION_INLINE_BYTES_MAX, SUBMISSION_INLINE_RECIPIENTS_MAX, SUBMISSION_NOTIFY_IN_FLIGHT_MAX } from '../../protocol/limits';
import type { StorageApi } from '../../storage/api';
import { HashDomain } from '../../crypto/domains';
import { blake2bHex } from '../../crypto/hash';
import type { BlockRef } from '../../storage/blockRef';
import { formatBlockRef } from '../../storage/blocks';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import type { Metrics } from '../metrics';
import type { LoginCache } from '../users/logins';
import type { LoginRecord } from '../../storage/users/login';
import type { Directory, UserApp } from '../users/userHost';

export interface PostSubmissionDeps {
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly log: Log;
  /** The node's storage client: directory reads. */
  readonly nodeStorage: StorageApi;
  /** The node's logins (shared with IMAP): the full user login once, a fast check after. */
  readonly logins: LoginCache;
  /** After an SMTP login: keep the user's mailbox (and so their delivery) on this node for a while. */
  readonly visit?: (record: LoginRecord) => Promise<void>;
  readonly directory: Directory;
  /** Storage and notification as a given (unlocked) user. */
  readonly appFor: (user: UnlockedUser) => Pick<UserApp, 'storage' | 'notify' | 'recordSentMail'>;
  /** A recipient this node hosts (their keys and mailbox are here): delivered to directly, not notified. */
  readonly hostedRecipient?: (address: string) => Pick<UserApp, 'deliverSubmittedMail'> | undefined;
  /** The node's /metrics: direct deliveries are counted there (notified ones by the notifier). */
  readonly metrics?: Pick<Metrics, 'inc'>;
  /** Is this a mail domain of an organisation we federate with? */
  readonly isFederated: (domain: string) => boolean;
  /** The identity inbound (unauthenticated) mail is stored and notified under, on an MX node. */
  readonly gatewayUser?: () => UnlockedUser | undefined;
}

/** PostError codes to what the SMTP side answers. */
function submissionCode(code: string | undefined): SubmissionErrorCode {
  switch (code) {
    case 'UNKNOWN_USER':
    case 'WRONG_PASSWORD':
    case 'SENDER_BLOCKED':
    case 'INBOX_FULL':
      return code;
    case 'QUOTA_EXCEEDED':
      return 'OVER_QUOTA';
    case 'DATA_TOO_LARGE':
      return 'TOO_BIG';
    case 'CERT_REVOKED':
    case 'CERT_EXPIRED':
      return 'UNKNOWN_USER';
    default:
      return 'UNAVAILABLE';
  }
}

/**
 * The INBOX insert key of a submission delivered here (no notification id exists for it): one per
 * submission and recipient, the same on the simulator's replay. A client's retry of the same message
 * is caught before (the idempotency key's recent notifications), as for notified recipients.
 */
function directDeliveryId(idempotencyKey: string, to: string, receivedAtMs: number): string {
  return blake2bHex([HashDomain.directDeliveryId, idempotencyKey, to.toLowerCase(), String(receivedAtMs)]);
}

/** Run `work` on every item, at most `window` at a time. */
async function inWindow<T>(items: readonly T[], window: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
}

export class PostSubmission implements MailSubmission {
  /** Users logged in over SMTP recently (their keys are needed to sign at submit time). */
  private readonly sessions = new Map<string, UnlockedUser>();
  /** Idempotency key and recipient of each notification sent lately: a retried submission does not notify again. */
  private readonly notified = new RecentKeys(SUBMISSION_DEDUP_MS, SUBMISSION_DEDUP_ENTRIES_MAX);

  constructor(private readonly deps: PostSubmissionDeps) {}

  async authenticate(username: string, password: string): Promise<SubmitterIdentity> {
    try {
      const record = await this.deps.logins.login(username, password);
      const { user } = record;
      this.deps.visit?.(record).catch((e: Error) => this.deps.log.warn('mail.visit.failed', { user: user.address, error: e.message }));
      this.sessions.set(user.address, user);
      return { user: user.address, sendAs: [user.address] };
    } catch (e) {
      const code = submissionCode((e as { code?: string }).code);
      throw new SubmissionError(code === 'WRONG_PASSWORD' || code === 'UNKNOWN_USER' ? code : 'UNAVAILABLE', (e as Error).message);
    }
  }

  async classifyRecipient(query: RecipientQuery): Promise<RecipientClass> {
    const domain = query.address.split('@')[1]?.toLowerCase() ?? '';
    const local = domain === this.deps.trust.org;
    if (!local && !this.deps.isFederated(domain)) return { kind: 'external' };
    try {
      await this.deps.directory.lookup(query.address);
      return { kind: 'post', local };
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'UNKNOWN_USER' || code === 'CERT_REVOKED' || code === 'CERT_EXPIRED')
        return { kind: 'refused', refusal: 'UNKNOWN_USER', detail: (e as Error).message };
      throw new SubmissionError('UNAVAILABLE', `cannot look up ${query.address} now: ${(e as Error).message}`);
    }
  }

  async submit(message: SubmittedMessage): Promise<SubmissionReceipt> {
    const { envelope } = message;
    const sender = envelope.authenticated ? this.sessions.get(envelope.submitter ?? '') : this.deps.gatewayUser?.();
    if (!sender)
      throw new SubmissionError('UNAVAILABLE', envelope.authenticated ? `${envelope.submitter} is not logged in on this node; authenticate again` : 'this node has no gateway identity for inbound mail');
    const app = this.deps.appFor(sender);
    // Inbound mail is marked: readers must not trust its From header (the original's X-ePOST-Secure).
    const raw = envelope.authenticated ? message.raw : Buffer.concat([Buffer.from('X-ePOST-Secure: False\r\n'), message.raw]);
    const foreign = envelope.postRecipients.filter((to) => to.split('@')[1]?.toLowerCase() !== this.deps.trust.org);
    // Small mail to a few recipients here travels inside the notifications (SUBMISSION_INLINE_BYTES_MAX):
    // durable at k replicas of each drop once notified, and stored as blocks by each recipient's node.
    const inline = raw.length <= SUBMISSION_INLINE_BYTES_MAX && envelope.postRecipients.length <= SUBMISSION_INLINE_RECIPIENTS_MAX && foreign.length === 0;
    let blockRef: BlockRef;
    try {
      const segments = messageSegments(raw);
      blockRef = await (inline ? app.storage.mailRefOf(segments) : app.storage.putMail(segments));
    } catch (e) {
      throw new SubmissionError(submissionCode((e as { code?: string }).code), `storing the message: ${(e as Error).message}`);
    }
    const ref = formatBlockRef(blockRef);
    const internalDateMs = Math.floor(envelope.receivedAtMs);
    const body = canonicalBytes(
      mailBodyCodec.encode({
        ref,
        ...(inline ? { content: raw } : {}),
        sizeOctets: raw.length,
        internalDateMs,
        mailFrom: envelope.mailFrom,
        rcptTo: [...envelope.postRecipients],
        authenticated: envelope.authenticated ? 1 : 0,
      }),
    );
    // The sender keeps the content alive for recipients in other organisations (they cannot refresh
    // leases in this ring; recipients here do, through their mailboxes): recorded while the
    // notifications go out (both after the content is stored), not after them.
    const recorded =
      foreign.length === 0
        ? Promise.resolve()
        : app.recordSentMail(ref, foreign).catch((e: Error) => this.deps.log.warn('mail.sent.record.failed', { error: e.message }));
    const notified: string[] = [];
    const failures: { to: string; code: SubmissionErrorCode; message: string }[] = [];
    await inWindow(envelope.postRecipients, SUBMISSION_NOTIFY_IN_FLIGHT_MAX, async (to) => {
      const key = `${message.idempotencyKey}\n${to}`;
      if (this.notified.has(key, this.deps.clock.now())) return void notified.push(to);
      try {
        // Delivered here when this node hosts the recipient (and runs their mailbox); notified otherwise.
        const hosted = this.deps.hostedRecipient?.(to);
        const direct =
          hosted &&
          (await hosted.deliverSubmittedMail({
            ref: blockRef,
            ...(inline ? { content: raw } : {}),
            sizeOctets: raw.length,
            internalDateMs,
            deliveryId: directDeliveryId(message.idempotencyKey, to, internalDateMs),
            from: sender.address,
          }));
        if (direct === 'delivered') this.deps.metrics?.inc('post_mail_delivered_direct_total', 'Mail submitted on this node and put straight into the INBOX of a user it hosts (no inbox drop)');
        else await app.notify(to, MAIL_APP, body);
        this.notified.add(key, this.deps.clock.now());
        notified.push(to);
      } catch (e) {
        failures.push({ to, code: submissionCode((e as { code?: string }).code), message: (e as Error).message });
      }
    });
    await recorded;
    if (failures.length) {
      const first = failures[0]!;
      this.deps.log.warn('mail.submit.partial', { notified, failed: failures.map((f) => `${f.to}: ${f.code}`) });
      throw new SubmissionError(first.code, failures.map((f) => `${f.to}: ${f.message}`).join('; '), failures.map((f) => f.to));
    }
    return { messageRef: ref.split(':')[2] ?? ref, notified };
  }
}
