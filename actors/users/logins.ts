// Logins on this node, shared by IMAP and SMTP AUTH (issue 11: LOGIN <= 10 ms where the keys already
// are). The first login of a user runs the full user login (directory record, keystore, Argon2id);
// after it the node keeps the unlocked user and an in-memory verifier of that password
// (crypto/passwordVerifier.ts), so the same password logs in again in microseconds, with the directory
// and keystore re-checked at most every DIRECTORY_CACHE_MS (revocation, a changed password). Any other
// password takes the full login, so a wrong one still costs Argon2id (and the mail gateway's throttle).
// A known login is forgotten LOGIN_KEPT_MS after its last use, unless the node hosts the user (kept).
// For a hosted user the node also derives SCRAM keys (issue 17) from the password it unlocked the user
// with, so an XMPP client that only tries SCRAM when SCRAM is offered (libstrophe's: profanity) logs in
// on the user's home node without a PLAIN login first.
import type { RingTrust } from '../../crypto/certificates';
import { PasswordVerifier } from '../../crypto/passwordVerifier';
import { deriveScramKeys, SCRAM_SALT_BYTES, type ScramCredentials, type ScramHash } from '../../crypto/scram';
import type { Clock, Random } from '../../infra/ports';
import { DIRECTORY_CACHE_MS, LOGIN_KEPT_MS, LOGINS_KNOWN_MAX, XMPP_SCRAM_ITERATIONS } from '../../protocol/limits';
import type { StorageApi } from '../../storage/api';
import { type LoginRecord, loginStillValid, loginWithKeystore } from '../../storage/users/login';
import { normaliseAddress } from '../../storage/users/userErrors';

interface KnownLogin {
  readonly record: LoginRecord;
  readonly verifier: PasswordVerifier;
  checkedAtMs: number;
  usedAtMs: number;
  /** A hosted user: kept while the node hosts it. */
  readonly kept: boolean;
  /** A hosted user's SCRAM keys (when the cache has a random source for their salt). */
  readonly scram?: Record<ScramHash, ScramCredentials>;
}

/** A hosted user's login record and SCRAM keys. */
export interface HostedScram {
  readonly record: LoginRecord;
  readonly keys: Record<ScramHash, ScramCredentials>;
}

export interface LoginCacheDeps {
  readonly storage: StorageApi;
  readonly trust: RingTrust;
  readonly clock: Clock;
  /** Salts for hosted users' SCRAM keys; without it none are derived. */
  readonly random?: Random;
}

export class LoginCache {
  private readonly known = new Map<string, KnownLogin>();
  /** Logins done the full way and the fast way, for /metrics. */
  readonly counts = { full: 0, fast: 0 };

  constructor(private readonly deps: LoginCacheDeps) {}

  /** Log `username` in with `password`: fast when this node checked that password before. Throws UserError like login(). */
  async login(username: string, password: string): Promise<LoginRecord> {
    const address = normaliseAddress(username, this.deps.trust.org);
    const fast = await this.fast(address, password);
    if (fast) return fast;
    const record = await loginWithKeystore({ storage: this.deps.storage, trust: this.deps.trust, address: username, password, clock: this.deps.clock });
    this.counts.full++;
    this.remember(record, password, this.known.get(record.user.address)?.kept ?? false);
    return record;
  }

  /** A hosted user, unlocked by the node: its logins take the fast path while it is hosted. */
  keep(record: LoginRecord, password: string): void {
    const random = this.deps.random;
    this.remember(record, password, true, random && deriveScramKeys(password, random.bytes(SCRAM_SALT_BYTES), XMPP_SCRAM_ITERATIONS));
  }

  /** The SCRAM keys of a user this node hosts, if it derived them. */
  hostedScram(address: string): HostedScram | undefined {
    const known = this.known.get(normaliseAddress(address, this.deps.trust.org));
    return known?.kept && known.scram ? { record: known.record, keys: known.scram } : undefined;
  }

  private remember(record: LoginRecord, password: string, kept: boolean, scram?: Record<ScramHash, ScramCredentials>): void {
    const now = this.deps.clock.now();
    this.forgetUnused(now);
    const previous = this.known.get(record.user.address);
    const keys = scram ?? (previous?.verifier.matches(record.user.address, password) ? previous.scram : undefined);
    this.known.set(record.user.address, { record, verifier: PasswordVerifier.of(record.user.address, password), checkedAtMs: now, usedAtMs: now, kept, scram: keys });
  }

  private async fast(address: string, password: string): Promise<LoginRecord | undefined> {
    const known = this.known.get(address);
    if (!known || !known.verifier.matches(address, password)) return undefined;
    const now = this.deps.clock.now();
    if (!known.kept && now - known.usedAtMs >= LOGIN_KEPT_MS) {
      this.known.delete(address);
      return undefined;
    }
    if (now - known.checkedAtMs >= DIRECTORY_CACHE_MS) {
      if (!(await loginStillValid(this.deps.storage, this.deps.trust, known.record, now))) {
        this.known.delete(address);
        return undefined;
      }
      known.checkedAtMs = now;
    }
    known.usedAtMs = now;
    this.counts.fast++;
    return known.record;
  }

  /** Drop logins unused for LOGIN_KEPT_MS (and the oldest beyond LOGINS_KNOWN_MAX), hosted users excepted. */
  private forgetUnused(now: number): void {
    for (const [address, k] of this.known) if (!k.kept && now - k.usedAtMs >= LOGIN_KEPT_MS) this.known.delete(address);
    for (const [address, k] of this.known) {
      if (this.known.size < LOGINS_KNOWN_MAX) break;
      if (!k.kept) this.known.delete(address);
    }
  }
}
