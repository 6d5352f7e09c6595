// Every reply the SMTP gateway composes itself, with its RFC 3463 enhanced status code, and the
// mapping from storage and relay outcomes to the one reply a client gets after DATA. A reply says
// what happened and what to do; a failure after DATA also says what was and was not delivered.
import type { SubmissionErrorCode } from '../submission';

export interface SmtpReply {
  /** RFC 5321 reply code. */
  readonly code: number;
  /** RFC 3463 enhanced status code, class matching `code`. */
  readonly enhanced: string;
  readonly text: string;
}

const reply = (code: number, enhanced: string, text: string): SmtpReply => ({ code, enhanced, text });

/** The line as a client sees it (without CRLF). */
export function formatReply(r: SmtpReply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

export const isTemporary = (r: SmtpReply): boolean => r.code >= 400 && r.code < 500;

/** Longest address shown in a reply, and how many: a reply line stays short. */
const REPLY_ADDRESS_CHARS_MAX = 100;
const REPLY_ADDRESSES_MAX = 5;

/**
 * Addresses as `<a>, <b>` for a reply line. They may come from a message's header (sender
 * alignment), where a bare CR or other control character can hide: shown as "?", so a reply
 * is always one line (found by fuzzing: a From: with a CR split the 550 into two lines).
 */
const list = (addresses: readonly string[]): string => {
  const shown = addresses.slice(0, REPLY_ADDRESSES_MAX).map((a) => {
    const printable = a.replace(/[\x00-\x1f\x7f]/g, '?');
    return `<${printable.length > REPLY_ADDRESS_CHARS_MAX ? `${printable.slice(0, REPLY_ADDRESS_CHARS_MAX)}...` : printable}>`;
  });
  return addresses.length > REPLY_ADDRESSES_MAX ? `${shown.join(', ')} and ${addresses.length - REPLY_ADDRESSES_MAX} more` : shown.join(', ');
};

export const replies = {
  authFailed: () => reply(535, '5.7.8', 'Authentication credentials invalid: check the user name and password'),
  authUnavailable: () =>
    reply(454, '4.7.0', 'Temporary authentication failure: the POST user directory is unreachable; try again in a few minutes'),
  /** RFC 4954: 454 4.7.0 is a temporary authentication failure; the text says how long to wait. */
  loginRefused: (text: string) => reply(454, '4.7.0', text),
  tooManyAuthFailures: () => reply(421, '4.7.0', 'Too many failed authentication attempts; closing the connection'),
  tooManyBadCommands: () => reply(421, '4.7.0', 'Too many bad commands; closing the connection'),
  tooManyRefusedRecipients: () => reply(421, '4.7.0', 'Too many refused recipients; closing the connection'),
  authRequired: () => reply(530, '5.7.0', 'Authentication required: log in with AUTH PLAIN or AUTH LOGIN first'),
  startTlsRequired: () => reply(530, '5.7.0', 'Must issue a STARTTLS command first: this server accepts passwords only over TLS'),
  shuttingDown: () => reply(421, '4.3.2', 'Server shutting down; try again later'),
  closing: () => reply(421, '4.3.0', 'Connection closing; try again later'),
  senderNotAllowed: (mailFrom: string, user: string) =>
    reply(
      553,
      '5.7.1',
      `${mailFrom ? `<${mailFrom}>` : 'The null sender <>'} is not an address you may send as (logged in as ${user}); use your own address`,
    ),
  fromNotAligned: (foreign: readonly string[], user: string) =>
    reply(
      550,
      '5.7.1',
      `The message's From:/Sender: ${list(foreign)} is not an address you may send as (logged in as ${user}); put your own address in From:; nothing was delivered`,
    ),
  sendingRateExceeded: (user: string, burst: number, perMinute: number, retryAfterMs: number) =>
    reply(
      450,
      '4.7.1',
      `${user} has sent too many messages: at most ${burst} at once, then ${perMinute} a minute; try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`,
    ),
  unknownUser: (rcpt: string) => reply(550, '5.1.1', `<${rcpt}>: no such user here; check the address`),
  senderBlocked: (rcpt: string) => reply(550, '5.7.1', `<${rcpt}> does not accept mail from this sender`),
  inboxFull: (rcpt: string) =>
    reply(452, '4.2.2', `<${rcpt}> has too many undelivered messages from this sender waiting; try again later`),
  relayDenied: (rcpt: string) =>
    reply(550, '5.7.1', `Relay denied: this gateway accepts mail only for users of its own organisation, not <${rcpt}>`),
  noSmarthost: (rcpt: string) =>
    reply(
      550,
      '5.7.1',
      `Cannot deliver to <${rcpt}>: it is not a POST address and no smarthost is configured for outside mail; ask the node's administrator to configure one`,
    ),
  relayDown: (rcpt: string, smarthost: string, reason: string) =>
    reply(451, '4.4.1', `Cannot relay to <${rcpt}> now: the smarthost ${smarthost} is unreachable (${reason}); try again later`),
  recipientCheckUnavailable: (rcpt: string) =>
    reply(451, '4.4.3', `Cannot check <${rcpt}> now: the POST directory is unreachable; try again later`),
  messageTooBig: (limitBytes: number) =>
    reply(552, '5.3.4', `Message exceeds the maximum size of ${limitBytes} bytes; nothing was stored`),
  insufficientStorage: () =>
    reply(452, '4.3.1', 'The gateway is receiving too much mail at once; nothing was stored; try again in a few minutes'),
  messageIncomplete: () => reply(451, '4.3.0', 'The message was not received in full; nothing was stored'),
  internalError: () => reply(451, '4.3.0', 'Internal error; nothing was delivered; try again later (the error was logged)'),
} as const;

/** Why submit() failed, as the port reported it (or `TIMEOUT` when it did not answer in time). */
export interface SubmitFailure {
  readonly code: SubmissionErrorCode | 'TIMEOUT';
  readonly message: string;
  readonly recipients: readonly string[];
}

/** The reply for a failed submit(); nothing was relayed yet (the relay runs only after storage). */
export function submitFailureReply(failure: SubmitFailure): SmtpReply {
  const whom = failure.recipients.length > 0 ? list(failure.recipients) : 'a recipient';
  const nothing = 'nothing was delivered';
  switch (failure.code) {
    case 'UNKNOWN_USER':
      return reply(550, '5.1.1', `${whom}: no such user; ${nothing}; remove the address and send again`);
    case 'SENDER_BLOCKED':
      return reply(550, '5.7.1', `${whom} does not accept mail from this sender; ${nothing}; remove the address and send again`);
    case 'INBOX_FULL':
      return reply(452, '4.2.2', `${whom} has too many undelivered messages from this sender waiting; ${nothing}; try again later`);
    case 'OVER_QUOTA':
      return reply(552, '5.2.2', `Your storage quota is exceeded (${failure.message}); ${nothing}; delete old mail and send again`);
    case 'TOO_BIG':
      return reply(552, '5.3.4', `Message too large for storage (${failure.message}); ${nothing}`);
    case 'UNAVAILABLE':
      return reply(451, '4.3.0', `Storage temporarily unavailable (${failure.message}); ${nothing}; try again later`);
    case 'TIMEOUT':
      return reply(
        451,
        '4.3.0',
        'Storage did not confirm the message in time; it may have been stored; sending again is safe: no POST recipient gets it twice',
      );
    case 'WRONG_PASSWORD':
    case 'INTERNAL':
      return replies.internalError();
  }
}

/** What the smarthost did with the external recipients. */
export type RelayOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'relayed'; readonly recipients: readonly string[] }
  | {
      readonly kind: 'failed';
      /** A retry may succeed (unreachable, timeout, 4xx); false for 5xx refusals. */
      readonly temporary: boolean;
      /** RFC 3463 code for the failure, e.g. 4.4.1 unreachable, 4.4.2 timed out, or the smarthost's own. */
      readonly enhanced: string;
      readonly reason: string;
      /** Accepted by the smarthost despite the failure (partial acceptance). */
      readonly relayed: readonly string[];
      readonly failed: readonly string[];
    };

/** Outcome of the delivery after DATA: storage first, then the relay. */
export type DeliveryReport =
  | { readonly kind: 'submitFailed'; readonly failure: SubmitFailure }
  | {
      readonly kind: 'delivered';
      /** Undefined when there were no POST recipients (nothing to store). */
      readonly messageRef: string | undefined;
      readonly notified: readonly string[];
      readonly relay: RelayOutcome;
    };

/** The reply after DATA. 250 only when storage confirmed and every external recipient was relayed. */
export function deliveryReply(report: DeliveryReport): SmtpReply {
  if (report.kind === 'submitFailed') return submitFailureReply(report.failure);
  const { relay, notified } = report;
  const stored = report.messageRef ? ` stored as ${report.messageRef.slice(0, 16)},` : '';
  if (relay.kind !== 'failed') {
    const relayed = relay.kind === 'relayed' ? relay.recipients.length : 0;
    return reply(250, '2.0.0', `Message accepted:${stored} ${notified.length} POST recipient(s) notified, ${relayed} relayed`);
  }
  const code = relay.temporary ? 451 : 554;
  const enhanced = relay.enhanced.startsWith(relay.temporary ? '4.' : '5.') ? relay.enhanced : relay.temporary ? '4.4.0' : '5.4.0';
  const parts: string[] = [];
  if (notified.length > 0) parts.push(`Delivered to POST recipient(s) ${list(notified)}`);
  if (relay.relayed.length > 0) parts.push(`relayed to ${list(relay.relayed)}`);
  const failedPart = `relaying to ${list(relay.failed)} failed (${relay.reason})`;
  if (parts.length === 0) {
    return reply(code, enhanced, `Relaying to ${list(relay.failed)} failed (${relay.reason}); nothing was delivered${relay.temporary ? '; try again later' : ''}`);
  }
  const advice =
    relay.relayed.length > 0
      ? 'do not send again to the recipients already served'
      : relay.temporary
        ? 'sending again is safe: POST recipients will not get a second copy'
        : 'send again only to the failed recipients';
  return reply(code, enhanced, `${parts.join(' and ')}, but ${failedPart}; ${advice}`);
}
