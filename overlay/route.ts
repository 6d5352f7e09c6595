// Pastry's next-hop rule, pure: deliver locally when this node is the key's root, else forward to a
// node that shares a longer prefix with the key, else (rare case) to any known node numerically closer.
import { closer, digit, distance, type Key, type NodeId, sharedPrefixLength } from './id';
import { covers, members, type LeafSet } from './leafSet';
import { allEntries, entry, type RoutingTable } from './routingTable';

export interface Hop {
  /** The next node, or this node itself when it is the root. */
  readonly to: NodeId;
  readonly deliver: boolean;
}

export function nextHop(ls: LeafSet, table: RoutingTable, key: Key, exclude: ReadonlySet<NodeId> = new Set()): Hop {
  const self = ls.self;
  const usable = (id: NodeId | undefined): id is NodeId => id !== undefined && !exclude.has(id);
  if (covers(ls, key)) {
    let best = self;
    for (const m of members(ls)) if (usable(m) && closer(m, best, key)) best = m;
    return { to: best, deliver: best === self };
  }
  const l = sharedPrefixLength(self, key);
  if (l >= key.length) return { to: self, deliver: true };
  const e = entry(table, l, digit(key, l));
  if (usable(e)) return { to: e, deliver: false };
  // Rare case: any known node at least as good in prefix and numerically closer than we are.
  const selfDistance = distance(self, key);
  let best: NodeId | undefined;
  for (const c of [...members(ls), ...allEntries(table)]) {
    if (!usable(c) || sharedPrefixLength(c, key) < l || distance(c, key) >= selfDistance) continue;
    if (best === undefined || closer(c, best, key)) best = c;
  }
  return best ? { to: best, deliver: false } : { to: self, deliver: true };
}
