// The NATS side of a deployment (DESIGN section 10): a TLS CA and server certificate, the operator's
// key, and the servers' accounts built from the nodes' data folders. `post lab up` (both topologies),
// `post nats init|config` (the compose lab, an operator's own servers) all go through here.
import { join, resolve } from 'node:path';
import { readNode } from '../infra/files/identity';
import { type NatsNodeUser, postAccounts, type LeafLinkUser } from '../infra/nats/accounts';
import type { NatsAccount } from '../infra/nats/config';
import { ensureUserNkey } from '../infra/nats/nkeys';
import { nodeNatsUser } from '../infra/nats/nodeCredentials';
import { createNatsTls, type NatsTlsFiles } from '../infra/nats/tls';
import type { LabFile } from './labFile';
import { natsClientSecurity } from '../infra/nats/clientSecurity';
import type { NatsTransportOptions } from '../infra/nats/transport';

/** What `post nats init` writes into its folder: the TLS material and the operator's key. */
export interface NatsSecurityFiles {
  readonly tls: NatsTlsFiles;
  /** The operator's nkey seed: `natsCreds` in lab.json. */
  readonly operatorCreds: string;
}

/** Host names every lab certificate carries: clients given an IP address check the name `localhost`. */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost'];

export function initNatsSecurity(dir: string, hosts: readonly string[]): NatsSecurityFiles {
  const out = resolve(dir);
  const tls = createNatsTls(join(out, 'tls'), hosts);
  const operatorCreds = join(out, 'operator.nk');
  ensureUserNkey(operatorCreds);
  return { tls, operatorCreds };
}

/** A node as the servers' configuration sees it: from its data folder. */
export function natsUserOfNode(dataDir: string, gateway: boolean): NatsNodeUser {
  const { cert } = readNode(dataDir);
  return nodeNatsUser(dataDir, { nodeId: cert.nodeId, ringId: cert.ringId }, gateway);
}

/** The accounts of one cluster serving `rings`, with these nodes, the operator and leaf links. */
export function clusterAccounts(opts: { rings: readonly string[]; nodes: readonly NatsNodeUser[]; operatorCreds: string; leafUsers?: readonly LeafLinkUser[] }): NatsAccount[] {
  return postAccounts({ rings: opts.rings, nodes: opts.nodes, operatorNkey: ensureUserNkey(opts.operatorCreds), leafUsers: opts.leafUsers });
}

/** Transport options for the operator's connection to one of the lab's clusters (lab.json's natsCreds and natsCa). */
export function operatorNatsOptions(lab: LabFile, servers: readonly string[] = lab.nats): Pick<NatsTransportOptions, 'servers' | 'credentials' | 'tls'> {
  return natsClientSecurity(servers, { credsFile: lab.natsCreds, caFile: lab.natsCa });
}
