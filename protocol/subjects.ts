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
