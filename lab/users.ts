// Creating a user from the command line: the tool holds the CA, so it issues the certificate and
// signs the directory record itself, creates the user's keys and keystore (Argon2id of the password),
// has a node store the records, and hosts the user on that node (credentials sealed to the node's key).
// It then makes the next nodes after that one in the ring the user's standby hosts: the user's keys
// (opened here from the keystore, never the password) sealed to each of them (issue 13).
// Acting as a user: the tool logs in itself (directory record and keystore read through a node,
// Argon2id and the keystore opened here), so that it can sign requests made as that user.
import { readFileSync } from 'node:fs';
import { sealToNode } from '../crypto/nodeSeal';
import { wallClock } from '../infra/clock';
import { readOrganisation, readRingTrust } from '../infra/files/identity';
import { osRandom } from '../infra/random';
import { hostedUserCodec } from '../protocol/apps';
import { UserHostRequest, UserStandbyRequest } from '../protocol/control';
import { STANDBY_HOSTS_DEFAULT, STANDBY_HOSTS_MAX } from '../protocol/limits';
import { standbyHostsFor } from '../overlay/standby';
import { sealStandbyGrants } from '../storage/users/standbyGrants';
import { canonicalBytes } from '../protocol/frame';
import { createUser } from '../storage/users/createUser';
import { localUserIssuer } from '../storage/users/issuer';
import { login, openUserSecrets } from '../storage/users/login';
import type { UnlockedUser } from '../storage/users/unlockedUser';
import { OperatorError } from './errors';
import type { LabClient } from './client';
import type { LabNode } from './labFile';
import { controlStorage } from './controlStorage';

export async function addUser(
  client: LabClient,
  node: LabNode,
  caDir: string,
  address: string,
  password: string,
  opts: { standbys?: number } = {},
): Promise<{ address: string; node: string; standbys: string[] }> {
  const org = readOrganisation(caDir);
  const domain = address.split('@')[1]?.toLowerCase();
  if (domain !== org.ca.org) throw new OperatorError(`${address} is not an address of ${org.ca.org} (the CA in ${caDir})`);
  if (password.length < 1) throw new OperatorError('the password is empty; put it in the password file');
  try {
    await createUser({ storage: controlStorage(client, node), issuer: localUserIssuer(org.ca), address, password, clock: wallClock, random: osRandom, home: node.id });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new OperatorError(`cannot create ${address}: ${code ? `${code}: ` : ''}${(e as Error).message}`);
  }
  const status = await client.status(node);
  const sealed = sealToNode(Buffer.from(status.signingKey, 'hex'), canonicalBytes(hostedUserCodec.encode({ address: address.toLowerCase(), password })));
  await client.ask(node, UserHostRequest, { sealed }, 60_000);
  const standbys = await addStandbys(client, node, address, password, opts.standbys ?? STANDBY_HOSTS_DEFAULT);
  return { address: address.toLowerCase(), node: node.id, standbys };
}

/**
 * The `count` nodes after the user's home in the ring (from the home's leaf set) become its standby
 * hosts: the user's keys sealed to each one's key (checked against its id, which its CA-certified
 * certificate binds). Returns their ids in rank order.
 */
async function addStandbys(client: LabClient, home: LabNode, address: string, password: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  if (count > STANDBY_HOSTS_MAX) throw new OperatorError(`at most ${STANDBY_HOSTS_MAX} standby hosts per user (each holds the user's keys)`);
  const status = await client.status(home);
  const ids = standbyHostsFor(home.id, status.leafSet as string[], count);
  if (ids.length === 0) return [];
  const trust = readRingTrust(client.orgOf(home).ca);
  let secrets;
  try {
    ({ secrets } = await openUserSecrets({ storage: controlStorage(client, home), trust, address, password, clock: wallClock }));
  } catch (e) {
    throw new OperatorError(`cannot open the keystore of ${address} to give it standby hosts: ${(e as Error).message}`);
  }
  const nodes: LabNode[] = ids.map((id) => client.lab.nodes.find((n) => n.id === id) ?? { ...home, id });
  const keyed = [];
  for (const n of nodes) keyed.push({ id: n.id, signingKey: await client.nodeKey(n) });
  for (const [i, g] of sealStandbyGrants(secrets, home.id, keyed).entries()) await client.ask(nodes[i]!, UserStandbyRequest, { sealed: g.sealed }, 60_000);
  return ids;
}

/** Log in as `address` with its password, through `node` (which must be of the user's organisation). */
export async function loginAs(client: LabClient, node: LabNode, address: string, password: string): Promise<UnlockedUser> {
  const trust = readRingTrust(client.orgOf(node).ca);
  try {
    return await login({ storage: controlStorage(client, node), trust, address, password, clock: wallClock });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new OperatorError(`cannot log in as ${address}: ${code ? `${code}: ` : ''}${(e as Error).message}`);
  }
}

export const newPassword = (): string => Buffer.from(osRandom.bytes(12)).toString('base64url');

/** A password from the first line of a file. */
export function readPasswordFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.replace(/\r$/, '');
  } catch (e) {
    throw new OperatorError(`cannot read the password file ${file}: ${(e as Error).message}`);
  }
}
