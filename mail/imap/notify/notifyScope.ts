// Which NOTIFY event group applies to a mailbox, and which mailboxes a session must watch. Pure.
//
// Readings of RFC 5465 6: INBOXES is INBOX (the one mailbox mail is delivered to here); PERSONAL is
// every mailbox of the user (there is one namespace); SUBSCRIBED follows the subscriptions as they
// change; SUBTREE is the named mailboxes and everything below them, MAILBOXES exactly the names.
// A name may be covered by several groups: the first in the client's order applies (the RFC leaves it
// open; Dovecot and others do the same). The selected mailbox is the SELECTED group's alone.
import { hierarchyDelimiter } from '../mailboxNames';
import { messageEvents, type EventGroup, type MailboxFilter, type NotifyEvent, type NotifySpec } from './notifySpec';

export function filterCovers(filter: MailboxFilter, name: string, subscribed: boolean): boolean {
  switch (filter.kind) {
    case 'inboxes':
      return name === 'INBOX';
    case 'personal':
      return true;
    case 'subscribed':
      return subscribed;
    case 'subtree':
      return filter.names.some((root) => name === root || name.startsWith(`${root}${hierarchyDelimiter}`));
    case 'mailboxes':
      return filter.names.includes(name);
  }
}

/** The group whose events apply to `name` (not the selected mailbox): the first that covers it. */
export function groupFor(spec: NotifySpec, name: string, subscribed: boolean): EventGroup | undefined {
  return spec.groups.find((group) => filterCovers(group.filter, name, subscribed));
}

export function wants(spec: NotifySpec, name: string, subscribed: boolean, event: NotifyEvent): boolean {
  return groupFor(spec, name, subscribed)?.events.has(event) ?? false;
}

/** Whether any group asks for an event of this kind at all (a session with none needs no feed for it). */
export function anyGroupWants(spec: NotifySpec, events: readonly NotifyEvent[]): boolean {
  return spec.groups.some((group) => events.some((event) => group.events.has(event)));
}

/** Existing mailboxes whose group asks for message events: the session watches each (STATUS on change). */
export function watchTargets(spec: NotifySpec, folders: Iterable<string>, subscriptions: ReadonlySet<string>): string[] {
  const targets: string[] = [];
  for (const name of folders) {
    const group = groupFor(spec, name, subscriptions.has(name));
    if (group && [...group.events].some((event) => messageEvents.has(event))) targets.push(name);
  }
  return targets;
}
