// The MailSubmission port: the only way the SMTP gateway reaches storage. The storage side
// implements it over the ring (convergent blocks, inbox drops, identity records);
// mail/memory/submission.ts is the in-memory reference implementation, and
// test/unit/smtp/submission.compliance.ts is the suite both must pass.
//
// Duties of every implementation:
// - authenticate() proves a password and says which envelope senders the user may use.
// - classifyRecipient() answers from what is known now; it is advisory (the SMTP side uses it to
//   refuse recipients at RCPT, where SMTP can say no per recipient). submit() checks again.
// - submit() stores the message's MIME parts convergently (raw bytes are the canonical
//   plaintext), then puts one notification per POST recipient into that recipient's inbox drop
//   (or, for a recipient the node hosts, the mail into their INBOX), and resolves only when all of
//   that is durable (majority of replicas). It never resolves after a partial delivery: it rejects
//   with SubmissionError instead, naming the recipients the failure concerns when it concerns only
//   some.
// - submit() is idempotent per `idempotencyKey`: a client that retries after a 4xx (or after
//   losing the connection before the 250) sends the same message again, and a recipient already
//   notified under that key must not be notified a second time.
// - An unauthenticated envelope (inbound gateway) is stored under the gateway's own identity
//   and marked unauthenticated: readers must not trust its From header.
// - POST addresses are compared case-insensitively; the SMTP side passes them lowercased
//   (external recipients, which only the SMTP side handles, keep the case the client wrote).

/** Who logged in, and the envelope senders (MAIL FROM) they may use. */
export interface SubmitterIdentity {
  /** The POST user, e.g. `alice@rice.example`. */
  readonly user: string;
  /** Lowercased addresses this user may send as; includes `user`. */
  readonly sendAs: readonly string[];
}

/** What the SMTP side knows about the sender when it asks about a recipient. */
export interface RecipientQuery {
  readonly address: string;
  /** MAIL FROM, lowercased; '' for the null sender. */
  readonly mailFrom: string;
  /** The authenticated user, absent on the inbound gateway. */
  readonly submitter?: string;
}

export type RecipientRefusal =
  /** A POST domain, but nobody by that name: 550 5.1.1. */
  | 'UNKNOWN_USER'
  /** The recipient blocks this sender: 550 5.7.1. */
  | 'SENDER_BLOCKED'
  /** The recipient's inbox drop holds as many pending notifications from this sender as allowed: 452 4.2.2. */
  | 'INBOX_FULL';

export type RecipientClass =
  /** A user of a federated POST organisation; `local` when of this node's own organisation. */
  | { readonly kind: 'post'; readonly local: boolean }
  /** Not a POST domain: delivered through the smarthost. */
  | { readonly kind: 'external' }
  | { readonly kind: 'refused'; readonly refusal: RecipientRefusal; readonly detail?: string };

/** The SMTP client as seen by this node, for the Received header and the record. */
export interface SmtpClientInfo {
  /** IP address of the peer. */
  readonly address: string;
  /** The name it gave in HELO/EHLO. */
  readonly helo: string;
  /** ESMTP, ESMTPS, ESMTPSA, UTF8SMTPSA, ... (RFC 3848, RFC 6531). */
  readonly protocol: string;
  readonly tls: boolean;
}

export interface SubmissionEnvelope {
  /** False on the inbound gateway: the sender is not proven. */
  readonly authenticated: boolean;
  /** The authenticated POST user; absent when `authenticated` is false. */
  readonly submitter?: string;
  /** MAIL FROM, lowercased; '' for the null sender (bounces from the Internet). */
  readonly mailFrom: string;
  /** Recipients to notify through POST, lowercased, without duplicates. Never empty. */
  readonly postRecipients: readonly string[];
  /** Recipients the gateway relays through the smarthost itself; for the record only. */
  readonly externalRecipients: readonly string[];
  readonly client: SmtpClientInfo;
  /** RFC 6152 BODY=8BITMIME was declared. */
  readonly eightBitMime: boolean;
  /** RFC 6531 SMTPUTF8 was declared. */
  readonly smtpUtf8: boolean;
  /** The node's clock when the message was received (the Received header's date). */
  readonly receivedAtMs: number;
  /** The SMTP session id, also in the Received header: ties logs on both sides together. */
  readonly sessionId: string;
}

export interface SubmittedMessage {
  readonly envelope: SubmissionEnvelope;
  /** The message as the client sent it, with this node's Received header prepended. */
  readonly raw: Uint8Array;
  /** Same client message and envelope, same key (the Received header is not part of it). */
  readonly idempotencyKey: string;
}

export interface SubmissionReceipt {
  /** Stable reference to the stored content (for logs and the 250 reply). */
  readonly messageRef: string;
  /** POST recipients whose inbox drop now holds the notification, or whose INBOX on this node holds the mail (or already did, on a retry). */
  readonly notified: readonly string[];
}

export interface MailSubmission {
  /** Rejects with SubmissionError: WRONG_PASSWORD, UNKNOWN_USER or UNAVAILABLE. */
  authenticate(username: string, password: string): Promise<SubmitterIdentity>;
  /** Rejects with SubmissionError UNAVAILABLE when it cannot tell now. */
  classifyRecipient(query: RecipientQuery): Promise<RecipientClass>;
  /** Stores and notifies; resolves only when everything is durable. See the duties above. */
  submit(message: SubmittedMessage): Promise<SubmissionReceipt>;
}

export type SubmissionErrorCode =
  | 'WRONG_PASSWORD'
  | 'UNKNOWN_USER'
  /** Recipient-level refusals found at submit time (see RecipientRefusal). */
  | 'SENDER_BLOCKED'
  | 'INBOX_FULL'
  /** The sender's storage quota cannot hold the message. */
  | 'OVER_QUOTA'
  /** Larger than the storage side accepts. */
  | 'TOO_BIG'
  /** Temporarily unavailable (replicas unreachable, identity record not found in time): retry. */
  | 'UNAVAILABLE'
  /** A bug or an unexpected state on the storage side. */
  | 'INTERNAL';

export class SubmissionError extends Error {
  constructor(
    readonly code: SubmissionErrorCode,
    message: string,
    /** The recipients the failure concerns, when it concerns only some of them. */
    readonly recipients: readonly string[] = [],
  ) {
    super(message);
    this.name = 'SubmissionError';
  }
}
