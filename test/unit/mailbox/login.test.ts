// Logging in again where the keys already are: no read of the ring and no Argon2id for the password the
// node checked before; anything else takes the full login; revocation and lingering are honoured.
import { describe, expect, it } from 'vitest';
import { DIRECTORY_CACHE_MS, MAILBOX_LINGER_MS } from '../../../protocol/limits';
import { revokeUser } from '../../../storage/users/directory';
import { testIssuer } from '../users/fixtures';
import { ManualClock } from '../imap/manualClock';
import { ring, USERS } from './fixtures';

const [alice] = USERS;

describe('mailbox logins', () => {
  it('a second login with the same password reads nothing from the ring', async () => {
    const r = await ring();
    const node = await r.node('a');
    const first = await node.authenticator.authenticate(alice.username, alice.password);
    r.storage.resetCalls();
    const second = await node.authenticator.authenticate(alice.username, alice.password);
    expect(second.username).toBe(alice.username);
    expect(Object.values(r.storage.calls).reduce((a, b) => a + b, 0)).toBe(0);
    await Promise.all([first.close(), second.close()]);
  });

  it('a wrong password while the keys are here still takes the full login and is refused', async () => {
    const r = await ring();
    const node = await r.node('a');
    const session = await node.authenticator.authenticate(alice.username, alice.password);
    r.storage.resetCalls();
    await expect(node.authenticator.authenticate(alice.username, 'guess')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect(r.storage.calls.getObject).toBeGreaterThan(0);
    await session.close();
  });

  it('after DIRECTORY_CACHE_MS the directory is read again: a revoked user is refused', async () => {
    const r = await ring();
    const node = await r.node('a');
    const session = await node.authenticator.authenticate(alice.username, alice.password);
    await revokeUser(r.storage, await testIssuer(), alice.username, r.clock.now());
    // Within the cache period the node does not know yet (as a sender's directory cache would not).
    await (await node.authenticator.authenticate(alice.username, alice.password)).close();
    r.clock.advance(DIRECTORY_CACHE_MS);
    await expect(node.authenticator.authenticate(alice.username, alice.password)).rejects.toMatchObject({ code: 'CANNOT' });
    await session.close();
  });

  it('after the last session the keys linger for MAILBOX_LINGER_MS, then the next login is a full one', async () => {
    const clock = new ManualClock();
    const r = await ring(clock);
    const node = await r.node('a');
    await (await node.authenticator.authenticate(alice.username, alice.password)).close();
    clock.advance(MAILBOX_LINGER_MS - 1);
    r.storage.resetCalls();
    await (await node.authenticator.authenticate(alice.username, alice.password)).close();
    // Still here: only the periodic re-check (directory record and keystore), not a full login, which
    // would also read the identity record and open the folder index.
    expect(r.storage.calls.getObject).toBe(2);
    clock.advance(MAILBOX_LINGER_MS);
    await new Promise((resolve) => setImmediate(resolve)); // the release runs once the mailbox promise settles
    r.storage.resetCalls();
    await (await node.authenticator.authenticate(alice.username, alice.password)).close();
    expect(r.storage.calls.getObject).toBeGreaterThan(2);
  });
});
