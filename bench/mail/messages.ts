// Messages of the mail benchmark: deterministic text, exact size, searchable markers that appear
// nowhere else, so every answer can be checked against what was sent.

export const MAIL_DOMAIN = 'bench.example';

const FILLER_WORDS = ['ledger', 'harbour', 'quarterly', 'meeting', 'notes', 'budget', 'review', 'draft', 'plan', 'team', 'update', 'follow', 'agenda', 'minutes', 'schedule', 'supply'];
export const SUBJECT_TOPICS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
const FROM_NAMES = ['carol', 'dave', 'erin', 'frank', 'grace'];
const BODY_MARKERS = 8;
const bodyMarker = (k: number) => `tok-${k}-zq`;
const DATE = 'Mon, 01 Jan 2024 10:00:00 +0000';

/** Text lines of at most 72 characters, exactly `bytes` long with CRLFs (approximately for tiny sizes). */
function fillerText(bytes: number, seed: number): string {
  let state = seed >>> 0 || 1;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    let line = '';
    while (line.length < 60) line += `${line ? ' ' : ''}${FILLER_WORDS[(next() >>> 16) % FILLER_WORDS.length]}`;
    line = line.slice(0, Math.max(1, Math.min(line.length, bytes - size - 2)));
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join('\r\n');
}

function withBody(headers: string[], body: (bytesLeft: number) => string, totalBytes: number): Buffer {
  const head = `${headers.join('\r\n')}\r\n\r\n`;
  return Buffer.from(`${head}${body(Math.max(64, totalBytes - head.length - 2))}\r\n`);
}

export function e2eMessage(runId: string, i: number, from: string, to: string, bytes: number): { messageId: string; raw: Buffer } {
  const messageId = `<${runId}.${i}@${MAIL_DOMAIN}>`;
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: e2e ${runId} #${i}`, `Message-ID: ${messageId}`, `Date: ${DATE}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'];
  return { messageId, raw: withBody(headers, (left) => fillerText(left, i + 1), bytes) };
}

export const mailboxMessageId = (i: number, to: string) => `<mbox.${i}.${to}>`;

/** The index i of a mailboxMessage, from its Message-ID (undefined for any other). */
export function mailboxMessageIndex(messageId: string): number | undefined {
  const match = /^<mbox\.(\d+)\./.exec(messageId);
  return match ? Number(match[1]) : undefined;
}

/** Message i of an IMAP client's mailbox; every fourth is multipart with an attachment. */
export function mailboxMessage(i: number, to: string, bytes: number): Buffer {
  const from = `${FROM_NAMES[i % FROM_NAMES.length]}@partners.example`;
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: Status report ${SUBJECT_TOPICS[i % SUBJECT_TOPICS.length]} #${i}`, `Message-ID: ${mailboxMessageId(i, to)}`, `Date: ${DATE}`, 'MIME-Version: 1.0'];
  const marker = bodyMarker(i % BODY_MARKERS);
  if (i % 4 !== 3) {
    headers.push('Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit');
    return withBody(headers, (left) => `${marker}\r\n${fillerText(left - marker.length - 2, i + 7)}`, bytes);
  }
  const boundary = `=_bench_${i}`;
  headers.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
  const attachment = Buffer.alloc(768, i).toString('base64').replace(/.{76}/g, '$&\r\n');
  return withBody(
    headers,
    (left) => {
      const textBytes = Math.max(64, left - attachment.length - 400);
      return [
        `--${boundary}`,
        'Content-Type: text/plain; charset=us-ascii',
        '',
        `${marker}\r\n${fillerText(textBytes, i + 7)}`,
        `--${boundary}`,
        `Content-Type: application/octet-stream; name="data-${i}.bin"`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; filename="data-${i}.bin"`,
        '',
        attachment,
        `--${boundary}--`,
      ].join('\r\n');
    },
    bytes,
  );
}

export function mailboxFlags(i: number): string[] {
  return [...(i % 3 === 0 ? ['\\Seen'] : []), ...(i % 7 === 0 ? ['\\Flagged'] : [])];
}

/** The SEARCH queries of the search phase with how many of `count` appended messages each matches. */
export function searchQueries(count: number): { query: { subject?: string; from?: string; body?: string }; expected: number }[] {
  const matching = (period: number, k: number) => Array.from({ length: count }, (_, i) => i).filter((i) => i % period === k).length;
  return [
    ...SUBJECT_TOPICS.map((topic, k) => ({ query: { subject: topic }, expected: matching(SUBJECT_TOPICS.length, k) })),
    ...FROM_NAMES.map((name, k) => ({ query: { from: `${name}@partners.example` }, expected: matching(FROM_NAMES.length, k) })),
    ...Array.from({ length: BODY_MARKERS }, (_, k) => ({ query: { body: bodyMarker(k) }, expected: matching(BODY_MARKERS, k) })),
  ];
}

/** How many of messages 0 .. count-1 (mailboxMessage) have SUBJECT_TOPICS[topic] in their subject. */
export function subjectMatches(count: number, topic: number): number {
  return count > topic ? Math.floor((count - 1 - topic) / SUBJECT_TOPICS.length) + 1 : 0;
}

/** The body marker `k` of mailboxMessage (in every message i with i % BODY_MARKERS = k, and nowhere else). */
export const mailboxBodyMarker = (k: number) => bodyMarker(k % BODY_MARKERS);

/** How many of messages 0 .. count-1 (mailboxMessage) carry body marker `k`. */
export function bodyMatches(count: number, k: number): number {
  const marker = k % BODY_MARKERS;
  return count > marker ? Math.floor((count - 1 - marker) / BODY_MARKERS) + 1 : 0;
}
