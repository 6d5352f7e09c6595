// A PostMailbox over an in-memory StorageApi with two users, as one node (or several nodes sharing the
// storage and the head notices: "devices").
import { PostMailbox } from '../../../actors/mail/postMailbox';
import type { Log } from '../../../infra/ports';
import { SimRandom } from '../../../infra/sim/random';
import { MemoryHeadWatch } from '../../../storage/memory/headWatch';
import { MemoryStorage } from '../../../storage/memory/storage';
import { makeUser, testCa, TestClock } from '../users/fixtures';
import { ManualClock } from '../imap/manualClock';

export const USERS = [
  { username: 'alice@lab.example', password: 'alice-password' },
  { username: 'bob@lab.example', password: 'bob-password' },
] as const;

export interface Ring {
  readonly storage: MemoryStorage;
  readonly headWatch: MemoryHeadWatch;
  /** The nodes' clock (one for the ring): tests move it to age what the mailboxes confirmed. */
  readonly clock: TestClock | ManualClock;
  /**
   * A node ("device") of the ring: its own PostMailbox (own marks, own caches) over the shared storage;
   * `hosts` says whether it hosts a user (a session away from home when not).
   */
  node(name: string, opts?: { hosts?: (address: string) => boolean; log?: Log }): Promise<PostMailbox>;
}

/** `clock`: the nodes' clock (a ManualClock runs their timers only when the test advances it). */
export async function ring(clock: TestClock | ManualClock = new TestClock()): Promise<Ring> {
  const storage = new MemoryStorage();
  const headWatch = new MemoryHeadWatch();
  await makeUser(storage, 'alice');
  await makeUser(storage, 'bob');
  const trust = await testCa();
  return {
    storage,
    headWatch,
    clock,
    node: async (name, opts = {}) => new PostMailbox({ storage, trust, clock, random: new SimRandom(`node ${name}`), headWatch, mailQuotaBytes: 10_000_000, ...opts }),
  };
}
