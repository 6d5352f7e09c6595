// Delivery after DATA: storage first, then the smarthost. Storage goes first because its retry is
// harmless (submit() is idempotent per key) while a relay cannot be taken back: if the relay then
// fails, the client is told precisely that the POST recipients were served and a retry will not
// serve them twice. If storage fails, nothing is relayed, so the whole message can be retried.
import type { Clock, Log } from '../../infra/ports';
import { normalizeAddress } from '../../mail/smtp/envelope';
import { submitFailureOf } from '../../mail/smtp/portOutcomes';
import { prependHeader, receivedHeader, withProtocol } from '../../mail/smtp/receivedHeader';
import type { DeliveryReport, RelayOutcome } from '../../mail/smtp/replies';
import { submissionKey } from '../../mail/smtp/submissionKey';
import type { MailSubmission, SubmissionEnvelope } from '../../mail/submission';
import type { DeliveryInput } from '../../machines/smtpSession.machine';
import { DeadlineExceeded, withDeadline } from './smtpDeadline';
import type { SmarthostRelay } from './smtpRelay';

export interface DeliveryDeps {
  readonly submission: MailSubmission;
  readonly relay: SmarthostRelay | undefined;
  readonly clock: Clock;
  readonly log: Log;
  readonly serverName: string;
  readonly submitTimeoutMs: number;
}

/** What the connection knows about the client and the transaction. */
export interface DeliveryContext {
  readonly sessionId: string;
  readonly clientAddress: string;
  readonly helo: string;
  readonly ehlo: boolean;
  readonly tls: boolean;
}

export async function deliverMessage(deps: DeliveryDeps, input: DeliveryInput, context: DeliveryContext, original: Uint8Array): Promise<DeliveryReport> {
  const receivedAtMs = deps.clock.now();
  const authenticated = input.identity !== undefined;
  const protocol = withProtocol({ ehlo: context.ehlo, smtpUtf8: input.smtpUtf8, tls: context.tls, authenticated });
  const header = receivedHeader({
    helo: context.helo,
    clientAddress: context.clientAddress,
    serverName: deps.serverName,
    protocol,
    id: context.sessionId,
    recipients: [...input.postRecipients, ...input.externalRecipients],
    receivedAtMs,
    utf8: input.smtpUtf8,
  });
  const raw = prependHeader(original, header);
  const log = deps.log.child({ session: context.sessionId });

  let messageRef: string | undefined;
  let notified: readonly string[] = [];
  if (input.postRecipients.length > 0) {
    const envelope: SubmissionEnvelope = {
      authenticated,
      ...(input.identity ? { submitter: input.identity.user } : {}),
      mailFrom: normalizeAddress(input.mailFrom),
      postRecipients: input.postRecipients,
      externalRecipients: input.externalRecipients,
      client: { address: context.clientAddress, helo: context.helo, protocol, tls: context.tls },
      eightBitMime: input.eightBitMime,
      smtpUtf8: input.smtpUtf8,
      receivedAtMs,
      sessionId: context.sessionId,
    };
    const idempotencyKey = submissionKey({ submitter: input.identity?.user, mailFrom: envelope.mailFrom, raw: original });
    try {
      const submit = deps.submission.submit({ envelope, raw, idempotencyKey });
      const receipt = await withDeadline(deps.clock, submit, deps.submitTimeoutMs, 'submit');
      messageRef = receipt.messageRef;
      notified = receipt.notified;
      // The one line per accepted message (the submission itself logs only what went wrong).
      log.info('smtp.submitted', { messageRef, from: envelope.mailFrom, recipients: notified.length, bytes: raw.byteLength, authenticated });
    } catch (error) {
      const failure =
        error instanceof DeadlineExceeded ? { code: 'TIMEOUT' as const, message: error.message, recipients: [] } : submitFailureOf(error);
      log.warn('smtp.submit.failed', { code: failure.code, reason: failure.message });
      return { kind: 'submitFailed', failure };
    }
  }

  const relay = await relayExternal(deps, input, raw);
  if (relay.kind === 'relayed') log.info('smtp.relayed', { recipients: relay.recipients.length });
  if (relay.kind === 'failed') log.warn('smtp.relay.incomplete', { relayed: relay.relayed.length, failed: relay.failed.length, reason: relay.reason });
  return { kind: 'delivered', messageRef, notified, relay };
}

async function relayExternal(deps: DeliveryDeps, input: DeliveryInput, raw: Uint8Array): Promise<RelayOutcome> {
  if (input.externalRecipients.length === 0) return { kind: 'none' };
  if (!deps.relay) {
    // RCPT refuses external recipients without a smarthost; reaching here is a bug, not a drop.
    return { kind: 'failed', temporary: false, enhanced: '5.7.1', reason: 'no smarthost is configured', relayed: [], failed: input.externalRecipients };
  }
  return deps.relay.relay({ mailFrom: input.mailFrom, recipients: input.externalRecipients, eightBitMime: input.eightBitMime }, raw);
}
