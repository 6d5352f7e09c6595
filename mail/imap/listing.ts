// The mailbox listing behind LIST, LSUB and XLIST: pattern matching, \Noselect for missing
// superiors, CHILDREN attributes (RFC 3348), special-use attributes (RFC 6154), and the
// LIST-EXTENDED selection (RFC 5258: SUBSCRIBED, RECURSIVEMATCH with CHILDINFO).
import type { FolderInfo } from '../backend';
import { hierarchyDelimiter, patternToRegExp } from './mailboxNames';

export interface ListEntry {
  readonly name: string;
  readonly attributes: readonly string[];
  /** RECURSIVEMATCH: the mailbox has a subscribed inferior (RFC 5258 CHILDINFO "SUBSCRIBED"). */
  readonly childInfoSubscribed?: boolean;
  /** The folder exists (LIST-STATUS reports only these). */
  readonly exists: boolean;
}

export interface ListOptions {
  readonly subscribedOnly: boolean;
  readonly specialUseOnly: boolean;
  /** Add \Subscribed (LIST ... RETURN (SUBSCRIBED)). */
  readonly markSubscribed: boolean;
  /** RECURSIVEMATCH (with subscribedOnly): also parents of subscribed mailboxes, with CHILDINFO. */
  readonly recursiveMatch?: boolean;
}

function ancestors(name: string): string[] {
  const parts = name.split(hierarchyDelimiter);
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join(hierarchyDelimiter));
}

function byListOrder(a: ListEntry, b: ListEntry): number {
  if (a.name === 'INBOX') return -1;
  if (b.name === 'INBOX') return 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function listEntries(folders: readonly FolderInfo[], subscriptions: readonly string[], patterns: readonly string[], options: ListOptions): ListEntry[] {
  const regexes = patterns.map(patternToRegExp);
  const matches = (name: string): boolean => regexes.some((r) => r.test(name));
  const existing = new Map(folders.map((f) => [f.name, f]));
  const subscribed = new Set(subscriptions);
  const names = new Set<string>();
  for (const name of existing.keys()) {
    names.add(name);
    for (const ancestor of ancestors(name)) names.add(ancestor);
  }
  if (options.subscribedOnly) for (const name of subscribed) names.add(name);
  const hasChildren = (name: string): boolean => {
    const prefix = `${name}${hierarchyDelimiter}`;
    for (const other of names) if (other.startsWith(prefix)) return true;
    return false;
  };
  // RECURSIVEMATCH: a matching name with a subscribed inferior that the pattern itself does not list.
  const subscribedBelow = (name: string): boolean => {
    const prefix = `${name}${hierarchyDelimiter}`;
    for (const other of subscribed) if (other.startsWith(prefix) && !matches(other)) return true;
    return false;
  };
  const entries: ListEntry[] = [];
  for (const name of names) {
    if (!matches(name)) continue;
    const folder = existing.get(name);
    const childInfo = options.recursiveMatch === true && subscribedBelow(name);
    if (options.subscribedOnly && !subscribed.has(name) && !childInfo) continue;
    if (options.specialUseOnly && !folder?.specialUse) continue;
    const attributes: string[] = [];
    if (!folder) attributes.push(options.subscribedOnly ? '\\NonExistent' : '\\Noselect');
    attributes.push(hasChildren(name) ? '\\HasChildren' : '\\HasNoChildren');
    if (folder?.specialUse) attributes.push(folder.specialUse);
    if (options.markSubscribed && subscribed.has(name)) attributes.push('\\Subscribed');
    entries.push({ name, attributes, exists: folder !== undefined, ...(childInfo ? { childInfoSubscribed: true } : {}) });
  }
  return entries.sort(byListOrder);
}

/** LSUB (RFC 3501 6.3.9): subscribed names; with "%", unsubscribed superiors as \Noselect. */
export function lsubEntries(folders: readonly FolderInfo[], subscriptions: readonly string[], pattern: string): ListEntry[] {
  const regex = patternToRegExp(pattern);
  const existing = new Set(folders.map((f) => f.name));
  const subscribed = new Set(subscriptions);
  const entries = new Map<string, ListEntry>();
  for (const name of subscribed) {
    if (regex.test(name)) entries.set(name, { name, attributes: existing.has(name) ? [] : ['\\Noselect'], exists: existing.has(name) });
    if (!pattern.includes('%')) continue;
    for (const ancestor of ancestors(name)) {
      if (!subscribed.has(ancestor) && regex.test(ancestor) && !entries.has(ancestor)) entries.set(ancestor, { name: ancestor, attributes: ['\\Noselect'], exists: existing.has(ancestor) });
    }
  }
  return [...entries.values()].sort(byListOrder);
}
