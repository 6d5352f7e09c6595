// LIST (RFC 3501 6.3.8), accepting the RFC 5258 extended forms that clients send when they see
// SPECIAL-USE: "LIST (SPECIAL-USE) "" *" and "LIST "" * RETURN (SPECIAL-USE SUBSCRIBED CHILDREN)".
import { defineCommand, failBad, ok } from '../command';
import { atom } from '../encoder';
import { listEntries, type ListOptions } from '../listing';
import { combineListPattern, decodeMailboxToken, encodeMailboxName, hierarchyDelimiter, MailboxNameError } from '../mailboxNames';
import type { ImapToken } from '../parser';
import type { ImapSession } from '../session';

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
      else if (name !== 'REMOTE' && name !== 'RECURSIVEMATCH') failBad(`LIST: unsupported selection option ${name}`);
    }
    index++;
  }
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
    for (const name of optionNames(returnOptions, 'return options')) {
      if (name === 'SUBSCRIBED') options.markSubscribed = true;
      else if (name !== 'CHILDREN' && name !== 'SPECIAL-USE') failBad(`LIST: unsupported return option ${name}`);
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
    await session.untagged([atom(command), attributes.map(atom), hierarchyDelimiter, encodeMailboxName(entry.name, session.utf8)]);
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
