// A node's NATS files, in its data folder (`post node init` makes them):
//
//   nats/node.nk     the node's nkey seed: its user in its organisation's account
//   nats/global.nk   a second seed: its user in the global ring's account, used when it runs as a gateway
//   nats/ca.pem      the CA that signed the NATS servers' certificates (when the organisation gave one)
//
// `post node start` uses them unless told otherwise (--nats-creds, --nats-global-creds, --nats-ca);
// `post nats config` and the lab read the public keys from them for the servers' configuration.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsNodeUser } from './accounts';
import { ensureUserNkey } from './nkeys';
import { copyNatsCa } from './tls';

export interface NodeNatsFiles {
  readonly credsFile: string;
  readonly globalCredsFile: string;
  readonly caFile: string;
}

export function nodeNatsFiles(dataDir: string): NodeNatsFiles {
  const dir = join(dataDir, 'nats');
  return { credsFile: join(dir, 'node.nk'), globalCredsFile: join(dir, 'global.nk'), caFile: join(dir, 'ca.pem') };
}

/** Makes the node's two nkeys (kept if present) and copies the CA; returns the public keys. */
export function initNodeNatsCredentials(dataDir: string, caFile?: string): { nkey: string; globalNkey: string } {
  const files = nodeNatsFiles(dataDir);
  const keys = { nkey: ensureUserNkey(files.credsFile), globalNkey: ensureUserNkey(files.globalCredsFile) };
  if (caFile !== undefined) copyNatsCa(caFile, files.caFile);
  return keys;
}

/**
 * The node as the NATS servers' configuration names it; `gateway` adds its global-ring user. A data
 * folder from before NATS credentials gets its keys now.
 */
export function nodeNatsUser(dataDir: string, node: { nodeId: string; ringId: string }, gateway: boolean): NatsNodeUser {
  const files = nodeNatsFiles(dataDir);
  return {
    ...node,
    nkey: ensureUserNkey(files.credsFile),
    ...(gateway ? { globalNkey: ensureUserNkey(files.globalCredsFile) } : {}),
  };
}

/** The files `post node start` uses by default: those of the data folder that exist. */
export function defaultNodeNatsFiles(dataDir: string): Partial<NodeNatsFiles> {
  const files = nodeNatsFiles(dataDir);
  return Object.fromEntries(Object.entries(files).filter(([, path]) => existsSync(path))) as Partial<NodeNatsFiles>;
}
