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
/** An encoded node certificate: two keys, a signature, an organisation name of at most FIELD_CHARS_MAX characters. */
export const NODE_CERT_BYTES_MAX = FIELD_CHARS_MAX + 512;
/** Operator certificates (the `post` command's key) likewise; `post ca operator --days N` issues shorter ones. */
export const OPERATOR_CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
/**
 * User certificates whose CA signature a process remembers having verified (oldest forgotten first):
 * every notification and storage insert carries one, and a busy node sees the same few hundred.
 */
export const VERIFIED_USER_CERTS_MAX = 4096;
/**
 * Signatures a process remembers having made, with the bytes and key they are over (oldest forgotten
 * first), so that verifying one of its own needs no Ed25519 verification: a node's own replica checks
 * the head it has just signed, within a turn or two. Heads are at most a few KiB, so this stays small.
 */
export const SIGNATURES_MADE_REMEMBERED_MAX = 256;

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
/**
 * A failed local store answers UNAVAILABLE this long before its actor fails and the supervisor reopens
 * the database (a restart counted in the intensity above): long enough not to spin on a full disk.
 */
export const STORE_FAILED_HOLD_MS = 1_000;

// ---- processes and the lab ---------------------------------------------------------------------
/** A node process given this long to stop on SIGTERM before SIGKILL. */
export const NODE_STOP_GRACE_MS = 5000;
/** The lab waits this long for every node to report ready. */
export const LAB_READY_TIMEOUT_MS = 60_000;
/**
 * Starts of one server (a lab node, a NATS cluster, a reference server of the benchmarks) on fresh
 * ports when the ports found free were taken before it bound them (parallel labs or tests, or any
 * process binding port 0 meanwhile): each start picks them again.
 */
export const PORT_START_ATTEMPTS = 3;
/** Requests from the CLI to a node (status, route probes). */
export const CLI_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Scenarios on the real lab: a mail client's connect and command timeouts (a submission that times
 * out is recorded as unknown), an audit or pull request to one node, how long a "slow" node runs
 * between its stops, how long (polled how often) a device waits to see another device's message, and
 * how long a cut or healed NATS cluster may take until its routes and every node's connection agree
 * (polled with status requests that each wait answerMs: one lost in a reconnect costs no more);
 * and how often (with what pause) the final reads try an INBOX whose read failed, as a mail client
 * reconnects (a node restarting, a BYE [UNAVAILABLE] when a fork's merge renumbered the folder).
 */
export const SCENARIO_LAB_TIMINGS = {
  connectMs: 5_000,
  submitMs: 30_000,
  controlMs: 120_000,
  slowAwakeMs: 250,
  visibleMs: 15_000,
  pollMs: 250,
  partitionMs: 30_000,
  answerMs: 2_000,
  finalReadAttempts: 3,
  finalReadRetryMs: 2_000,
} as const;

/**
 * A scenario's mail load (issue 13): concurrent senders, each sending one mail at a time with a pause
 * between its mails, as several mail clients would. On the simulator a mail costs real CPU and almost
 * no simulated time, so its senders pause longer (the suite's cost stays near the old sequential
 * workload's). `calibrationMails` are sent unfaulted first: their rate is the baseline that each
 * scenario's throughput floor is a fraction of. A scenario's workload sends at least `mailsMin` and
 * keeps sending while its faults last, up to `mailsMax`, with a progress line every `progressEvery`
 * mails (the soak reports per fault instead).
 */
export const SCENARIO_LOAD = { senders: 8, pauseMs: { lab: 250, sim: 2_000 }, calibrationMails: 32, mailsMin: 96, mailsMax: 5_000, progressEvery: 50 } as const;
/**
 * chat-churn (issue 17): conversations between pairs of users, both ways, while nodes die and restart.
 * Each side sends `messagesPerSide` chat messages one at a time with `pauseMs` between them (a person
 * typing); a sender whose node is down waits for it, looking every `pauseMs`, at most `senderDownMs`.
 * `churnRounds` nodes die for `downMs` and restart, `upMs` apart. Before judging, delivery may take
 * `settleMs` (looked at every `pauseMs`); a send slower than `sendMs` counts as unknown.
 */
export const SCENARIO_CHAT = { pairs: 3, messagesPerSide: 20, pauseMs: 2_000, senderDownMs: 60_000, churnRounds: 4, downMs: 6_000, upMs: 3_000, settleMs: 60_000, sendMs: 30_000 } as const;
/**
 * calendar-churn: writes per device (new events, edits with If-Match, deletions), the pause between
 * them, how long a device waits for its node to come back, the node kills and how long each is down and
 * up, how long the devices' views may take to settle, and a request's time before its outcome is unknown.
 */
export const SCENARIO_CALENDAR = { writesPerDevice: 24, pauseMs: 1_500, nodeDownWaitMs: 60_000, churnRounds: 4, downMs: 6_000, upMs: 3_000, settleMs: 60_000, requestMs: 30_000 } as const;
/**
 * gateway-loss (issue 13): each of one organisation's two gateways in turn hangs for `hangMs` (everything
 * it sends or receives `hangExtraMs` late: requests pile up inside it), dies, stays down `downMs`, and
 * the restarted one runs `upMs` before the other's turn (its subscriptions are back, requests that
 * timed out in the dead one have been retried). How the floor was chosen: see the scenario's plan.
 */
export const SCENARIO_GATEWAY_LOSS = { hangMs: 2_000, hangExtraMs: 1_000, downMs: 15_000, upMs: 5_000 } as const;
/** Default throughput floor: a faulted workload keeps at least this fraction of the run's unfaulted rate. */
export const SCENARIO_THROUGHPUT_FLOOR_FRACTION = 0.2;
/**
 * The soak (post scenario run soak): at most this many minutes (a bound for a mistyped --minutes), how
 * long each fault is held under the load before its heal, the pause after a heal before the next fault
 * (repair and delivery catch up), and a bound on its mails.
 */
export const SCENARIO_SOAK = { minutesMax: 24 * 60, holdMs: 10_000, settleMs: 5_000, mailsMax: 1_000_000 } as const;
/** Simulated time a scenario may take beyond its own length (a soak's minutes): past it, the simulated run is hung. */
export const SCENARIO_SIM_RUN_MS_MAX = 30 * 60_000;

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
/** Largest encoded signed object: the payload and name at their bounds plus the fixed fields and headers (under 200 bytes). */
export const SIGNED_OBJECT_BYTES_MAX = OBJECT_PAYLOAD_BYTES_MAX + OBJECT_NAME_BYTES_MAX + 512;
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
/**
 * Bytes of signed objects a replica remembers as the versions it last stored (storage/replicaStore.ts
 * StoredObjectMemo): the next put of a hot log head is decided without reading, decoding and hashing
 * the stored copy again. Oldest dropped first; a few hundred heads of busy folders.
 */
export const REPLICA_OBJECT_MEMO_BYTES_MAX = 4 * 1024 * 1024;
/**
 * A mail leaf body (raw, transfer-encoded) this long or longer is stored as a datum of its own, so it
 * converges across messages and users (DESIGN 3); shorter ones stay inline in the message's layout:
 * a separate part costs a 74-byte reference, a 16-byte tag and a replicated put, and short bodies are
 * mostly a message's own text, which never recurs.
 */
export const MAIL_PART_BYTES_MIN = 8 * 1024;
/** Separate parts in one mail layout: 1024 references (~80 KiB) keep it within one chunk; a message with more is stored whole. */
export const MAIL_LAYOUT_PARTS_MAX = 1024;
/** Headers, boundaries and short bodies inline in one mail layout: with the references it stays within one chunk; more is stored whole. */
export const MAIL_LAYOUT_INLINE_BYTES_MAX = 512 * 1024;

/**
 * Bytes of ring blocks a node keeps in its host block cache (infra/store/blockCache.ts): copies of the
 * blocks its users' sessions read or wrote, so a SEARCH BODY over a 100,000-message folder (about
 * 400 MiB of 4 KiB messages) reads this disk instead of the ring once per message. Oldest dropped first.
 */
export const HOST_BLOCK_CACHE_BYTES_MAX = 1024 * 1024 * 1024;

// ---- storage: the replicated service ------------------------------------------------------------------
/** A block lives this long unless its owner refreshes it (the original's 28 days). */
export const STORAGE_LEASE_MS = 28 * 24 * 3600 * 1000;
/** Owners refresh what they still reference this often (well inside the lease). */
export const STORAGE_REFRESH_INTERVAL_MS = 24 * 3600 * 1000;
/** Ids in one has/refresh/scan message: 1,000 ids of 32 bytes keep a frame near 32 KiB. */
export const STORAGE_BATCH_IDS_MAX = 1000;
/**
 * Puts one node sends one replica in one event-loop turn travel as one frame (storage.batch; inbox-
 * drop puts as notify.batch: protocol/batch.ts; both batch kinds keep these two bounds) and are
 * answered in one: under load a node writes several logs' heads per turn (1.8 on the mixed mail
 * load, 73% sharing a turn) and with k = 3 of a few nodes any two share a replica. At most this many
 * requests in one batch: their answers (a refused object put carries the stored version, up to
 * SIGNED_OBJECT_BYTES_MAX) must fit one frame.
 */
export const STORAGE_BATCH_REQUESTS_MAX = 8;
/**
 * Passes over the end-of-turn callbacks (infra/turnEnd.ts) in one check phase. A pass runs the
 * gather stage (a batch's flush publishes) and then the send stage (the publish is handed over);
 * another pass runs what those queued. Beyond this, what is still queued waits for the next turn,
 * so a callback that always defers again cannot starve I/O.
 */
export const TURN_END_PASSES_MAX = 4;
/**
 * A request bigger than this goes alone, not in a batch: batching pays for small writes (heads, small
 * blocks, inbox drops of small mail), where the cost is per message, and costs for bulk ones, which
 * are copied into the batch frame and hold the small ones' answers behind their own. Measured on the
 * 5-node lab (10 SMTP sessions, alternating rounds on one running lab, 2026-12-06): with bulk puts
 * batched up to 512 KiB, 16.1 ms of lab CPU per 100 KiB mail against 13.2 alone; 11.8 against 10.3 ms
 * at 30 KB, 8.7 against 7.8 ms at 12 KB; at 4 KiB (puts of 4-6 KB, still batched) no difference.
 */
export const STORAGE_BATCH_REQUEST_BYTES_MAX = 8 * 1024;

export interface StorageTimings {
  /** Lease of what is stored (STORAGE_LEASE_MS; shorter only in tests). */
  leaseMs: number;
  /** Owners refresh what they reference this often (STORAGE_REFRESH_INTERVAL_MS). */
  refreshIntervalMs: number;
  /** One request to one replica; lost requests are retried (NATS drops in-flight requests when a server dies). */
  requestTimeoutMs: number;
  /** Attempts per replica before it counts as failed for this operation. */
  attemptsMax: number;
  /**
   * One bulk repair fetch (a frame of up to REPAIR_BATCH_BYTES_MAX): longer than a small request's
   * timeout, since it queues behind the other fetches on a busy link and a lost one is simply asked again.
   */
  bulkRequestTimeoutMs: number;
  /** After a leaf-set change, wait this long for it to settle before moving keys. */
  repairDebounceMs: number;
  /** Periodic anti-entropy pass with the neighbours. */
  antiEntropyIntervalMs: number;
  /** Expired blocks are collected this often. */
  gcIntervalMs: number;
  /** Local copies are re-verified (scrubbed) this often, a bounded batch at a time. */
  scrubIntervalMs: number;
}

export const STORAGE_TIMINGS: StorageTimings = {
  leaseMs: STORAGE_LEASE_MS,
  refreshIntervalMs: STORAGE_REFRESH_INTERVAL_MS,
  requestTimeoutMs: 2000,
  attemptsMax: 4,
  bulkRequestTimeoutMs: 10_000,
  repairDebounceMs: 500,
  antiEntropyIntervalMs: 30_000,
  gcIntervalMs: 300_000,
  scrubIntervalMs: 60_000,
};

/**
 * Anti-entropy passes per full repair sweep when the digests agree and the last repair left no work: a
 * sweep offers every key a node holds to its other replicas (a sweep and the replica-health check after
 * it every 30 s took 16% of a core on the idle 5-node lab at 30,000 keys a node), so with agreeing
 * digests it runs 10 x 30 s = 5 min apart.
 */
export const ANTI_ENTROPY_PASSES_PER_SWEEP = 10;

/** `--gc-lease` (seconds) a lab may shorten the lease to: the owners' refresh (a quarter of it) must still get through. */
export const GC_LEASE_S_MIN = 20;
/** `--gc-interval` (seconds): from one GC pass a second (watching it) to the default's order. */
export const GC_INTERVAL_S_MIN = 1;
export const GC_INTERVAL_S_MAX = 3600;

/**
 * Storage timings with a short lease and frequent GC passes, to watch garbage collection in a lab
 * (`post node start --gc-lease --gc-interval`): owners refresh what they still reference four times
 * per lease, so only what nobody references expires.
 */
export function gcWatchTimings(leaseS: number, gcIntervalS: number): StorageTimings {
  const leaseMs = leaseS * 1000;
  return { ...STORAGE_TIMINGS, leaseMs, refreshIntervalMs: Math.min(STORAGE_TIMINGS.refreshIntervalMs, Math.floor(leaseMs / 4)), gcIntervalMs: gcIntervalS * 1000 };
}

/** Local blocks re-verified per scrub pass (bounds the disk reads one pass costs). */
export const SCRUB_BLOCKS_PER_PASS = 256;
/** Arcs (around nodes that left or joined) a repair pass looks at; beyond this many it looks at every key held. */
export const REPAIR_ARCS_MAX = 64;
/** Transfers (offers, object pushes, drop syncs) one repair pass keeps in flight. */
export const REPAIR_TRANSFERS_IN_FLIGHT_MAX = 8;
/**
 * Bytes of blocks one bulk repair fetch returns: a frame (FRAME_BYTES_MAX) less room for its ids and
 * headers. One full 1 MiB block, or up to STORAGE_BATCH_IDS_MAX small ones (mail is mostly small).
 */
export const REPAIR_BATCH_BYTES_MAX = FRAME_BYTES_MAX - 128 * 1024;
/** Bulk fetches a replica keeps in flight to one source: the link stays busy while a reply is verified and stored. */
export const REPAIR_FETCHES_PER_SOURCE_MAX = 2;
/**
 * Bulk fetches a replica keeps awaiting their answers, over all its sources (~7.5 MiB on the way).
 * Everything else this node receives (heartbeats, NATS PONGs) queues behind them on its one
 * connection: at a few tens of MB/s they must drain well within a heartbeat period and the client's
 * ping deadline, or repair traffic gets live nodes declared dead and connections dropped (32 in
 * flight did both on the lab).
 */
export const REPAIR_FETCHES_AWAITING_MAX = 4;
/**
 * Bulk fetches not yet settled (awaiting, or verified and stored): bounds repair memory to this many
 * frames (~30 MiB). Four times REPAIR_FETCHES_AWAITING_MAX: on the loaded lab a batch took longer to
 * verify and store durably than to arrive (784 ms against 627, `post bench storage`), so with twice
 * (8) the batches being stored held the slots and fewer than four answers were on their way.
 */
export const REPAIR_FETCHES_IN_FLIGHT_MAX = 16;
/**
 * Offered blocks a replica remembers until fetched (~150 bytes each, so ~30 MiB at most); offers beyond
 * it are answered "not held" and offered again at the holder's next pass.
 */
export const REPAIR_QUEUE_BLOCKS_MAX = 200_000;
/**
 * Pages of keys a new replica asks one holder to list for an arc it gained (STORAGE_BATCH_IDS_MAX a
 * page): enough to fill REPAIR_QUEUE_BLOCKS_MAX; beyond it the holders' repair offers bring the rest.
 */
export const REPAIR_PULL_PAGES_MAX = REPAIR_QUEUE_BLOCKS_MAX / STORAGE_BATCH_IDS_MAX;
/** Bytes a user (or node) may have charged to it on one replica (per-user quota). */
export const QUOTA_BYTES_PER_MEMBER = 10 * 1024 * 1024 * 1024;
/** A user's mail (the sizes of their messages) when the organisation sets no limit: IMAP QUOTA reports it. */
export const MAIL_QUOTA_BYTES_PER_USER_DEFAULT = QUOTA_BYTES_PER_MEMBER;
/** Default replicas per object when a ring does not say. */
export const REPLICATION_FACTOR_DEFAULT = 3;

// ---- users, single-writer logs, folders -----------------------------------------------------------
/** Longest user address (RFC 5321: 64-octet local part, "@", 255-octet domain). */
export const USER_ADDRESS_CHARS_MAX = 320;
/** Argon2id passes a stored keystore may ask for: a forged keystore must not make a login cost more (libsodium MODERATE is 3). */
export const KEYSTORE_OPSLIMIT_MAX = 4;
/** Argon2id memory a stored keystore may ask for (libsodium MODERATE): bounds what one login allocates. */
export const KEYSTORE_MEMLIMIT_BYTES_MAX = 256 * 1024 * 1024;
/** Largest encoded keystore: keys, master secret, certificate and KDF parameters fit with room to spare. */
export const KEYSTORE_BYTES_MAX = 4096;
/**
 * A user's folder logs are named so that their heads' ids fall this close to the user's home node on
 * the id circle (within 2^-bits of it, either way): their k replicas are then the home and its
 * neighbours, and the home serves its own copy of every write in-process (storage/folders/folderLogs.ts,
 * placedFolderIndexName). Each bit doubles the names tried (2^(bits-1) on average, a few microseconds
 * each); at 12 the home is the closest node to the id unless the ring has thousands of nodes.
 */
export const LOG_PLACEMENT_BITS = 12;
/** Names tried at most to place a log near its node: beyond, the nearest one seen (one in e^128 placements). */
export const LOG_PLACEMENT_TRIES_MAX = 1 << 18;
/** Operations kept in a log head before they are flushed as one entry block (the original's COALESCE_NUM). */
export const LOG_PENDING_OPS_MAX = 50;
/** ... or once they take this many encoded bytes: keeps every head well inside OBJECT_PAYLOAD_BYTES_MAX. */
export const LOG_PENDING_BYTES_MAX = 16 * 1024;
/** Plaintext of one sealed log block (entry or snapshot piece): sealed (+24 nonce +16 tag) it stays within BLOCK_BYTES_MAX. */
export const LOG_BLOCK_PLAINTEXT_BYTES_MAX = BLOCK_BYTES_MAX - 40;
/**
 * Entries at most between two snapshots ("every few hundred"): opening a log reads the snapshot plus at
 * most this many entries. A log whose state is small snapshots sooner (storage/log/nextHead.ts
 * snapshotDue): every head write carries the tail's entry ids.
 */
export const LOG_SNAPSHOT_ENTRIES_MAX = 256;
/** Blocks of one snapshot (~512 MiB of state): far above a 1M-message folder (~130 MiB); stops a runaway state. */
export const LOG_SNAPSHOT_BLOCKS_MAX = 512;
/** Snapshot blocks a writer puts (or a reader fetches) at once: bounds memory to this many MiB in flight. */
export const LOG_SNAPSHOT_BLOCKS_IN_FLIGHT_MAX = 8;
/** Compare-and-swap rounds one append tries before failing LOG_CONTENTION (another device keeps winning). */
export const LOG_CAS_ATTEMPTS_MAX = 16;
/** After a lost compare-and-swap, wait a random time below base * 2^attempt (first retry at once) ... */
export const LOG_CAS_BACKOFF_BASE_MS = 2;
/** ... and never longer than this: two devices rarely collide twice, so keep the retry fast. */
export const LOG_CAS_BACKOFF_MAX_MS = 200;
/** Entries a catch-up walks back through (before the newest snapshot) before it reloads the snapshot instead. */
export const LOG_CATCH_UP_ENTRIES_MAX = 256;
/**
 * How often a node looks, for every mailbox it has open, for a fork left at a log's newest sequence
 * (LogWriter.settleForks: one read of every replica per open log) and settles it: as often as
 * anti-entropy runs, which then carries the settling head to every replica.
 */
export const LOG_FORK_SWEEP_INTERVAL_MS = 30_000;
/** Attempts to append what a fork's losing branch held on top of the winner (each after a pause) before giving up. */
export const LOG_FORK_CARRY_ATTEMPTS_MAX = 5;
/** Operations queued on one log while a head write is in flight; more fail QUEUE_FULL (back-pressure). */
export const LOG_APPEND_QUEUE_OPS_MAX = 100_000;
/** Logs whose highest seen head a reader remembers (rollback defence); the least recently used is forgotten. */
export const LOG_HEAD_MARKS_MAX = 100_000;
/** Messages in one folder: its snapshot (~130 bytes a message) stays far below LOG_SNAPSHOT_BLOCKS_MAX blocks. */
export const FOLDER_MESSAGES_MAX = 1_000_000;
/** Expunged UIDs a folder remembers with their modseq (QRESYNC VANISHED) and insert key (no re-delivery). */
export const FOLDER_EXPUNGED_RETAINED_MAX = 10_000;
/** UIDs named by one flag or expunge operation: keeps one operation far below a log block. */
export const FOLDER_OP_UIDS_MAX = 10_000;
/** Folders one user may have (IMAP clients list them all at once). */
export const FOLDERS_PER_USER_MAX = 1000;
/** Subscriptions one user may hold (they may name folders that do not exist). */
export const SUBSCRIPTIONS_PER_USER_MAX = 4096;
/** Longest folder name, in characters (full hierarchical name). */
export const FOLDER_NAME_CHARS_MAX = 1024;
/** Flags on one message (system flags plus keywords). */
export const MESSAGE_FLAGS_MAX = 64;
/** Longest flag or keyword, in characters. */
export const FLAG_CHARS_MAX = 256;
/** Longest insert key (notification id or append nonce) recorded with a message. */
export const INSERT_KEY_CHARS_MAX = 128;
/** Folder states one logged-in user keeps in memory; the least recently used is dropped beyond this. */
export const MAILBOX_OPEN_FOLDERS_MAX = 64;
/**
 * A log a mailbox has open is kept current by head notices; one not confirmed against storage for this
 * long is re-read in the background when a command uses it (notices can be lost).
 */
export const MAILBOX_FRESH_MS = 30_000;
/**
 * The same bound for a user this node does not host (a session away from home): the mail it shows was
 * most often written by another node (the home, a standby), so it learns of it only by notice or re-read.
 * Watched (selected) folders are re-read at least this often while a session lasts, IDLE included.
 */
export const MAILBOX_VISITOR_FRESH_MS = 5_000;
/** A user's keys and open folders stay on a node this long after their last session closes (clients reconnect). */
export const MAILBOX_LINGER_MS = 5 * 60_000;
/** A node forgets a login (keys and password verifier) unused this long, unless it hosts the user. */
export const LOGIN_KEPT_MS = 5 * 60_000;
/** Logins one node remembers at most (the least recently remembered non-hosted ones go first). */
export const LOGINS_KNOWN_MAX = 10_000;
/** Folder heads read at once when listing folders. */
export const MAILBOX_HEAD_READS_IN_FLIGHT_MAX = 16;
/** Block transfers (`post block put/get`) one node serves at once. */
export const CONTROL_SESSIONS_MAX = 16;
/** A transfer idle this long is forgotten (its client died). */
export const CONTROL_SESSION_IDLE_MS = 60_000;

// ---- notification --------------------------------------------------------------------------------
/** Notifications one sender may have pending in one recipient's drop (DESIGN 5: per-sender limits). */
export const NOTIFY_PENDING_PER_SENDER_MAX = 1000;
/** Entries per pull page. */
export const NOTIFY_PULL_PAGE_MAX = 200;
/**
 * Notifications a recipient delivers at once: their INBOX appends share one head write (the log's
 * group commit) and their receipts one signed receipt per outcome. At most STORAGE_BATCH_IDS_MAX.
 */
export const NOTIFY_DELIVER_BATCH_MAX = 32;
/** Receipts leave tombstones this long: repair cannot resurrect a taken notification, replays are refused. */
export const NOTIFY_TOMBSTONE_MS = 60 * 24 * 3600 * 1000;
/** An envelope older than this (or from the future by more than NOTIFY_CLOCK_SKEW_MS) is refused as a replay. */
export const NOTIFY_ENVELOPE_AGE_MAX_MS = 30 * 24 * 3600 * 1000;
export const NOTIFY_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** The recipient's node pulls its drops this often as well (a safety net under live push). */
export const NOTIFY_PULL_INTERVAL_MS = 60_000;
/**
 * A node delivering for a visiting user (a session away from the home node, or a standby standing in)
 * pulls this often: there the push may be the only other path, and a lost one must not hide mail for
 * a minute (issue 13: new mail shows within seconds on a login elsewhere).
 */
export const NOTIFY_VISITOR_PULL_INTERVAL_MS = 5_000;
/**
 * A node delivering for a visiting user holds each new notification back this long, then asks the
 * drop which are still pending: the user's home node (when up) has taken them by then (its INBOX write
 * reaches the session here as a head notice), so the two do not race for the INBOX head; what the drop
 * still holds is delivered here.
 * Within issue 13's bound (new mail in a session elsewhere within 1 s when pushed).
 */
export const NOTIFY_VISITOR_DEFER_MS = 500;
/**
 * A recipient's receipts wait this long for more deliveries before they go out, so that one signed
 * receipt per drop replica clears the notifications of many delivery batches (issue 11: with small
 * batches under load, receipts and their replies were a sixth of the frames per mail). Off every
 * waiting path: the 250 came before the notification, the INBOX append before the receipt. A receipt
 * held back only means the drop keeps the entry a little longer (a pull meanwhile does not deliver it
 * again: the inbox remembers what awaits its receipt). Well under NOTIFY_VISITOR_DEFER_MS, so a visitor
 * still finds what the home node took gone from the drop.
 */
export const NOTIFY_RECEIPT_LINGER_MS = 100;
/** Entries one held-back receipt gathers at most before it goes out at once (at most STORAGE_BATCH_IDS_MAX). */
export const NOTIFY_RECEIPT_ENTRIES_MAX = 256;
/** After a delivery that failed for now (or receipts that did not reach the drop), the drop is pulled again this soon. */
export const NOTIFY_RETRY_MS = 2_000;
/** Largest notification in a drop: a sealed reference plus envelope, never message content. */
export const DROP_ENTRY_BYTES_MAX = 64 * 1024;
/**
 * Live pushes one node sends to one inbox subject in one event-loop turn go as one frame of at most
 * this many (notify.inbox.pushes): at DROP_ENTRY_BYTES_MAX each they stay well inside FRAME_BYTES_MAX.
 */
export const NOTIFY_PUSH_ENTRIES_MAX = 16;
/** Longest list inside a log's materialised state (a folder's messages): bounds snapshot decoding. */
export const LOG_STATE_LIST_ITEMS_MAX = FOLDER_MESSAGES_MAX;
/** Entry blocks one flush puts at once (a large append may fill several 1 MiB entries). */
export const LOG_ENTRY_PUTS_IN_FLIGHT_MAX = 8;
/** Entry blocks a reader fetches at once when opening a log (latency-bound; entries are usually small). */
export const LOG_ENTRY_FETCHES_IN_FLIGHT_MAX = 16;
/** Drop entries one local-store listing returns (with their bytes): a page stays within 16 MiB of DROP_ENTRY_BYTES_MAX entries. */
export const DROP_LIST_ENTRIES_MAX = 256;
/** Records in one user's short-message log (the lab application; a mailbox holds mail). */
export const MESSAGES_LOG_ITEMS_MAX = 100_000;
/** A hosted user that cannot be unlocked yet (ring not joined, replicas away) is tried again this often. */
export const USER_UNLOCK_RETRY_MS = 2000;
/** Standby hosts an organisation gives each user by default: the next nodes after the user's home in the ring (issue 13). */
export const STANDBY_HOSTS_DEFAULT = 2;
/** Most standby hosts of one user: each holds the user's keys, so their number bounds the exposure. */
export const STANDBY_HOSTS_MAX = 4;
/**
 * A standby takes over delivery once the home node (and every standby before it) has been out of its
 * leaf set this many heartbeat intervals, on top of the suspicion timeout that removed it: a quick
 * restart of the home moves nothing.
 */
export const STANDBY_TAKEOVER_HEARTBEATS = 3;
/**
 * A standby whose leaf set fell to half or less within this many heartbeat intervals is more likely
 * cut off by a partition than its user's home is dead: it stands down until the ring or the home
 * returns (two writers on the two sides of a partition would lose one side's INBOX entries), and
 * after the rest of the ring is back, for this long again before it may take over (the home may be
 * the last member a heal brings back). Covers the spread of one partition's removals (suspicion
 * timeout) plus the takeover delay.
 */
export const STANDBY_CUTOFF_WINDOW_HEARTBEATS = 10;
/**
 * A standby hands delivery back once the home has been in its leaf set again this many heartbeat
 * intervals (time for the home to unlock its users); both deliver meanwhile, exactly once.
 */
export const STANDBY_HANDBACK_HEARTBEATS = 3;
/** Bytes of drop entries in one pull or sync page: stays well inside one frame (FRAME_BYTES_MAX). */
export const DROP_PAGE_BYTES_MAX = 1024 * 1024;
/** A recipient's certificate is re-read from the directory after this long (how late a revocation bites senders). */
export const DIRECTORY_CACHE_MS = 60_000;
export const DIRECTORY_CACHE_ENTRIES_MAX = 10_000;
/** A retried submission (same idempotency key) does not notify again within this window. */
export const SUBMISSION_DEDUP_MS = 24 * 3600 * 1000;
export const SUBMISSION_DEDUP_ENTRIES_MAX = 100_000;
/** Recipients of one submission notified at once (each a replicated drop put). */
export const SUBMISSION_NOTIFY_IN_FLIGHT_MAX = 16;
/**
 * A submitted mail this small, to at most SUBMISSION_INLINE_RECIPIENTS_MAX recipients of this
 * organisation, travels inside its notifications: durable in the recipients' drops (k replicas each)
 * when accepted, one replicated write before the 250 instead of two; each recipient's node stores it
 * as the usual convergent blocks when it delivers (the same blocks whoever stores them). Bigger mail,
 * or mail to many, is stored once by the sender. Well inside DROP_ENTRY_BYTES_MAX with the envelope.
 */
export const SUBMISSION_INLINE_BYTES_MAX = 32 * 1024;
export const SUBMISSION_INLINE_RECIPIENTS_MAX = 8;

// ---- inspection and the lab dashboard ---------------------------------------------------------------
/** Each node publishes its view this often: fresh enough to watch a fault, ~1-2 KB a second per node. */
export const INSPECT_INTERVAL_MS = 1000;
/** Notable events (router state change, restart) publish at once, but never closer than this: a restart storm stays cheap. */
export const INSPECT_EVENT_GAP_MS = 100;
/** Restart events a frame carries (newest last): enough to see a crash loop, the counts carry the rest. */
export const INSPECT_RECENT_RESTARTS_MAX = 8;
/** Hosted users a frame names (the count is always exact): keeps a frame small on a node hosting thousands. */
export const INSPECT_USERS_LISTED_MAX = 32;
/** Longest actor-tree JSON in a frame: the node's tree is ~1 KB; deeper trees are cut at a depth, not here. */
export const INSPECT_ACTORS_JSON_CHARS_MAX = 16 * 1024;
/** Levels of the actor tree described below the supervisor (down to logWriter → user → log actor). */
export const INSPECT_ACTOR_DEPTH_MAX = 3;
/** Actors described per level (the rest are counted): session actors come and go by the thousand. */
export const INSPECT_ACTORS_PER_LEVEL_MAX = 16;
/** Replica health is re-checked after a repair pass, but not more often than this (it asks each replica). */
export const INSPECT_HEALTH_MIN_INTERVAL_MS = 10_000;
/** Local objects one replica-health check covers; beyond this the count is marked partial (bounds its cost). */
export const INSPECT_HEALTH_IDS_MAX = 20_000;
/** A dashboard calls a node silent after this many intervals without a frame (one lost frame is not news) ... */
export const DASHBOARD_SILENT_AFTER_INTERVALS = 3;
/** ... and down after this many (a SIGKILLed node is shown down within ~6 s). */
export const DASHBOARD_DOWN_AFTER_INTERVALS = 6;
/** The dashboard re-judges liveness this often. */
export const DASHBOARD_TICK_MS = 500;
/** Scenario events the dashboard keeps (newest) for its log panel and /api/state. */
export const DASHBOARD_SCENARIO_EVENTS_MAX = 500;
/** Largest scenario event accepted (JSON): progress events are small; a bigger one is counted and dropped. */
export const DASHBOARD_SCENARIO_EVENT_BYTES_MAX = 16 * 1024;
/** Browsers following /events at once; more are refused with 503 (each costs a socket and a write per frame). */
export const DASHBOARD_SSE_CLIENTS_MAX = 32;
/** Nodes the dashboard tracks: a lab has at most 200; frames from more distinct nodes are ignored. */
export const DASHBOARD_NODES_MAX = 1024;
/** `post lab up` waits this long for the dashboard it started to answer. */
export const DASHBOARD_START_TIMEOUT_MS = 15_000;
/** The dashboard re-reads lab.json this often (lab restart changes pids; it learns the lab's nodes before they speak). */
export const DASHBOARD_LAB_REREAD_MS = 2000;

// ---- federation (organisations and gateways) -------------------------------------------------------------
/** One request through two gateways and the target ring (a quorum write at the end). */
export const FEDERATION_REQUEST_TIMEOUT_MS = 10_000;
/** Attempts through the gateways: a gateway that dies mid-request costs one attempt, not the request. */
export const FEDERATION_ATTEMPTS_MAX = 3;

// ---- mail gateway: logins and submission -----------------------------------------------------------
// One login throttle per node, shared by IMAP LOGIN/AUTHENTICATE and SMTP AUTH (mail/loginThrottle.ts).
/** Failed logins per account and per client address answered at once: typos cost nothing. */
export const LOGIN_FAILURES_FREE = 3;
/** First wait after the free failures; it doubles with each further failure (1, 2, 4, ... s). */
export const LOGIN_DELAY_BASE_MS = 1000;
/** Longest wait between two attempts of one client address: a sprayer gets ~30 guesses an hour. */
export const LOGIN_DELAY_MAX_MS = 2 * 60 * 1000;
/** Failed logins of one account (from anywhere) that lock it: distributed guessing stops here. */
export const LOGIN_ACCOUNT_LOCK_FAILURES = 10;
/** First lock of an account; each further lock while its failures are remembered doubles it. */
export const LOGIN_ACCOUNT_LOCK_MS = 15 * 60 * 1000;
/** Longest lock: the owner is never shut out for more than an afternoon. */
export const LOGIN_ACCOUNT_LOCK_MAX_MS = 4 * 3600 * 1000;
/** Failures are forgotten after this long without another (and after the lock ended). */
export const LOGIN_FAILURES_FORGET_MS = 3600 * 1000;
/** Accounts and client addresses the throttle remembers (~200 bytes each); the least recently seen goes beyond. */
export const LOGIN_THROTTLE_ENTRIES_MAX = 50_000;
/** IPv6 clients are throttled per /64: one subscriber usually holds a whole /64. */
export const LOGIN_CLIENT_IPV6_PREFIX_BITS = 64;
/**
 * Logins per account or client address that wait for the ones in flight to settle instead of being
 * refused (a client's parallel connections after a restart, each a slow Argon2id unlock); beyond it,
 * refused as before. Mail clients open at most about 10 connections to one server.
 */
export const LOGIN_WAITING_PER_KEY_MAX = 16;
/** Times one waiting login is woken and asks again before it is refused (every settle of its keys wakes it). */
export const LOGIN_WAIT_ROUNDS_MAX = 32;

// Per-sender submission rate (mail/smtp/senderRate.ts): a token bucket per authenticated user.
/** Messages a user may submit at once (a burst): a reply-all or a small mailing goes out. */
export const SUBMISSION_BURST_MESSAGES = 60;
/** Sustained rate after the burst: 20 messages a minute is far beyond a person, far below a flood. */
export const SUBMISSION_MESSAGES_PER_MINUTE = 20;
/** Senders whose buckets are kept; a full bucket is the same as none, so the fullest go first. */
export const SUBMISSION_RATE_SENDERS_MAX = 10_000;

// ---- authentication on the bus (issue 12) ------------------------------------------------------------
/** A control request stamped further than this from the node's clock is refused STALE (a replay, or clocks apart). */
export const CONTROL_REQUEST_SKEW_MS = 60_000;
/** Control-request nonces a node remembers (each until its request leaves the window): more requests than this in one window are refused. */
export const CONTROL_NONCES_MAX = 100_000;
/** Largest control request inside its signed envelope: a block piece (BLOCK_CHUNK_BYTES_MAX) plus its headers. */
export const CONTROL_REQUEST_BYTES_MAX = BLOCK_CHUNK_BYTES_MAX + 64 * 1024;
/** Operator certificates a node remembers as verified (by signature); the oldest is forgotten beyond this. */
export const CONTROL_OPERATORS_CACHED_MAX = 1024;
/** An overlay frame stamped further than this from the receiver's clock is refused: replays of old frames; clocks apart beyond what NTP allows. */
export const OVERLAY_CLOCK_SKEW_MS = 30_000;
/** One sender's overlay frames may arrive this much out of stamp order (replies and direct frames travel on different subjects). */
export const OVERLAY_REORDER_WINDOW_MS = 2_000;
/** Stamps remembered per sender inside the reorder window: a sender faster than this per window loses its stragglers, never its order. */
export const OVERLAY_STAMPS_PER_PEER_MAX = 4096;
/** Peers whose verified certificate, channel key and recent stamps a router keeps; the oldest is forgotten (and re-verified on its next frame). */
export const OVERLAY_PEERS_MAX = 10_000;
/** Refused overlay frames and control requests are logged at most once per reason this often (each is counted in /metrics). */
export const REFUSED_LOG_GAP_MS = 1_000;

// ---- calendars (issue 16: CalDAV over a user's logs) ---------------------------------------------------
/** Calendars a user may have: a person keeps a handful; the index log stays one small snapshot. */
export const CALENDARS_PER_USER_MAX = 200;
/** iCalendar resources in one calendar: ten years of a busy diary, and the bench's 10,000-event calendar. */
export const CALENDAR_OBJECTS_MAX = 100_000;
/** Deleted resources a calendar remembers for sync-collection; a client whose token is older gets 403 valid-sync-token and resyncs. */
export const CALENDAR_TOMBSTONES_MAX = 10_000;
/** Characters in a resource or calendar name (a path segment): clients use UUIDs plus ".ics". */
export const CALENDAR_NAME_CHARS_MAX = 255;
/** Characters in a calendar's display name, description or colour. */
export const CALENDAR_PROPERTY_CHARS_MAX = 1024;
/**
 * How long the node's HTTP port (CalDAV, CardDAV, /state) keeps an idle keep-alive connection. Node's
 * default, 5 s, is shorter than a sync client's pause between requests (vdirsyncer, DAVx5): a client
 * that reuses a connection the server has just closed sees "other side closed". nginx keeps 75 s.
 */
export const HTTP_KEEP_ALIVE_MS = 65_000;

/** One iCalendar resource (PUT body): Radicale and most servers take 10 MiB; a recurring event with attachments inline stays far below. */
export const CALDAV_RESOURCE_BYTES_MAX = 10 * 1024 * 1024;
/**
 * A body refused as too large is read and discarded up to this many bytes before the 413 goes out, so
 * that a client still writing it reads the 413 instead of a broken pipe; beyond it the connection is cut.
 */
export const CALDAV_REFUSED_BODY_DRAIN_BYTES_MAX = 4 * CALDAV_RESOURCE_BYTES_MAX;
/** A request's XML body (PROPFIND, REPORT, MKCALENDAR): a multiget of thousands of hrefs fits. */
export const CALDAV_XML_BYTES_MAX = 1024 * 1024;
/** Hrefs in one calendar-multiget: clients fetch in batches of tens to hundreds. */
export const CALDAV_MULTIGET_HREFS_MAX = 5_000;
/** Occurrences of one recurring event examined for a time-range match: an endless rule stops here. */
export const CALDAV_RECURRENCE_EXPANSION_MAX = 10_000;
/** One iTIP message (RFC 5546) carried inside a scheduling notification: an invitation with a long description fits; within DROP_ENTRY_BYTES_MAX with the envelope. */
export const CALDAV_ITIP_BYTES_MAX = 48 * 1024;
/** Attendees one organiser's PUT notifies (and recipients of one free-busy request): a large meeting; more is refused with 403 rather than a slow PUT. */
export const CALDAV_SCHEDULE_RECIPIENTS_MAX = 100;
/** How long a free-busy POST waits for the attendees' nodes to answer; a recipient silent that long is reported as not answering (5.1). */
export const CALDAV_FREEBUSY_WAIT_MS = 10_000;
/** Free-busy requests one user's node keeps waiting for answers at once: the outbox is not a way to hold memory. */
export const CALDAV_FREEBUSY_PENDING_MAX = 64;
/** Busy periods in one free-busy answer: a year of a full diary, merged. */
export const CALDAV_FREEBUSY_PERIODS_MAX = 5_000;
/** Span of one free-busy request: a year (clients ask for weeks); a longer one is refused (400), so an endless rule is not expanded for it. */
export const CALDAV_FREEBUSY_SPAN_MS_MAX = 366 * 24 * 3600 * 1000;
/** Objects read to find an organiser's event by UID when it is not stored under <UID>.ics (a reply to apply): a bounded search, not a scan of a 100,000-event diary. */
export const CALDAV_SCHEDULE_UID_SCAN_MAX = 2_000;
/** Tries to apply an iTIP message to the recipient's copy of the event (a reply to the organiser's, an update to an attendee's) when another device changed it in between (If-Match lost). */
export const CALDAV_ITIP_APPLY_TRIES_MAX = 5;

// ---- address books (issue 16: CardDAV over the same logs; the calendar bounds on names, counts and tombstones apply) ----
/** One vCard (PUT body): a card with an inline photo of a few hundred KiB fits; a bigger one is refused with 413. */
export const CARDDAV_VCARD_BYTES_MAX = 1024 * 1024;
/** Hrefs in one addressbook-multiget: clients fetch in batches, as for calendars. */
export const CARDDAV_MULTIGET_HREFS_MAX = CALDAV_MULTIGET_HREFS_MAX;
/** Prop-filters (and text-matches within them) in one addressbook-query: a search box's few fields, not a program. */
export const CARDDAV_QUERY_FILTERS_MAX = 64;

// ---- instant messaging (issue 17: XMPP client-to-server over POST) --------------------------------------
/** Default XMPP client port of a node started by hand (RFC 6120's 5222 is often taken by a system Prosody). */
export const XMPP_DEFAULT_PORT = 5222;
/** One stanza's bytes on the wire: Prosody's c2s default (256 KiB); a chat message is far below. */
export const XMPP_STANZA_BYTES_MAX = 256 * 1024;
/** Nesting of elements inside one stanza: MAM results and forwarded carbons need about 6. */
export const XMPP_ELEMENT_DEPTH_MAX = 32;
/** Attributes on one element: real stanzas carry fewer than ten. */
export const XMPP_ATTRIBUTES_MAX = 64;
/** Bytes of a stream header (`<stream:stream ...>`) before its `>`: a few hundred in practice. */
export const XMPP_STREAM_HEADER_BYTES_MAX = 4096;
/** Characters of a chat message body stored as a POST message (the rest of the stanza limit is markup). */
export const XMPP_BODY_CHARS_MAX = 64 * 1024;
/** Open client connections per node: each holds a socket and a parser. */
export const XMPP_CONNECTIONS_MAX = 10_000;
/** Resources (sessions) one account may bind at once, across its connections to a node. */
export const XMPP_RESOURCES_PER_USER_MAX = 16;
/** Time from connect to a bound resource: a client that does not log in in time is disconnected. */
export const XMPP_LOGIN_TIMEOUT_MS = 60_000;
/** Stanzas a connection may send per second, sustained: a person types far slower, a client syncing bursts. */
export const XMPP_STANZAS_PER_SECOND = 50;
/** Burst allowance on top of the rate (token bucket size): a client's start (roster, disco, MAM) fits. */
export const XMPP_STANZAS_BURST = 200;
/** Outgoing bytes queued to a slow client before its connection is closed (a reader that stopped reading). */
export const XMPP_SEND_QUEUE_BYTES_MAX = 4 * 1024 * 1024;
/** Items in a user's roster log: a large address book fits. */
export const XMPP_ROSTER_ITEMS_MAX = 5_000;
/** Groups one roster item may be in, and characters of a name or group. */
export const XMPP_ROSTER_GROUPS_MAX = 32;
export const XMPP_ROSTER_TEXT_CHARS_MAX = 256;
/** Messages in one MAM page (XEP-0313 with XEP-0059): clients ask for 20 to 100. */
export const XMPP_MAM_PAGE_MAX = 250;
/**
 * Per-conversation order (storage/messages/conversationOrder.ts): a message whose predecessor has not
 * reached the recipient's log is held at most this long after it was sent (or first held), then
 * delivered anyway; a predecessor lost for good delays it by this much, never more. Longer than a
 * drop replica's return after a restart (seconds), short enough for a person waiting on a chat.
 */
export const CHAT_ORDER_HOLD_MS = 30_000;
/** Held messages whose first hold a user's context remembers (the oldest is forgotten first: then timed from its send time alone). */
export const CHAT_ORDER_HELD_MAX = 1024;
/** PBKDF2 iterations of the SCRAM credentials a node derives (RFC 7677 asks for at least 4096). */
export const XMPP_SCRAM_ITERATIONS = 4096;
/** Presence, receipt and chat-state notifications a user's context remembers having handled: push and pull may both hand it the same one. */
export const XMPP_SIGNALS_REMEMBERED_MAX = 1024;
/** SCRAM exchanges a client may start per connection before it is asked to go away. */
export const XMPP_SASL_ATTEMPTS_MAX = 5;
/**
 * XEP-0198 resumption: how long a session whose connection dropped is kept (its resource, presence,
 * counters and the stanzas its client has not acknowledged) for the client to resume on a new
 * connection to the same node. Its contacts see it leave only when this runs out. Prosody keeps 600 s;
 * a phone changing networks is back within seconds to a minute.
 */
export const XMPP_SM_RESUME_HOLD_MS = 300_000;
/** Stanzas sent to a stream-managed client and not yet acknowledged: beyond, a live stream ends (resource-constraint) and a held one is given up early. */
export const XMPP_SM_UNACKED_MAX = 500;
/** Resumable sessions (live, or held after a drop) one node keeps at once: beyond, <enable resume='true'/> gets acks without resumption. */
export const XMPP_SM_HELD_MAX = 10_000;
/** The server asks a stream-managed client for an ack (<r/>) with every chat message it delivers, and with every stanza whose count is a multiple of this. */
export const XMPP_SM_ACK_REQUEST_STANZAS = 5;
