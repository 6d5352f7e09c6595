// IMAP sessions open on both sides of a partition while both write INBOX, then the heal and the merge
// (log-backed mailbox over a ring cut in two). RFC 3501 2.3.1.1: a UID names one message for the whole
// session. A session whose UIDs the merge kept goes on and sees the carried mail as new; a session
// whose UIDs now name other messages (the folder got a new UIDVALIDITY) ends with BYE.
import { afterEach, describe, expect, it } from 'vitest';
import { PostMailbox } from '../../../actors/mail/postMailbox';
import type { MailUserSession } from '../../../mail/backend';
import { SimRandom } from '../../../infra/sim/random';
import { MemoryHeadWatch } from '../../../storage/memory/headWatch';
import { ImapHarness } from '../imap/harness';
import { Partition } from '../log/partition';
import { makeUser, testCa, TestClock } from '../users/fixtures';
import { nextTurn } from '../turns';
import { USERS } from './fixtures';

const [alice] = USERS;
/** The log-backed mailbox signs and encrypts (libsodium's work finishes in later turns): wait turns, never the clock. */
const PATIENCE = { rounds: 20_000, idle: nextTurn };
const raw = (subject: string) => Buffer.from(`From: a@example.org\r\nTo: alice@lab.example\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);

const open: ImapHarness[] = [];
const devices: MailUserSession[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  for (const d of devices.splice(0)) await d.close();
});

/** Two nodes, one on each side of `p`, with alice's INBOX holding one mail and an IMAP session selecting it on each. */
async function twoSides() {
  const p = new Partition();
  await makeUser(p.side(0), 'alice');
  const trust = await testCa();
  const clock = new TestClock();
  const headWatch = new MemoryHeadWatch();
  const node = (name: string, side: 0 | 1) =>
    new PostMailbox({ storage: p.side(side), trust, clock, random: new SimRandom(`node ${name}`), headWatch, mailQuotaBytes: 10_000_000 });
  const [homeNode, awayNode] = [node('home', 0), node('away', 1)];
  const home = await homeNode.authenticator.authenticate(alice.username, alice.password);
  const away = await awayNode.authenticator.authenticate(alice.username, alice.password);
  devices.push(home, away);
  await home.append('INBOX', raw('before'), [], 1_000);
  const session = async (mailbox: PostMailbox) => {
    const h = await ImapHarness.loggedIn({ authenticator: mailbox.authenticator, patience: PATIENCE }, alice.username, alice.password);
    open.push(h);
    await h.command('s1 SELECT INBOX', /^s1 OK/m);
    return h;
  };
  return { p, home, away, atHome: await session(homeNode), atAway: await session(awayNode) };
}

const subjects = async (h: ImapHarness, tag: string) => (await h.command(`${tag} UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])`, new RegExp(`^${tag} `, 'm'))).text;

describe('IMAP sessions across a fork of INBOX', () => {
  it('the winner gave out no UID since the fork: both sessions go on, and see the mail of the other side as new', async () => {
    const { p, home, away, atHome, atAway } = await twoSides();
    p.split();
    await home.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Seen'] });
    await home.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Flagged'] });
    expect((await away.append('INBOX', raw('away'), [], 2_000)).uid).toBe(2);
    await atAway.command('a1 NOOP', /^a1 OK/m); // the away session has seen UID 2
    p.heal();
    // The away device's next append is refused (home's head is newer): catch-up and merge.
    expect((await away.append('INBOX', raw('after'), [], 3_000)).uid).toBe(3);

    const awayNoop = (await atAway.command('a2 NOOP', /^a2 /m)).text;
    expect(awayNoop).not.toContain("BYE");
    expect(awayNoop).toContain('* 3 EXISTS');
    const homeNoop = (await atHome.command('h1 NOOP', /^h1 /m)).text;
    expect(homeNoop).not.toContain('BYE');
    expect(homeNoop).toContain('* 3 EXISTS');
    for (const [h, tag] of [
      [atHome, 'h2'],
      [atAway, 'a3'],
    ] as const) {
      const text = await subjects(h, tag);
      expect(text).toMatch(/UID 1 .*before/s);
      expect(text).toMatch(/UID 2 .*away/s);
      expect(text).toMatch(/UID 3 .*after/s);
    }
  });

  it('both sides gave out UID 2: the folder gets a greater UIDVALIDITY, the sessions end with BYE [UNAVAILABLE] and act on no UID', async () => {
    const { p, home, away, atHome, atAway } = await twoSides();
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec((await atHome.command('s0 STATUS INBOX (UIDVALIDITY)', /^s0 OK/m)).text)![1]);
    p.split();
    expect((await home.append('INBOX', raw('home-a'), [], 2_000)).uid).toBe(2);
    await home.append('INBOX', raw('home-b'), [], 2_500);
    expect((await away.append('INBOX', raw('away'), [], 3_000)).uid).toBe(2);
    await atAway.command('a1 NOOP', /^a1 OK/m); // the away session holds UID 2 -> "away"
    p.heal();
    await away.append('INBOX', raw('after'), [], 4_000);

    // UID 2 names "home-a" now: the away session may not touch it.
    const store = (await atAway.command('a2 UID STORE 2 +FLAGS (\\Deleted)', /^a2 /m)).text;
    expect(store).toContain("* BYE [UNAVAILABLE]");
    expect(store).toMatch(/^a2 NO /m);
    await atAway.settle();
    expect(atAway.closed).toBe(true);
    const homeNoop = (await atHome.command('h1 NOOP', /^h1 /m)).text;
    expect(homeNoop).toContain('* BYE [UNAVAILABLE]');

    const status = await home.folderStatus('INBOX');
    expect(status.uidValidity).toBeGreaterThan(uidValidity);
    const messages = (await home.openFolder('INBOX')).messages;
    expect(messages.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    expect(messages.every((m) => !m.flags.includes('\\Deleted'))).toBe(true);
  });
});
