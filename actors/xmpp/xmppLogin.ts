// XMPP logins on this node (issue 17): PLAIN through the node's login path and login guard (the ones
// IMAP, SMTP AUTH and CalDAV use: one throttle, so switching protocol gains a guesser nothing), and
// SCRAM from keys this node derived when it last verified the user's password that way.
//
// POST checks a password with Argon2id against the user's keystore; SCRAM needs keys derived from the
// password itself (RFC 5802), which POST does not store. So a node derives SCRAM-SHA-1 and
// SCRAM-SHA-256 keys (fresh salt, XMPP_SCRAM_ITERATIONS) right after a successful PLAIN login and
// keeps them in memory with the unlocked user, like the login cache keeps its verifier, for
// LOGIN_KEPT_MS after last use. The users a node hosts have SCRAM keys from the start (the node derived
// them when it unlocked the user: actors/users/logins.ts), so SCRAM works on a user's home node at
// once; elsewhere, before a PLAIN login, SCRAM answers temporary-auth-failure and clients that fall
// back try PLAIN. Nothing is weaker than the keystore check: the keys only exist for a password that
// passed it.
import { deriveScramKeys, SCRAM_SALT_BYTES, type ScramCredentials, type ScramHash } from '../../crypto/scram';
import type { Clock, Random } from '../../infra/ports';
import { LoginRefused, type LoginOutcome } from '../../mail/loginThrottle';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { LOGIN_KEPT_MS, LOGINS_KNOWN_MAX, XMPP_SCRAM_ITERATIONS } from '../../protocol/limits';
import type { LoginRecord } from '../../storage/users/login';
import type { LoginResult, XmppAccount, XmppLogin } from '../../xmpp/ports';
import type { LoginGuard } from '../mail/loginGuard';
import type { HostedScram } from '../users/logins';

/** A wrong password or an unknown user is a failed guess; anything else (the ring away) is not the client's doing. */
export const xmppLoginOutcome = (error: unknown): LoginOutcome => {
  const code = (error as { code?: string }).code;
  return code === 'WRONG_PASSWORD' || code === 'UNKNOWN_USER' ? 'failure' : 'other';
};

interface ScramEntry {
  readonly record: LoginRecord;
  readonly keys: Record<ScramHash, ScramCredentials>;
  usedAtMs: number;
}

export class ScramKeys {
  private readonly entries = new Map<string, ScramEntry>();

  /** `hosted`: the keys of a user this node hosts (kept while it hosts them). */
  constructor(private readonly deps: { clock: Clock; random: Random; domain: string; hosted?: (address: string) => HostedScram | undefined }) {}

  /** The account a user name logs in to: lower case, the organisation's domain added when missing. */
  accountOf(username: string): string {
    const u = username.trim().toLowerCase();
    return u.includes('@') ? u : `${u}@${this.deps.domain}`;
  }

  remember(record: LoginRecord, password: string): void {
    const now = this.deps.clock.now();
    for (const [address, e] of this.entries) if (now - e.usedAtMs >= LOGIN_KEPT_MS || this.entries.size >= LOGINS_KNOWN_MAX) this.entries.delete(address);
    const keys = deriveScramKeys(password, this.deps.random.bytes(SCRAM_SALT_BYTES), XMPP_SCRAM_ITERATIONS);
    this.entries.set(record.user.address, { record, keys, usedAtMs: now });
  }

  entry(username: string): HostedScram | undefined {
    const address = this.accountOf(username);
    const e = this.entries.get(address);
    if (!e) return this.deps.hosted?.(address);
    const now = this.deps.clock.now();
    if (now - e.usedAtMs >= LOGIN_KEPT_MS) {
      this.entries.delete(address);
      return undefined;
    }
    e.usedAtMs = now;
    return e;
  }
}

export interface XmppLoginDeps {
  readonly guard: LoginGuard;
  readonly login: (username: string, password: string) => Promise<LoginRecord>;
  readonly scram: ScramKeys;
  /** The logged-in user's account (their thread, shared with their other connections here). */
  readonly accountFor: (record: LoginRecord) => Promise<XmppAccount>;
}

/** The login port of one connection from `clientAddress`. */
export function xmppLogin(deps: XmppLoginDeps, clientAddress: string | undefined): XmppLogin {
  const refused = (e: unknown): LoginResult => {
    if (e instanceof LoginRefused) return { ok: false, failure: 'temporary-auth-failure', text: e.message };
    if (xmppLoginOutcome(e) === 'failure') return { ok: false, failure: 'not-authorized', text: 'wrong address or password' };
    return { ok: false, failure: 'temporary-auth-failure', text: `the ring could not check your password right now (${(e as Error).message}); try again shortly` };
  };
  return {
    plain: async (username, password) => {
      let record: LoginRecord;
      try {
        record = await deps.guard.attempt('xmpp', clientAddress, username, () => deps.login(username, password), xmppLoginOutcome);
      } catch (e) {
        return refused(e);
      }
      deps.scram.remember(record, password);
      return { ok: true, account: await deps.accountFor(record) };
    },
    scramCredentials: (username, hash) => deps.scram.entry(username)?.keys[hash],
    scram: async (username, proofValid) => {
      let record: LoginRecord;
      try {
        record = await deps.guard.attempt('xmpp', clientAddress, username, async () => {
          const entry = deps.scram.entry(username);
          if (!entry || !proofValid()) throw new PostError(ErrorCodes.WRONG_PASSWORD, 'wrong password');
          return entry.record;
        }, xmppLoginOutcome);
      } catch (e) {
        return refused(e);
      }
      return { ok: true, account: await deps.accountFor(record) };
    },
  };
}
