// Overlay (router) messages. Every node id on the wire is 32 raw bytes; in memory, lowercase hex.
// Every one of them except JoinAck travels inside an OverlayAuth envelope (below), which binds the
// sender (its `from`, its certificate) to the frame.
import { Decoder } from '@msgpack/msgpack';
import { arr, bool, bytes, type Codec, FrameError, hexBytes, type Infer, obj, opt, str, tagged, uint } from './codec';
import { canonicalBytes, defineFrame } from './frame';
import { type NodeCertificate, nodeCertificateCodec } from './identity';
import { FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES, LEAF_SET_SIZE, NODE_CERT_BYTES_MAX, ROUTE_HOPS_MAX, ROUTING_COLUMNS, ROUTING_ROWS } from './limits';

const id = hexBytes(ID_BYTES);
const ids = (max: number) => arr(id, { max });
const leafSet = ids(LEAF_SET_SIZE * 2);
/** Routing rows a join hop contributes: row index plus its entries. */
const rows = arr(obj({ row: uint({ max: ROUTING_ROWS - 1 }), nodes: ids(ROUTING_COLUMNS) }), { max: ROUTING_ROWS });
const reason = str({ max: FIELD_CHARS_MAX });

export const JoinRequest = defineFrame('overlay.join.request', obj({ cert: nodeCertificateCodec }));
export const JoinAck = defineFrame('overlay.join.ack', obj({ accepted: bool(), reason: opt(reason) }));
export const JoinReply = defineFrame('overlay.join.reply', obj({ root: id, leafSet, rows }));

export const routePayloadCodec = tagged({
  join: obj({ joiner: id, rows }),
  probe: obj({}),
  app: obj({ app: str({ max: 64 }), body: bytes({ max: FRAME_BYTES_MAX }) }),
});
export type RoutePayload = Infer<typeof routePayloadCodec>;

export const routeMessageCodec = obj({
  msgId: str({ max: 64 }),
  key: id,
  origin: id,
  /** Nodes the message has passed through, origin first. */
  path: ids(ROUTE_HOPS_MAX + 1),
  payload: routePayloadCodec,
});
export type RouteMessage = Infer<typeof routeMessageCodec>;

export const Route = defineFrame('overlay.route', routeMessageCodec);
export const HopAck = defineFrame('overlay.hop.ack', obj({ from: id }));
export const RouteResult = defineFrame(
  'overlay.route.result',
  obj({
    msgId: str({ max: 64 }),
    key: id,
    root: id,
    path: ids(ROUTE_HOPS_MAX + 1),
    response: opt(bytes({ max: FRAME_BYTES_MAX })),
    error: opt(reason),
  }),
);

export type RouteResultBody = Infer<typeof RouteResult.codec>;

export const Announce = defineFrame('overlay.announce', obj({ cert: nodeCertificateCodec }));
export const AnnounceAck = defineFrame(
  'overlay.announce.ack',
  obj({ from: id, accepted: bool(), reason: opt(reason), leafSet }),
);
/** Join-time courtesy to routing-table members: "I exist" (no reply). */
export const Hello = defineFrame('overlay.hello', obj({ from: id }));

/** One-way liveness signal between leaf-set members; `echo` marks an answer to a non-member's heartbeat. */
export const Heartbeat = defineFrame('overlay.heartbeat', obj({ from: id, echo: opt(bool()) }));

export const LeafSetRequest = defineFrame('overlay.leafset.request', obj({ from: id }));
export const LeafSetReply = defineFrame('overlay.leafset.reply', obj({ cert: nodeCertificateCodec, leafSet, ready: bool() }));

export const Discover = defineFrame('overlay.discover', obj({ cert: nodeCertificateCodec }));


/**
 * An overlay frame authenticated by its sender (issue 12): the sender's id and certificate (as its
 * canonical bytes, so that a receiver that knows it compares bytes instead of decoding it), the
 * receiver (absent on the join and discover subjects, whose receiver the sender cannot know), a
 * stamp in microseconds that never repeats for one sender, the inner frame's bytes, and either
 * - a MAC: keyed BLAKE2b under the key only the two nodes share (X25519 of their certified keys), or
 * - an Ed25519 signature, when the sender does not hold the receiver's certificate yet.
 * Both cover [ringId, from, to, stampUs] and the inner frame (crypto/overlayAuth.ts).
 */
export interface OverlayAuthBody {
  readonly from: string;
  readonly cert: Uint8Array;
  readonly to?: string;
  readonly stampUs: number;
  readonly frame: Uint8Array;
  readonly mac?: Uint8Array;
  readonly signature?: Uint8Array;
}

const envelopeFields = {
  from: id,
  cert: bytes({ max: NODE_CERT_BYTES_MAX }),
  to: opt(id),
  stampUs: uint(),
  frame: bytes({ max: FRAME_BYTES_MAX }),
  mac: opt(bytes({ len: 32, max: 32 })),
  signature: opt(bytes({ len: 64, max: 64 })),
};

/** A fixed tuple rather than a map: every overlay frame passes through it twice (sent, received). */
const overlayAuthCodec: Codec<OverlayAuthBody> = {
  encode: (e) => [envelopeFields.from.encode(e.from), e.cert, envelopeFields.to.encode(e.to), e.stampUs, e.frame, e.mac ?? null, e.signature ?? null],
  decode(wire, path) {
    if (!Array.isArray(wire) || wire.length !== 7) throw new FrameError(`${path}: expected [from, cert, to, stampUs, frame, mac, signature]`);
    const [from, cert, to, stampUs, frame, mac, signature] = wire as unknown[];
    const e = envelopeFields;
    return {
      from: e.from.decode(from, 'from'),
      cert: e.cert.decode(cert, 'cert'),
      to: e.to.decode(to, 'to'),
      stampUs: e.stampUs.decode(stampUs, 'stampUs'),
      frame: e.frame.decode(frame, 'frame'),
      mac: e.mac.decode(mac, 'mac'),
      signature: e.signature.decode(signature, 'signature'),
    };
  },
};

export const OverlayAuth = defineFrame('overlay.auth', overlayAuthCodec);

const certDecoder = new Decoder({ maxStrLength: FIELD_CHARS_MAX, maxBinLength: 64, maxArrayLength: 0, maxMapLength: 16, maxExtLength: 0 });

/** A certificate as the canonical bytes an envelope carries. */
export const encodeNodeCertificate = (cert: NodeCertificate): Uint8Array => canonicalBytes(nodeCertificateCodec.encode(cert));

export function decodeNodeCertificate(bytes: Uint8Array): { ok: true; cert: NodeCertificate } | { ok: false; reason: string } {
  try {
    return { ok: true, cert: nodeCertificateCodec.decode(certDecoder.decode(bytes), 'cert') };
  } catch (e) {
    return { ok: false, reason: e instanceof FrameError ? e.reason : `certificate is not msgpack: ${(e as Error).message.slice(0, 120)}` };
  }
}
