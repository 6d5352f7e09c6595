// SCRAM on a user's home node before any PLAIN login (issue 17): the node derives SCRAM keys when it
// unlocks a user it hosts, and the XMPP login finds them there. A client that drops PLAIN as soon as
// SCRAM is offered (libstrophe: profanity) could not log in at all without them.
import { describe, expect, test } from 'vitest';
import { deriveScramCredentials } from '../../../crypto/scram';
import { SimClock } from '../../../infra/sim/clock';
import { SimRandom } from '../../../infra/sim/random';
import { ScramKeys } from '../../../actors/xmpp/xmppLogin';
import { LoginCache } from '../../../actors/users/logins';
import { LOGIN_KEPT_MS, XMPP_SCRAM_ITERATIONS } from '../../../protocol/limits';
import type { StorageApi } from '../../../storage/api';
import type { LoginRecord } from '../../../storage/users/login';
import type { RingTrust } from '../../../crypto/certificates';

const record = (address: string) => ({ user: { address } }) as unknown as LoginRecord;

function setup() {
  const clock = new SimClock();
  const random = new SimRandom(1);
  const logins = new LoginCache({ storage: {} as StorageApi, trust: { org: 'lab.example' } as RingTrust, clock, random });
  const scram = new ScramKeys({ clock, random, domain: 'lab.example', hosted: (a) => logins.hostedScram(a) });
  return { clock, logins, scram };
}

describe('xmpp: SCRAM keys of hosted users', () => {
  test('a hosted user has SCRAM keys of its password at once, kept while hosted', async () => {
    const { clock, logins, scram } = setup();
    expect(scram.entry('user1')).toBeUndefined();
    logins.keep(record('user1@lab.example'), 'pencil');
    const entry = scram.entry('user1')!;
    expect(entry.record.user.address).toBe('user1@lab.example');
    for (const hash of ['sha1', 'sha256'] as const) {
      const keys = entry.keys[hash];
      expect(keys.iterations).toBe(XMPP_SCRAM_ITERATIONS);
      expect(keys.storedKey).toEqual(deriveScramCredentials(hash, 'pencil', keys.salt, XMPP_SCRAM_ITERATIONS).storedKey);
      expect(keys.storedKey).not.toEqual(deriveScramCredentials(hash, 'not pencil', keys.salt, XMPP_SCRAM_ITERATIONS).storedKey);
    }
    await clock.runFor(LOGIN_KEPT_MS * 3);
    expect(scram.entry('USER1@lab.example')?.keys.sha256.storedKey).toEqual(entry.keys.sha256.storedKey);
  });

  test('a user this node does not host has none until it logs in here with PLAIN', () => {
    const { scram } = setup();
    expect(scram.entry('user2@lab.example')).toBeUndefined();
    scram.remember(record('user2@lab.example'), 'pencil');
    expect(scram.entry('user2')?.keys.sha1.hash).toBe('sha1');
  });
});
