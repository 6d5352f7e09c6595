// Operator requests to one node (the `post` command, the lab, scenarios), on the node's control
// subject. Replies carry JSON documents (and raw data for block reads): this is the operator's view,
// not a protocol between nodes.
//
// Every request travels inside a SignedControl envelope (issue 12): signed by an operator key the
// organisation's CA certified, stamped and with a nonce so that a replay is refused, addressed to
// one node. What each request needs beyond that is `controlPolicy` below.
import { arr, bool, bytes, hexBytes, obj, oneOf, opt, str, uint } from './codec';
import { signedObjectCodec } from './objects';
import { defineFrame } from './frame';
import { type OperatorRole, operatorCertificateCodec } from './identity';
import { BLOCK_CHUNK_BYTES_MAX, CONTROL_REQUEST_BYTES_MAX, FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES } from './limits';

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
/** Make this node a standby host of a user: the grant sealed to this node's key (→ {address, home, rank}). */
export const UserStandbyRequest = defineFrame('control.user.standby', obj({ sealed: bytes({ max: 4096 }) }));
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

/**
 * A control request as it travels. The operator signs [ringId, nodeId, timeMs, nonce, BLAKE2b(request)]
 * (domain `control-request`); a request made as a user also carries that user's signature over the
 * same fields and the operator id (domain `control-user`), checked against the user the node hosts.
 */
export const SignedControl = defineFrame(
  'control.signed',
  obj({
    operator: operatorCertificateCodec,
    /** The node addressed: a request signed for one node is refused by every other. */
    nodeId: hexBytes(ID_BYTES),
    timeMs: uint(),
    nonce: bytes({ len: 16, max: 16 }),
    /** The encoded control frame (one of the kinds above), sealed to the node's key when `sealed`. */
    request: bytes({ max: CONTROL_REQUEST_BYTES_MAX }),
    /** A request made as a user is sealed to the addressed node's key: its content is the user's. */
    sealed: opt(bool()),
    signature: bytes({ len: 64, max: 64 }),
    userSignature: opt(bytes({ len: 64, max: 64 })),
  }),
);

/** What a request needs besides a certified operator: a role, and for a request made as a user, the user it is made as. */
export interface ControlRule {
  readonly role?: OperatorRole;
  readonly actingUser?: (body: any) => string;
}

/** Every control request kind and what it needs; a kind not listed here is not a control request. */
export const controlPolicy: Readonly<Record<string, ControlRule>> = {
  [StatusRequest.kind]: {},
  [RouteProbeRequest.kind]: {},
  [BlockWhere.kind]: {},
  [AuditRequest.kind]: {},
  [BlockPutBegin.kind]: { role: 'store' },
  [BlockPutPiece.kind]: { role: 'store' },
  [BlockPutEnd.kind]: { role: 'store' },
  [BlockOpen.kind]: { role: 'store' },
  [BlockRead.kind]: { role: 'store' },
  [ObjectGetRequest.kind]: { role: 'store' },
  [ObjectPutRequest.kind]: { role: 'store' },
  [UserHostRequest.kind]: { role: 'admin' },
  [UserStandbyRequest.kind]: { role: 'admin' },
  [UsersPullRequest.kind]: { role: 'admin' },
  [ActorCrashRequest.kind]: { role: 'admin' },
  // Made as a user: the operator only carries them; the user's signature is the authority.
  [MessageSendRequest.kind]: { actingUser: (b: { from: string }) => b.from },
  [MessageListRequest.kind]: { actingUser: (b: { user: string }) => b.user },
};

export const ControlReply = defineFrame(
  'control.reply',
  obj({
    ok: bool(),
    json: opt(str({ max: FRAME_BYTES_MAX })),
    /** A reply to a request made as a user: its JSON sealed to that user's box key (only the user reads it). */
    sealed: opt(bytes({ max: FRAME_BYTES_MAX })),
    data: opt(bytes({ max: BLOCK_CHUNK_BYTES_MAX })),
    done: opt(bool()),
    code: opt(str({ max: 64 })),
    error: opt(str({ max: FIELD_CHARS_MAX })),
  }),
);
