// Transcripts: NOTIFY (RFC 5465) on both backends. Session A asks to be told; session B (another
// connection; on the log backend, on another node, so its changes reach A through head notices) and
// another device change things; A hears of them while no command runs, during IDLE, and after its
// own commands, never inside another command's output. The RFC's examples, its checks (BAD, NO
// [BADEVENT]), every state, pipelining, NOTIFY NONE, and NOTIFICATIONOVERFLOW.
// In integration: the log backend does real crypto and I/O, so its runs wait on real time.
import { afterEach, describe, expect, it } from 'vitest';
import type { PostMailbox } from '../../../actors/mail/postMailbox';
import type { MailAuthenticator, MailUserSession } from '../../../mail/backend';
import { imapLimits } from '../../../mail/imap/limits';
import { ring, USERS } from '../../unit/mailbox/fixtures';
import { ImapHarness, message, newStore } from '../../unit/imap/harness';

/** The log-backed mailbox does real crypto and I/O: once the event loop is idle, wait up to ~5 s of real time for output. */
const REAL_TIME_PATIENCE = { rounds: 2_500, idle: () => new Promise<void>((resolve) => setTimeout(resolve, 2)) };

const open: ImapHarness[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A backend session whose next call of a method waits until released (a command held mid-way). */
class Gate {
  private readonly held = new Map<string, { promise: Promise<void>; release: () => void; reached: boolean }>();

  hold(method: keyof MailUserSession): { readonly reached: () => boolean; readonly release: () => void } {
    let release!: () => void;
    const entry = { promise: new Promise<void>((resolve) => (release = resolve)), release: () => release(), reached: false };
    this.held.set(method, entry);
    return { reached: () => entry.reached, release: entry.release };
  }

  wrap(authenticator: MailAuthenticator): MailAuthenticator {
    return {
      authenticate: async (username, password) => {
        const user = await authenticator.authenticate(username, password);
        return new Proxy(user, {
          get: (target, property, receiver) => {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              const entry = this.held.get(property as string);
              if (!entry) return (value as (...a: unknown[]) => unknown).apply(target, args);
              this.held.delete(property as string);
              entry.reached = true;
              return entry.promise.then(() => (value as (...a: unknown[]) => unknown).apply(target, args));
            };
          },
        });
      },
    };
  }
}

interface Pair {
  /** The session that asks NOTIFY. */
  readonly a: ImapHarness;
  /** Another IMAP session of the same user. */
  readonly b: ImapHarness;
  /** Another device of the user, through the backend port. */
  readonly device: MailUserSession;
  /** A session on A's own node (the memory backend has one node). */
  readonly neighbour: MailUserSession;
  /** Holds A's backend calls. */
  readonly gate: Gate;
  /** Real time for changes made elsewhere to reach A (head notices, log catch-up). */
  readonly travelMs: number;
}

interface BackendCase {
  readonly name: string;
  pair(): Promise<Pair>;
}

const memoryBackend: BackendCase = {
  name: 'memory',
  async pair() {
    const store = newStore();
    const gate = new Gate();
    const a = await ImapHarness.loggedIn({ store, authenticator: gate.wrap(store.authenticator) });
    const b = await ImapHarness.loggedIn({ store });
    open.push(a, b);
    const device = await store.sessionFor('alice');
    return { a, b, device, neighbour: device, gate, travelMs: 0 };
  },
};

const [alice] = USERS;
const logBackend: BackendCase = {
  name: 'log-backed, B on another node',
  async pair() {
    const r = await ring();
    const nodes: PostMailbox[] = [];
    const node = async (name: string) => {
      const mailbox = await r.node(name);
      nodes.push(mailbox);
      return mailbox;
    };
    const gate = new Gate();
    const home = await node('home');
    const a = await ImapHarness.loggedIn({ authenticator: gate.wrap(home.authenticator), patience: REAL_TIME_PATIENCE }, alice.username, alice.password);
    const b = await ImapHarness.loggedIn({ authenticator: (await node('phone')).authenticator, patience: REAL_TIME_PATIENCE }, alice.username, alice.password);
    open.push(a, b);
    const device = await (await node('tablet')).authenticator.authenticate(alice.username, alice.password);
    const neighbour = await home.authenticator.authenticate(alice.username, alice.password);
    cleanups.push(async () => {
      await device.close();
      await neighbour.close();
      for (const mailbox of nodes) mailbox.close();
    });
    return { a, b, device, neighbour, gate, travelMs: 150 };
  },
};

/** Output as both backends write it: UIDVALIDITY and modseqs vary, \Recent is node-local. */
function norm(text: string): string {
  return text
    .replace(/UIDVALIDITY \d+/g, 'UIDVALIDITY v')
    .replace(/HIGHESTMODSEQ \d+/g, 'HIGHESTMODSEQ m')
    .replace(/APPENDUID \d+/g, 'APPENDUID v')
    .replace(/ ?\\Recent/g, '')
    .split('\r\n')
    .filter((line) => !/^\* \d+ RECENT$/.test(line))
    .join('\r\n');
}

const raw = (subject: string) => Buffer.from(message({ subject }), 'utf8');

/** What A was sent, once changes made elsewhere had time to arrive and be pushed. */
async function heard(pair: Pair): Promise<string> {
  if (pair.travelMs > 0) await new Promise((resolve) => setTimeout(resolve, pair.travelMs));
  await pair.a.settle(50);
  return norm(pair.a.take());
}

/** Waits until A was sent `pattern`; returns all it was sent (normalised). */
async function pushed(pair: Pair, pattern: RegExp): Promise<string> {
  await pair.a.waitFor(pattern);
  await pair.a.settle(5);
  return norm(pair.a.take());
}

const rfcExampleEvents = '(selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)';

describe('NOTIFY: arguments and states (RFC 5465 3, 5, 8)', () => {
  async function session(): Promise<ImapHarness> {
    const h = await ImapHarness.loggedIn();
    open.push(h);
    return h;
  }

  it('needs a login; is allowed when authenticated and when selected; is not a way out of IDLE', async () => {
    const fresh = new ImapHarness();
    open.push(fresh);
    expect((await fresh.command('n0 NOTIFY NONE')).tagged).toBe('n0 BAD NOTIFY needs you to log in first');
    const h = await session();
    expect((await h.command('n1 NOTIFY NONE')).tagged).toBe('n1 OK NOTIFY NONE completed: no more notifications');
    expect((await h.command('n2 NOTIFY SET (personal (MessageNew MessageExpunge))')).tagged).toBe('n2 OK NOTIFY completed');
    await h.command('n3 SELECT INBOX');
    expect((await h.command('n4 NOTIFY SET (selected (MessageNew MessageExpunge))')).tagged).toBe('n4 OK NOTIFY completed');
    await h.command('i1 IDLE', /\+ idling\r\n/);
    expect((await h.command('n5 NOTIFY NONE', /i1 /)).text).toBe('i1 BAD Expected DONE to end IDLE\r\n');
  });

  it('answers BAD to malformed groups and to the event combinations the RFC forbids', async () => {
    const h = await session();
    const cases: [string, string][] = [
      ['NOTIFY', 'NOTIFY needs SET or NONE'],
      ['NOTIFY SET', 'NOTIFY SET needs at least one event group'],
      ['NOTIFY SET STATUS', 'NOTIFY SET needs at least one event group'],
      ['NOTIFY NONE (personal NONE)', 'NOTIFY NONE takes no arguments'],
      ['NOTIFY SET personal', 'NOTIFY: each event group is (mailboxes events)'],
      ['NOTIFY SET (personal)', 'NOTIFY: each event group is (mailboxes events)'],
      ['NOTIFY SET (everything (MessageNew MessageExpunge))', 'NOTIFY: unknown mailbox filter everything'],
      ['NOTIFY SET (personal ())', 'NOTIFY: an event group needs NONE or at least one event'],
      ['NOTIFY SET (personal (MessageNew))', 'NOTIFY: MessageNew and MessageExpunge go together (RFC 5465 5)'],
      ['NOTIFY SET (personal (MessageExpunge))', 'NOTIFY: MessageNew and MessageExpunge go together (RFC 5465 5)'],
      ['NOTIFY SET (personal (FlagChange MailboxName))', 'NOTIFY: FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 5)'],
      ['NOTIFY SET (selected (MailboxName))', 'NOTIFY: SELECTED and SELECTED-DELAYED take only message events (MessageNew, MessageExpunge, FlagChange, AnnotationChange)'],
      ['NOTIFY SET (selected-delayed (MessageNew MessageExpunge Frobnicate))', 'NOTIFY: SELECTED and SELECTED-DELAYED take only message events (MessageNew, MessageExpunge, FlagChange, AnnotationChange)'],
      ['NOTIFY SET (personal (MessageNew (UID) MessageExpunge))', 'NOTIFY: fetch attributes after MessageNew are only for SELECTED or SELECTED-DELAYED'],
      ['NOTIFY SET (selected (MessageNew () MessageExpunge))', 'NOTIFY: MessageNew needs at least one fetch attribute in its list'],
      ['NOTIFY SET (selected (MessageNew (FROB) MessageExpunge))', 'unknown fetch item FROB'],
      ['NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))', 'NOTIFY: only one SELECTED or SELECTED-DELAYED group'],
      ['NOTIFY SET (subtree (MessageNew MessageExpunge))', 'NOTIFY: SUBTREE needs mailbox names and events'],
      ['NOTIFY SET (mailboxes () (MessageNew MessageExpunge))', 'NOTIFY: MAILBOXES needs at least one mailbox name'],
    ];
    for (const [i, [command, text]] of cases.entries()) {
      expect((await h.command(`b${i} ${command}`)).tagged, command).toBe(`b${i} BAD ${text}`);
    }
  });

  it('answers NO [BADEVENT (...)] naming the events it cannot report: annotations and metadata (no ANNOTATE, no METADATA) and unknown ones', async () => {
    const h = await session();
    expect((await h.command('e1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))')).tagged).toBe(
      'e1 NO [BADEVENT (AnnotationChange)] NOTIFY: this server cannot report AnnotationChange',
    );
    expect((await h.command('e2 NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MailboxMetadataChange)) (inboxes (ServerMetadataChange X-Frob))')).tagged).toBe(
      'e2 NO [BADEVENT (MailboxMetadataChange ServerMetadataChange X-Frob)] NOTIFY: this server cannot report MailboxMetadataChange, ServerMetadataChange, X-Frob',
    );
    // Names are case-insensitive; NONE is a group with no events.
    expect((await h.command('e3 notify set (Selected-Delayed (messagenew messageexpunge flagchange)) (PERSONAL none)')).tagged).toBe('e3 OK NOTIFY completed');
  });

  it('bounds what one NOTIFY may name: NO [LIMIT] past notifyMailboxNamesMax names or notifyEventGroupsMax groups', async () => {
    const h = await session();
    const names = Array.from({ length: imapLimits.notifyMailboxNamesMax + 1 }, (_, i) => `m${i}`).join(' ');
    expect((await h.command(`l1 NOTIFY SET (mailboxes (${names}) (MessageNew MessageExpunge))`)).tagged).toBe(
      `l1 NO [LIMIT] NOTIFY names at most ${imapLimits.notifyMailboxNamesMax} mailboxes; use SUBTREE or PERSONAL`,
    );
    const groups = Array.from({ length: imapLimits.notifyEventGroupsMax + 1 }, (_, i) => `(mailboxes m${i} NONE)`).join(' ');
    expect((await h.command(`l2 NOTIFY SET ${groups}`)).tagged).toBe(`l2 NO [LIMIT] NOTIFY takes at most ${imapLimits.notifyEventGroupsMax} event groups`);
  });
});

describe.each([memoryBackend, logBackend])('NOTIFY on the $name backend', (backend) => {
  it('RFC 5465 3.1: SET STATUS sends a STATUS for each mailbox with message events before the OK; later changes come unasked', async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await device.createFolder('Lists/Lemonade');
    await device.createFolder('Lists/Im2000');
    await device.append('Lists/Lemonade', raw('lemonade'), [], 0);
    await device.append('INBOX', raw('first'), ['\\Seen'], 0);
    await device.createFolder('misc');
    await a.command('s0 SELECT INBOX');
    // The RFC's own example asks MessageNew without MessageExpunge for Lists, which its section 5 answers BAD.
    expect((await a.command(`a NOTIFY SET STATUS ${rfcExampleEvents} (subtree Lists MessageNew)`)).tagged).toBe(
      'a BAD NOTIFY: MessageNew and MessageExpunge go together (RFC 5465 5)',
    );
    const set = await a.command(`a NOTIFY SET STATUS ${rfcExampleEvents} (subtree Lists MessageNew MessageExpunge)`);
    expect(norm(set.text)).toBe(
      [
        '* STATUS "Lists" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY v UNSEEN 0)',
        '* STATUS "Lists/Im2000" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY v UNSEEN 0)',
        '* STATUS "Lists/Lemonade" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)',
        'a OK NOTIFY completed',
        '',
      ].join('\r\n'),
    );
    // Time passes; a message arrives in Lists/Lemonade, another in the selected INBOX.
    await device.append('Lists/Lemonade', raw('Re: good morning'), [], 0);
    expect(await pushed(pair, /Lists\/Lemonade/)).toBe('* STATUS "Lists/Lemonade" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY v UNSEEN 2)\r\n');
    await device.append('INBOX', raw('good morning'), [], 0);
    const subject = 'From: Bob Example <bob@example.org>\r\nTo: alice@example.org\r\nSubject: good morning\r\n\r\n';
    expect(await pushed(pair, /FETCH/)).toBe(`* 2 EXISTS\r\n* 2 FETCH (UID 2 BODY[HEADER.FIELDS (from to subject)] {${subject.length}}\r\n${subject})\r\n`);
    expect(norm((await a.command('n1 FETCH 2 FLAGS')).lines[0]!)).toBe('* 2 FETCH (FLAGS ())'); // not \Seen: read as BODY.PEEK
    // Errata 2318: the client learns one more mailbox's state itself, then NOTIFY SET without STATUS.
    expect(norm((await a.command('d STATUS misc (UIDVALIDITY UIDNEXT MESSAGES)')).text)).toBe('* STATUS "misc" (UIDVALIDITY v UIDNEXT 1 MESSAGES 0)\r\nd OK STATUS completed\r\n');
    expect((await a.command(`e NOTIFY SET ${rfcExampleEvents} (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))`)).text).toBe('e OK NOTIFY completed\r\n');
    await device.append('misc', raw('misc'), [], 0);
    expect(await pushed(pair, /misc/)).toBe('* STATUS "misc" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
  });

  it("SELECTED: B's APPEND, STORE and EXPUNGE in A's selected mailbox reach A at once, with MessageNew's fetch attributes", async () => {
    const pair = await backend.pair();
    const { a, b, device } = pair;
    await device.append('INBOX', raw('one'), [], 0);
    await device.append('INBOX', raw('two'), [], 0);
    await a.command('s0 SELECT INBOX');
    await a.command('n0 NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))');
    await b.command('b0 SELECT INBOX');
    await b.command(`b1 APPEND INBOX (\\Draft) {${raw('three').length}+}\r\n${raw('three').toString()}`);
    expect(await pushed(pair, /FETCH/)).toBe('* 3 EXISTS\r\n* 3 FETCH (UID 3 FLAGS (\\Draft))\r\n');
    await b.command('b2 STORE 1 +FLAGS (\\Flagged)');
    expect(await pushed(pair, /FETCH/)).toBe('* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\n');
    await b.command('b3 STORE 2 +FLAGS.SILENT (\\Deleted)');
    await b.command('b4 EXPUNGE');
    expect(await pushed(pair, /EXPUNGE/)).toMatch(/^(\* 2 FETCH \(UID 2 FLAGS \(\\Deleted\)\)\r\n)?\* 2 EXPUNGE\r\n$/);
    expect(norm((await a.command('n1 NOOP')).text)).toBe('n1 OK NOOP completed\r\n');
    expect(norm((await a.command('n2 UID FETCH 1:* UID')).text)).toBe('* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\nn2 OK FETCH completed\r\n');
  });

  it('SELECTED-DELAYED: new messages and flags are pushed, an expunge waits for a command during which EXPUNGE may be sent', async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await device.append('INBOX', raw('one'), [], 0);
    await device.append('INBOX', raw('two'), [], 0);
    await a.command('s0 SELECT INBOX');
    await a.command('n0 NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))');
    await device.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Deleted'] });
    expect(await pushed(pair, /FETCH/)).toBe('* 1 FETCH (UID 1 FLAGS (\\Deleted))\r\n');
    await device.expunge('INBOX');
    await device.append('INBOX', raw('three'), [], 0);
    expect(await pushed(pair, /EXISTS/)).toBe('* 3 EXISTS\r\n');
    expect(await heard(pair)).toBe('');
    // FETCH by sequence number may not report it (RFC 3501 7.4.1); NOOP does.
    expect(norm((await a.command('f1 FETCH 1:* UID')).text)).toBe('* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\nf1 OK FETCH completed\r\n');
    expect(norm((await a.command('f2 NOOP')).text)).toBe('* 1 EXPUNGE\r\nf2 OK NOOP completed\r\n');
  });

  it('without a SELECTED group the selected mailbox is reported at commands only, as without NOTIFY; other mailboxes by STATUS', async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await a.command('s0 SELECT INBOX');
    await a.command('n0 NOTIFY SET (personal (MessageNew MessageExpunge))');
    await device.append('INBOX', raw('in the selected mailbox'), [], 0);
    await device.append('Sent', raw('elsewhere'), ['\\Seen'], 0);
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 0)\r\n');
    expect(await heard(pair)).toBe('');
    expect(norm((await a.command('n1 NOOP')).text)).toBe('* 1 EXISTS\r\nn1 OK NOOP completed\r\n');
  });

  it('a burst of changes in another mailbox is one STATUS; HIGHESTMODSEQ with FlagChange or CONDSTORE', async () => {
    const pair = await backend.pair();
    const { a, neighbour } = pair;
    await a.command('n0 NOTIFY SET (mailboxes Sent (MessageNew MessageExpunge FlagChange)) (mailboxes Drafts (MessageNew MessageExpunge))');
    // A's STATUS command is held while three messages arrive and one is flagged: one STATUS after it.
    const held = pair.gate.hold('folderStatus');
    a.send('s1 STATUS INBOX (MESSAGES)\r\n');
    await a.waitUntil(held.reached, 'STATUS to reach the backend');
    for (const subject of ['x', 'y', 'z']) await neighbour.append('Sent', raw(subject), [], 0);
    await neighbour.storeFlags('Sent', [1], { mode: 'add', flags: ['\\Seen'] });
    held.release();
    expect(norm(await a.waitFor(/s1 OK/))).toBe('* STATUS "INBOX" (MESSAGES 0)\r\n* STATUS "Sent" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY v UNSEEN 2 HIGHESTMODSEQ m)\r\ns1 OK STATUS completed\r\n');
    a.take();
    // A flag change that changes no counter still moves HIGHESTMODSEQ: reported (RFC 5465 5.1).
    await neighbour.storeFlags('Sent', [2], { mode: 'add', flags: ['\\Flagged'] });
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY v UNSEEN 2 HIGHESTMODSEQ m)\r\n');
    // Drafts asked no FlagChange: flags there are not reported, and its STATUS has no HIGHESTMODSEQ.
    await neighbour.append('Drafts', raw('draft'), [], 0);
    expect(await pushed(pair, /Drafts/)).toBe('* STATUS "Drafts" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
    await neighbour.storeFlags('Drafts', [1], { mode: 'add', flags: ['\\Seen'] });
    expect(await heard(pair)).toBe('');
    // With CONDSTORE on, every STATUS carries HIGHESTMODSEQ.
    await a.command('c0 ENABLE CONDSTORE');
    await neighbour.append('Drafts', raw('draft 2'), [], 0);
    expect(await pushed(pair, /Drafts/)).toBe('* STATUS "Drafts" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY v UNSEEN 1 HIGHESTMODSEQ m)\r\n');
  });

  it("B's CREATE, RENAME, SUBSCRIBE, UNSUBSCRIBE and DELETE reach A as LIST (OLDNAME for renames, \\NonExistent for deletes, \\Subscribed)", async () => {
    const pair = await backend.pair();
    const { a, b } = pair;
    await a.command('n0 NOTIFY SET (personal (MailboxName SubscriptionChange))');
    await b.command('b1 CREATE Projects/2025');
    expect(await pushed(pair, /2025/)).toBe('* LIST (\\HasChildren) "/" "Projects"\r\n* LIST (\\HasNoChildren) "/" "Projects/2025"\r\n');
    await b.command('b2 RENAME Projects Work');
    const renamed = (await pushed(pair, /Work\/2025.*\r\n(.|\r\n)*Work"|Work".*\r\n(.|\r\n)*Work\/2025/)).split('\r\n').filter(Boolean).sort();
    expect(renamed).toEqual(['* LIST (\\HasChildren) "/" "Work" ("OLDNAME" ("Projects"))', '* LIST (\\HasNoChildren) "/" "Work/2025" ("OLDNAME" ("Projects/2025"))']);
    await b.command('b3 SUBSCRIBE Work/2025');
    expect(await pushed(pair, /Subscribed/)).toBe('* LIST (\\HasNoChildren \\Subscribed) "/" "Work/2025"\r\n');
    await b.command('b4 UNSUBSCRIBE Work/2025');
    expect(await pushed(pair, /2025/)).toBe('* LIST (\\HasNoChildren) "/" "Work/2025"\r\n');
    await b.command('b5 DELETE Work/2025');
    expect(await pushed(pair, /NonExistent/)).toBe('* LIST (\\NonExistent) "/" "Work/2025"\r\n');
    await b.command('b6 CREATE "Sp&AOQ-m"');
    expect(await pushed(pair, /Sp/)).toBe('* LIST (\\HasNoChildren) "/" "Sp&AOQ-m"\r\n');
  });

  it("A's own commands: CREATE and APPEND to a watched mailbox are reported before their OK; its STORE in the selected mailbox once", async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await device.append('INBOX', raw('one'), [], 0);
    await a.command('s0 SELECT INBOX');
    await a.command('n0 NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName))');
    expect(norm((await a.command('c1 CREATE Mine')).text)).toBe('* LIST (\\HasNoChildren) "/" "Mine"\r\nc1 OK CREATE completed\r\n');
    const appended = raw('mine');
    expect(norm((await a.command(`c2 APPEND Mine {${appended.length}+}\r\n${appended.toString()}`)).text)).toBe(
      '* STATUS "Mine" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\nc2 OK [APPENDUID v 1] APPEND completed\r\n',
    );
    expect(norm((await a.command('c3 STORE 1 +FLAGS (\\Seen)')).text)).toBe('* 1 FETCH (FLAGS (\\Seen))\r\nc3 OK STORE completed\r\n');
    expect(await heard(pair)).toBe('');
  });

  it('INBOXES, SUBSCRIBED, SUBTREE and MAILBOXES cover their mailboxes; the first group that covers one applies; NONE silences', async () => {
    const pair = await backend.pair();
    const { a, b, device } = pair;
    await device.createFolder('Lists/Tech');
    await device.createFolder('Other');
    await a.command(
      'n0 NOTIFY SET (inboxes (MessageNew MessageExpunge)) (mailboxes Junk NONE) (subtree Lists (MessageNew MessageExpunge)) (mailboxes Other (MailboxName)) (subscribed (MessageNew MessageExpunge))',
    );
    const report = async (folder: string) => {
      await device.append(folder, raw(folder), ['\\Seen'], 0);
      return heard(pair);
    };
    expect(await report('INBOX')).toBe('* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 0)\r\n');
    expect(await report('Lists/Tech')).toBe('* STATUS "Lists/Tech" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 0)\r\n');
    expect(await report('Junk')).toBe(''); // subscribed, but (mailboxes Junk NONE) comes first
    expect(await report('Archive')).toBe('* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 0)\r\n'); // subscribed
    expect(await report('Other')).toBe(''); // not subscribed, and its own group has only MailboxName
    await b.command('b1 SUBSCRIBE Other');
    expect(await heard(pair)).toBe(''); // no group asked SubscriptionChange
    expect(await report('Other')).toBe(''); // subscribed now, but (mailboxes Other ...) comes first
    await b.command('b2 RENAME Other Another');
    expect(await pushed(pair, /Another/)).toBe('* LIST (\\HasNoChildren) "/" "Another" ("OLDNAME" ("Other"))\r\n');
    expect(await report('Another')).toBe('* STATUS "Another" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY v UNSEEN 0)\r\n'); // its subscription moved along
  });

  it('NOTIFY NONE stops everything; NOTIFY SET replaces what was asked; a refused SET leaves it', async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await a.command('n0 NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))');
    await device.append('Sent', raw('one'), [], 0);
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
    expect((await a.command('n1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))')).tagged).toMatch(/^n1 NO \[BADEVENT/);
    await device.append('Sent', raw('two'), [], 0);
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY v UNSEEN 2)\r\n');
    await a.command('n2 NOTIFY NONE');
    await device.append('Sent', raw('three'), [], 0);
    await device.createFolder('Quiet');
    expect(await heard(pair)).toBe('');
    expect(norm((await a.command('n3 NOOP')).text)).toBe('n3 OK NOOP completed\r\n');
    await a.command('n4 NOTIFY SET (mailboxes Drafts (MessageNew MessageExpunge))');
    await device.append('Sent', raw('four'), [], 0);
    expect(await heard(pair)).toBe('');
    await device.append('Drafts', raw('draft'), [], 0);
    expect(await pushed(pair, /Drafts/)).toBe('* STATUS "Drafts" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
  });

  it('during IDLE, notifications arrive at once (RFC 5465 4)', async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await a.command('n0 NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))');
    await a.command('i1 IDLE', /\+ idling\r\n/);
    await device.append('Sent', raw('while idle'), [], 0);
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
    await device.createFolder('Idle');
    expect(await pushed(pair, /Idle/)).toBe('* LIST (\\HasNoChildren) "/" "Idle"\r\n');
    expect((await a.command('DONE', /i1 /)).text).toBe('i1 OK IDLE terminated\r\n');
  });

  it("never inside another command's output: what arrives during a FETCH goes after its responses, before its OK", async () => {
    const pair = await backend.pair();
    const { a, device } = pair;
    await device.append('INBOX', raw('big'), [], 0);
    await a.command('s0 SELECT INBOX');
    await a.command('n0 NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))');
    const held = pair.gate.hold('readMessage');
    a.send('f1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT])\r\n');
    await a.waitUntil(held.reached, 'FETCH to read the message');
    await device.append('Sent', raw('meanwhile'), [], 0);
    await device.createFolder('Meanwhile');
    await device.append('INBOX', raw('new'), [], 0);
    await a.waitUntil(() => a.connection.session.notifier?.pending === true, 'the notifications to be queued');
    if (pair.travelMs > 0) await new Promise((resolve) => setTimeout(resolve, pair.travelMs));
    held.release();
    const text = norm(await a.waitFor(/f1 OK/));
    expect(text).toBe(
      [
        '* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {16}',
        'Subject: big',
        '',
        ' BODY[TEXT] {14}',
        'Hello Alice.',
        ')',
        '* 2 EXISTS',
        '* LIST (\\HasNoChildren) "/" "Meanwhile"',
        '* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)',
        'f1 OK FETCH completed',
        '',
      ].join('\r\n'),
    );
  });

  it('pipelined commands: each answer whole and in order, notifications only between them', async () => {
    const pair = await backend.pair();
    const { a } = pair;
    const body = raw('pipelined');
    a.send(
      `p1 NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\np2 APPEND Sent {${body.length}+}\r\n${body.toString()}\r\np3 CREATE Piped\r\np4 NOOP\r\np5 STATUS Sent (MESSAGES)\r\n`,
    );
    expect(norm(await a.waitFor(/p5 OK[^\r]*\r\n/))).toBe(
      [
        'p1 OK NOTIFY completed',
        '* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)',
        'p2 OK [APPENDUID v 1] APPEND completed',
        '* LIST (\\HasNoChildren) "/" "Piped"',
        'p3 OK CREATE completed',
        'p4 OK NOOP completed',
        '* STATUS "Sent" (MESSAGES 1)',
        'p5 OK STATUS completed',
        '',
      ].join('\r\n'),
    );
  });
});

describe('NOTIFICATIONOVERFLOW (memory backend)', () => {
  it('more notices queued than notifyQueuedNoticesMax while a command runs: untagged OK [NOTIFICATIONOVERFLOW], and NOTIFY is off', async () => {
    const pair = await memoryBackend.pair();
    const { a, device } = pair;
    await a.command('n0 NOTIFY SET (personal (MessageNew MessageExpunge SubscriptionChange))');
    const held = pair.gate.hold('folderStatus');
    a.send('s1 STATUS INBOX (MESSAGES)\r\n');
    await a.waitUntil(held.reached, 'STATUS to reach the backend');
    for (let i = 0; i <= imapLimits.notifyQueuedNoticesMax; i++) await device.setSubscribed('Sent', i % 2 === 1);
    held.release();
    expect(await a.waitFor(/s1 OK/)).toBe(
      '* STATUS "INBOX" (MESSAGES 0)\r\n* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off: STATUS or LIST what you need, then NOTIFY SET again\r\ns1 OK STATUS completed\r\n',
    );
    a.take();
    await device.append('Sent', raw('unheard'), [], 0);
    expect(await heard(pair)).toBe('');
    // NOTIFY SET again works.
    await a.command('n1 NOTIFY SET (personal (MessageNew MessageExpunge))');
    await device.append('Sent', raw('heard'), [], 0);
    expect(await pushed(pair, /Sent/)).toBe('* STATUS "Sent" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY v UNSEEN 2)\r\n');
  });

  it('more mailboxes to watch than notifyWatchedMailboxesMax: NOTIFY SET is refused; growing past it later ends NOTIFY', async () => {
    const pair = await memoryBackend.pair();
    const { a, device } = pair;
    const max = imapLimits.notifyWatchedMailboxesMax;
    for (let i = 1; i < max; i++) await device.createFolder(`Many/m${i}`);
    // Many and its max - 1 children: exactly the bound. PERSONAL adds INBOX and the special folders.
    expect((await a.command('n0 NOTIFY SET (personal (MessageNew MessageExpunge))')).tagged).toBe(
      `n0 NO [NOTIFICATIONOVERFLOW] NOTIFY would watch ${max + 6} mailboxes; one session may watch at most ${max}: name fewer`,
    );
    expect((await a.command('n1 NOTIFY SET (subtree Many (MessageNew MessageExpunge))')).tagged).toBe('n1 OK NOTIFY completed');
    await device.append('Many/m1', raw('watched'), [], 0);
    expect(await pushed(pair, /Many/)).toBe('* STATUS "Many/m1" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n');
    await device.createFolder('Many/one-too-many');
    expect(await pushed(pair, /OVERFLOW/)).toBe(
      '* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off: STATUS or LIST what you need, then NOTIFY SET again\r\n',
    );
    await device.append('Many/m2', raw('unheard'), [], 0);
    expect(await heard(pair)).toBe('');
    expect(a.connection.session.notifier).toBeUndefined();
  });
});
