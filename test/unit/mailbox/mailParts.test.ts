// Messages stored by parts through the mailbox (DESIGN 3: identical MIME parts converge): an
// attachment APPENDed in two messages, or delivered to a recipient and kept in the sender's Sent copy,
// is stored once; every message reads back byte for byte; COPY keeps the reference; the owner's lease
// refresh covers every part; a small message costs one datum, as before.
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { messageSegments } from '../../../mail/mime/messageSegments';
import { prependHeader, receivedHeader } from '../../../mail/smtp/receivedHeader';
import { formatBlockRef, parseBlockRef } from '../../../storage/blocks';
import { contentBlockIds } from '../../../storage/leases';
import { MemoryStorage } from '../../../storage/memory/storage';
import { ring, USERS } from './fixtures';

const [alice, bob] = USERS;
const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
const attachment = Buffer.from(new SimRandom('report.pdf').bytes(100 * 1024));

async function message(subject: string, text: string, withAttachment = true): Promise<Buffer> {
  const info = await transport.sendMail({
    from: alice.username,
    to: bob.username,
    subject,
    text,
    html: `<p>${text}</p>`,
    ...(withAttachment ? { attachments: [{ filename: 'report.pdf', content: attachment }] } : {}),
  });
  return info.message as Buffer;
}

async function setUp() {
  const r = await ring();
  const node = await r.node('gateway');
  const session = await node.authenticator.authenticate(alice.username, alice.password);
  const idsOf = async (ref: string) => {
    const parsed = parseBlockRef(ref);
    if (!parsed.ok) throw new Error(parsed.message);
    return contentBlockIds(r.storage, parsed.value);
  };
  return { r, node, session, idsOf };
}

describe('messages stored by parts', () => {
  it('two messages sharing a 100 KiB attachment (other headers, other text) store its blocks once, and read back byte for byte', async () => {
    const { r, session, idsOf } = await setUp();
    const first = await message('report', 'Here is the report.');
    const second = await message('Fwd: report', 'Forwarding the report, see below.');
    const before = r.storage.blockCount;
    const a = await session.append('INBOX', first, [], 1_000);
    const afterFirst = r.storage.blockCount;
    const b = await session.append('Archive', second, [], 2_000);
    expect(afterFirst - before).toBe(2); // the layout and the attachment (headers and text are inline)
    expect(r.storage.blockCount - afterFirst).toBe(1); // only the second layout
    expect(a.ref).toMatch(/^post1:mail:/);
    const [idsA, idsB] = [await idsOf(a.ref!), await idsOf(b.ref!)];
    const shared = idsA.filter((id) => idsB.includes(id));
    expect(shared).toHaveLength(1);
    expect((await r.storage.getBlock(shared[0]!)).length).toBeGreaterThan(attachment.length); // the attachment, base64
    expect(Buffer.from(await session.readMessage(a.ref!)).equals(first)).toBe(true);
    expect(Buffer.from(await session.readMessage(b.ref!)).equals(second)).toBe(true);
    await session.close();
  });

  it("a delivered submission (the gateway's Received header in front) and the sender's Sent copy share the attachment", async () => {
    const { r, node, session, idsOf } = await setUp();
    const raw = await message('to bob', 'Hello Bob.');
    // What PostSubmission stores: the message as the SMTP gateway received it, cut into segments.
    const header = receivedHeader({ helo: 'laptop', clientAddress: '127.0.0.1', serverName: 'lab.example', protocol: 'ESMTPSA', id: 'abc', recipients: [bob.username], receivedAtMs: 0 });
    const submitted = Buffer.from(prependHeader(raw, header));
    const ref = await r.storage.putMail(messageSegments(submitted));
    const bobSession = await node.authenticator.authenticate(bob.username, bob.password);
    await node.deliver(bob.username, { ref, sizeOctets: submitted.length, internalDateMs: 0, notificationId: 'n1' });
    const before = r.storage.blockCount;
    const sent = await session.append('Sent', raw, ['\\Seen'], 0);
    expect(r.storage.blockCount - before).toBe(1); // the Sent copy's own layout only
    const delivered = (await bobSession.openFolder('INBOX')).messages[0]!;
    expect(delivered.ref).toBe(formatBlockRef(ref));
    expect(Buffer.from(await bobSession.readMessage(delivered.ref)).equals(submitted)).toBe(true);
    const sentIds = await idsOf(sent.ref!);
    expect((await idsOf(delivered.ref)).filter((id) => sentIds.includes(id))).toHaveLength(1);
    await Promise.all([session.close(), bobSession.close()]);
  });

  it('COPY and MOVE keep the reference; the lease refresh covers the layout and every part of every message', async () => {
    const { r, node, session, idsOf } = await setUp();
    const { uid, ref } = await session.append('INBOX', await message('keep', 'Keep this.'), [], 0);
    await session.copy('INBOX', [uid], 'Archive');
    await session.move('INBOX', [uid], 'Trash');
    for (const folder of ['Archive', 'Trash']) expect((await session.openFolder(folder)).messages.map((m) => m.ref)).toEqual([ref]);
    const live = await node.liveBlockIds(alice.username, r.storage);
    const content = await idsOf(ref!);
    expect(content).toHaveLength(2);
    for (const id of content) expect(live).toContain(id);
    await session.close();
  });

  it('a small message costs one datum, exactly as putData of its bytes', async () => {
    const { r, session } = await setUp();
    const raw = await message('short', 'x'.repeat(2000), false);
    expect(raw.length).toBeGreaterThan(4000);
    r.storage.resetCalls();
    const before = r.storage.blockCount;
    const { ref } = await session.append('INBOX', raw, [], 0);
    expect(r.storage.blockCount - before).toBe(1);
    expect(r.storage.calls.putMail).toBe(1);
    expect(ref).toBe(formatBlockRef(await new MemoryStorage().putData(raw)));
    await session.close();
  });

  it('a part no replica holds intact fails the read clearly, never a shorter message', async () => {
    const { r, session, idsOf } = await setUp();
    const { ref } = await session.append('INBOX', await message('lost', 'Soon gone.'), [], 0);
    const [, partId] = await idsOf(ref!);
    r.storage.corruptBlock(partId!);
    await expect(session.readMessage(ref!)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(new RegExp(partId!)) });
    await session.close();
  });
});
