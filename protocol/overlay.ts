// Overlay (router) messages. Every node id on the wire is 32 raw bytes; in memory, lowercase hex.
import { arr, bool, bytes, hexBytes, type Infer, obj, opt, str, tagged, uint } from './codec';
import { defineFrame } from './frame';
import { nodeCertificateCodec } from './identity';
import { FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES, LEAF_SET_SIZE, ROUTE_HOPS_MAX, ROUTING_COLUMNS, ROUTING_ROWS } from './limits';

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

