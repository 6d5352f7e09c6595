// MailSubmission port compliance: what every implementation (memory, ring-backed) must do for the
// SMTP gateway's promises to hold. Call it from a test file with a factory:
//
//   describeMailSubmissionCompliance('memory', async () => ({ submission, users, ... }));
//
// The factory returns a fresh implementation; `readInbox` is the test's window on the inbox
// drops (the port itself has no read side: recipients read through their own node).
import { describe, expect, it } from 'vitest';
import { SubmissionError, type MailSubmission, type SubmissionEnvelope, type SubmittedMessage } from '../../../mail/submission';

export interface DeliveredNotification {
  readonly raw: Uint8Array;
  readonly authenticated: boolean;
}

export interface ComplianceSubmission {
  readonly submission: MailSubmission;
  /** Two users of this organisation. */
  readonly users: readonly [{ readonly address: string; readonly password: string }, { readonly address: string; readonly password: string }];
  /** A user of another, federated POST organisation. */
  readonly federatedUser: string;
  /** An address in this organisation's domain that belongs to nobody. */
  readonly unknownLocal: string;
  /** An address outside every POST domain. */
  readonly external: string;
  readInbox(recipient: string): Promise<readonly DeliveredNotification[]>;
  readonly setUnavailable?: (unavailable: boolean) => void;
  readonly blockSender?: (recipient: string, sender: string) => void;
}

export type SubmissionComplianceFactory = () => Promise<ComplianceSubmission>;

async function expectCode(promise: Promise<unknown>, code: SubmissionError['code']): Promise<SubmissionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected SubmissionError ${code}`).toBeInstanceOf(SubmissionError);
  expect((error as SubmissionError).code).toBe(code);
  return error as SubmissionError;
}

function message(opts: { from: string; to: readonly string[]; authenticated?: boolean; key?: string; body?: string }): SubmittedMessage {
  const authenticated = opts.authenticated ?? true;
  const envelope: SubmissionEnvelope = {
    authenticated,
    ...(authenticated ? { submitter: opts.from } : {}),
    mailFrom: opts.from,
    postRecipients: opts.to,
    externalRecipients: [],
    client: { address: '127.0.0.1', helo: 'client.example', protocol: authenticated ? 'ESMTPA' : 'ESMTP', tls: false },
    eightBitMime: true,
    smtpUtf8: false,
    receivedAtMs: 1_700_000_000_000,
    sessionId: 'compliance',
  };
  const raw = Buffer.from(`Received: from client.example\r\nFrom: ${opts.from}\r\nSubject: test\r\n\r\n${opts.body ?? 'Hello.'}\r\n`);
  return { envelope, raw, idempotencyKey: opts.key ?? `key-${opts.body ?? 'Hello.'}` };
}

export function describeMailSubmissionCompliance(name: string, factory: SubmissionComplianceFactory): void {
  describe(`MailSubmission compliance: ${name}`, () => {
    it('authenticate: the user and the addresses they may send as; wrong password and unknown user are told apart', async () => {
      const c = await factory();
      const [alice] = c.users;
      const identity = await c.submission.authenticate(alice.address, alice.password);
      expect(identity.user).toBe(alice.address.toLowerCase());
      expect(identity.sendAs).toContain(alice.address.toLowerCase());
      await expectCode(c.submission.authenticate(alice.address, `${alice.password}x`), 'WRONG_PASSWORD');
      await expectCode(c.submission.authenticate(c.unknownLocal, 'whatever'), 'UNKNOWN_USER');
    });

    it('classifyRecipient: local and federated POST users, unknown local users, external addresses', async () => {
      const c = await factory();
      const from = c.users[0].address;
      const classify = (address: string) => c.submission.classifyRecipient({ address, mailFrom: from, submitter: from });
      expect(await classify(c.users[1].address)).toEqual({ kind: 'post', local: true });
      expect(await classify(c.users[1].address.toUpperCase())).toEqual({ kind: 'post', local: true });
      expect(await classify(c.federatedUser)).toEqual({ kind: 'post', local: false });
      expect(await classify(c.unknownLocal)).toMatchObject({ kind: 'refused', refusal: 'UNKNOWN_USER' });
      expect(await classify(c.external)).toEqual({ kind: 'external' });
    });

    it('submit: one notification per POST recipient, with the bytes as given', async () => {
      const c = await factory();
      const [alice, bob] = c.users;
      const m = message({ from: alice.address, to: [bob.address, c.federatedUser] });
      const receipt = await c.submission.submit(m);
      expect([...receipt.notified].sort()).toEqual([bob.address, c.federatedUser].sort());
      expect(receipt.messageRef.length).toBeGreaterThan(0);
      for (const recipient of [bob.address, c.federatedUser]) {
        const inbox = await c.readInbox(recipient);
        expect(inbox).toHaveLength(1);
        expect(Buffer.from(inbox[0]!.raw).equals(Buffer.from(m.raw))).toBe(true);
        expect(inbox[0]!.authenticated).toBe(true);
      }
    });

    it('submit is idempotent per key: a retry notifies nobody twice, only recipients new to the key', async () => {
      const c = await factory();
      const [alice, bob] = c.users;
      await c.submission.submit(message({ from: alice.address, to: [bob.address], key: 'k1' }));
      await c.submission.submit(message({ from: alice.address, to: [bob.address], key: 'k1' }));
      await c.submission.submit(message({ from: alice.address, to: [bob.address, c.federatedUser], key: 'k1' }));
      expect(await c.readInbox(bob.address)).toHaveLength(1);
      expect(await c.readInbox(c.federatedUser)).toHaveLength(1);
      await c.submission.submit(message({ from: alice.address, to: [bob.address], key: 'k2', body: 'Another.' }));
      expect(await c.readInbox(bob.address)).toHaveLength(2);
    });

    it('submit is all-or-nothing: one unknown recipient fails it, names the recipient, notifies nobody', async () => {
      const c = await factory();
      const [alice, bob] = c.users;
      const error = await expectCode(c.submission.submit(message({ from: alice.address, to: [bob.address, c.unknownLocal] })), 'UNKNOWN_USER');
      expect(error.recipients).toEqual([c.unknownLocal]);
      expect(await c.readInbox(bob.address)).toHaveLength(0);
    });

    it('unauthenticated mail (inbound gateway) is delivered marked unauthenticated', async () => {
      const c = await factory();
      const [, bob] = c.users;
      await c.submission.submit(message({ from: 'stranger@internet.example', to: [bob.address], authenticated: false }));
      const inbox = await c.readInbox(bob.address);
      expect(inbox).toHaveLength(1);
      expect(inbox[0]!.authenticated).toBe(false);
    });

    it('a blocked sender is refused at classification and at submit', async () => {
      const c = await factory();
      if (!c.blockSender) return;
      const [alice, bob] = c.users;
      c.blockSender(bob.address, alice.address);
      expect(await c.submission.classifyRecipient({ address: bob.address, mailFrom: alice.address, submitter: alice.address })).toMatchObject({
        kind: 'refused',
        refusal: 'SENDER_BLOCKED',
      });
      await expectCode(c.submission.submit(message({ from: alice.address, to: [bob.address] })), 'SENDER_BLOCKED');
    });

    it('temporarily unavailable: every call rejects UNAVAILABLE and nothing is delivered', async () => {
      const c = await factory();
      if (!c.setUnavailable) return;
      const [alice, bob] = c.users;
      c.setUnavailable(true);
      await expectCode(c.submission.authenticate(alice.address, alice.password), 'UNAVAILABLE');
      await expectCode(c.submission.classifyRecipient({ address: bob.address, mailFrom: alice.address }), 'UNAVAILABLE');
      await expectCode(c.submission.submit(message({ from: alice.address, to: [bob.address] })), 'UNAVAILABLE');
      c.setUnavailable(false);
      expect(await c.readInbox(bob.address)).toHaveLength(0);
    });
  });
}
