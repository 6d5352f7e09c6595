// A node's view of the other organisations it federates with (issue 6). Each organisation keeps its
// data on its own machines: from here, another organisation's ring is reachable only through the
// gateways (ours, then one of theirs), and only to read what it holds (a user's directory record, a
// message's blocks) or to put a notification into one of its users' inbox drops.
//
// Failover: the request goes to our gateways' queue group; NATS hands it to a live one. A gateway
// that dies with the request inside it costs a timeout, and the request is sent again.
import type { RingTrust } from '../../crypto/certificates';
import { type Log, type Transport, TransportError } from '../../infra/ports';
import { errorCodeOf, ErrorCodes, PostError } from '../../protocol/errors';
import { GatewayReply, GatewayRequest } from '../../protocol/gateway';
import { FEDERATION_ATTEMPTS_MAX, FEDERATION_REQUEST_TIMEOUT_MS } from '../../protocol/limits';
import type { Envelope } from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import type { StorageApi } from '../../storage/api';
import { type BlockRef, readBlockData, readBlocks } from '../../storage/blocks';
import type { SignedObject } from '../../storage/signedObject';
import { decodeSignedObject } from '../../storage/signedObjectCodec';
import { blockIdOf } from '../../crypto/convergent';

type Request = Parameters<typeof GatewayRequest.encode>[0]['request'];

export interface FederationDeps {
  readonly transport: Transport;
  readonly log: Log;
  /** This node's organisation. */
  readonly own: RingTrust;
  /** The organisations it federates with (configuration): their CA keys and rings. */
  readonly federated: readonly RingTrust[];
}

export class Federation {
  constructor(private readonly deps: FederationDeps) {}

  /** Every organisation whose users may notify ours: ours and the federated ones. */
  trusted(): RingTrust[] {
    return [this.deps.own, ...this.deps.federated];
  }

  /** The federated organisation of a mail domain, if any (not ours). */
  orgOf(domain: string): RingTrust | undefined {
    return this.deps.federated.find((t) => t.org === domain.toLowerCase());
  }

  ringOf(ringId: string): RingTrust | undefined {
    return this.deps.federated.find((t) => t.ringId === ringId);
  }

  /** Ask our gateways to have `target`'s ring perform `request`. */
  async request(target: RingTrust, request: Request): Promise<{ ok: boolean; data?: Uint8Array; code?: string; message?: string }> {
    let lastError = '';
    for (let attempt = 0; attempt < FEDERATION_ATTEMPTS_MAX; attempt++) {
      try {
        const bytes = await this.deps.transport.request(subjects.gateway(this.deps.own.ringId), GatewayRequest.encode({ targetRing: target.ringId, request }), {
          timeoutMs: FEDERATION_REQUEST_TIMEOUT_MS,
        });
        const r = GatewayReply.decode(bytes);
        if (!r.ok) throw new PostError(ErrorCodes.BAD_FRAME, r.reason);
        if (!r.body.ok && r.body.code === ErrorCodes.UNAVAILABLE) {
          lastError = r.body.message ?? 'unavailable';
          continue;
        }
        return r.body;
      } catch (e) {
        if (e instanceof TransportError && e.code === 'NO_RESPONDERS') throw new PostError(ErrorCodes.UNAVAILABLE, `no gateway of ${this.deps.own.org} is up to reach ${target.org}`);
        lastError = (e as Error).message;
      }
    }
    throw new PostError(ErrorCodes.UNAVAILABLE, `${target.org} could not be reached through the gateways: ${lastError}`);
  }

  /** Put a notification into a drop of another organisation's ring (its replicas verify it there). */
  async dropPut(target: RingTrust, dropId: string, envelope: Envelope): Promise<void> {
    const r = await this.request(target, { type: 'dropPut', dropId, envelope });
    if (!r.ok) throw new PostError(errorCodeOf(r.code, ErrorCodes.UNAVAILABLE), r.message ?? `${target.org} refused the notification`);
  }

  /** Reading another organisation's ring: signed objects and blocks it holds. Writes stay at home. */
  storageOf(target: RingTrust): StorageApi {
    const refused = (what: string) => () => Promise.reject(new PostError(ErrorCodes.NOT_AUTHORISED, `${what} in ${target.org}'s ring: an organisation's storage takes writes only from its own members`));
    const getBlock = async (id: string): Promise<Uint8Array> => {
      const r = await this.request(target, { type: 'blockGet', id });
      if (!r.ok || !r.data) throw new PostError(errorCodeOf(r.code, ErrorCodes.BLOCK_MISSING), r.message ?? `no block ${id.slice(0, 16)} in ${target.org}'s ring`);
      // Verified here too: we trust no gateway with content.
      if (blockIdOf(r.data).toString('hex') !== id) throw new PostError(ErrorCodes.BLOCK_CORRUPT, `block ${id.slice(0, 16)} from ${target.org} does not match its id`);
      return r.data;
    };
    const fetch = (id: string) => getBlock(id).catch(() => undefined);
    const request = (req: Request) => this.request(target, req);
    return {
      // Absent only when that ring says so: any other failure is an error, never "no such object"
      // (a directory lookup would turn it into a permanent "no such user" for a real one).
      async getObject(objectId: string): Promise<SignedObject | undefined> {
        const r = await request({ type: 'objectGet', objectId });
        if (!r.ok && r.code === ErrorCodes.NOT_FOUND) return undefined;
        if (!r.ok || !r.data) throw new PostError(errorCodeOf(r.code, ErrorCodes.UNAVAILABLE), r.message ?? `object ${objectId.slice(0, 16)} could not be read from ${target.org}'s ring`);
        const d = decodeSignedObject(r.data);
        if (!d.ok || d.value.objectId !== objectId) throw new PostError(ErrorCodes.BAD_FRAME, `${target.org}'s ring answered for object ${objectId.slice(0, 16)} with ${d.ok ? 'another object' : `an undecodable one (${d.message})`}`);
        return d.value;
      },
      getBlock,
      async getData(ref: BlockRef, opts?: { maxBytes?: number }) {
        const r = await readBlockData(ref, fetch, opts);
        if (!r.ok) throw new PostError(r.code, r.message);
        return r.data;
      },
      readData: (ref: BlockRef) => readBlocks(ref, fetch),
      putData: refused('storing data'),
      putMail: refused('storing mail'),
      mailRefOf: refused('sealing mail'),
      putBlock: refused('storing a block'),
      putObject: refused('writing an object'),
      refresh: refused('refreshing leases'),
    };
  }
}
