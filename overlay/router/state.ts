// The router's state and the effects it asks for. Pure data: the machine holds it as context, the
// handlers in this folder compute the next state and a list of effects, and the router actor
// performs the effects (encode, publish, request) and feeds replies back as events.
import type { ErrorCode } from '../../protocol/errors';
import type { NodeCertificate } from '../../protocol/identity';
import type { FrameKind } from '../../protocol/frame';
import type { RouteMessage } from '../../protocol/overlay';
import type { OverlayTimings } from '../../protocol/limits';
import type { NodeId } from '../id';
import { emptyLeafSet, type LeafSet } from '../leafSet';
import { emptyTable, type RoutingTable } from '../routingTable';

export interface RouterConfig {
  readonly self: NodeId;
  readonly cert: NodeCertificate;
  readonly timings: OverlayTimings;
  /** Leaf-set half size (L/2); smaller values only in tests. */
  readonly leafHalf: number;
}

export interface PendingForward {
  readonly msg: RouteMessage;
  /** Next hops that failed to acknowledge, excluded from now on. */
  readonly tried: readonly NodeId[];
  /** Attempts so far at the current next hop. */
  readonly attempt: number;
}

export interface RouterContext {
  readonly config: RouterConfig;
  readonly leafSet: LeafSet;
  readonly table: RoutingTable;
  /** Heartbeat ticks since start: failure detection counts ticks, so the machine needs no wall clock. */
  readonly tick: number;
  /** Tick of the last direct sign of life from each leaf-set member. */
  readonly lastHeard: Readonly<Record<NodeId, number>>;
  /** Nodes removed as dead, with the tick they were removed: kept out of gossip, probed to heal partitions. */
  readonly dead: Readonly<Record<NodeId, number>>;
  /** Candidates asked for their leaf set, not yet answered: tick sent. */
  readonly probing: Readonly<Record<NodeId, number>>;
  /** While joining: leaf-set members that have not acknowledged our announcement yet. */
  readonly announcing: Readonly<Record<NodeId, true>>;
  readonly announceRounds: number;
  readonly joinAttempts: number;
  /** Why joining failed, when it did. */
  readonly failure?: { code: ErrorCode; reason: string };
  /** Routed messages that arrived before this node was ready. */
  readonly held: readonly RouteMessage[];
}

export function initialContext(config: RouterConfig): RouterContext {
  return {
    config,
    leafSet: emptyLeafSet(config.self),
    table: emptyTable(config.self),
    tick: 0,
    lastHeard: {},
    dead: {},
    probing: {},
    announcing: {},
    announceRounds: 0,
    joinAttempts: 0,
    held: [],
  };
}

/** A frame to send: its kind and body; the actor encodes it. */
export interface OutFrame<T = any> {
  readonly kind: FrameKind<T>;
  readonly body: T;
}
export const out = <T>(kind: FrameKind<T>, body: T): OutFrame<T> => ({ kind, body });

/** Request purposes; replies and failures come back carrying the tag. */
export type RequestTag = 'announce' | 'probe';

export type RouterEffect =
  | { type: 'send'; to: NodeId; frame: OutFrame }
  | { type: 'request'; to: NodeId; frame: OutFrame; tag: RequestTag; timeoutMs: number }
  /** Hand a routed message to the next hop; if it does not acknowledge, FORWARD_FAILED brings `pending` back. */
  | { type: 'forward'; to: NodeId; pending: PendingForward; timeoutMs: number }
  | { type: 'requestJoin'; frame: OutFrame; timeoutMs: number }
  /** Answer a request from node `to` on its reply subject. */
  | { type: 'reply'; replyTo: string; to: NodeId; frame: OutFrame }
  /** This node is the root of a routed message (probe or application payload). */
  | { type: 'deliver'; msg: RouteMessage }
  /** A routed message could not be delivered: tell its origin. */
  | { type: 'routeFailed'; msg: RouteMessage; code: ErrorCode; reason: string }
  | { type: 'membership'; added: readonly NodeId[]; removed: readonly NodeId[] }
  | { type: 'publishDiscover' }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; event: string; fields?: Record<string, unknown> };

export interface Step {
  readonly context: RouterContext;
  readonly effects: RouterEffect[];
}

export const ticks = (ms: number, timings: OverlayTimings): number => Math.max(1, Math.ceil(ms / timings.heartbeatIntervalMs));
