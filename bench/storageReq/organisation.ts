// The organisation: its users (created with the real createUser: keys, certificate, keystore,
// identity and directory records), the postmaster (the MX gateway's identity, which stores and
// notifies inbound mail), teams, mailing lists, who writes to whom, and the rings of machines.
import { createCertificateAuthority } from '../../crypto/certificates';
import { KEYSTORE_KDF_CHEAP } from '../../crypto/keystore';
import { dropIdOf } from '../../crypto/notification';
import { nodeIdOf } from '../../crypto/hash';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import type { SimRandom } from '../../infra/sim/random';
import type { ObjectPutResult, PutOptions } from '../../storage/api';
import { MemoryStorage } from '../../storage/memory/storage';
import type { SignedObject } from '../../storage/signedObject';
import { encodeSignedObject } from '../../storage/signedObjectCodec';
import { createUser } from '../../storage/users/createUser';
import { localUserIssuer } from '../../storage/users/issuer';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { normal, sample } from './draws';
import { HTML_COMPOSERS, ORG_LOGO_USERS, OWN_LOGO_USERS, type TraceParams } from './params';

export const ORG_DOMAIN = 'storage.example';

/** A MemoryStorage that remembers the encoded size of every signed object put (what a replica keeps). */
export class RecordingStorage extends MemoryStorage {
  readonly objectBytes = new Map<string, number>();
  readonly blockBytes = new Map<string, number>();

  override async putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
    const r = await super.putObject(object, replacesSeq);
    if (r.ok) this.objectBytes.set(object.objectId, encodeSignedObject(object).length);
    return r;
  }

  override async putBlock(bytes: Uint8Array, opts?: PutOptions): Promise<string> {
    const id = await super.putBlock(bytes, opts);
    this.blockBytes.set(id, bytes.length);
    return id;
  }
}

export interface Member {
  readonly index: number;
  readonly address: string;
  readonly user: UnlockedUser;
  readonly dropId: string;
  /** Colleagues this user writes to most (team and a few others). */
  readonly circle: readonly number[];
  /** Multipliers of the mean volumes (log-normal, mean 1). */
  readonly sendActivity: number;
  readonly inboundActivity: number;
  readonly html: boolean;
  /** The inline logo in this user's HTML signature: 'org' (shared by many), 'own', or none. */
  readonly logo: 'org' | 'own' | undefined;
}

export interface Organisation {
  readonly members: readonly Member[];
  readonly postmaster: UnlockedUser;
  readonly lists: readonly { readonly address: string; readonly members: readonly number[] }[];
  /** Signed objects the users' creation stored (keystores, identity and directory records): id -> bytes. */
  readonly records: ReadonlyMap<string, number>;
  /** Node ids of each ring (one machine per user; then the smaller ring). */
  readonly rings: readonly (readonly string[])[];
}

const clockAt = (nowMs: number) => ({ now: () => nowMs, setTimeout: () => undefined, clearTimeout: () => undefined, defer: () => undefined });

/** Mean-1 log-normal multiplier. */
const activity = (r: SimRandom, sigma: number) => Math.exp(sigma * normal(r) - (sigma * sigma) / 2);

export async function buildOrganisation(params: TraceParams, random: SimRandom, startMs: number): Promise<Organisation> {
  const ca = await createCertificateAuthority(ORG_DOMAIN, random.fork('ca').bytes(32));
  const issuer = localUserIssuer(ca);
  const storage = new RecordingStorage();
  const clock = clockAt(startMs);
  const create = async (address: string) =>
    (await createUser({ storage, issuer, address, password: 'not used', clock, random: random.fork(`user ${address}`), kdf: KEYSTORE_KDF_CHEAP })).user;

  const draws = random.fork('people');
  const users: UnlockedUser[] = [];
  for (let i = 0; i < params.users; i++) users.push(await create(`user${i + 1}@${ORG_DOMAIN}`));
  const postmaster = await create(`postmaster@${ORG_DOMAIN}`);

  // Teams of 5-15 in order of index; lists: everyone, each team, and a few interest lists.
  const teams: number[][] = [];
  for (let at = 0; at < params.users; ) {
    const size = Math.min(params.users - at, 5 + draws.int(11));
    teams.push(Array.from({ length: size }, (_, k) => at + k));
    at += size;
  }
  const everyone = users.map((_, i) => i);
  const lists = [
    { address: `all@${ORG_DOMAIN}`, members: everyone },
    ...teams.map((members, t) => ({ address: `team${t + 1}@${ORG_DOMAIN}`, members })),
    ...Array.from({ length: Math.max(1, Math.round(params.users / 25)) }, (_, l) => ({
      address: `interest${l + 1}@${ORG_DOMAIN}`,
      members: sample(draws, everyone, Math.min(params.users, 10 + draws.int(51))).sort((a, b) => a - b),
    })),
  ];
  const members: Member[] = users.map((user, index) => {
    const team = teams.find((t) => t.includes(index))!;
    const others = sample(draws, everyone.filter((j) => !team.includes(j)), 10);
    const logoDraw = draws.float();
    return {
      index,
      address: user.address,
      user,
      dropId: dropIdOf(user.certificate.userId),
      circle: [...team.filter((j) => j !== index), ...others],
      sendActivity: activity(draws, params.activitySigma),
      inboundActivity: activity(draws, params.activitySigma),
      html: draws.chance(HTML_COMPOSERS),
      logo: logoDraw < ORG_LOGO_USERS ? 'org' : logoDraw < ORG_LOGO_USERS + OWN_LOGO_USERS ? 'own' : undefined,
    };
  });

  const ringIds = async (count: number, label: string) => {
    const r = random.fork(label);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(nodeIdOf((await signingKeyPairFromSeed(r.bytes(32))).publicKey));
    return ids;
  };
  const rings = [await ringIds(params.users, 'ring'), await ringIds(params.smallRing, 'small ring')];
  return { members, postmaster, lists, records: storage.objectBytes, rings };
}
