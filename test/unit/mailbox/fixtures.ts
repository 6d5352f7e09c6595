// A PostMailbox over an in-memory StorageApi with two users, as one node (or several nodes sharing the
// storage and the head notices: "devices").
import { PostMailbox } from '../../../actors/mail/postMailbox';
import { SimRandom } from '../../../infra/sim/random';
import { MemoryHeadWatch } from '../../../storage/log/headWatch';
import { MemoryStorage } from '../../../storage/memoryStorage';
import { makeUser, testCa, TestClock } from '../users/fixtures';

export const USERS = [
  { username: 'alice@lab.example', password: 'alice-password' },
  { username: 'bob@lab.example', password: 'bob-password' },
] as const;

export interface Ring {
  readonly storage: MemoryStorage;
  readonly headWatch: MemoryHeadWatch;
  /** A node ("device") of the ring: its own PostMailbox (own marks, own caches) over the shared storage. */
  node(name: string): Promise<PostMailbox>;
}

export async function ring(): Promise<Ring> {
  const storage = new MemoryStorage();
  const headWatch = new MemoryHeadWatch();
  await makeUser(storage, 'alice');
  await makeUser(storage, 'bob');
  const trust = await testCa();
  return {
    storage,
    headWatch,
    node: async (name) => new PostMailbox({ storage, trust, clock: new TestClock(), random: new SimRandom(`node ${name}`), headWatch, mailQuotaBytes: 10_000_000 }),
  };
}
