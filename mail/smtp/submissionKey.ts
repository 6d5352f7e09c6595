// The idempotency key of a submission. A client that retries (after a 4xx, or after losing the
// connection before the 250) sends the same bytes from the same sender again; the key must come
// out the same, so the storage side notifies no recipient twice. Recipients are left out on
// purpose: a retry usually carries fewer of them (the ones refused or already served are dropped),
// and the storage side deduplicates per (key, recipient). Our Received header is left out too:
// it differs on every attempt.
import { HashDomain } from '../../crypto/domains';
import { blake2bHex } from '../../crypto/hash';

export function submissionKey(opts: { readonly submitter: string | undefined; readonly mailFrom: string; readonly raw: Uint8Array }): string {
  return blake2bHex([HashDomain.submissionKey, `${opts.submitter ?? '(unauthenticated)'}\0${opts.mailFrom}\0`, opts.raw]);
}
