// Replica-manager messages between nodes (DESIGN section 3). Requests go to a replica's direct
// subject; every reply carries a stable code when it refuses. Every insert carries the inserting
// member's certificate and signature (scoped insertion): replicas verify them before storing.
import { arr, bool, bytes, hexBytes, type Infer, obj, oneOf, opt, str, uint } from './codec';
import { defineBatch } from './batch';
import { defineFrame } from './frame';
import { memberCertificateCodec } from './identity';
import { BLOCK_BYTES_MAX, FIELD_CHARS_MAX, ID_BYTES, LEAF_SET_SIZE, STORAGE_BATCH_IDS_MAX } from './limits';
import { signedObjectCodec } from './objects';

const id = hexBytes(ID_BYTES);
const ids = arr(id, { max: STORAGE_BATCH_IDS_MAX });
const code = opt(str({ max: 64 }));
const message = opt(str({ max: FIELD_CHARS_MAX }));

/** Who inserts, proven: a member certificate and its signature over the request's fixed fields. */
export const insertAuthCodec = obj({ member: memberCertificateCodec, signature: bytes({ len: 64, max: 64 }) });
export type InsertAuth = Infer<typeof insertAuthCodec>;

/** A generic answer to a write: ok, or a refusal with a stable code. */
export const StorageReply = defineFrame('storage.reply', obj({ ok: bool(), code, message }));

/**
 * Store an immutable block. Signed fields: [id, expiresAtMs, insertedBy]. A user may insert only
 * as itself (insertedBy = its user id); a node (repair, hand-over) may carry another inserter's lease.
 */
export const BlockPut = defineFrame(
  'storage.block.put',
  obj({ id, block: bytes({ max: BLOCK_BYTES_MAX }), expiresAtMs: uint(), insertedBy: id, auth: insertAuthCodec }),
);
export const BlockGet = defineFrame('storage.block.get', obj({ id }));
export const BlockData = defineFrame('storage.block.data', obj({ found: bool(), block: opt(bytes({ max: BLOCK_BYTES_MAX })), code }));

/**
 * Put a version of a signed object. `replaces` is the sequence it replaces (compare-and-swap; 0 to
 * create); absent for repair (store if verified and newer). Signed fields: [objectId, seq, versionHash].
 */
/** An object put's authorisation: no signature when the member owns the object (its signature on the object is the proof). */
export const objectInsertAuthCodec = obj({ member: memberCertificateCodec, signature: opt(bytes({ len: 64, max: 64 })) });
export const ObjectPut = defineFrame('storage.object.put', obj({ object: signedObjectCodec, replaces: opt(uint()), auth: objectInsertAuthCodec }));
export const ObjectPutReply = defineFrame('storage.object.reply', obj({ ok: bool(), code, message, current: opt(signedObjectCodec) }));
export const ObjectGet = defineFrame('storage.object.get', obj({ objectId: id }));
export const ObjectData = defineFrame('storage.object.data', obj({ found: bool(), object: opt(signedObjectCodec), code }));

/**
 * Several puts to one replica in one frame (BlockPut and ObjectPut frames, each encoded as it would
 * travel alone, its own insert authorisation inside): protocol/batch.ts. Only writes that answer with
 * one small reply each travel in a batch.
 */
export const STORAGE_BATCH = defineBatch('storage.batch', [BlockPut, ObjectPut]);

/** Which of these does the replica hold (blocks: hash-verified now when `verify`; objects: stored seq, 0 if none)? */
export const Has = defineFrame('storage.has', obj({ blocks: ids, objects: ids, verify: bool() }));
export const HasReply = defineFrame('storage.has.reply', obj({ blocks: arr(bool(), { max: STORAGE_BATCH_IDS_MAX }), objects: arr(uint(), { max: STORAGE_BATCH_IDS_MAX }) }));

/** A block as a repair offer names it: its lease and inserter (what the new copy keeps) and its size. */
export const offeredBlockCodec = obj({ id, expiresAtMs: uint(), insertedBy: id, sizeBytes: uint({ max: BLOCK_BYTES_MAX }) });
export type OfferedBlock = Infer<typeof offeredBlockCodec>;

/**
 * Repair, pull side: a node holding these blocks tells a node that should hold them too. The replica
 * answers which it holds already (hash-verified now when `verify`, for a hand-over) and fetches the
 * others from the offerer with BlocksGet, verifying each. Only nodes offer (they carry other members'
 * leases); signed fields: [storage/repair.ts offerDigest(blocks)].
 */
export const BlockOffer = defineFrame(
  'storage.block.offer',
  obj({ blocks: arr(offeredBlockCodec, { max: STORAGE_BATCH_IDS_MAX }), verify: bool(), auth: insertAuthCodec }),
);
/** When ok, `held[i]`: blocks[i] is here already; `queued`: how many of the others will be fetched (the rest: offer again later). */
export const BlockOfferReply = defineFrame(
  'storage.block.offer.reply',
  obj({ ok: bool(), code, message, held: opt(arr(bool(), { max: STORAGE_BATCH_IDS_MAX })), queued: opt(uint({ max: STORAGE_BATCH_IDS_MAX })) }),
);
/**
 * Repair's bulk read: the blocks the source holds among `ids`, in order, as many as fit in
 * REPAIR_BATCH_BYTES_MAX (the fetcher asks for fewer ids than that by their offered sizes). A block
 * not held comes back without bytes; ids beyond the byte budget are left out. Not verified by the
 * source: the fetching replica verifies every block before storing it.
 */
export const BlocksGet = defineFrame('storage.blocks.get', obj({ ids }));
export const BlocksData = defineFrame(
  'storage.blocks.data',
  obj({ blocks: arr(obj({ id, block: opt(bytes({ max: BLOCK_BYTES_MAX })) }), { max: STORAGE_BATCH_IDS_MAX }) }),
);

/** Extend leases. Signed fields: [BLAKE2b of the concatenated ids, expiresAtMs]. */
export const Refresh = defineFrame('storage.refresh', obj({ ids, expiresAtMs: uint(), auth: insertAuthCodec }));

const digest = obj({ count: uint(), xor: hexBytes(ID_BYTES) });
/** Anti-entropy: a digest of what the replica holds in an arc [lo, hi) of the circle. */
export const Digest = defineFrame('storage.digest', obj({ lo: id, hi: id }));
export const DigestReply = defineFrame('storage.digest.reply', obj({ blocks: digest, objects: digest }));
/** Anti-entropy: list the blocks or the objects the replica holds in an arc, a page at a time (blocks as an offer). */
export const Scan = defineFrame(
  'storage.scan',
  obj({ what: oneOf(['blocks', 'objects'] as const), lo: id, hi: id, afterId: opt(id), limit: uint({ max: STORAGE_BATCH_IDS_MAX }) }),
);
export const ScanReply = defineFrame(
  'storage.scan.reply',
  obj({
    blocks: arr(offeredBlockCodec, { max: STORAGE_BATCH_IDS_MAX }),
    objects: arr(obj({ id, seq: uint() }), { max: STORAGE_BATCH_IDS_MAX }),
    more: bool(),
    /** A page of blocks is an offer: signed like BlockOffer by the answering node (absent without blocks). */
    auth: opt(insertAuthCodec),
  }),
);

/** Routed to a key's root (router application `storage.locate`): the nodes nearest the key, nearest first. */
export const LocateReply = defineFrame('storage.locate.reply', obj({ nodes: arr(id, { max: LEAF_SET_SIZE + 1 }) }));
export const LOCATE_APP = 'storage.locate';
