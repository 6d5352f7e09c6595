// Provisioning a user's standby hosts (issue 13): whoever holds the user's password when the user is
// hosted (the CA's `post user add`, the lab, the simulator) opens the keystore once and seals the
// user's keys, not the password, to each standby node's key, certified by the organisation's CA. Only
// those nodes can open them (crypto/nodeSeal.ts); the node takes over delivery with them when the
// home node has been gone too long (actors/users/standbyHost.ts).
import type { KeystoreSecrets } from '../../crypto/keystore';
import { nodeIdOf } from '../../crypto/hash';
import { sealToNode } from '../../crypto/nodeSeal';
import { standbyGrantCodec } from '../../protocol/apps';
import { canonicalBytes } from '../../protocol/frame';
import { STANDBY_HOSTS_MAX } from '../../protocol/limits';

export interface StandbyNode {
  readonly id: string;
  /** The node's Ed25519 signing public key (its certificate's): the grant is sealed to it. */
  readonly signingKey: Uint8Array;
}

/** One sealed grant per standby node, in rank order; refuses a key that is not the node's (id = BLAKE2b of the key). */
export function sealStandbyGrants(secrets: KeystoreSecrets, home: string, standbys: readonly StandbyNode[]): { node: string; sealed: Uint8Array }[] {
  if (standbys.length > STANDBY_HOSTS_MAX) throw new RangeError(`${standbys.length} standby hosts exceeds ${STANDBY_HOSTS_MAX}`);
  for (const s of standbys) if (nodeIdOf(s.signingKey) !== s.id) throw new RangeError(`the key given for node ${s.id.slice(0, 12)} is not that node's`);
  const grant = canonicalBytes(
    standbyGrantCodec.encode({
      address: secrets.certificate.address.toLowerCase(),
      home,
      standbys: standbys.map((s) => s.id),
      signingSecretKey: secrets.signingSecretKey,
      boxSecretKey: secrets.boxSecretKey,
      masterSecret: secrets.masterSecret,
    }),
  );
  return standbys.map((s) => ({ node: s.id, sealed: sealToNode(s.signingKey, grant) }));
}
