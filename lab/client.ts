// The operator's connection to a running lab: NATS from lab.json, control requests to its nodes,
// each signed with the organisation's operator key (lab/operator.ts).
import { nodeIdOf } from '../crypto/hash';
import { openSealed } from '../crypto/notification';
import { NatsTransport } from '../infra/nats/transport';
import { publishQuietly, TransportError } from '../infra/ports';
import { ControlReply, RouteProbeRequest, StatusRequest } from '../protocol/control';
import type { FrameKind } from '../protocol/frame';
import { CLI_REQUEST_TIMEOUT_MS } from '../protocol/limits';
import { subjects } from '../protocol/subjects';
import type { UnlockedUser } from '../storage/users/unlockedUser';
import { OperatorError } from './errors';
import { findNode, type LabFile, type LabNode, type LabOrg, natsOf } from './labFile';
import { isAlive } from '../infra/nats/process';
import { ControlSigner } from './operator';
import { operatorNatsOptions } from './nats';

export class LabClient {
  /** One connection per NATS cluster (organisations may each have their own). */
  private readonly others = new Map<string, Promise<NatsTransport>>();
  private readonly signer = new ControlSigner();
  /** Nodes' Ed25519 keys (from their status), for requests sealed to them. */
  private readonly nodeKeys = new Map<string, Uint8Array>();

  private constructor(
    readonly lab: LabFile,
    private readonly transport: NatsTransport,
  ) {}

  static async connect(lab: LabFile): Promise<LabClient> {
    try {
      return new LabClient(lab, await NatsTransport.connect({ ...operatorNatsOptions(lab), name: 'post-cli' }));
    } catch (e) {
      throw new OperatorError(`cannot reach the lab's NATS servers (${lab.nats.join(', ')}): is the lab up? (${(e as Error).message})`);
    }
  }

  /** The connection to the cluster a node of the lab is on. */
  private async transportOf(node: LabNode): Promise<NatsTransport> {
    const urls = natsOf(this.lab, node);
    if (urls.join() === this.lab.nats.join()) return this.transport;
    let t = this.others.get(urls.join());
    if (!t) {
      t = NatsTransport.connect({ ...operatorNatsOptions(this.lab, urls), name: 'post-cli' });
      this.others.set(urls.join(), t);
    }
    try {
      return await t;
    } catch (e) {
      throw new OperatorError(`cannot reach ${node.org}'s NATS servers (${urls.join(', ')}): ${(e as Error).message}`);
    }
  }

  orgOf(node: LabNode): LabOrg {
    const org = this.lab.orgs.find((o) => o.domain === node.org);
    if (!org) throw new OperatorError(`lab.json names no organisation ${node.org}`);
    return org;
  }

  ringOf(node: LabNode): string {
    return this.orgOf(node).ringId;
  }

  /** One control request; resolves with the reply's JSON or rejects with a OperatorError. */
  async control(node: LabNode, frame: Uint8Array, timeoutMs = CLI_REQUEST_TIMEOUT_MS, as?: UnlockedUser): Promise<any> {
    const r = await this.controlRaw(node, frame, timeoutMs, as);
    return r.json ? JSON.parse(r.json) : undefined;
  }

  /** A typed control request: `kind` and its body. */
  ask<T>(node: LabNode, kind: FrameKind<T>, body: T, timeoutMs = CLI_REQUEST_TIMEOUT_MS): Promise<any> {
    return this.control(node, kind.encode(body), timeoutMs);
  }

  /** A typed control request made as a logged-in user: signed by the user too, its reply sealed to the user. */
  askAs<T>(user: UnlockedUser, node: LabNode, kind: FrameKind<T>, body: T, timeoutMs = CLI_REQUEST_TIMEOUT_MS): Promise<any> {
    return this.control(node, kind.encode(body), timeoutMs, user);
  }

  /**
   * One control request (signed here; made as `as`: sealed to the node and signed by the user too);
   * resolves with the whole reply (JSON, opened when sealed to `as`, and raw data).
   */
  async controlRaw(node: LabNode, frame: Uint8Array, timeoutMs = CLI_REQUEST_TIMEOUT_MS, as?: UnlockedUser) {
    const signed = this.signer.sign(this.orgOf(node), node.id, frame, as ? { user: as, nodeKey: await this.nodeKey(node) } : undefined);
    let bytes: Uint8Array;
    try {
      bytes = await (await this.transportOf(node)).request(subjects.control(this.ringOf(node), node.id), signed, { timeoutMs });
    } catch (e) {
      const code = e instanceof TransportError ? e.code : 'ERROR';
      throw new OperatorError(`node ${node.id.slice(0, 12)} did not answer (${code})`);
    }
    const r = ControlReply.decode(bytes);
    if (!r.ok) throw new OperatorError(`node ${node.id.slice(0, 12)} sent a malformed reply: ${r.reason}`);
    if (!r.body.ok) throw new OperatorError(`node ${node.id.slice(0, 12)}: ${r.body.code}: ${r.body.error}`);
    if (!r.body.sealed) return r.body;
    const opened = as ? openSealed(r.body.sealed, as.box) : undefined;
    if (!opened) throw new OperatorError(`node ${node.id.slice(0, 12)} sealed its reply to a key this command does not hold`);
    return { ...r.body, json: Buffer.from(opened).toString('utf8') };
  }

  /** A node's signing public key, from its status, checked against its id. */
  async nodeKey(node: LabNode): Promise<Uint8Array> {
    let key = this.nodeKeys.get(node.id);
    if (key) return key;
    key = Buffer.from((await this.status(node)).signingKey ?? '', 'hex');
    // A node's id is the hash of its key: an answer with another key is not the node's.
    if (nodeIdOf(key) !== node.id) throw new OperatorError(`node ${node.id.slice(0, 12)} answered with a key that is not its own`);
    this.nodeKeys.set(node.id, key);
    return key;
  }

  status(node: LabNode, timeoutMs?: number): Promise<any> {
    return this.control(node, StatusRequest.encode({}), timeoutMs);
  }

  route(node: LabNode, key: string, timeoutMs?: number): Promise<any> {
    return this.control(node, RouteProbeRequest.encode({ key, timeoutMs }), (timeoutMs ?? CLI_REQUEST_TIMEOUT_MS) + 1000);
  }

  /** Publish on every NATS cluster of the lab (events the dashboard follows, such as scenario progress). */
  async broadcast(subject: string, data: Uint8Array): Promise<void> {
    const urls = new Set([this.lab.nats.join(), ...this.lab.orgs.filter((o) => o.nats).map((o) => o.nats!.join())]);
    for (const u of urls) {
      const node = this.lab.nodes.find((n) => natsOf(this.lab, n).join() === u);
      const t = node ? await this.transportOf(node).catch(() => undefined) : this.transport;
      if (t) publishQuietly(t, subject, data);
    }
  }

  /** The node asked for, or the first ready node of the lab (of one organisation, when given). */
  async anyNode(prefix?: string, org?: string): Promise<LabNode> {
    if (prefix) return findNode(this.lab, prefix);
    for (const n of this.lab.nodes) {
      if (org && n.org !== org) continue;
      if ((n.pid === 0 || isAlive(n.pid)) && (await this.status(n, 2000).catch(() => undefined))?.state === 'ready') return n;
    }
    throw new OperatorError(`no node${org ? ` of ${org}` : ''} is up and ready; see \`post ring status --lab FILE\``);
  }

  async close(): Promise<void> {
    for (const t of this.others.values()) await (await t.catch(() => undefined))?.close();
    await this.transport.close();
  }
}
