// SEARCH BODY / TEXT over a folder larger than the read-ahead window (messageReadAheadMax messages,
// messageReadAheadBytesMax bytes), and larger than the message cache (its reads then pass the cache
// by), on the log-backed mailbox: the answers are exactly the messages
// that hold the text, in one session and another, after EXPUNGE and after APPEND; a message whose
// body cannot be read (corrupt on every replica) fails the command with a clear NO and loses nothing:
// once the block is good again the same search finds it.
// In integration: the log backend does real crypto and I/O, so its runs wait on real time.
import { afterEach, describe, expect, it } from 'vitest';
import type { MailUserSession } from '../../../mail/backend';
import { imapLimits } from '../../../mail/imap/limits';
import { MessageCache } from '../../../mail/imap/messageCache';
import { parseBlockRef } from '../../../storage/blocks';
import { ImapHarness } from '../../unit/imap/harness';
import { ring, USERS } from '../../unit/mailbox/fixtures';

const REAL_TIME_PATIENCE = { rounds: 5_000, idle: () => new Promise<void>((resolve) => setTimeout(resolve, 2)) };
const [alice] = USERS;
/** Past the count window, and big enough in total to pass the byte window too. */
const MESSAGES = imapLimits.messageReadAheadMax * 2 + 13;
const BIG_BODY_BYTES = Math.ceil((imapLimits.messageReadAheadBytesMax * 1.5) / MESSAGES);

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** Message i: the rare word in every 10th body (plain, quoted-printable or in a multipart), a header-only word in every 7th. */
function messageText(i: number): string {
  const filler = `${'lorem ipsum dolor sit amet '.repeat(Math.ceil(BIG_BODY_BYTES / 27)).slice(0, BIG_BODY_BYTES)}\r\n`;
  const rare = i % 10 === 0;
  const head = [`From: sender${i}@example.org`, 'To: alice@lab.example', `Subject: message ${i}${i % 7 === 0 ? ' headerword' : ''}`, `Message-ID: <m${i}@example.org>`, 'MIME-Version: 1.0'];
  if (i % 3 === 1) {
    // quoted-printable, the word split by a soft line break: only the decoded text holds it
    return [...head, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', `${rare ? 'zyzz=\r\nyva ' : ''}caf=C3=A9 ${filler}`].join('\r\n');
  }
  if (i % 3 === 2) {
    return [...head, 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', `${rare ? 'ZYZZYVA ' : ''}${filler}`, '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', 'AAAA', '--b--', ''].join('\r\n');
  }
  return [...head, 'Content-Type: text/plain', '', `${filler}${rare ? ' zyzzyva' : ''}`, ''].join('\r\n');
}

const searchUids = (reply: { lines: readonly string[] }) =>
  reply.lines
    .filter((l) => l.startsWith('* SEARCH'))
    .flatMap((l) => l.slice('* SEARCH'.length).trim().split(' '))
    .filter(Boolean)
    .map(Number);

describe.each([
  { name: 'the folder fits the message cache', cache: () => new MessageCache() },
  { name: 'the folder is bigger than the message cache (reads pass it by)', cache: () => new MessageCache(1024 * 1024) },
])('SEARCH BODY over a folder larger than the read-ahead window (log-backed mailbox): $name', ({ cache }) => {
  it('search: exact answers across two sessions, after EXPUNGE and APPEND; a corrupt body fails with NO and nothing is lost', async () => {
    const shared = cache();
    const r = await ring();
    const node = await r.node('home');
    const device: MailUserSession = await node.authenticator.authenticate(alice.username, alice.password);
    const refs = new Map<number, string>();
    let expected = new Set<number>();
    let headerOnly = new Set<number>();
    for (let i = 0; i < MESSAGES; i++) {
      const appended = await device.append('INBOX', Buffer.from(messageText(i)), [], 1_700_000_000_000 + i);
      refs.set(appended.uid, appended.ref!);
      if (i % 10 === 0) expected.add(appended.uid);
      if (i % 7 === 0) headerOnly.add(appended.uid);
    }
    const a = await ImapHarness.loggedIn({ authenticator: node.authenticator, cache: shared, patience: REAL_TIME_PATIENCE }, alice.username, alice.password);
    const b = await ImapHarness.loggedIn({ authenticator: node.authenticator, cache: shared, patience: REAL_TIME_PATIENCE }, alice.username, alice.password);
    open.push(a, b);
    await a.command('A1 SELECT INBOX');
    await b.command('B1 SELECT INBOX');
    const sorted = (s: Set<number>) => [...s].sort((x, y) => x - y);

    expect(searchUids(await a.command('A2 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));
    expect(searchUids(await b.command('B2 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));
    expect(searchUids(await b.command('B3 UID SEARCH BODY headerword'))).toEqual([]);
    expect(searchUids(await a.command('A3 UID SEARCH TEXT headerword'))).toEqual(sorted(headerOnly));
    expect(searchUids(await a.command('A4 UID SEARCH BODY café'))).toHaveLength([...refs.keys()].filter((_, i) => i % 3 === 1).length);

    // EXPUNGE in A: both sessions stop finding the expunged messages.
    const gone = sorted(expected).slice(0, 3);
    await a.command(`A5 UID STORE ${gone.join(',')} +FLAGS.SILENT (\\Deleted)`);
    await a.command('A6 EXPUNGE');
    expected = new Set([...expected].filter((uid) => !gone.includes(uid)));
    headerOnly = new Set([...headerOnly].filter((uid) => !gone.includes(uid)));
    expect(searchUids(await a.command('A7 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));
    await b.command('B4 NOOP');
    expect(searchUids(await b.command('B5 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));

    // APPEND through B: A finds the new message too.
    const text = messageText(0).replace('<m0@', '<m-new@');
    const appended = await b.command(Buffer.from(`B6 APPEND INBOX {${Buffer.byteLength(text)}+}\r\n${text}`, 'latin1'));
    expect(appended.tagged).toMatch(/^B6 OK/);
    const newUid = Number(/APPENDUID \d+ (\d+)/.exec(appended.tagged)![1]);
    expected.add(newUid);
    await a.command('A8 NOOP');
    expect(searchUids(await a.command('A9 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));
    expect(searchUids(await b.command('B7 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));

    // A body corrupt on every replica: a session that has not read it yet gets a clear NO, not a short answer.
    const victim = sorted(expected)[1]!;
    const blockId = (ref: string) => {
      const parsed = parseBlockRef(ref);
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.value.id;
    };
    r.storage.corruptBlock(blockId(refs.get(victim)!));
    // Its own cache: the others' may hold the message as it was read before the damage.
    const c = await ImapHarness.loggedIn({ authenticator: node.authenticator, cache: new MessageCache(shared.rawBytesMax), patience: REAL_TIME_PATIENCE }, alice.username, alice.password);
    open.push(c);
    await c.command('C1 SELECT INBOX');
    const failed = await c.command('C2 UID SEARCH BODY zyzzyva');
    expect(failed.tagged).toMatch(/^C2 NO .*(corrupt|block)/i);
    expect(failed.lines.some((l) => l.startsWith('* SEARCH'))).toBe(false);
    // Nothing lost: the message is still listed, and once the block is good again it is found.
    expect((await c.command(`C3 UID FETCH ${victim} (FLAGS)`)).tagged).toMatch(/^C3 OK/);
    r.storage.corruptBlock(blockId(refs.get(victim)!)); // the same bit flipped back
    expect(searchUids(await c.command('C4 UID SEARCH BODY zyzzyva'))).toEqual(sorted(expected));
  }, 120_000);
});
