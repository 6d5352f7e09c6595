// Transcripts: LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819): selection and return options,
// RECURSIVEMATCH with CHILDINFO, \NonExistent, STATUS after each selectable mailbox, every state,
// pipelining and two sessions.
import { afterEach, describe, expect, it } from 'vitest';
import { listEntries } from '../../../mail/imap/listing';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(store = newStore()): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store });
  open.push(h);
  return h;
}

const untagged = (text: string): string[] => text.split('\r\n').filter((l) => l.startsWith('* '));

/** The folders of RFC 5258's examples: Fruit/{Apple,Banana,Peach}, Tofu, Vegetable/{Broccoli,Corn}. */
async function produce(): Promise<ImapHarness> {
  const h = await session();
  for (const name of ['Fruit/Apple', 'Fruit/Banana', 'Fruit/Peach', 'Tofu', 'Vegetable/Broccoli', 'Vegetable/Corn']) await h.command(`c CREATE ${name}`);
  for (const name of ['Fruit/Banana', 'Fruit/Peach', 'Vegetable', 'Vegetable/Broccoli']) await h.command(`s SUBSCRIBE ${name}`);
  await h.command('d DELETE Fruit/Peach'); // subscribed, no longer there
  return h;
}

describe('LIST-EXTENDED (RFC 5258)', () => {
  it('SUBSCRIBED lists subscriptions with \\Subscribed, \\NonExistent for the gone ones', async () => {
    const h = await produce();
    expect(untagged((await h.command('A02 LIST (SUBSCRIBED) "" "*"')).text).filter((l) => !/INBOX|Sent|Drafts|Trash|Junk|Archive/.test(l))).toEqual([
      '* LIST (\\HasChildren \\Subscribed) "/" "Fruit/Banana"'.replace('\\HasChildren', '\\HasNoChildren'),
      '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Fruit/Peach"',
      '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
    ]);
  });

  it('RECURSIVEMATCH adds the parents of subscribed mailboxes with CHILDINFO', async () => {
    const h = await produce();
    const lines = untagged((await h.command('A04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')).text).filter((l) => /Fruit|Tofu|Vegetable/.test(l));
    expect(lines).toEqual(['* LIST (\\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))', '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable" ("CHILDINFO" ("SUBSCRIBED"))']);
    expect((await h.command('A05 LIST (RECURSIVEMATCH) "" "%"')).tagged).toBe('A05 BAD LIST: RECURSIVEMATCH needs another selection option such as SUBSCRIBED');
  });

  it('several patterns, REMOTE, RETURN (CHILDREN SUBSCRIBED), and an empty pattern', async () => {
    const h = await produce();
    expect(untagged((await h.command('A06 LIST (REMOTE) "" ("Tofu" "Fruit/%") RETURN (CHILDREN SUBSCRIBED)')).text)).toEqual([
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
      '* LIST (\\HasNoChildren) "/" "Tofu"',
    ]);
    expect(untagged((await h.command('A07 LIST "" ""')).text)).toEqual(['* LIST (\\Noselect) "/" ""']);
    expect((await h.command('A08 LIST (BOGUS) "" "*"')).tagged).toBe('A08 BAD LIST: unsupported selection option BOGUS');
  });
});

describe('LIST-STATUS (RFC 5819)', () => {
  it('answers STATUS after the LIST line of each selectable mailbox', async () => {
    const h = await produce();
    await h.appendMessage('INBOX', message(), ['\\Seen']);
    await h.appendMessage('INBOX', message());
    await h.appendMessage('Fruit/Apple', message());
    expect(untagged((await h.command('A01 LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN))')).text).filter((l) => /INBOX|Fruit|Tofu/.test(l))).toEqual([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* STATUS "INBOX" (MESSAGES 2 UNSEEN 1)',
      // CREATE made Fruit as a real (selectable) folder.
      '* LIST (\\HasChildren) "/" "Fruit"',
      '* STATUS "Fruit" (MESSAGES 0 UNSEEN 0)',
      '* LIST (\\HasNoChildren) "/" "Tofu"',
      '* STATUS "Tofu" (MESSAGES 0 UNSEEN 0)',
    ]);
    const apple = await h.command('A02 LIST "" "Fruit/Apple" RETURN (STATUS (UIDNEXT SIZE HIGHESTMODSEQ))');
    expect(untagged(apple.text)).toEqual(['* LIST (\\HasNoChildren) "/" "Fruit/Apple"', expect.stringMatching(/^\* STATUS "Fruit\/Apple" \(UIDNEXT 2 SIZE \d+ HIGHESTMODSEQ \d+\)$/)]);
    expect((await h.command('A03 LIST "" "%" RETURN (STATUS (BOGUS))')).tagged).toBe('A03 BAD LIST: unknown status item BOGUS');
    expect((await h.command('A04 LIST "" "%" RETURN (STATUS)')).tagged).toBe('A04 BAD LIST: RETURN STATUS needs a list of status items');
  });

  it('works pipelined with changes from another session, and needs authentication', async () => {
    const h = await produce();
    const other = await session(h.store);
    h.take();
    h.send('p1 LIST "" "Tofu" RETURN (STATUS (MESSAGES))\r\np2 STATUS Tofu (MESSAGES)\r\n');
    await h.waitFor(/p2 OK/);
    await other.command(`o1 APPEND Tofu {${message().length}+}\r\n${message()}`);
    expect(untagged((await h.command('p3 LIST "" "Tofu" RETURN (STATUS (MESSAGES))')).text)).toEqual(['* LIST (\\HasNoChildren) "/" "Tofu"', '* STATUS "Tofu" (MESSAGES 1)']);
    const stranger = new ImapHarness();
    open.push(stranger);
    expect((await stranger.command('n1 LIST "" "%" RETURN (STATUS (MESSAGES))')).tagged).toBe('n1 BAD LIST needs you to log in first');
  });
});

describe('LIST-STATUS on a mailbox that cannot be selected', () => {
  it('marks a \\Noselect superior as not existing, so LIST-STATUS gives it no STATUS', () => {
    const folder = (name: string) => ({ name, uidValidity: 1, uidNext: 1, highestModseq: 1, subscribed: false });
    const entries = listEntries([folder('A/B')], [], ['*'], { subscribedOnly: false, specialUseOnly: false, markSubscribed: false });
    expect(entries.map((e) => [e.name, e.exists])).toEqual([
      ['A', false],
      ['A/B', true],
    ]);
  });
});
