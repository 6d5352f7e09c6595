// Every NATS subject the system uses is built here and nowhere else (DESIGN section 2).
import { ID_HEX_CHARS, RING_LABEL_HEX_CHARS } from './limits';

export const GLOBAL_RING_ID = '0'.repeat(ID_HEX_CHARS);

/** The subject token for a ring: `global` for the global ring, else the ring id's first 16 hex digits. */
export function ringLabel(ringId: string): string {
  return ringId === GLOBAL_RING_ID ? 'global' : ringId.slice(0, RING_LABEL_HEX_CHARS);
}

const base = (ringId: string) => `post.${ringLabel(ringId)}`;

export const subjects = {
  /** A node's direct subject: everything addressed to one node (routing hops, replica requests). */
  node: (ringId: string, nodeId: string) => `${base(ringId)}.node.${nodeId}`,
  /** Bootstrap: join requests, answered by one ready member (queue group `join`). */
  join: (ringId: string) => `${base(ringId)}.join`,
  /** Lone nodes find each other here, so two rings started at once merge. */
  discover: (ringId: string) => `${base(ringId)}.discover`,
  /** Live notification push to a user's node. */
  inbox: (ringId: string, userId: string) => `${base(ringId)}.inbox.${userId}`,
  /** State snapshots for the lab dashboard and the inspector. */
  inspect: (ringId: string, nodeId: string) => `${base(ringId)}.inspect.${nodeId}`,
  /** Every node's inspection stream in a ring (the dashboard subscribes). */
  inspectAll: (ringId: string) => `${base(ringId)}.inspect.*`,
  /** "This log head changed" hints between the devices of one user (no content: subscribers re-read). */
  head: (ringId: string, objectId: string) => `${base(ringId)}.head.${objectId}`,
  /** Everything of the global ring: what leaf-node links between organisations' clusters may carry. */
  globalAll: () => 'post.global.>',
  /** A ring's nodes reach other organisations through their own gateways (queue group `gateway`). */
  gateway: (ringId: string) => `${base(ringId)}.gateway`,
  /** In the global ring: requests for organisation `ringId`, answered by one of its gateways (queue group `gateway`). */
  ringGateways: (ringId: string) => `post.global.ring.${ringLabel(ringId)}`,
  /** Scenario progress (operations, faults, verdicts) for the lab dashboard; not ring traffic. */
  scenario: () => 'post.lab.scenario',
  /** Operator requests to a node (status, route probes from the CLI). */
  control: (ringId: string, nodeId: string) => `${base(ringId)}.control.${nodeId}`,
} as const;

export const JOIN_QUEUE_GROUP = 'join';
export const GATEWAY_QUEUE_GROUP = 'gateway';

/** Where a connection's request replies arrive: `<prefix>.<nuid>.<token>` (the NATS client's inbox prefix). */
export const REPLY_SUBJECTS = '_INBOX.>';
/** Replies to requests that reached a node through another NATS account's service import. */
export const IMPORTED_REPLY_SUBJECTS = '_R_.>';

/** The reply-inbox prefix of one node's connection, so that only that node may subscribe to its replies. */
export function replyPrefix(nodeId: string): string {
  return `_INBOX.${nodeId}`;
}

/** What one NATS user may publish and subscribe to (nats-server allow-lists). */
export interface SubjectPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/**
 * The NATS permissions of a node's connection to its organisation's account: it publishes to any
 * member's direct subject (routing, replicas), the ring's shared subjects and replies, and its own
 * inspection stream; it subscribes to its own direct, control and reply subjects and the ring's shared
 * ones (users are hosted wherever they log in, so every inbox and head subject of the ring). It can
 * neither publish a control request nor another node's inspection, nor listen to another node's traffic.
 */
export function nodePermissions(ringId: string, nodeId: string): SubjectPermissions {
  const shared = [subjects.join(ringId), subjects.discover(ringId), subjects.inbox(ringId, '*'), subjects.head(ringId, '*'), subjects.gateway(ringId)];
  return {
    publish: [subjects.node(ringId, '*'), ...shared, subjects.inspect(ringId, nodeId), REPLY_SUBJECTS, IMPORTED_REPLY_SUBJECTS],
    subscribe: [subjects.node(ringId, nodeId), subjects.control(ringId, nodeId), ...shared, `${replyPrefix(nodeId)}.>`],
  };
}

/**
 * A gateway node's connection to the global ring's account: the global ring's subjects (any member,
 * any organisation's gateways) and replies; it answers only for its own organisation.
 */
export function gatewayPermissions(ringId: string, nodeId: string): SubjectPermissions {
  const g = GLOBAL_RING_ID;
  const shared = [subjects.join(g), subjects.discover(g)];
  return {
    publish: [subjects.node(g, '*'), ...shared, subjects.ringGateways('*'), REPLY_SUBJECTS],
    subscribe: [subjects.node(g, nodeId), ...shared, subjects.ringGateways(ringId), `${replyPrefix(nodeId)}.>`],
  };
}

/** What an organisation's account shares with the operator's account: control requests in, inspection out. */
export function operatorImports(ringId: string): { services: readonly string[]; streams: readonly string[] } {
  return { services: [subjects.control(ringId, '*')], streams: [subjects.inspectAll(ringId)] };
}
