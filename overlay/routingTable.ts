// Pastry routing table: row r holds, for each digit d, some node sharing r leading hex digits with
// this node and having d as digit r. Immutable: updates copy the one row they change.
import { ROUTING_COLUMNS } from '../protocol/limits';
import { digit, type NodeId, sharedPrefixLength } from './id';

export interface RoutingTable {
  readonly self: NodeId;
  /** Sparse: rows[r] is absent until some node for row r is known. */
  readonly rows: Readonly<Record<number, readonly (NodeId | undefined)[]>>;
}

export const emptyTable = (self: NodeId): RoutingTable => ({ self, rows: {} });

export function slotOf(self: NodeId, id: NodeId): { row: number; col: number } | undefined {
  if (id === self) return undefined;
  const row = sharedPrefixLength(self, id);
  return { row, col: digit(id, row) };
}

export function entry(t: RoutingTable, row: number, col: number): NodeId | undefined {
  return t.rows[row]?.[col];
}

/** Add nodes to empty slots (an occupied slot keeps its node: it has proven itself). */
export function addAll(t: RoutingTable, ids: Iterable<NodeId>): RoutingTable {
  let rows: Record<number, (NodeId | undefined)[]> | undefined;
  for (const id of ids) {
    const s = slotOf(t.self, id);
    if (!s) continue;
    const current = (rows ?? t.rows)[s.row];
    if (current?.[s.col] !== undefined) continue;
    rows ??= { ...t.rows } as Record<number, (NodeId | undefined)[]>;
    const row = current ? [...current] : new Array<NodeId | undefined>(ROUTING_COLUMNS).fill(undefined);
    row[s.col] = id;
    rows[s.row] = row;
  }
  return rows ? { self: t.self, rows } : t;
}

export function removeNode(t: RoutingTable, id: NodeId): RoutingTable {
  const s = slotOf(t.self, id);
  if (!s || t.rows[s.row]?.[s.col] !== id) return t;
  const row = [...t.rows[s.row]!];
  row[s.col] = undefined;
  return { self: t.self, rows: { ...t.rows, [s.row]: row } };
}

export function allEntries(t: RoutingTable): NodeId[] {
  const out: NodeId[] = [];
  for (const row of Object.values(t.rows)) for (const id of row) if (id) out.push(id);
  return out;
}

/** Row r as a list of its nodes (what a join hop contributes to the joiner). */
export function rowEntries(t: RoutingTable, r: number): NodeId[] {
  return (t.rows[r] ?? []).filter((x): x is NodeId => x !== undefined);
}

export function size(t: RoutingTable): number {
  let n = 0;
  for (const row of Object.values(t.rows)) for (const id of row) if (id) n++;
  return n;
}
