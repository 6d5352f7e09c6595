// lab.json: what `post lab up` started (DESIGN section 10). Every command that takes --lab reads it.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurably } from '../infra/files/durable';
import { OperatorError } from './errors';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface LabNode {
  readonly id: string;
  readonly org: string;
  /** What people call it: the data folder's name (`node-3`), the compose lab's service (`node-a1`). */
  readonly name?: string;
  pid: number;
  readonly data: string;
  readonly log: string;
  /** Listeners: found free just before the node first starts (lab/processes.ts assignFreePorts), then kept. */
  imap: Endpoint;
  smtp: Endpoint;
  http: Endpoint;
  /** The node's XMPP client port (issue 17); absent in labs started before it existed (then no listener). */
  xmpp?: Endpoint;
  /** The node's CalDAV base URL (issue 16): served on its HTTP port under /dav/; kept in step with `http`. */
  caldav?: string;
  /** The certificate of its client-facing listeners (`post lab up --tls`): HTTPS on `http` (so `caldav` is https://), STARTTLS on IMAP, SMTP, XMPP. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly gateway?: boolean;
  /** The inbound MX, on each organisation's first node. */
  mx?: Endpoint;
  readonly gatewayUser?: string;
  /** `post node start --submission-rate` (PER_MINUTE[/BURST]) when the lab was started with one. */
  readonly submissionRate?: string;
  /** `post node start --gc-lease --gc-interval` (seconds) when the lab was started with them. */
  readonly gc?: { readonly leaseS: number; readonly intervalS: number };
  /**
   * Where a mail client on the host reaches this node when imap/smtp/http/mx are addresses of another
   * network (the compose lab: container names and ports there, published on the host's loopback).
   */
  readonly published?: { readonly imap: Endpoint; readonly smtp: Endpoint; readonly http: Endpoint; readonly xmpp?: Endpoint; readonly mx?: Endpoint; readonly caldav?: string };
}

export interface LabOrg {
  readonly domain: string;
  readonly ringId: string;
  readonly ca: string;
  /** The organisation's own NATS cluster (per-org topology); the lab's `nats` otherwise. */
  readonly nats?: string[];
  readonly natsPidFile?: string;
  /** The operator file control requests to this organisation's nodes are signed with (default: CA folder's operator.json). */
  readonly operator?: string;
}

/** The NATS URLs a node of the lab connects to: its organisation's cluster, or the shared one. */
export function natsOf(lab: LabFile, node: { org: string }): string[] {
  return lab.orgs.find((o) => o.domain === node.org)?.nats ?? lab.nats;
}

export interface LabUser {
  readonly address: string;
  readonly password: string;
  readonly node: string;
  /** The user's standby hosts, in rank order (issue 13). */
  readonly standbys?: readonly string[];
}

export interface LabFile {
  /** The compose lab's volume layout (infra/docker/lab.mjs refuses a volume of another version). */
  readonly version?: number;
  readonly nats: string[];
  /** The operator's NATS credentials (an nkey seed file): what the CLI and the dashboard connect with. */
  readonly natsCreds?: string;
  /** The CA certificate that signed the NATS servers' certificates (their URLs are then tls://). */
  readonly natsCa?: string;
  /** With `post lab up --tls`: the CA that signed the nodes' client-facing certificates (what a CalDAV or IMAP client trusts). */
  readonly clientCa?: string;
  /** nats-server pid file (for `lab down`). */
  readonly natsPidFile: string;
  readonly orgs: LabOrg[];
  readonly nodes: LabNode[];
  readonly users: LabUser[];
  /** The live dashboard `post lab up` started (`post lab dashboard`); stopped by `post lab down`. */
  dashboard?: LabDashboard;
}

export interface LabDashboard {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
}

export function readLab(path: string): LabFile {
  if (!existsSync(path)) throw new OperatorError(`no lab file at ${path}: start a lab with \`post lab up\` (it prints the path of its lab.json)`);
  let lab: LabFile;
  try {
    lab = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new OperatorError(`${path} is not valid JSON (${(e as Error).message}); run \`post lab down\` and \`post lab up\` again`);
  }
  if (!Array.isArray(lab.nats) || !Array.isArray(lab.nodes) || !Array.isArray(lab.orgs))
    throw new OperatorError(`${path} is not a lab file (needs nats, orgs and nodes)`);
  return lab;
}

/** Atomic and durable replace, so a reader never sees half a file, nor an empty one after a crash. */
export function writeLab(path: string, lab: LabFile): void {
  writeFileDurably(path, JSON.stringify(lab, null, 2) + '\n', 0o644);
}

export function findNode(lab: LabFile, id: string): LabNode {
  const matches = lab.nodes.filter((n) => n.id === id || n.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new OperatorError(`no node ${id} in the lab; \`post ring status --lab FILE --json\` lists them`);
  throw new OperatorError(`node prefix ${id} is ambiguous; give more hex digits`);
}
