// Envelope rules: who may send as whom, and where each recipient goes. Pure: the session machine
// calls these with what the MailSubmission port and the relay check reported.
import type { RecipientClass, SubmitterIdentity } from '../submission';
import { replies, type SmtpReply } from './replies';

/**
 * `submission`: the user's own node (port 2525); AUTH required; POST and external recipients.
 * `inbound`: the organisation's MX; no AUTH; local POST users only.
 */
export type GatewayMode = 'submission' | 'inbound';

/** Addresses compare case-insensitively in POST (RFC 5321 allows case-sensitive local parts; we do not use them). */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** MAIL FROM on the submission port must be one of the user's own addresses; never the null sender. */
export function senderAllowed(identity: SubmitterIdentity, mailFrom: string): boolean {
  const sender = normalizeAddress(mailFrom);
  return sender !== '' && identity.sendAs.some((allowed) => normalizeAddress(allowed) === sender);
}

/** Where external recipients can go right now, as far as the gateway knows. */
export type RelayAvailability =
  | { readonly kind: 'unconfigured' }
  | { readonly kind: 'up' }
  | { readonly kind: 'down'; readonly smarthost: string; readonly reason: string };

export type RecipientRoute = 'post' | 'external';

export type RecipientDecision =
  | { readonly accept: true; readonly route: RecipientRoute }
  | { readonly accept: false; readonly reply: SmtpReply };

/** What RCPT TO answers for one recipient, given its class and the relay's availability. */
export function decideRecipient(mode: GatewayMode, address: string, cls: RecipientClass, relay: RelayAvailability): RecipientDecision {
  if (cls.kind === 'refused') {
    switch (cls.refusal) {
      case 'UNKNOWN_USER':
        return { accept: false, reply: replies.unknownUser(address) };
      case 'SENDER_BLOCKED':
        return { accept: false, reply: replies.senderBlocked(address) };
      case 'INBOX_FULL':
        return { accept: false, reply: replies.inboxFull(address) };
    }
  }
  if (mode === 'inbound') {
    // The MX takes mail from anyone, so it must take mail only for its own users.
    return cls.kind === 'post' && cls.local ? { accept: true, route: 'post' } : { accept: false, reply: replies.relayDenied(address) };
  }
  if (cls.kind === 'post') return { accept: true, route: 'post' };
  switch (relay.kind) {
    case 'unconfigured':
      return { accept: false, reply: replies.noSmarthost(address) };
    case 'down':
      // Refusing now, per recipient, lets the client deliver the rest and retry only this one.
      return { accept: false, reply: replies.relayDown(address, relay.smarthost, relay.reason) };
    case 'up':
      return { accept: true, route: 'external' };
  }
}

export interface AcceptedRecipient {
  /** Normalised (lowercase). */
  readonly address: string;
  /** As the client wrote it: what the smarthost gets (a foreign local part may be case-sensitive). */
  readonly original: string;
  readonly route: RecipientRoute;
}

/** Adds a recipient once (a repeated RCPT TO replaces the earlier one, as smtp-server does). */
export function addRecipient(recipients: readonly AcceptedRecipient[], next: AcceptedRecipient): readonly AcceptedRecipient[] {
  return [...recipients.filter((r) => r.address !== next.address), next];
}

export function recipientsByRoute(recipients: readonly AcceptedRecipient[], route: RecipientRoute, form: 'address' | 'original' = 'address'): readonly string[] {
  return recipients.filter((r) => r.route === route).map((r) => r[form]);
}
