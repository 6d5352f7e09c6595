// On-disk identity: an organisation's CA folder and a node's data folder. JSON with hex for bytes;
// secrets in their own files, mode 0600. Every read says which file is wrong and how to fix it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurably } from './durable';
import { join } from 'node:path';
import type { CertificateAuthority, RingTrust } from '../../crypto/certificates';
import type { NodeCertificate, OperatorCertificate } from '../../protocol/identity';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT } from '../../protocol/limits';

export const DEFAULT_REPLICATION_FACTOR = 3;

/** What `post ca init` writes; `ca.json` is public, the rest secret. */
export interface OrganisationFiles {
  readonly ca: CertificateAuthority;
  readonly convergenceSecret: Uint8Array;
  readonly replicationFactor: number;
  /** Each user's mail storage limit (the sizes of their messages), reported by IMAP QUOTA. */
  readonly mailQuotaBytesPerUser?: number;
}

/** What `post node init` writes into a node's data folder. */
export interface NodeFiles {
  readonly cert: NodeCertificate;
  readonly signingSecretKey: Uint8Array;
  readonly trust: RingTrust;
  readonly convergenceSecret: Uint8Array;
  readonly replicationFactor: number;
  /** The organisation's per-user mail storage limit (copied from ca.json at `post node init`). */
  readonly mailQuotaBytesPerUser: number;
  /** Organisations this node's ring federates with (federation.json; none when absent). */
  readonly federated: readonly RingTrust[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: unknown, what: string, file: string): Uint8Array => {
  if (typeof s !== 'string' || !/^([0-9a-f]{2})*$/.test(s)) throw new IdentityFileError(file, `${what} is not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
};

export class IdentityFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'IdentityFileError';
  }
}

function writeJson(path: string, value: unknown, secret = false): void {
  writeFileDurably(path, JSON.stringify(value, null, 2) + '\n', secret ? 0o600 : 0o644);
}

function readJson(path: string, hint: string): any {
  if (!existsSync(path)) throw new IdentityFileError(path, `missing (${hint})`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new IdentityFileError(path, `not valid JSON: ${(e as Error).message}`);
  }
}

// ---- organisation (CA) folder ----------------------------------------------------------------------

export function writeOrganisation(dir: string, org: OrganisationFiles): void {
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, 'ca.json'), {
    org: org.ca.org,
    ringId: org.ca.ringId,
    caPublicKey: hex(org.ca.caPublicKey),
    replicationFactor: org.replicationFactor,
    ...(org.mailQuotaBytesPerUser !== undefined ? { mailQuotaBytesPerUser: org.mailQuotaBytesPerUser } : {}),
  });
  writeJson(join(dir, 'ca.secret.json'), { caSecretKey: hex(org.ca.caSecretKey), convergenceSecret: hex(org.convergenceSecret) }, true);
}

export function readRingTrust(dir: string): RingTrust & { replicationFactor: number; mailQuotaBytesPerUser: number } {
  const file = join(dir, 'ca.json');
  const j = readJson(file, 'run `post ca init --org DOMAIN --out DIR` first');
  return {
    org: String(j.org),
    ringId: String(j.ringId),
    caPublicKey: unhex(j.caPublicKey, 'caPublicKey', file),
    replicationFactor: Number(j.replicationFactor ?? DEFAULT_REPLICATION_FACTOR),
    mailQuotaBytesPerUser: Number(j.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT),
  };
}

export function readOrganisation(dir: string): OrganisationFiles {
  const trust = readRingTrust(dir);
  const file = join(dir, 'ca.secret.json');
  const s = readJson(file, 'this folder holds only the public part of the CA; use the folder `post ca init` wrote');
  return {
    ca: { ...trust, caSecretKey: unhex(s.caSecretKey, 'caSecretKey', file) },
    convergenceSecret: unhex(s.convergenceSecret, 'convergenceSecret', file),
    replicationFactor: trust.replicationFactor,
    mailQuotaBytesPerUser: trust.mailQuotaBytesPerUser,
  };
}

// ---- node data folder ----------------------------------------------------------------------------

export function writeNode(dir: string, node: Omit<NodeFiles, 'federated'>): void {
  mkdirSync(dir, { recursive: true });
  const c = node.cert;
  writeJson(join(dir, 'node.json'), {
    nodeId: c.nodeId,
    cert: {
      org: c.org,
      ringId: c.ringId,
      nodeId: c.nodeId,
      signingKey: hex(c.signingKey),
      issuedAtMs: c.issuedAtMs,
      expiresAtMs: c.expiresAtMs,
      signature: hex(c.signature),
    },
    ring: {
      org: node.trust.org,
      ringId: node.trust.ringId,
      caPublicKey: hex(node.trust.caPublicKey),
      replicationFactor: node.replicationFactor,
      mailQuotaBytesPerUser: node.mailQuotaBytesPerUser,
    },
  });
  writeJson(join(dir, 'node.secret.json'), { signingSecretKey: hex(node.signingSecretKey), convergenceSecret: hex(node.convergenceSecret) }, true);
}

/** The organisations a node's ring federates with: their public CA records (federation.json). */
export function writeFederation(dir: string, federated: readonly RingTrust[]): void {
  writeJson(
    join(dir, 'federation.json'),
    federated.map((t) => ({ org: t.org, ringId: t.ringId, caPublicKey: hex(t.caPublicKey) })),
  );
}

function readFederation(dir: string): RingTrust[] {
  const file = join(dir, 'federation.json');
  if (!existsSync(file)) return [];
  const list = readJson(file, 'federation.json lists federated organisations');
  if (!Array.isArray(list)) throw new IdentityFileError(file, 'must be a list of {org, ringId, caPublicKey}');
  return list.map((t: any) => ({ org: String(t.org), ringId: String(t.ringId), caPublicKey: unhex(t.caPublicKey, 'caPublicKey', file) }));
}

export function nodeExists(dir: string): boolean {
  return existsSync(join(dir, 'node.json'));
}

export function readNode(dir: string): NodeFiles {
  const file = join(dir, 'node.json');
  const j = readJson(file, 'run `post node init --ca DIR --data DIR` first');
  const secretFile = join(dir, 'node.secret.json');
  const s = readJson(secretFile, 'the node data folder is incomplete; run `post node init` again');
  const c = j.cert ?? {};
  return {
    cert: {
      org: String(c.org),
      ringId: String(c.ringId),
      nodeId: String(c.nodeId),
      signingKey: unhex(c.signingKey, 'cert.signingKey', file),
      issuedAtMs: Number(c.issuedAtMs),
      expiresAtMs: Number(c.expiresAtMs),
      signature: unhex(c.signature, 'cert.signature', file),
    },
    trust: { org: String(j.ring?.org), ringId: String(j.ring?.ringId), caPublicKey: unhex(j.ring?.caPublicKey, 'ring.caPublicKey', file) },
    replicationFactor: Number(j.ring?.replicationFactor ?? DEFAULT_REPLICATION_FACTOR),
    mailQuotaBytesPerUser: Number(j.ring?.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT),
    signingSecretKey: unhex(s.signingSecretKey, 'signingSecretKey', secretFile),
    convergenceSecret: unhex(s.convergenceSecret, 'convergenceSecret', secretFile),
    federated: readFederation(dir),
  };
}

// ---- operator file -----------------------------------------------------------------------------------

/** The file `post ca init` writes next to the CA: the key the `post` command signs control requests with. */
export const OPERATOR_FILE = 'operator.json';

/** What an operator file holds: the CA's certificate of the key, and the key (the file is secret, mode 0600). */
export interface OperatorFile {
  readonly cert: OperatorCertificate;
  readonly secretKey: Uint8Array;
}

export function writeOperator(path: string, op: OperatorFile): void {
  const c = op.cert;
  writeJson(
    path,
    {
      cert: { ...c, signingKey: hex(c.signingKey), signature: hex(c.signature) },
      secretKey: hex(op.secretKey),
    },
    true,
  );
}

export function readOperator(path: string): OperatorFile {
  const j = readJson(path, 'an operator file: `post ca init` writes one next to the CA, `post ca operator` issues more');
  const c = j.cert ?? {};
  const roles = Array.isArray(c.roles) ? c.roles.map(String) : [];
  return {
    cert: {
      name: String(c.name),
      org: String(c.org),
      ringId: String(c.ringId),
      operatorId: String(c.operatorId),
      roles: roles as OperatorCertificate['roles'],
      signingKey: unhex(c.signingKey, 'cert.signingKey', path),
      issuedAtMs: Number(c.issuedAtMs),
      expiresAtMs: Number(c.expiresAtMs),
      signature: unhex(c.signature, 'cert.signature', path),
    },
    secretKey: unhex(j.secretKey, 'secretKey', path),
  };
}
