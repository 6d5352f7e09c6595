// The in-memory MailSubmission passes the port compliance suite, plus its own extras (quota,
// inbox-drop limit per sender, the gateway identity).
import { describe, expect, it } from 'vitest';
import { MemorySubmission } from '../../../mail/memory/submission';
import { SubmissionError, type SubmittedMessage } from '../../../mail/submission';
import { describeMailSubmissionCompliance } from './submission.compliance';

function memory(options: { pendingPerSenderMax?: number } = {}): MemorySubmission {
  const m = new MemorySubmission({ localDomains: ['rice.example'], federatedDomains: ['lip6.example'], gatewayIdentity: 'mx@rice.example', ...options });
  m.addUser('alice@rice.example', 'correct horse', { quotaBytes: 1_000 });
  m.addUser('bob@rice.example', 'battery staple');
  m.addUser('carol@lip6.example', 'x');
  return m;
}

describeMailSubmissionCompliance('memory', async () => {
  const m = memory();
  return {
    submission: m,
    users: [
      { address: 'alice@rice.example', password: 'correct horse' },
      { address: 'bob@rice.example', password: 'battery staple' },
    ],
    federatedUser: 'carol@lip6.example',
    unknownLocal: 'nobody@rice.example',
    external: 'dave@gmail.example',
    readInbox: async (recipient) =>
      m.inbox(recipient).map((n) => ({ raw: m.contents.get(n.messageRef)!, authenticated: n.envelope.authenticated })),
    setUnavailable: (unavailable) => m.setAvailable(!unavailable),
    blockSender: (recipient, sender) => m.block(recipient, sender),
  };
});

const msg = (body: string, opts: { authenticated?: boolean; to?: string[] } = {}): SubmittedMessage => ({
  envelope: {
    authenticated: opts.authenticated ?? true,
    ...((opts.authenticated ?? true) ? { submitter: 'alice@rice.example' } : {}),
    mailFrom: 'alice@rice.example',
    postRecipients: opts.to ?? ['bob@rice.example'],
    externalRecipients: [],
    client: { address: '127.0.0.1', helo: 'x', protocol: 'ESMTPA', tls: false },
    eightBitMime: false,
    smtpUtf8: false,
    receivedAtMs: 0,
    sessionId: 's',
  },
  raw: Buffer.from(body),
  idempotencyKey: body.slice(0, 32),
});

describe('MemorySubmission extras', () => {
  it('identical content is stored once, whoever sends it to whom', async () => {
    const m = memory();
    await m.submit({ ...msg('same bytes'), idempotencyKey: 'a' });
    await m.submit({ ...msg('same bytes', { to: ['carol@lip6.example'] }), idempotencyKey: 'b' });
    expect(m.contents.size).toBe(1);
  });

  it('the sender’s quota bounds what they store: OVER_QUOTA, nothing delivered', async () => {
    const m = memory();
    const error = await m.submit(msg('x'.repeat(2_000))).catch((e: unknown) => e);
    expect((error as SubmissionError).code).toBe('OVER_QUOTA');
    expect(m.inbox('bob@rice.example')).toHaveLength(0);
  });

  it('a full inbox drop (per sender) refuses with INBOX_FULL until the recipient takes its mail', async () => {
    const m = memory({ pendingPerSenderMax: 1 });
    await m.submit(msg('one'));
    expect(await m.classifyRecipient({ address: 'bob@rice.example', mailFrom: 'alice@rice.example', submitter: 'alice@rice.example' })).toMatchObject({
      refusal: 'INBOX_FULL',
    });
    expect(((await m.submit(msg('two')).catch((e: unknown) => e)) as SubmissionError).code).toBe('INBOX_FULL');
    m.drainInbox('bob@rice.example');
    await m.submit(msg('two'));
  });

  it('unauthenticated mail is stored under the gateway’s identity', async () => {
    const m = memory();
    await m.submit(msg('from the internet', { authenticated: false }));
    expect(m.inbox('bob@rice.example')[0]!.storedBy).toBe('mx@rice.example');
  });
});
