// Every bound in the system, in one place, with its unit in its name and the reason for its value.
// Protocol code takes these (or a `Partial` override for tests and the simulator) instead of literals.

// ---- wire --------------------------------------------------------------------------------------
/** Protocol version carried in every frame; a frame of another version is dropped. */
export const PROTOCOL_VERSION = 1;
/** Largest frame: one 1 MiB block chunk plus headers fits; the lab's nats-server max_payload is 4 MiB. */
export const FRAME_BYTES_MAX = 2 * 1024 * 1024;
/** Longest string field (names, addresses, reasons); longer strings are refused. */
export const FIELD_CHARS_MAX = 4096;
/** Largest list in a frame (route paths, leaf sets, routing rows, key lists). */
export const FRAME_LIST_MAX = 4096;

// ---- identity ----------------------------------------------------------------------------------
export const ID_BYTES = 32; // BLAKE2b-256 ids of nodes, users, blocks, rings
export const ID_HEX_CHARS = ID_BYTES * 2;
/** Subjects carry only a ring-id prefix: 64 bits are plenty to keep rings apart. */
export const RING_LABEL_HEX_CHARS = 16;
/** Node certificates are valid for a year unless the CA says otherwise. */
export const NODE_CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;

// ---- overlay (Pastry) --------------------------------------------------------------------------
/** b: bits per routing digit (hex digits). */
export const ROUTING_BASE_BITS = 4;
/** Rows of the routing table: one per hex digit of a 256-bit id. */
export const ROUTING_ROWS = (ID_BYTES * 8) / ROUTING_BASE_BITS;
/** Columns per row: one per digit value. */
export const ROUTING_COLUMNS = 1 << ROUTING_BASE_BITS;
/** L: the leaf set holds the L numerically closest live nodes, L/2 on each side. */
export const LEAF_SET_SIZE = 16;
export const LEAF_SET_HALF = LEAF_SET_SIZE / 2;

export interface OverlayTimings {
  /** A leaf-set member heartbeats each other member this often. */
  heartbeatIntervalMs: number;
  /** A member silent this long is suspected dead and removed (several missed heartbeats). */
  suspicionTimeoutMs: number;
  /** How long a hop waits for the next hop's acknowledgement before trying another route. */
  hopAckTimeoutMs: number;
  /** End-to-end deadline for one routed message. */
  routeTimeoutMs: number;
  /** A joiner waits this long for the join reply before retrying through another member. */
  joinTimeoutMs: number;
  /** A joiner waits this long for its leaf set's acknowledgements before counting the silent as dead. */
  announceTimeoutMs: number;
  /** While alone in its ring a node looks for other lone nodes this often (they then merge). */
  discoverIntervalMs: number;
  /** Nodes removed as dead are probed this often, so a partition heals. */
  deadProbeIntervalMs: number;
  /** ... and forgotten after this long. */
  deadForgetMs: number;
}

export const OVERLAY_TIMINGS: OverlayTimings = {
  heartbeatIntervalMs: 1000,
  suspicionTimeoutMs: 4000,
  hopAckTimeoutMs: 500,
  routeTimeoutMs: 5000,
  joinTimeoutMs: 3000,
  announceTimeoutMs: 2000,
  discoverIntervalMs: 2000,
  deadProbeIntervalMs: 5000,
  deadForgetMs: 3600_000,
};

/** A route that has taken this many hops is dropped: a loop, since Pastry needs ~log16 N. */
export const ROUTE_HOPS_MAX = 32;
/** Alternatives a hop tries after next hops fail to acknowledge, before giving up on a message. */
export const ROUTE_RETRIES_MAX = 4;
/** Attempts at a silent leaf-set member before routing around it: a lost ack must not skip a live root. */
export const ROUTE_SAME_HOP_ATTEMPTS_MAX = 3;
/** Join attempts before a node reports that it cannot join. */
export const JOIN_ATTEMPTS_MAX = 20;
/** Announce rounds (new closer nodes learned from acks) before the joiner settles its leaf set. */
export const ANNOUNCE_ROUNDS_MAX = 8;
/** Nodes remembered as recently dead (probed for partition healing). */
export const DEAD_NODES_MAX = 256;
/** Route requests queued while the node is still joining. */
export const ROUTE_QUEUE_MAX = 1024;

// ---- supervision -------------------------------------------------------------------------------
/** One-for-one restart intensity: more than this many restarts of one child ... */
export const SUPERVISOR_RESTARTS_MAX = 5;
/** ... within this window escalates to the parent (OTP's defaults are 3 in 5 s; we allow a bit more). */
export const SUPERVISOR_WINDOW_MS = 10_000;

// ---- processes and the lab ---------------------------------------------------------------------
/** A node process given this long to stop on SIGTERM before SIGKILL. */
export const NODE_STOP_GRACE_MS = 5000;
/** The lab waits this long for every node to report ready. */
export const LAB_READY_TIMEOUT_MS = 60_000;
/** Requests from the CLI to a node (status, route probes). */
export const CLI_REQUEST_TIMEOUT_MS = 10_000;

// ---- storage: blocks, manifests, signed objects, the local store --------------------------------
/** Largest plaintext chunk of a block: DESIGN 3's 1 MiB; a sealed chunk (+16-byte tag) fits a frame. */
export const BLOCK_CHUNK_BYTES_MAX = 1024 * 1024;
/** XChaCha20-Poly1305 tag appended to every sealed block. */
export const BLOCK_TAG_BYTES = 16;
/** Largest stored block (a full sealed chunk): replicas and stores refuse anything bigger. */
export const BLOCK_BYTES_MAX = BLOCK_CHUNK_BYTES_MAX + BLOCK_TAG_BYTES;
/** 32-byte convergence secret per ring (BLAKE2b key): only rings sharing it dedup each other's data. */
export const CONVERGENCE_SECRET_BYTES = 32;
/** Entries per manifest: 8192 refs of 74 bytes (~600 KiB) keep a manifest within one chunk; 8 GiB per level. */
export const MANIFEST_ENTRIES_MAX = 8192;
/** Manifest levels above the chunks: 4 levels of 8192 address far more than any file; stops deep chains. */
export const MANIFEST_DEPTH_MAX = 4;
/** Blocks a reader fetches ahead of the one it yields (bounds memory to this many chunks). */
export const BLOCK_READ_AHEAD_MAX = 16;
/** Longest signed-object name, in UTF-8 bytes ("log:<hex id>", "user", ...). */
export const OBJECT_NAME_BYTES_MAX = 1024;
/** Largest signed-object payload: a log head with a pending batch fits; bulk state goes into blocks. */
export const OBJECT_PAYLOAD_BYTES_MAX = 128 * 1024;
/** Entries one store scan returns (a page; repair and digests page through larger ranges). */
export const STORE_SCAN_ENTRIES_MAX = 4096;
/** Expired blocks one garbage-collection call removes, so one call never holds the store for long. */
export const STORE_GC_BATCH_MAX = 1024;
/** Largest data gathered into one buffer by a block read; larger data is read as a stream. */
export const BLOCK_READ_BUFFER_BYTES_MAX = 256 * 1024 * 1024;
/** Block puts a writer keeps in flight (bounds memory to this many sealed chunks). */
export const BLOCK_PUTS_IN_FLIGHT_MAX = 16;
/** Compare-and-put rounds a replica retries when concurrent puts of one object keep beating it. */
export const STORE_CAS_ATTEMPTS_MAX = 8;
