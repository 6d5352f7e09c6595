// Login throttling across connections: one table per node, shared by IMAP LOGIN/AUTHENTICATE and
// SMTP AUTH, keyed by account and by client address (an IPv6 client by its /64).
//
// Rules (bounds in protocol/limits.ts):
// - Each key counts failed logins. The first LOGIN_FAILURES_FREE cost nothing; after that an
//   attempt must wait LOGIN_DELAY_BASE_MS after the last one, doubling per failure, up to
//   LOGIN_DELAY_MAX_MS. An attempt that comes too early is refused without checking the password,
//   so a guesser with 100 connections is no faster than one with one connection.
// - An account with LOGIN_ACCOUNT_LOCK_FAILURES failures (from anywhere) is locked for
//   LOGIN_ACCOUNT_LOCK_MS, doubling per lock up to LOGIN_ACCOUNT_LOCK_MAX_MS. During a lock every
//   attempt is refused, the right password from another address included, with a reply that says
//   the account is locked and until when. (Accepting the right password and flagging it would
//   mean checking passwords during the lock: a distributed guesser would keep its full rate.)
// - An attempt is charged when it is admitted (in flight counts as failed) and refunded when it
//   succeeds or fails for another reason (storage unreachable): parallel attempts cannot all slip
//   through one open window. A success clears the account's failures and lock, not the client
//   address's (a guesser's own account must not wash its address clean).
// - An attempt refused while attempts of its account or address are in flight need not be refused
//   for them: `admitWaiting` waits until one settles and asks again (at most LOGIN_WAITING_PER_KEY_MAX
//   waiting per key, LOGIN_WAIT_ROUNDS_MAX times each). A client's parallel correct logins after a
//   restart (each a slow Argon2id unlock) then run a few at a time, none refused; parallel wrong
//   guesses are refused once the ones in flight have failed, with exactly as many passwords checked
//   as `admit` alone would check.
// - Failures are forgotten after LOGIN_FAILURES_FORGET_MS without another; the table keeps at most
//   LOGIN_THROTTLE_ENTRIES_MAX keys: at the bound it drops, a 16th at a time, what holds nothing
//   (forgotten or cleared keys) and then the oldest unlocked keys.
// - Entries are updated in place, never deleted and set again to mark them recent: in V8 a Map key
//   deleted and re-added keeps its dead slots in the bucket chain until the table rehashes, and a
//   hot key in a 50,000-entry Map then costs ~100 us per lookup (measured).
//
// Pure: time comes from the clock port; the caller (actors/mail/loginGuard.ts) checks passwords,
// logs and counts what settle() reports. Admitting and settling a success are a few map operations:
// the throttle adds nothing measurable to a correct login.
import type { Clock } from '../infra/ports';
import { MailBackendError } from './backend';
import {
  LOGIN_ACCOUNT_LOCK_FAILURES,
  LOGIN_ACCOUNT_LOCK_MAX_MS,
  LOGIN_ACCOUNT_LOCK_MS,
  LOGIN_CLIENT_IPV6_PREFIX_BITS,
  LOGIN_DELAY_BASE_MS,
  LOGIN_DELAY_MAX_MS,
  LOGIN_FAILURES_FORGET_MS,
  LOGIN_FAILURES_FREE,
  LOGIN_THROTTLE_ENTRIES_MAX,
  LOGIN_WAIT_ROUNDS_MAX,
  LOGIN_WAITING_PER_KEY_MAX,
} from '../protocol/limits';

export interface LoginThrottleLimits {
  readonly failuresFree: number;
  readonly delayBaseMs: number;
  readonly delayMaxMs: number;
  readonly lockFailures: number;
  readonly lockMs: number;
  readonly lockMaxMs: number;
  readonly forgetMs: number;
  readonly entriesMax: number;
  readonly waitingPerKeyMax: number;
  readonly waitRoundsMax: number;
}

export const loginThrottleDefaults: LoginThrottleLimits = {
  failuresFree: LOGIN_FAILURES_FREE,
  delayBaseMs: LOGIN_DELAY_BASE_MS,
  delayMaxMs: LOGIN_DELAY_MAX_MS,
  lockFailures: LOGIN_ACCOUNT_LOCK_FAILURES,
  lockMs: LOGIN_ACCOUNT_LOCK_MS,
  lockMaxMs: LOGIN_ACCOUNT_LOCK_MAX_MS,
  forgetMs: LOGIN_FAILURES_FORGET_MS,
  entriesMax: LOGIN_THROTTLE_ENTRIES_MAX,
  waitingPerKeyMax: LOGIN_WAITING_PER_KEY_MAX,
  waitRoundsMax: LOGIN_WAIT_ROUNDS_MAX,
};

export type ThrottleScope = 'account' | 'client';

export type LoginRefusal =
  /** Too early after the last failures of this account or this client address. */
  | { readonly kind: 'delayed'; readonly scope: ThrottleScope; readonly retryAfterMs: number }
  /** The account is locked. */
  | { readonly kind: 'locked'; readonly retryAfterMs: number; readonly failures: number };

export interface LoginTicket {
  readonly account: string;
  readonly client: string;
}

export type Admission =
  | { readonly ok: true; readonly ticket: LoginTicket; readonly notices: readonly LoginNotice[] }
  | { readonly ok: false; readonly refusal: LoginRefusal };

/** How an admitted attempt ended: `other` is neither (storage unreachable, a timeout): refunded. */
export type LoginOutcome = 'success' | 'failure' | 'other';

export type LoginNotice =
  | { readonly kind: 'failed'; readonly account: string; readonly client: string; readonly accountFailures: number; readonly clientFailures: number }
  | { readonly kind: 'locked'; readonly account: string; readonly client: string; readonly failures: number; readonly lockedForMs: number }
  /** Keys dropped to stay within entriesMax (an attack on many names, or a very busy node). */
  | { readonly kind: 'evicted'; readonly count: number };

/** What the throttle remembers about one key, for inspection and tests. */
export interface ThrottleEntryView {
  readonly failures: number;
  readonly inFlight: number;
  /** How long the next attempt must wait (0: it may go now). */
  readonly retryAfterMs: number;
  readonly lockedForMs: number;
}

/**
 * An attempt the throttle turned away, its message a sentence for the client (what happened and
 * what to do). UNAVAILABLE to the MailAuthenticator port: temporary, so clients do not ask the
 * user for another password.
 */
export class LoginRefused extends MailBackendError {
  constructor(readonly refusal: LoginRefusal) {
    super('UNAVAILABLE', refusalText(refusal));
    this.name = 'LoginRefused';
  }
}

export function refusalText(refusal: LoginRefusal): string {
  const wait = formatWait(refusal.retryAfterMs);
  if (refusal.kind === 'locked') {
    return `This account is locked for ${wait} after ${refusal.failures} failed logins; try again then, or ask your administrator if the failures were not yours`;
  }
  const whose = refusal.scope === 'account' ? 'for this account' : 'from your address';
  return `Too many failed logins ${whose}; wait ${wait} before trying again`;
}

function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

interface Entry {
  failures: number;
  inFlight: number;
  /** Time of the last failure or admission: waits count from here. */
  lastMs: number;
  lockedUntilMs: number;
  locks: number;
}

/** Nothing to remember: no failures, nothing in flight, no lock. */
const empty = (entry: Entry, now: number): boolean => entry.failures === 0 && entry.inFlight === 0 && entry.lockedUntilMs <= now;

export class LoginThrottle {
  readonly limits: LoginThrottleLimits;
  /** `a\0account` and `c\0client` keys, oldest first. */
  private readonly entries = new Map<string, Entry>();
  /** Attempts waiting for one in flight on a key to settle (admitWaiting), by key. */
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    limits: Partial<LoginThrottleLimits> = {},
  ) {
    this.limits = { ...loginThrottleDefaults, ...limits };
    // An attempt touches two keys; with room for fewer, admitting one would evict the other.
    if (this.limits.entriesMax < 2) throw new Error('LoginThrottle needs room for at least 2 entries');
  }

  get size(): number {
    return this.entries.size;
  }

  /** May an attempt for `account` from `client` (see clientKeyOf) check its password now? */
  admit(account: string, client: string): Admission {
    const now = this.clock.now();
    const accountEntry = this.current(accountKey(account), now);
    const clientEntry = this.current(clientKey(client), now);
    if (accountEntry && accountEntry.lockedUntilMs > now) {
      return { ok: false, refusal: { kind: 'locked', retryAfterMs: accountEntry.lockedUntilMs - now, failures: accountEntry.failures } };
    }
    const accountWait = this.waitOf(accountEntry, now);
    const clientWait = this.waitOf(clientEntry, now);
    if (accountWait > 0 || clientWait > 0) {
      const scope: ThrottleScope = accountWait >= clientWait ? 'account' : 'client';
      return { ok: false, refusal: { kind: 'delayed', scope, retryAfterMs: Math.max(accountWait, clientWait) } };
    }
    const notices: LoginNotice[] = [];
    for (const key of [accountKey(account), clientKey(client)]) {
      const entry = this.touch(key, now, notices);
      entry.inFlight++;
      entry.lastMs = now;
    }
    return { ok: true, ticket: { account, client }, notices };
  }

  /**
   * admit(), but an attempt refused while attempts of its keys are in flight waits for one of them to
   * settle and asks again, instead of being refused for attempts that may well succeed.
   */
  async admitWaiting(account: string, client: string): Promise<Admission> {
    const keys = [accountKey(account), clientKey(client)];
    for (let round = 0; ; round++) {
      const admission = this.admit(account, client);
      if (admission.ok || admission.refusal.kind !== 'delayed' || round >= this.limits.waitRoundsMax) return admission;
      const busy = keys.filter((key) => (this.entries.get(key)?.inFlight ?? 0) > 0);
      if (busy.length === 0 || busy.some((key) => (this.waiting.get(key)?.size ?? 0) >= this.limits.waitingPerKeyMax)) return admission;
      await new Promise<void>((resolve) => {
        const wake = () => {
          for (const key of busy) {
            const set = this.waiting.get(key);
            set?.delete(wake);
            if (set?.size === 0) this.waiting.delete(key); // no empty sets left behind for keys nobody waits on
          }
          resolve();
        };
        for (const key of busy) {
          const set = this.waiting.get(key) ?? new Set();
          set.add(wake);
          this.waiting.set(key, set);
        }
      });
    }
  }

  /** Attempts waiting in admitWaiting (for inspection and tests). */
  get waitingCount(): number {
    const all = new Set<() => void>();
    for (const set of this.waiting.values()) for (const wake of set) all.add(wake);
    return all.size;
  }

  /** Ends an admitted attempt; returns what an operator may want logged or counted. */
  settle(ticket: LoginTicket, outcome: LoginOutcome): LoginNotice[] {
    const now = this.clock.now();
    const notices: LoginNotice[] = [];
    const account = this.touch(accountKey(ticket.account), now, notices);
    const client = this.touch(clientKey(ticket.client), now, notices);
    account.inFlight = Math.max(0, account.inFlight - 1);
    client.inFlight = Math.max(0, client.inFlight - 1);
    if (outcome === 'success') {
      account.failures = 0;
      account.locks = 0;
      account.lockedUntilMs = 0;
    } else if (outcome === 'failure') {
      account.failures++;
      client.failures++;
      account.lastMs = client.lastMs = now;
      notices.push({ kind: 'failed', account: ticket.account, client: ticket.client, accountFailures: account.failures, clientFailures: client.failures });
      if (account.failures >= this.limits.lockFailures) {
        account.locks++;
        const lockedForMs = Math.min(this.limits.lockMs * 2 ** Math.min(account.locks - 1, 30), this.limits.lockMaxMs);
        account.lockedUntilMs = now + lockedForMs;
        notices.push({ kind: 'locked', account: ticket.account, client: ticket.client, failures: account.failures, lockedForMs });
      }
    }
    this.wakeWaiting(accountKey(ticket.account));
    this.wakeWaiting(clientKey(ticket.client));
    return notices;
  }

  /** Wakes every attempt waiting on `key` (each asks again; the first ones may take the freed room). */
  private wakeWaiting(key: string): void {
    const set = this.waiting.get(key);
    if (!set) return;
    this.waiting.delete(key);
    for (const wake of [...set]) wake();
  }

  /** The state of one key (undefined when nothing is remembered about it). */
  inspect(scope: ThrottleScope, key: string): ThrottleEntryView | undefined {
    const now = this.clock.now();
    const entry = this.entries.get(scope === 'account' ? accountKey(key) : clientKey(key));
    if (!entry || this.stale(entry, now) || empty(entry, now)) return undefined;
    const lockedForMs = Math.max(0, entry.lockedUntilMs - now);
    return { failures: entry.failures, inFlight: entry.inFlight, retryAfterMs: Math.max(lockedForMs, this.waitOf(entry, now)), lockedForMs };
  }

  private waitOf(entry: Entry | undefined, now: number): number {
    if (!entry) return 0;
    const charged = entry.failures + entry.inFlight;
    if (charged < this.limits.failuresFree) return 0;
    const delay = Math.min(this.limits.delayBaseMs * 2 ** Math.min(charged - this.limits.failuresFree, 30), this.limits.delayMaxMs);
    return Math.max(0, entry.lastMs + delay - now);
  }

  private stale(entry: Entry, now: number): boolean {
    return entry.inFlight === 0 && now >= Math.max(entry.lastMs, entry.lockedUntilMs) + this.limits.forgetMs;
  }

  /** The entry of a key; a stale one is cleared in place (what it remembered is forgotten). */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.stale(entry, now)) {
      entry.failures = 0;
      entry.locks = 0;
      entry.lockedUntilMs = 0;
    }
    return entry;
  }

  /** The entry of a key, created if missing. */
  private touch(key: string, now: number, notices: LoginNotice[]): Entry {
    const entry = this.current(key, now);
    if (entry) return entry;
    this.makeRoom(now, notices);
    const created = { failures: 0, inFlight: 0, lastMs: now, lockedUntilMs: 0, locks: 0 };
    this.entries.set(key, created);
    return created;
  }

  /**
   * At the bound, frees a 16th of it in one pass (so the passes cost O(1) per key added): first
   * keys that hold nothing or are forgotten, then the oldest with nothing in flight and no lock,
   * then the oldest. Only the last pass counts as eviction (something remembered is lost).
   */
  private makeRoom(now: number, notices: LoginNotice[]): void {
    if (this.entries.size < this.limits.entriesMax) return;
    const target = this.limits.entriesMax - Math.max(1, Math.ceil(this.limits.entriesMax / 16));
    const passes: ((entry: Entry) => boolean)[] = [(e) => empty(e, now) || this.stale(e, now), (e) => e.inFlight === 0 && e.lockedUntilMs <= now, () => true];
    let evicted = 0;
    for (const [pass, drop] of passes.entries()) {
      for (const [key, entry] of this.entries) {
        if (this.entries.size <= target) break;
        if (!drop(entry)) continue;
        this.entries.delete(key);
        if (pass > 0) evicted++;
      }
    }
    if (evicted > 0) notices.push({ kind: 'evicted', count: evicted });
  }
}

const accountKey = (account: string): string => `a\0${account}`;
const clientKey = (client: string): string => `c\0${client}`;

/**
 * The throttle's key for a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its prefix
 * (a subscriber holds a whole /64 and could otherwise rotate addresses).
 */
export function clientKeyOf(address: string | undefined, ipv6PrefixBits = LOGIN_CLIENT_IPV6_PREFIX_BITS): string {
  if (!address) return 'unknown';
  const plain = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  if (!plain.includes(':')) return plain;
  const hextets = expandIpv6(plain);
  if (!hextets) return plain;
  const keep = Math.ceil(ipv6PrefixBits / 16);
  return `${hextets.slice(0, keep).join(':')}::/${ipv6PrefixBits}`;
}

/** The eight hextets of an IPv6 address (without leading zeros), or undefined when malformed. */
function expandIpv6(address: string): string[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): string[] => {
    if (!part) return [];
    return part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])); // an embedded IPv4 fills two
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => g.replace(/^0+(?=.)/, ''));
}
