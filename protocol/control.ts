// Operator requests to one node (the `post` command, the lab, the dashboard), on the node's control
// subject. Replies carry JSON documents (and raw data for block reads): this is the operator's view,
// not a protocol between nodes.
import { arr, bool, bytes, hexBytes, obj, oneOf, opt, str, uint } from './codec';
import { signedObjectCodec } from './objects';
import { defineFrame } from './frame';
import { BLOCK_CHUNK_BYTES_MAX, FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES } from './limits';

const session = str({ max: 64 });

export const StatusRequest = defineFrame('control.status.request', obj({}));

export const RouteProbeRequest = defineFrame(
  'control.route.request',
  obj({ key: hexBytes(ID_BYTES), timeoutMs: opt(uint({ max: 600_000 })) }),
);

/** Upload data to store in the ring as this node: begin, send pieces in order, end (→ {ref, id, replicas}). */
export const BlockPutBegin = defineFrame('control.block.put.begin', obj({}));
export const BlockPutPiece = defineFrame('control.block.put.piece', obj({ session, seq: uint(), data: bytes({ max: BLOCK_CHUNK_BYTES_MAX }) }));
export const BlockPutEnd = defineFrame('control.block.put.end', obj({ session, pieces: uint() }));
/** Download data by reference: open (→ {session, sizeBytes}), then read pieces until `done`. */
export const BlockOpen = defineFrame('control.block.open', obj({ ref: str({ max: 512 }) }));
export const BlockRead = defineFrame('control.block.read', obj({ session }));
/** Which nodes hold a verified copy of a block (→ {id, replicas}). */
export const BlockWhere = defineFrame('control.block.where', obj({ id: hexBytes(ID_BYTES) }));

/** Signed objects through a node, for tools that hold keys (the CA's `post user add`). */
export const ObjectGetRequest = defineFrame('control.object.get', obj({ objectId: hexBytes(ID_BYTES) }));
export const ObjectPutRequest = defineFrame('control.object.put', obj({ object: signedObjectCodec, replaces: uint() }));
/** Host a user on this node: its credentials sealed to this node's key (→ {address}). */
export const UserHostRequest = defineFrame('control.user.host', obj({ sealed: bytes({ max: 4096 }) }));
/** Short messages (the smallest application on POST's three services). */
export const MessageSendRequest = defineFrame(
  'control.message.send',
  obj({ from: str({ max: 320 }), to: arr(str({ max: 320 }), { max: 1000 }), text: str({ max: 64 * 1024 }) }),
);
export const MessageListRequest = defineFrame('control.message.list', obj({ user: str({ max: 320 }) }));

/** A read-only audit of what the node holds: under-replicated ids and forked objects (→ {underReplicated, forks}). */
export const AuditRequest = defineFrame('control.audit', obj({}));
/** Every user hosted on the node pulls its pending notifications now, as on reconnect (→ {users}). */
export const UsersPullRequest = defineFrame('control.users.pull', obj({}));
/** Actors fault injection may crash (the supervisor restarts them). */
export const CRASHABLE_ACTORS = ['router', 'notifier', 'logWriter'] as const;
export type CrashableActor = (typeof CRASHABLE_ACTORS)[number];
/** Fault injection: the actor fails as a bug would and is restarted by the supervisor (→ {actor}). */
export const ActorCrashRequest = defineFrame('control.actor.crash', obj({ actor: oneOf(CRASHABLE_ACTORS) }));

export const ControlReply = defineFrame(
  'control.reply',
  obj({
    ok: bool(),
    json: opt(str({ max: FRAME_BYTES_MAX })),
    data: opt(bytes({ max: BLOCK_CHUNK_BYTES_MAX })),
    done: opt(bool()),
    code: opt(str({ max: 64 })),
    error: opt(str({ max: FIELD_CHARS_MAX })),
  }),
);
