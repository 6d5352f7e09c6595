// Shared fixtures for user, log and mailbox tests: an organisation CA, a clock the test moves, seeded
// randomness, and users created with cheap Argon2id limits over an in-memory StorageApi.
import { createCertificateAuthority, type CertificateAuthority } from '../../../crypto/certificates';
import { KEYSTORE_KDF_CHEAP } from '../../../crypto/keystore';
import type { Clock, TimerHandle } from '../../../infra/ports';
import { SimRandom } from '../../../infra/sim/random';
import type { StorageApi } from '../../../storage/api';
import { createUser } from '../../../storage/users/createUser';
import { localUserIssuer, type UserIssuer } from '../../../storage/users/issuer';
import type { UnlockedUser } from '../../../storage/users/unlockedUser';

export const ORG = 'lab.example';
export const T0 = 1_700_000_000_000;

/** Wall-clock timers, but `now()` is whatever the test sets. */
export class TestClock implements Clock {
  constructor(public nowMs: number = T0) {}
  now(): number {
    return this.nowMs;
  }
  /** Move time forward (timers run on real time regardless). */
  advance(ms: number): void {
    this.nowMs += ms;
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return globalThis.setTimeout(fn, delayMs);
  }
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  }
  defer(fn: () => void): void {
    setImmediate(fn);
  }
}

let caCache: Promise<CertificateAuthority> | undefined;
export const testCa = (): Promise<CertificateAuthority> => (caCache ??= createCertificateAuthority(ORG, new Uint8Array(32).fill(9)));

export async function testIssuer(opts: { validityMs?: number } = {}): Promise<UserIssuer> {
  return localUserIssuer(await testCa(), opts);
}

export async function makeUser(storage: StorageApi, local: string, opts: { password?: string; seed?: string; issuer?: UserIssuer; clock?: Clock } = {}): Promise<UnlockedUser> {
  const { user } = await createUser({
    storage,
    issuer: opts.issuer ?? (await testIssuer()),
    address: `${local}@${ORG}`,
    password: opts.password ?? `${local}-password`,
    clock: opts.clock ?? new TestClock(),
    random: new SimRandom(opts.seed ?? `user ${local}`),
    kdf: KEYSTORE_KDF_CHEAP,
  });
  return user;
}
