// A message cut into the segments it is stored as: large leaf bodies apart, everything else inline,
// and the segments always give back the message byte for byte, whatever the message (random MIME
// trees, broken MIME, messages a real mail library writes).
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { type MessageSegment, messageSegments } from '../../../mail/mime/messageSegments';
import { type MimeEntity, parseMessageStructure } from '../../../mail/mime/structure';
import { MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX, MAIL_PART_BYTES_MIN } from '../../../protocol/limits';
import { multipartMessage } from '../imap/fixtures';

const joined = (segments: readonly MessageSegment[]) => Buffer.concat(segments.map((s) => s.bytes));

function leafBodies(e: MimeEntity, out: string[] = []): string[] {
  if (e.children) for (const c of e.children) leafBodies(c, out);
  else if (e.message) leafBodies(e.message, out);
  else out.push(`${e.bodyStart}-${e.bodyEnd}`);
  return out;
}

/** What must hold for any message: the segments are the message, parts are exactly its large leaf bodies. */
function checkSegments(raw: Buffer, partBytesMin: number, label: string): MessageSegment[] {
  const segments = messageSegments(raw, partBytesMin);
  expect(joined(segments).equals(raw), label).toBe(true);
  expect(segments.length, label).toBeGreaterThan(0);
  const parts = segments.filter((s) => s.kind === 'part');
  if (parts.length === 0) {
    expect(segments.map((s) => s.kind), label).toEqual(['inline']);
    return segments;
  }
  const leaves = new Set(leafBodies(parseMessageStructure(raw)));
  let at = 0;
  segments.forEach((s, i) => {
    expect(s.bytes.length, label).toBeGreaterThan(0);
    if (s.kind === 'inline') expect(segments[i - 1]?.kind, `${label}: inline after inline`).not.toBe('inline');
    else {
      expect(s.bytes.length, label).toBeGreaterThanOrEqual(partBytesMin);
      expect(leaves.has(`${at}-${at + s.bytes.length}`), `${label}: part at ${at} is not a leaf body`).toBe(true);
    }
    at += s.bytes.length;
  });
  return segments;
}

// ---- random MIME, well formed and broken --------------------------------------------------------

function body(r: SimRandom, nl: string, big: boolean): string {
  const bytes = big ? r.between(200, 3000) : r.between(0, 120);
  const line = () => Buffer.from(r.bytes(r.between(1, 57))).toString('base64');
  let out = '';
  while (out.length < bytes) out += line() + nl;
  return r.chance(0.3) ? out.slice(0, -nl.length) : out;
}

function entity(r: SimRandom, nl: string, depth: number): string {
  const draw = r.int(depth > 3 ? 3 : 6);
  const headers = [`X-Id: ${r.int(1e6)}`];
  if (r.chance(0.2)) headers.push(`Subject: folded${nl} continuation`);
  if (draw < 3) {
    const type = ['text/plain', 'text/html', 'application/octet-stream'][draw]!;
    headers.push(`Content-Type: ${type}`, ...(draw === 2 ? ['Content-Transfer-Encoding: base64'] : []));
    return headers.join(nl) + nl + nl + body(r, nl, r.chance(0.5));
  }
  if (draw === 3) {
    // An encapsulated message: parsed into when it is 7bit, one opaque leaf when base64.
    const encoded = r.chance(0.3);
    headers.push('Content-Type: message/rfc822', ...(encoded ? ['Content-Transfer-Encoding: base64'] : []));
    return headers.join(nl) + nl + nl + (encoded ? body(r, nl, true) : entity(r, nl, depth + 1));
  }
  const boundary = `b${r.int(1e9)}${r.chance(0.1) ? ' x' : ''}`;
  headers.push(`Content-Type: multipart/${r.pick(['mixed', 'alternative', 'related', 'digest'])}; boundary="${boundary}"`);
  let out = headers.join(nl) + nl + nl + (r.chance(0.3) ? `preamble${nl}` : '');
  for (let i = r.int(5); i > 0; i--) out += `--${boundary}${r.chance(0.1) ? '  ' : ''}${nl}${entity(r, nl, depth + 1)}${nl}`;
  if (r.chance(0.8)) out += `--${boundary}--${nl}`;
  if (r.chance(0.2)) out += `epilogue${nl}`;
  return out;
}

/** A random message; a third of them broken afterwards (cut short, bytes changed, a slice repeated). */
function randomMessage(r: SimRandom): Buffer {
  const nl = r.chance(0.8) ? '\r\n' : '\n';
  let raw = Buffer.from(`From: a@example.org${nl}MIME-Version: 1.0${nl}${entity(r, nl, 0)}`, 'latin1');
  if (r.chance(0.33)) {
    const kind = r.int(3);
    if (kind === 0) raw = raw.subarray(0, r.int(raw.length + 1));
    else if (kind === 1) for (let i = r.between(1, 8); i > 0 && raw.length > 0; i--) raw[r.int(raw.length)] = r.int(256);
    else {
      const from = r.int(raw.length + 1);
      const to = from + r.int(raw.length - from + 1);
      raw = Buffer.concat([raw.subarray(0, to), raw.subarray(from, to), raw.subarray(to)]);
    }
  }
  return raw;
}

describe('message segments', () => {
  it('random and broken MIME: the segments join to the message, and the parts are its large leaf bodies', () => {
    const r = new SimRandom('message-segments');
    let split = 0;
    for (let i = 0; i < 1000; i++) {
      const raw = randomMessage(r);
      const partBytesMin = r.pick([1, 64, 512, 2048]);
      if (checkSegments(raw, partBytesMin, `message ${i} (seed ${r.seed}), parts from ${partBytesMin} bytes`).length > 1) split++;
    }
    // The generator must actually exercise splitting, not only whole messages.
    expect(split).toBeGreaterThan(250);
  });

  it('garbage bytes are one inline segment, or their body after a blank line one part', () => {
    const r = new SimRandom('garbage');
    for (let i = 0; i < 200; i++) checkSegments(Buffer.from(r.bytes(r.between(0, 40_000))), MAIL_PART_BYTES_MIN, `garbage ${i}`);
    const noHeaders = Buffer.concat([Buffer.from('\r\n'), Buffer.alloc(MAIL_PART_BYTES_MIN, 0x61)]);
    expect(messageSegments(noHeaders).map((s) => [s.kind, s.bytes.length])).toEqual([['inline', 2], ['part', MAIL_PART_BYTES_MIN]]);
  });

  it('a message smaller than the threshold is one inline segment, the message itself, unparsed', () => {
    const raw = Buffer.from(multipartMessage);
    const segments = messageSegments(raw);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.bytes).toBe(raw);
    // With a tiny threshold the same message splits at its leaf bodies.
    const small = checkSegments(raw, 4, 'fixture');
    expect(small.filter((s) => s.kind === 'part').map((s) => Buffer.from(s.bytes).toString())).toEqual([
      'Caf=C3=A9 plain with searchable zebra',
      '<p>Café html</p>',
      'Inner body',
      'AAECAw==',
    ]);
  });

  it('what a real mail library writes: a shared attachment is the same part under different headers and text', async () => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const attachment = Buffer.from(new SimRandom('attachment').bytes(100 * 1024));
    const write = async (opts: Record<string, unknown>) => (await transport.sendMail(opts)).message as Buffer;
    const first = await write({ from: 'a@x.example', to: 'b@x.example', subject: 'report', text: 'see attached', html: '<p>see attached</p>', attachments: [{ filename: 'r.bin', content: attachment }] });
    const second = await write({ from: 'c@x.example', to: 'list@x.example', subject: 'Fwd: report', text: 'fyi '.repeat(5000), attachments: [{ filename: 'r.bin', content: attachment }] });
    const forwarded = await write({ from: 'b@x.example', to: 'd@x.example', subject: 'Fwd', text: 'below', attachments: [{ filename: 'original.eml', content: first, contentType: 'message/rfc822' }] });
    const partsOf = (raw: Buffer) => checkSegments(raw, MAIL_PART_BYTES_MIN, 'nodemailer').filter((s) => s.kind === 'part').map((s) => Buffer.from(s.bytes));
    const [a] = partsOf(first);
    expect(a!.toString('latin1').replace(/\r\n/g, '')).toBe(attachment.toString('base64'));
    // The second's 20,000-byte text is a part of its own; its attachment is the first's, byte for byte.
    const second_ = partsOf(second);
    expect(second_).toHaveLength(2);
    expect(second_[1]!.equals(a!)).toBe(true);
    // A forward as message/rfc822 (7bit: parsed into): the original's attachment again.
    expect(partsOf(forwarded).some((p) => p.equals(a!))).toBe(true);
  });

  it('a message whose layout would outgrow its bounds is stored whole', () => {
    const part = (n: number, size: number) => `--b\r\nContent-Type: application/octet-stream\r\n\r\n${String(n).padEnd(size, 'x')}\r\n`;
    const many = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${Array.from({ length: MAIL_LAYOUT_PARTS_MAX + 1 }, (_, i) => part(i, 64)).join('')}--b--\r\n`);
    expect(messageSegments(many, 64)).toHaveLength(1);
    expect(messageSegments(many, 65)).toHaveLength(1);
    const atMost = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${Array.from({ length: MAIL_LAYOUT_PARTS_MAX }, (_, i) => part(i, 64)).join('')}--b--\r\n`);
    expect(messageSegments(atMost, 64).filter((s) => s.kind === 'part')).toHaveLength(MAIL_LAYOUT_PARTS_MAX);
    // Short bodies (inline) beyond the inline bound, next to one large body.
    const smalls = Array.from({ length: Math.ceil(MAIL_LAYOUT_INLINE_BYTES_MAX / 4000) + 1 }, (_, i) => part(i, 4000)).join('');
    const wide = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${part(0, MAIL_PART_BYTES_MIN)}${smalls}--b--\r\n`);
    expect(messageSegments(wide)).toHaveLength(1);
  });
});
