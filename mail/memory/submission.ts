// In-memory MailSubmission: the reference implementation of the port for tests and the lab.
// Content is stored once per distinct byte string (as convergent encryption would), a
// notification is one inbox-drop entry per recipient, and a submission is all-or-nothing: every
// recipient is checked before anything is recorded.
import { blake2bHex } from '../../crypto/hash';
import {
  SubmissionError,
  type MailSubmission,
  type RecipientClass,
  type RecipientQuery,
  type SubmissionEnvelope,
  type SubmissionReceipt,
  type SubmittedMessage,
  type SubmitterIdentity,
} from '../submission';

export interface MemorySubmissionOptions {
  /** Domains of this node's own organisation. */
  readonly localDomains: readonly string[];
  /** Domains of other POST organisations this ring federates with. */
  readonly federatedDomains?: readonly string[];
  /** Identity unauthenticated (inbound gateway) mail is stored under. */
  readonly gatewayIdentity?: string;
  /** Pending notifications one sender may have in one recipient's inbox drop. */
  readonly pendingPerSenderMax?: number;
}

export interface InboxNotification {
  readonly messageRef: string;
  readonly idempotencyKey: string;
  readonly envelope: SubmissionEnvelope;
  /** The identity the content is stored under: the submitter, or the gateway. */
  readonly storedBy: string;
}

interface UserRecord {
  readonly address: string;
  readonly password: string;
  readonly sendAs: readonly string[];
  readonly quotaBytes: number;
  usedBytes: number;
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

export class MemorySubmission implements MailSubmission {
  /** Distinct contents by reference. */
  readonly contents = new Map<string, Uint8Array>();
  /** Every submit() that resolved, in order. */
  readonly accepted: SubmittedMessage[] = [];
  /** Runs at the start of every submit(): tests use it to delay or fail the storage side. */
  submitHook: ((message: SubmittedMessage) => Promise<void> | void) | undefined;
  private readonly users = new Map<string, UserRecord>();
  private readonly drops = new Map<string, InboxNotification[]>();
  private readonly blocked = new Map<string, Set<string>>();
  private available = true;
  private readonly gatewayIdentity: string;
  private readonly pendingPerSenderMax: number;

  constructor(private readonly options: MemorySubmissionOptions) {
    this.gatewayIdentity = options.gatewayIdentity ?? `gateway@${options.localDomains[0] ?? 'localhost'}`;
    this.pendingPerSenderMax = options.pendingPerSenderMax ?? 1_000;
  }

  addUser(address: string, password: string, extra: { sendAs?: readonly string[]; quotaBytes?: number } = {}): void {
    const key = address.toLowerCase();
    this.users.set(key, {
      address: key,
      password,
      sendAs: [key, ...(extra.sendAs ?? []).map((a) => a.toLowerCase())],
      quotaBytes: extra.quotaBytes ?? Number.POSITIVE_INFINITY,
      usedBytes: 0,
    });
  }

  /** The recipient refuses notifications from `sender`. */
  block(recipient: string, sender: string): void {
    const key = recipient.toLowerCase();
    const set = this.blocked.get(key) ?? new Set<string>();
    set.add(sender.toLowerCase());
    this.blocked.set(key, set);
  }

  /** While false, every call rejects with UNAVAILABLE (replicas unreachable). */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  /** Notifications waiting in a recipient's inbox drop. */
  inbox(recipient: string): readonly InboxNotification[] {
    return this.drops.get(recipient.toLowerCase()) ?? [];
  }

  /** The recipient's node took everything pending (and sent receipts). */
  drainInbox(recipient: string): readonly InboxNotification[] {
    const taken = this.inbox(recipient);
    this.drops.delete(recipient.toLowerCase());
    return taken;
  }

  async authenticate(username: string, password: string): Promise<SubmitterIdentity> {
    this.checkAvailable();
    const user = this.users.get(username.toLowerCase());
    if (!user) throw new SubmissionError('UNKNOWN_USER', `No POST user ${username} here`);
    if (user.password !== password) throw new SubmissionError('WRONG_PASSWORD', 'Wrong password');
    return { user: user.address, sendAs: user.sendAs };
  }

  async classifyRecipient(query: RecipientQuery): Promise<RecipientClass> {
    this.checkAvailable();
    return this.classify(query.address.toLowerCase(), query.mailFrom, query.submitter);
  }

  async submit(message: SubmittedMessage): Promise<SubmissionReceipt> {
    await this.submitHook?.(message);
    this.checkAvailable();
    const { envelope } = message;
    const sender = envelope.authenticated ? envelope.submitter ?? envelope.mailFrom : envelope.mailFrom;
    const storedBy = envelope.authenticated ? envelope.submitter ?? envelope.mailFrom : this.gatewayIdentity;
    const fresh = envelope.postRecipients.filter((r) => !this.inbox(r).some((n) => n.idempotencyKey === message.idempotencyKey));
    this.checkRecipients(fresh, envelope, sender);
    const messageRef = blake2bHex(message.raw);
    const owner = this.users.get(storedBy);
    if (!this.contents.has(messageRef) && owner && fresh.length > 0) {
      if (owner.usedBytes + message.raw.byteLength > owner.quotaBytes) {
        throw new SubmissionError('OVER_QUOTA', `Storage quota of ${owner.address} exceeded`);
      }
      owner.usedBytes += message.raw.byteLength;
    }
    if (!this.contents.has(messageRef)) this.contents.set(messageRef, message.raw);
    for (const recipient of fresh) {
      const drop = this.drops.get(recipient) ?? [];
      drop.push({ messageRef, idempotencyKey: message.idempotencyKey, envelope, storedBy });
      this.drops.set(recipient, drop);
    }
    this.accepted.push(message);
    return { messageRef, notified: envelope.postRecipients };
  }

  private checkRecipients(recipients: readonly string[], envelope: SubmissionEnvelope, sender: string): void {
    for (const recipient of recipients) {
      const verdict = this.classify(recipient, envelope.mailFrom, envelope.submitter);
      if (verdict.kind === 'post') continue;
      if (verdict.kind === 'external') throw new SubmissionError('UNKNOWN_USER', `${recipient} is not a POST user`, [recipient]);
      throw new SubmissionError(verdict.refusal, verdict.detail ?? `${recipient} refused the message from ${sender}`, [recipient]);
    }
  }

  private classify(address: string, mailFrom: string, submitter: string | undefined): RecipientClass {
    const domain = domainOf(address);
    const local = this.options.localDomains.includes(domain);
    if (!local && !(this.options.federatedDomains ?? []).includes(domain)) return { kind: 'external' };
    if (!this.users.has(address)) return { kind: 'refused', refusal: 'UNKNOWN_USER' };
    const sender = submitter ?? mailFrom;
    if (this.blocked.get(address)?.has(sender)) return { kind: 'refused', refusal: 'SENDER_BLOCKED' };
    const pending = this.inbox(address).filter((n) => (n.envelope.submitter ?? n.envelope.mailFrom) === sender).length;
    if (pending >= this.pendingPerSenderMax) return { kind: 'refused', refusal: 'INBOX_FULL' };
    return { kind: 'post', local };
  }

  private checkAvailable(): void {
    if (!this.available) throw new SubmissionError('UNAVAILABLE', 'Storage replicas unreachable');
  }
}
