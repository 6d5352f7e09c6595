// A node's view of itself, published on subjects.inspect(ring, node) every INSPECT_INTERVAL_MS and at
// once on notable events (router state change, supervisor restart), for the lab dashboard (DESIGN
// sections 7 and 8). One-way and best effort: a lost frame is replaced by the next one; receivers judge
// liveness by silence. The actor tree is nested and open-ended (state values of parallel machines),
// so it travels as a JSON string with a bounded length rather than as a schema of its own.
import { arr, bool, dict, hexBytes, obj, oneOf, opt, str, uint } from './codec';
import { defineFrame } from './frame';
import {
  FIELD_CHARS_MAX,
  FRAME_LIST_MAX,
  ID_BYTES,
  INSPECT_ACTORS_JSON_CHARS_MAX,
  INSPECT_RECENT_RESTARTS_MAX,
  INSPECT_USERS_LISTED_MAX,
  USER_ADDRESS_CHARS_MAX,
} from './limits';

/** Why this frame was sent: the interval, a notable event, or the node's last word before it stops. */
export const INSPECT_REASONS = ['interval', 'start', 'router', 'restart', 'stopping'] as const;
export type InspectReason = (typeof INSPECT_REASONS)[number];

const name = str({ max: 64 });
const counters = dict(uint(), { max: 64, keyMax: 64 });

export const InspectFrame = defineFrame(
  'inspect.node',
  obj({
    nodeId: hexBytes(ID_BYTES),
    org: str({ max: 255 }),
    ringId: hexBytes(ID_BYTES),
    /** Frames of one process count up from 0: a reset means the node restarted. */
    seq: uint(),
    /** The node's wall clock when sent (the dashboard judges silence by its own clock). */
    sentAtMs: uint(),
    /** The publisher's interval: receivers scale "silent" and "down" by it. */
    intervalMs: uint({ max: 3600_000 }),
    reason: oneOf(INSPECT_REASONS),
    router: obj({
      state: name,
      leafSet: arr(hexBytes(ID_BYTES), { max: FRAME_LIST_MAX }),
      routingTableEntries: uint(),
      failure: opt(str({ max: FIELD_CHARS_MAX })),
    }),
    /** JSON of ActorNode: the supervisor and its children with their current state values. */
    actorsJson: str({ max: INSPECT_ACTORS_JSON_CHARS_MAX }),
    /** Restarts per child since the node started, and the latest restart events (oldest first). */
    restarts: counters,
    recentRestarts: arr(obj({ child: name, error: str({ max: 512 }), atMs: uint(), recent: uint() }), { max: INSPECT_RECENT_RESTARTS_MAX }),
    /** The replica manager's completed and failed housekeeping passes, by pass. */
    passes: counters,
    passFailures: counters,
    storage: obj({ objects: uint(), bytes: uint(), dropEntries: uint(), dropBytes: uint() }),
    /**
     * Replica health after the latest repair pass: of `checked` objects held here, `underReplicated`
     * could not be confirmed on k replicas. Absent until the first check; `partial` when the node held
     * more objects than one check covers.
     */
    health: opt(obj({ checked: uint(), underReplicated: uint(), unreachable: uint(), partial: bool(), checkedAtMs: uint() })),
    replicationFactor: uint({ max: 64 }),
    users: obj({ hosted: uint(), unlocking: uint(), listed: arr(str({ max: USER_ADDRESS_CHARS_MAX }), { max: INSPECT_USERS_LISTED_MAX }) }),
    mail: dict(uint({ max: 65_535 }), { max: 8, keyMax: 16 }),
  }),
);

export type InspectView = Parameters<typeof InspectFrame.encode>[0];

/** One actor in the published tree: its state value, and its own children (bounded). */
export interface ActorNode {
  readonly id: string;
  /** XState's snapshot status: active, done, error, stopped. */
  readonly status: string;
  /** The state value: a string, or a map of region to value for parallel and nested states. */
  readonly value?: unknown;
  readonly children?: readonly ActorNode[];
  /** Children not described (beyond INSPECT_ACTORS_PER_LEVEL_MAX or INSPECT_ACTOR_DEPTH_MAX). */
  readonly more?: number;
}

/** Decode the actor tree of a view; a malformed tree yields undefined (the rest of the view stands). */
export function parseActors(view: Pick<InspectView, 'actorsJson'>): ActorNode | undefined {
  try {
    const v = JSON.parse(view.actorsJson) as ActorNode;
    return v && typeof v === 'object' && typeof v.id === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
