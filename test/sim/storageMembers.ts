// What the storage simulator tests share: a user member of a ring (its certificate from the ring's CA,
// or another CA's) as a storage signer, and running several storage calls to completion.
import { issueUserCertificate } from '../../crypto/certificates';
import { userIdOf } from '../../crypto/hash';
import type { StorageSigner } from '../../crypto/insertAuth';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import type { SimCluster } from '../../scenarios/sim/cluster';

export async function userSigner(cluster: SimCluster, address: string, ca = cluster.ca): Promise<StorageSigner & { keys: { publicKey: Uint8Array; secretKey: Uint8Array } }> {
  const keys = await signingKeyPairFromSeed(cluster.random.fork(`user-${address}`).bytes(32));
  const cert = await issueUserCertificate(ca, { address, signingKey: keys.publicKey, boxKey: new Uint8Array(32) }, { nowMs: cluster.clock.now() });
  return { member: { type: 'user', cert }, secretKey: keys.secretKey, id: userIdOf(address), keys };
}

/** Run all promises to completion on the simulated clock. */
export async function settle<T>(cluster: SimCluster, promises: Promise<T>[], maxMs = 600_000): Promise<PromiseSettledResult<T>[]> {
  let done = 0;
  const all = Promise.allSettled(promises.map((p) => p.finally(() => done++)));
  await cluster.runUntil(() => done === promises.length, maxMs);
  return all;
}
