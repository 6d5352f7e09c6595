// LIST (RFC 3501 6.3.8) and LIST-EXTENDED (RFC 5258): selection options SUBSCRIBED, REMOTE,
// RECURSIVEMATCH and SPECIAL-USE (RFC 6154), several patterns, return options SUBSCRIBED,
// CHILDREN, SPECIAL-USE and STATUS (LIST-STATUS, RFC 5819).
import { defineCommand, failBad, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { listEntries, type ListOptions } from '../listing';
import { combineListPattern, decodeMailboxToken, encodeMailboxName, hierarchyDelimiter, MailboxNameError } from '../mailboxNames';
import type { ImapToken } from '../parser';
import type { ImapSession } from '../session';
import { parseStatusItems, writeStatus } from './status';

function decodePattern(session: ImapSession, token: ImapToken | undefined, what: string): string {
  try {
    const name = token ? decodeMailboxToken(token, session.utf8) : undefined;
    if (name === undefined) failBad(`LIST: missing or invalid ${what}`);
    return name;
  } catch (error) {
    if (error instanceof MailboxNameError) failBad(`LIST: ${error.message}`);
    throw error;
  }
}

function optionNames(token: ImapToken, what: string): string[] {
  if (token.kind !== 'list') failBad(`LIST: ${what} must be a list`);
  return token.items.map((item) => {
    if (item.kind !== 'atom') failBad(`LIST: ${what} must be atoms`);
    return item.value.toUpperCase();
  });
}

export async function runList(session: ImapSession, args: readonly ImapToken[], command: 'LIST' | 'XLIST'): Promise<void> {
  let index = 0;
  const options: { -readonly [K in keyof ListOptions]: ListOptions[K] } = { subscribedOnly: false, specialUseOnly: false, markSubscribed: false };
  if (args[0]?.kind === 'list') {
    for (const name of optionNames(args[0], 'selection options')) {
      if (name === 'SUBSCRIBED') options.subscribedOnly = options.markSubscribed = true;
      else if (name === 'SPECIAL-USE') options.specialUseOnly = true;
      else if (name === 'RECURSIVEMATCH') options.recursiveMatch = true;
      else if (name !== 'REMOTE') failBad(`LIST: unsupported selection option ${name}`);
    }
    // RECURSIVEMATCH only qualifies another selection option (RFC 5258 3).
    if (options.recursiveMatch && !options.subscribedOnly) failBad('LIST: RECURSIVEMATCH needs another selection option such as SUBSCRIBED');
    index++;
  }
  let statusItems: string[] | undefined;
  const reference = decodePattern(session, args[index++], 'reference name');
  const patternToken = args[index++];
  const patterns =
    patternToken?.kind === 'list'
      ? patternToken.items.map((item) => decodePattern(session, item, 'mailbox pattern'))
      : [decodePattern(session, patternToken, 'mailbox pattern')];
  if (args[index]) {
    if (args[index]!.kind !== 'atom' || (args[index] as { value: string }).value.toUpperCase() !== 'RETURN') failBad('LIST: unexpected arguments');
    const returnOptions = args[index + 1];
    if (!returnOptions || args.length !== index + 2) failBad('LIST: RETURN needs a list of options');
    if (returnOptions.kind !== 'list') failBad('LIST: return options must be a list');
    const items = returnOptions.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
      if (name === 'SUBSCRIBED') options.markSubscribed = true;
      else if (name === 'STATUS') {
        const list = items[++i];
        if (list?.kind !== 'list') failBad('LIST: RETURN STATUS needs a list of status items');
        statusItems = parseStatusItems(list.items, 'LIST');
      } else if (name !== 'CHILDREN' && name !== 'SPECIAL-USE') failBad(`LIST: unsupported return option ${name || '(non-atom)'}`);
    }
  }
  if (patterns.length === 1 && patterns[0] === '') {
    // An empty pattern asks only for the hierarchy delimiter and the root (RFC 3501 6.3.8).
    await session.untagged([atom(command), [atom('\\Noselect')], hierarchyDelimiter, '']);
    return;
  }
  const user = session.userOrThrow();
  const [folders, subscriptions] = await Promise.all([user.listFolders(), user.listSubscriptions()]);
  const combined = patterns.map((p) => combineListPattern(reference, p));
  for (const entry of listEntries(folders, subscriptions, combined, options)) {
    let attributes = [...entry.attributes];
    if (command === 'XLIST') {
      attributes = attributes.map((a) => (a === '\\Junk' ? '\\Spam' : a));
      if (entry.name === 'INBOX') attributes.push('\\Inbox');
    }
    const line: ImapValue[] = [atom(command), attributes.map(atom), hierarchyDelimiter, encodeMailboxName(entry.name, session.utf8)];
    if (entry.childInfoSubscribed) line.push(['CHILDINFO', ['SUBSCRIBED']]);
    await session.untagged(line);
    // LIST-STATUS: STATUS right after the LIST line of each selectable mailbox (RFC 5819).
    if (statusItems && entry.exists) await writeStatus(session, entry.name, statusItems);
  }
}

export const listCommand = defineCommand({
  names: ['LIST'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'args', kind: 'rest' }],
  async handle({ session }, { args }) {
    await runList(session, args, 'LIST');
    return ok('LIST completed');
  },
});
