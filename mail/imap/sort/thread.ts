// THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES (the Zawinski algorithm as the RFC states
// it), over the messages a search found, and the thread-list response text.
import type { SelectedMessage } from '../messageSet';
import { sentDateOf } from './sortOrder';
import type { SortKeys } from './sortKeys';

export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';
export const threadAlgorithms: readonly ThreadAlgorithm[] = ['ORDEREDSUBJECT', 'REFERENCES'];

/** A node of a thread tree: a message, or a dummy (a message referred to but not here). */
interface Node {
  index: number | undefined;
  parent: Node | undefined;
  children: Node[];
}

interface Input {
  readonly messages: readonly SelectedMessage[];
  readonly keys: readonly SortKeys[];
}

function newNode(index?: number): Node {
  return { index, parent: undefined, children: [] };
}

/** Sent date and sequence number of a node; a dummy takes its first child's (children sorted first). */
function sortValue(input: Input, node: Node): [number, number] {
  if (node.index !== undefined) return [sentDateOf(input.messages[node.index]!, input.keys[node.index]), input.messages[node.index]!.seq];
  const first = node.children[0];
  return first ? sortValue(input, first) : [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
}

/** Sorts every set of siblings under `nodes`, and `nodes`, by sent date then sequence number. */
function sortSiblings(input: Input, nodes: Node[]): void {
  for (const node of nodes) if (node.children.length > 0) sortSiblings(input, node.children);
  if (nodes.length < 2) return; // most sets in a big folder: nothing to order, nothing to allocate
  const keyed = nodes.map((node) => {
    const [date, seq] = sortValue(input, node);
    return { node, date, seq };
  });
  keyed.sort((a, b) => a.date - b.date || a.seq - b.seq);
  for (let i = 0; i < keyed.length; i++) nodes[i] = keyed[i]!.node;
}

function adopt(parent: Node, child: Node): void {
  if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = parent;
  parent.children.push(child);
}

function isAncestor(maybeAncestor: Node, node: Node): boolean {
  for (let at: Node | undefined = node; at; at = at.parent) if (at === maybeAncestor) return true;
  return false;
}

export function orderedSubjectThreads(input: Input): Node[] {
  const order = input.messages.map((_, i) => i);
  const date = (i: number): number => sentDateOf(input.messages[i]!, input.keys[i]);
  order.sort((a, b) => (input.keys[a]!.subject < input.keys[b]!.subject ? -1 : input.keys[a]!.subject > input.keys[b]!.subject ? 1 : 0) || date(a) - date(b) || input.messages[a]!.seq - input.messages[b]!.seq);
  const roots: Node[] = [];
  let current: Node | undefined;
  let currentSubject: string | undefined;
  for (const i of order) {
    const node = newNode(i);
    if (current && input.keys[i]!.subject === currentSubject) adopt(current, node);
    else {
      roots.push(node);
      current = node;
      currentSubject = input.keys[i]!.subject;
    }
  }
  // Threads by the date of their first message; inside, children keep date order.
  const values = new Map(roots.map((r) => [r, sortValue(input, r)]));
  roots.sort((a, b) => values.get(a)![0] - values.get(b)![0] || values.get(a)![1] - values.get(b)![1]);
  return roots;
}

export function referencesThreads(input: Input): Node[] {
  // (1) Containers by message id, linked along each message's references.
  const byId = new Map<string, Node>();
  const all: Node[] = [];
  const container = (id: string): Node => {
    let node = byId.get(id);
    if (!node) {
      node = newNode();
      byId.set(id, node);
      all.push(node);
    }
    return node;
  };
  input.messages.forEach((_, i) => {
    const keys = input.keys[i]!;
    let own: Node;
    const existing = keys.messageId === undefined ? undefined : byId.get(keys.messageId);
    if (keys.messageId !== undefined && (!existing || existing.index === undefined)) {
      own = container(keys.messageId);
      own.index = i;
    } else {
      // No Message-ID, or a duplicate: the message gets a container of its own.
      own = newNode(i);
      all.push(own);
    }
    let previous: Node | undefined;
    for (const reference of keys.references) {
      const node = container(reference);
      if (previous && !node.parent && node !== previous && !isAncestor(node, previous)) adopt(previous, node);
      previous = node;
    }
    // (1B) The last reference is the message's parent, unless that makes a loop.
    if (previous && previous !== own && !isAncestor(own, previous)) adopt(previous, own);
    else if (!previous && own.parent) {
      own.parent.children.splice(own.parent.children.indexOf(own), 1);
      own.parent = undefined;
    }
  });
  // (2) The root set.
  let roots = all.filter((n) => !n.parent);
  // (4) Prune dummies: empty ones go; their children move up, except under a root with several.
  const prune = (parent: Node | undefined, nodes: readonly Node[]): Node[] => {
    const kept: Node[] = [];
    for (const node of nodes) {
      node.children = prune(node, node.children);
      if (node.index !== undefined || (parent === undefined && node.children.length > 1)) {
        node.parent = parent;
        kept.push(node);
      } else {
        for (const child of node.children) {
          child.parent = parent;
          kept.push(child);
        }
      }
    }
    return kept;
  };
  roots = prune(undefined, roots);
  // (5) Sort the root set by date.
  sortSiblings(input, roots);
  // (6) Merge threads whose roots share a base subject.
  const subjectOf = (node: Node): { subject: string; reply: boolean } | undefined => {
    const index = node.index ?? node.children[0]?.index;
    if (index === undefined) return undefined;
    return { subject: input.keys[index]!.subject, reply: node.index !== undefined && input.keys[index]!.subjectIsReply };
  };
  const table = new Map<string, Node>();
  for (const root of roots) {
    const info = subjectOf(root);
    if (!info || info.subject === '') continue;
    const held = table.get(info.subject);
    const heldIsReply = held !== undefined && subjectOf(held)!.reply;
    if (!held || (root.index === undefined && held.index !== undefined) || (heldIsReply && !info.reply)) table.set(info.subject, root);
  }
  const merged: Node[] = [];
  /** Where each root kept so far sits in `merged` (a dummy replaces a held root in place). */
  const position = new Map<Node, number>();
  for (const root of roots) {
    const info = subjectOf(root);
    const held = info && info.subject !== '' ? table.get(info.subject) : undefined;
    if (!held || held === root) {
      position.set(root, merged.push(root) - 1);
      continue;
    }
    if (held.index === undefined && root.index === undefined) {
      for (const child of [...root.children]) adopt(held, child);
    } else if (held.index === undefined) {
      adopt(held, root);
    } else if (!subjectOf(held)!.reply && info!.reply) {
      adopt(held, root);
    } else {
      const dummy = newNode();
      const at = position.get(held);
      adopt(dummy, held);
      adopt(dummy, root);
      table.set(info!.subject, dummy);
      if (at !== undefined) merged[at] = dummy;
      position.set(dummy, at ?? merged.push(dummy) - 1);
    }
  }
  // (7) Every set of siblings by date.
  sortSiblings(input, merged);
  return merged;
}

/** "(3 6 (4 23)(44 7 96))...": `id` gives the number to show for a message index. */
export function formatThreads(roots: readonly Node[], id: (index: number) => number): string {
  const thread = (node: Node): string => {
    const kids = node.children;
    if (node.index === undefined) return kids.map((k) => `(${thread(k)})`).join('');
    const head = String(id(node.index));
    if (kids.length === 0) return head;
    if (kids.length === 1) return `${head} ${thread(kids[0]!)}`;
    return `${head} ${kids.map((k) => `(${thread(k)})`).join('')}`;
  };
  return roots.map((root) => `(${thread(root)})`).join('');
}
