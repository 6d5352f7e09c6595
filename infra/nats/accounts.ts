// The NATS accounts of a POST deployment, from who is in it (DESIGN sections 2 and 10):
//
//   ORG_<ring>  one per organisation: a user per node (its nkey), allowed only what a node may
//               (protocol/subjects.ts nodePermissions). Exports its nodes' control subjects (a service)
//               and inspection streams to the operator's account, and nothing else.
//   GLOBAL      the global ring: a second user per gateway node (gatewayPermissions), and the users
//               other organisations' clusters link their own GLOBAL account in with (leaf nodes).
//   OPS         the operator (`post` CLI, dashboard): imports every organisation's control service and
//               inspection streams; scenario progress is its own.
//
// Organisations share nothing but the global ring, and that only through gateways' own connections:
// nats-server refuses two accounts that export and import the same subject to each other ("import
// forms a cycle"), so the global ring is an account of its own rather than a subject both share.
import { gatewayPermissions, nodePermissions, operatorImports, REPLY_SUBJECTS, ringLabel, subjects } from '../../protocol/subjects';
import type { NatsAccount, NatsUser } from './config';

const OPERATOR_ACCOUNT = 'OPS';
export const GLOBAL_ACCOUNT = 'GLOBAL';

const orgAccount = (ringId: string): string => `ORG_${ringLabel(ringId)}`;

/** One node's NATS identity: its org connection's nkey, and its global-ring nkey when it is a gateway. */
export interface NatsNodeUser {
  readonly nodeId: string;
  readonly ringId: string;
  readonly nkey: string;
  readonly globalNkey?: string;
}

/** A leaf link another cluster's GLOBAL account connects with. */
export interface LeafLinkUser {
  readonly user: string;
  readonly password: string;
}

export interface PostAccountsSpec {
  /** The organisations this cluster serves (their ring ids), even before any of their nodes exists. */
  readonly rings: readonly string[];
  readonly nodes: readonly NatsNodeUser[];
  readonly operatorNkey: string;
  readonly leafUsers?: readonly LeafLinkUser[];
}

/** What may cross a leaf link between GLOBAL accounts: the global ring and its replies. */
const LEAF_LINK_PERMISSIONS = { publish: [subjects.globalAll(), REPLY_SUBJECTS], subscribe: [subjects.globalAll(), REPLY_SUBJECTS] };

export function postAccounts(spec: PostAccountsSpec): NatsAccount[] {
  for (const node of spec.nodes)
    if (!spec.rings.includes(node.ringId)) throw new Error(`node ${node.nodeId.slice(0, 12)} is of ring ${ringLabel(node.ringId)}, which this NATS cluster does not serve`);
  const orgs: NatsAccount[] = spec.rings.map((ringId) => {
    const shared = operatorImports(ringId);
    return {
      name: orgAccount(ringId),
      users: spec.nodes.filter((n) => n.ringId === ringId).map((n): NatsUser => ({ nkey: n.nkey, permissions: nodePermissions(ringId, n.nodeId) })),
      exports: [
        ...shared.services.map((service) => ({ service, accounts: [OPERATOR_ACCOUNT] })),
        ...shared.streams.map((stream) => ({ stream, accounts: [OPERATOR_ACCOUNT] })),
      ],
    };
  });
  const global: NatsAccount = {
    name: GLOBAL_ACCOUNT,
    users: [
      ...spec.nodes.filter((n) => n.globalNkey !== undefined).map((n): NatsUser => ({ nkey: n.globalNkey!, permissions: gatewayPermissions(n.ringId, n.nodeId) })),
      ...(spec.leafUsers ?? []).map((u): NatsUser => ({ user: u.user, password: u.password, permissions: LEAF_LINK_PERMISSIONS, connectionTypes: ['LEAFNODE'] })),
    ],
  };
  const operator: NatsAccount = {
    name: OPERATOR_ACCOUNT,
    users: [{ nkey: spec.operatorNkey }],
    imports: spec.rings.flatMap((ringId) => {
      const shared = operatorImports(ringId);
      return [...shared.services.map((service) => ({ service, account: orgAccount(ringId) })), ...shared.streams.map((stream) => ({ stream, account: orgAccount(ringId) }))];
    }),
  };
  return [...orgs, global, operator];
}
