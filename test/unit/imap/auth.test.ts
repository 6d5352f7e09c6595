// Transcripts: greeting, CAPABILITY, LOGIN, AUTHENTICATE (PLAIN, LOGIN, SASL-IR), LOGINDISABLED,
// throttled failed logins, an unavailable backend, LOGOUT.
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness } from './harness';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
let harness: ImapHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('greeting and capabilities', () => {
  it('greets with capabilities and advertises AUTH before login, not after', async () => {
    harness = new ImapHarness();
    const greeting = await harness.waitFor(/\r\n/);
    expect(greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN AUTH=LOGIN\] ePOST-test IMAP4rev1 ready\r\n$/);
    const before = await harness.command('c1 CAPABILITY');
    expect(before.lines[0]).toContain('AUTH=PLAIN');
    for (const cap of ['IDLE', 'UIDPLUS', 'MOVE', 'SPECIAL-USE', 'XLIST', 'NAMESPACE', 'ID', 'ENABLE', 'UNSELECT', 'CHILDREN', 'LITERAL+', 'SASL-IR', 'APPENDLIMIT=', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC']) {
      expect(before.lines[0]).toContain(cap);
    }
    expect(before.lines[0]).not.toContain('STARTTLS');
    await harness.command('c2 LOGIN alice secret');
    const after = await harness.command('c3 CAPABILITY');
    expect(after.lines[0]).not.toContain('AUTH=');
  });

  it('with a certificate offers STARTTLS; when TLS is required, LOGINDISABLED and PRIVACYREQUIRED', async () => {
    harness = new ImapHarness({ settings: { tlsAvailable: true, requireTls: true } });
    const caps = await harness.command('c1 CAPABILITY');
    expect(caps.lines[0]).toContain('STARTTLS');
    expect(caps.lines[0]).toContain('LOGINDISABLED');
    expect(caps.lines[0]).not.toContain('AUTH=PLAIN');
    expect((await harness.command('c2 LOGIN alice secret')).tagged).toBe('c2 NO [PRIVACYREQUIRED] Plaintext login is disabled on this connection; issue STARTTLS first');
    expect((await harness.command(`c3 AUTHENTICATE PLAIN ${b64('\0alice\0secret')}`)).tagged).toMatch(/^c3 NO \[PRIVACYREQUIRED\]/);
  });
});

describe('LOGIN', () => {
  it('accepts quoted and literal credentials', async () => {
    harness = new ImapHarness();
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send('a1 LOGIN "alice" {6}\r\n');
    expect(await harness.waitFor(/\+ /)).toBe('+ Ready for literal data\r\n');
    const reply = await harness.command('secret', /a1 OK/);
    expect(reply.text).toMatch(/^a1 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in as alice\r\n$/);
  });

  it('rejects a wrong password and an unknown user alike, then accepts the right one', async () => {
    harness = new ImapHarness();
    const wrong = harness.command('a1 LOGIN alice nope');
    await harness.settle();
    harness.clock.advance(1_500);
    expect((await wrong).tagged).toBe('a1 NO [AUTHENTICATIONFAILED] Authentication failed: wrong user name or password');
    const unknown = harness.command('a2 LOGIN mallory x');
    await harness.settle();
    harness.clock.advance(3_000);
    expect((await unknown).tagged).toBe('a2 NO [AUTHENTICATIONFAILED] Authentication failed: wrong user name or password');
    expect((await harness.command('a3 LOGIN alice secret')).tagged).toMatch(/^a3 OK/);
  });

  it('is not allowed twice', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('a1 LOGIN alice secret')).tagged).toBe('a1 BAD LOGIN is not allowed in the authenticated state');
  });

  it('answers UNAVAILABLE when the storage cannot be reached, without counting a failed login', async () => {
    harness = new ImapHarness();
    harness.store.unavailable = true;
    expect((await harness.command('a1 LOGIN alice secret')).tagged).toMatch(/^a1 NO \[UNAVAILABLE\] Login is not possible right now/);
    harness.store.unavailable = false;
    expect((await harness.command('a2 LOGIN alice secret')).tagged).toMatch(/^a2 OK/);
  });
});

describe('failed-login throttling', () => {
  it('delays each failure longer, and closes with BYE at the limit', async () => {
    harness = new ImapHarness({ limits: { failedLoginsMax: 3, failedLoginDelayMs: 1_000 } });
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send('f1 LOGIN alice bad1\r\n');
    await harness.settle(50);
    expect(harness.take()).toBe(''); // held back
    harness.clock.advance(999);
    await harness.settle();
    expect(harness.take()).toBe('');
    harness.clock.advance(1);
    expect(await harness.waitFor(/f1 NO/)).toMatch(/^f1 NO \[AUTHENTICATIONFAILED\]/);
    harness.take();
    harness.send('f2 LOGIN alice bad2\r\n');
    await harness.settle(50);
    harness.clock.advance(1_999);
    await harness.settle();
    expect(harness.take()).toBe('');
    harness.clock.advance(1);
    await harness.waitFor(/f2 NO/);
    harness.take();
    harness.send('f3 LOGIN alice bad3\r\n');
    const last = await harness.waitFor(/\* BYE/);
    expect(last).toBe('f3 NO [AUTHENTICATIONFAILED] Authentication failed: wrong user name or password\r\n* BYE Too many failed commands or logins; closing\r\n');
    await harness.settle();
    expect(harness.closed).toBe(true);
  });
});

describe('AUTHENTICATE', () => {
  it('PLAIN with an initial response (SASL-IR)', async () => {
    harness = new ImapHarness();
    expect((await harness.command(`a1 AUTHENTICATE PLAIN ${b64('\0alice\0secret')}`)).tagged).toMatch(/^a1 OK \[CAPABILITY/);
  });

  it('PLAIN with an empty challenge first', async () => {
    harness = new ImapHarness();
    expect((await harness.command('a1 AUTHENTICATE PLAIN', /\+ \r\n/)).text).toContain('+ \r\n');
    expect((await harness.command(b64('alice\0alice\0secret'), /a1 /)).text).toMatch(/^a1 OK/);
  });

  it('LOGIN with Username: and Password: challenges', async () => {
    harness = new ImapHarness();
    expect((await harness.command('a1 AUTHENTICATE LOGIN', /\+ .*\r\n/)).text).toBe(`+ ${b64('Username:')}\r\n`);
    expect((await harness.command(b64('alice'), /\+ .*\r\n/)).text).toBe(`+ ${b64('Password:')}\r\n`);
    expect((await harness.command(b64('secret'), /a1 /)).text).toMatch(/^a1 OK/);
  });

  it('can be cancelled with "*", rejects garbage and unknown mechanisms', async () => {
    harness = new ImapHarness();
    await harness.command('a1 AUTHENTICATE PLAIN', /\+ \r\n/);
    expect((await harness.command('*', /a1 /)).text).toBe('a1 BAD AUTHENTICATE cancelled\r\n');
    expect((await harness.command('a2 AUTHENTICATE PLAIN !!!notbase64')).tagged).toBe('a2 BAD SASL response is not valid base64');
    expect((await harness.command('a3 AUTHENTICATE CRAM-MD5')).tagged).toBe('a3 NO [CANNOT] Authentication mechanism CRAM-MD5 is not supported; use PLAIN or LOGIN');
    expect((await harness.command(`a4 AUTHENTICATE PLAIN ${b64('bob\0alice\0secret')}`)).tagged).toMatch(/^a4 BAD PLAIN: acting as another user/);
  });

  it('a wrong password through SASL is a throttled failed login', async () => {
    harness = new ImapHarness();
    const pending = harness.command(`a1 AUTHENTICATE PLAIN ${b64('\0alice\0wrong')}`);
    await harness.settle();
    harness.clock.advance(1_500);
    expect((await pending).tagged).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
  });
});

describe('LOGOUT', () => {
  it('says BYE, then OK, then closes; works in every state', async () => {
    for (const setup of [async () => new ImapHarness(), async () => ImapHarness.loggedIn()]) {
      const h = await setup();
      const reply = await h.command('z1 LOGOUT');
      expect(reply.text.endsWith('* BYE Logging out\r\nz1 OK LOGOUT completed\r\n')).toBe(true);
      await h.settle();
      expect(h.closed).toBe(true);
    }
  });

  it('logs out idle strangers before login and idle users after 30 minutes', async () => {
    harness = new ImapHarness();
    await harness.waitFor(/\r\n/);
    harness.clock.advance(60_000);
    expect(await harness.waitFor(/\* BYE Autologout/)).toContain('* BYE Autologout: no login in time');
    const user = await ImapHarness.loggedIn();
    user.clock.advance(29 * 60_000);
    await user.settle();
    expect(user.closed).toBe(false);
    user.clock.advance(60_000);
    await user.waitFor(/\* BYE Autologout: idle for too long/);
    await user.close();
  });
});
