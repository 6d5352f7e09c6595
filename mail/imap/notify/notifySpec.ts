// NOTIFY's arguments (RFC 5465 3 and 8) as a value: which events the client wants, for which
// mailboxes. Pure: parsing and the RFC's checks, no I/O.
//
//   NOTIFY NONE
//   NOTIFY SET [STATUS] (filter [mailboxes] events) ...
//   filter: SELECTED / SELECTED-DELAYED / INBOXES / PERSONAL / SUBSCRIBED / SUBTREE m / MAILBOXES m
//   events: NONE / (event [(fetch-att ...)] ...)
//
// Readings of the RFC this module takes:
// - Malformed arguments, MessageNew without MessageExpunge (or the reverse), FlagChange or
//   AnnotationChange without both, a mailbox event (MailboxName, ...) or fetch attributes where only
//   message events may go, and a second SELECTED group are BAD (RFC 5465 5, 6.1, 8).
// - Events this server does not offer (AnnotationChange: no ANNOTATE; MailboxMetadataChange and
//   ServerMetadataChange: no METADATA; any other name, which the grammar allows as event-ext) are
//   NO [BADEVENT (those events)], checked after the syntax (as Dovecot answers).
// - The RFC's own example in 3.1 writes a group's events without their parentheses; that form is
//   taken too. (The same example asks MessageNew without MessageExpunge, which its section 5 answers BAD.)
import { failBad, failNo } from '../command';
import { parseFetchItems, type FetchItem } from '../fetch/fetchItems';
import { imapLimits } from '../limits';
import { decodeMailboxToken, MailboxNameError } from '../mailboxNames';
import type { ImapToken } from '../parser';

export const notifyEventNames = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
] as const;

export type NotifyEvent = (typeof notifyEventNames)[number];

/** What this server can report. */
export const supportedNotifyEvents: ReadonlySet<NotifyEvent> = new Set<NotifyEvent>(['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange']);

/** Events about messages (reported as EXISTS/EXPUNGE/FETCH for the selected mailbox, STATUS for others). */
export const messageEvents: ReadonlySet<NotifyEvent> = new Set<NotifyEvent>(['MessageNew', 'MessageExpunge', 'FlagChange', 'AnnotationChange']);

export type MailboxFilter =
  | { readonly kind: 'inboxes' | 'personal' | 'subscribed' }
  /** SUBTREE: the names and everything below them; MAILBOXES: exactly the names. */
  | { readonly kind: 'subtree' | 'mailboxes'; readonly names: readonly string[] };

/** A group for mailboxes other than the selected one; `events` empty for NONE. */
export interface EventGroup {
  readonly filter: MailboxFilter;
  readonly events: ReadonlySet<NotifyEvent>;
}

/** The SELECTED or SELECTED-DELAYED group. */
export interface SelectedGroup {
  /** SELECTED-DELAYED: expunges wait for a command during which EXPUNGE may be sent (RFC 3501 7.4.1). */
  readonly delayed: boolean;
  readonly events: ReadonlySet<NotifyEvent>;
  /** MessageNew's fetch attributes: sent as FETCH with each new message. */
  readonly fetch: readonly FetchItem[] | undefined;
}

export interface NotifySpec {
  /** SET STATUS: a STATUS for each mailbox with message events, before the tagged OK. */
  readonly status: boolean;
  readonly selected: SelectedGroup | undefined;
  /** In the client's order: for a mailbox, the first group that names it applies. */
  readonly groups: readonly EventGroup[];
}

const canonicalEvent = new Map<string, NotifyEvent>(notifyEventNames.map((name) => [name.toUpperCase(), name]));

function atomValue(token: ImapToken | undefined): string | undefined {
  return token?.kind === 'atom' && !token.section ? token.value : undefined;
}

function mailboxName(token: ImapToken, utf8: boolean): string {
  try {
    const name = decodeMailboxToken(token, utf8);
    if (name === undefined) failBad('NOTIFY: a mailbox name must be an atom or a string');
    return name;
  } catch (error) {
    if (error instanceof MailboxNameError) failBad(`NOTIFY: ${error.message}`);
    throw error;
  }
}

interface ParsedEvents {
  readonly events: Set<NotifyEvent>;
  /** Names the grammar allows (event-ext) but this server does not know, as the client spelled them. */
  readonly unknown: string[];
  readonly fetch: FetchItem[] | undefined;
}

function parseEvents(tokens: readonly ImapToken[], selected: boolean): ParsedEvents {
  if (tokens.length === 1 && atomValue(tokens[0])?.toUpperCase() === 'NONE') return { events: new Set(), unknown: [], fetch: undefined };
  // Events in parentheses (RFC 5465 8), or bare as in the RFC's example.
  const list = tokens.length === 1 && tokens[0]!.kind === 'list' ? tokens[0].items : tokens;
  if (list.length === 0) failBad('NOTIFY: an event group needs NONE or at least one event');
  const events = new Set<NotifyEvent>();
  const unknown: string[] = [];
  let fetch: FetchItem[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const name = atomValue(list[i]);
    if (name === undefined) failBad('NOTIFY: events must be atoms');
    const event = canonicalEvent.get(name.toUpperCase());
    if (!event) {
      unknown.push(name);
      continue;
    }
    events.add(event);
    if (event === 'MessageNew' && list[i + 1]?.kind === 'list') {
      const attributes = list[++i] as Extract<ImapToken, { kind: 'list' }>;
      if (!selected) failBad('NOTIFY: fetch attributes after MessageNew are only for SELECTED or SELECTED-DELAYED');
      if (attributes.items.length === 0) failBad('NOTIFY: MessageNew needs at least one fetch attribute in its list');
      fetch = parseFetchItems(attributes);
    }
  }
  if (events.has('MessageNew') !== events.has('MessageExpunge')) failBad('NOTIFY: MessageNew and MessageExpunge go together (RFC 5465 5)');
  if ((events.has('FlagChange') || events.has('AnnotationChange')) && !events.has('MessageNew')) {
    failBad('NOTIFY: FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 5)');
  }
  if (selected && ([...events].some((e) => !messageEvents.has(e)) || unknown.length > 0)) {
    failBad('NOTIFY: SELECTED and SELECTED-DELAYED take only message events (MessageNew, MessageExpunge, FlagChange, AnnotationChange)');
  }
  return { events, unknown, fetch };
}

/** Parses NOTIFY's arguments; 'none' for NOTIFY NONE. Throws CommandFailure (BAD, or NO with BADEVENT / LIMIT). */
export function parseNotify(args: readonly ImapToken[], utf8: boolean): NotifySpec | 'none' {
  const verb = atomValue(args[0])?.toUpperCase();
  if (verb === 'NONE') {
    if (args.length !== 1) failBad('NOTIFY NONE takes no arguments');
    return 'none';
  }
  if (verb !== 'SET') failBad('NOTIFY needs SET or NONE');
  let index = 1;
  const status = atomValue(args[index])?.toUpperCase() === 'STATUS';
  if (status) index++;
  const groupTokens = args.slice(index);
  if (groupTokens.length === 0) failBad('NOTIFY SET needs at least one event group');
  if (groupTokens.length > imapLimits.notifyEventGroupsMax) failNo(`NOTIFY takes at most ${imapLimits.notifyEventGroupsMax} event groups`, 'LIMIT');
  let selected: SelectedGroup | undefined;
  const groups: EventGroup[] = [];
  const unsupported = new Set<string>();
  let names = 0;
  for (const token of groupTokens) {
    if (token.kind !== 'list' || token.items.length < 2) failBad('NOTIFY: each event group is (mailboxes events)');
    const [filterToken, ...rest] = token.items;
    const filterName = atomValue(filterToken)?.toUpperCase();
    let filter: MailboxFilter | undefined;
    let isSelected = false;
    let eventTokens = rest;
    switch (filterName) {
      case 'SELECTED':
      case 'SELECTED-DELAYED':
        if (selected) failBad('NOTIFY: only one SELECTED or SELECTED-DELAYED group');
        isSelected = true;
        break;
      case 'INBOXES':
      case 'PERSONAL':
      case 'SUBSCRIBED':
        filter = { kind: filterName.toLowerCase() as 'inboxes' | 'personal' | 'subscribed' };
        break;
      case 'SUBTREE':
      case 'MAILBOXES': {
        const mailboxes = rest[0]!;
        if (rest.length < 2) failBad(`NOTIFY: ${filterName} needs mailbox names and events`);
        const listed = mailboxes.kind === 'list' ? mailboxes.items : [mailboxes];
        if (listed.length === 0) failBad(`NOTIFY: ${filterName} needs at least one mailbox name`);
        names += listed.length;
        filter = { kind: filterName === 'SUBTREE' ? 'subtree' : 'mailboxes', names: [...new Set(listed.map((t) => mailboxName(t, utf8)))] };
        eventTokens = rest.slice(1);
        break;
      }
      default:
        failBad(`NOTIFY: unknown mailbox filter ${atomValue(filterToken) ?? '(not an atom)'}`);
    }
    const parsed = parseEvents(eventTokens, isSelected);
    for (const event of parsed.events) if (!supportedNotifyEvents.has(event)) unsupported.add(event);
    for (const name of parsed.unknown) unsupported.add(name);
    if (isSelected) selected = { delayed: filterName === 'SELECTED-DELAYED', events: parsed.events, fetch: parsed.fetch };
    else groups.push({ filter: filter!, events: parsed.events });
  }
  if (unsupported.size > 0) failNo(`NOTIFY: this server cannot report ${[...unsupported].join(', ')}`, `BADEVENT (${[...unsupported].join(' ')})`);
  if (names > imapLimits.notifyMailboxNamesMax) failNo(`NOTIFY names at most ${imapLimits.notifyMailboxNamesMax} mailboxes; use SUBTREE or PERSONAL`, 'LIMIT');
  return { status, selected, groups };
}
