// Users: creation, login on any node with address + password, the typed failures, and the keystore
// never stored in clear.
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../../crypto/certificates';
import { KEYSTORE_KDF_CHEAP, KEYSTORE_KDF_INTERACTIVE, openKeystore, sealKeystore } from '../../../crypto/keystore';
import { SimRandom } from '../../../infra/sim/random';
import { canonicalBytes } from '../../../protocol/frame';
import type { StorageApi } from '../../../storage/api';
import { MemoryStorage } from '../../../storage/memory/storage';
import { objectIdOf } from '../../../storage/signedObject';
import { createUser } from '../../../storage/users/createUser';
import { directoryObjectId, revokeUser } from '../../../storage/users/directory';
import { localUserIssuer } from '../../../storage/users/issuer';
import { login, lookupUser } from '../../../storage/users/login';
import { ORG, T0, TestClock, makeUser, testCa, testIssuer } from './fixtures';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code ?? `threw ${String(e)}`,
  );
}

const bytesEqual = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(Buffer.from(needle)) >= 0;
}

describe('users', () => {
  it('create, then login with the right password gives the same keys and log keys', async () => {
    const storage = new MemoryStorage();
    const created = await makeUser(storage, 'alice');
    const ca = await testCa();
    const user = await login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock() });
    expect(user.address).toBe('alice@lab.example');
    expect(bytesEqual(user.signing.publicKey, created.signing.publicKey)).toBe(true);
    expect(bytesEqual(user.signing.secretKey, created.signing.secretKey)).toBe(true);
    expect(bytesEqual(user.box.secretKey, created.box.secretKey)).toBe(true);
    expect(bytesEqual(user.logKey('folders'), created.logKey('folders'))).toBe(true);
    expect(bytesEqual(user.logKey('folders'), user.logKey('folder:1'))).toBe(false);
    expect(user.folderIndexLog).toBe('folders');
  });

  it('the address is case-insensitive and a bare local part means this organisation', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'carol');
    const ca = await testCa();
    const user = await login({ storage, trust: ca, address: ' Carol ', password: 'carol-password', clock: new TestClock() });
    expect(user.address).toBe('carol@lab.example');
  });

  it('a wrong password is WRONG_PASSWORD, never a crash', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: 'nope', clock: new TestClock() }))).toBe('WRONG_PASSWORD');
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: '', clock: new TestClock() }))).toBe('WRONG_PASSWORD');
  });

  it('an unknown address is UNKNOWN_USER; a second createUser is USER_EXISTS', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    expect(await codeOf(login({ storage, trust: ca, address: 'bob@lab.example', password: 'x', clock: new TestClock() }))).toBe('UNKNOWN_USER');
    expect(await codeOf(lookupUser(storage, ca, 'bob@lab.example', T0))).toBe('UNKNOWN_USER');
    expect(await codeOf(makeUser(storage, 'alice', { seed: 'another alice' }))).toBe('USER_EXISTS');
  });

  it('an address outside the organisation is refused at creation', async () => {
    const storage = new MemoryStorage();
    const issuer = await testIssuer();
    const args = { storage, issuer, password: 'p', clock: new TestClock(), random: new SimRandom('x'), kdf: KEYSTORE_KDF_CHEAP };
    expect(await codeOf(createUser({ ...args, address: 'mallory@evil.example' }))).toBe('BAD_REQUEST');
  });

  it('a revoked user cannot log in and is not found by senders: CERT_REVOKED', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    expect((await lookupUser(storage, ca, 'alice@lab.example', T0)).address).toBe('alice@lab.example');
    await revokeUser(storage, await testIssuer(), 'alice@lab.example', T0 + 1);
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock() }))).toBe('CERT_REVOKED');
    expect(await codeOf(lookupUser(storage, ca, 'alice@lab.example', T0))).toBe('CERT_REVOKED');
  });

  it('an expired certificate is CERT_EXPIRED', async () => {
    const storage = new MemoryStorage();
    const issuer = await testIssuer({ validityMs: 60_000 });
    await makeUser(storage, 'alice', { issuer });
    const ca = await testCa();
    const later = new TestClock(T0 + 60_001);
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: later }))).toBe('CERT_EXPIRED');
    expect(await codeOf(lookupUser(storage, ca, 'alice@lab.example', later.now()))).toBe('CERT_EXPIRED');
  });

  it('a directory record not signed by the CA is CERT_INVALID; a reader trusting another CA finds nobody', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    const rogue = await createCertificateAuthority(ORG, new Uint8Array(32).fill(66));
    expect(await codeOf(lookupUser(storage, rogue, 'alice@lab.example', T0))).toBe('UNKNOWN_USER');
    // A replica answers the directory id with a record the rogue CA signed for itself.
    const forged = await localUserIssuer(rogue).signObject('user:alice@lab.example', new Uint8Array([1]));
    const lying: StorageApi = Object.assign(Object.create(storage), { getObject: async () => forged });
    expect(await codeOf(lookupUser(lying, ca, 'alice@lab.example', T0))).toBe('CERT_INVALID');
  });

  it('storage unreachable is UNAVAILABLE', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    storage.unavailable = true;
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock() }))).toBe('UNAVAILABLE');
    storage.unavailable = false;
    storage.failNext(2); // the keystore read fails after the directory read
    expect(await codeOf(login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock() }))).toBe('UNAVAILABLE');
  });

  it('login from another node: a second session over the same storage reads what the first wrote', async () => {
    const storage = new MemoryStorage();
    await makeUser(storage, 'alice');
    const ca = await testCa();
    const nodeA = await login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock() });
    const nodeB = await login({ storage, trust: ca, address: 'alice@lab.example', password: 'alice-password', clock: new TestClock(T0 + 5000) });
    expect(bytesEqual(nodeA.logKey('folder:abc'), nodeB.logKey('folder:abc'))).toBe(true);
    expect(bytesEqual(nodeA.signing.secretKey, nodeB.signing.secretKey)).toBe(true);
  });

  it('the directory record is at objectIdOf(CA key, "user:<address>") and the keystore at objectIdOf(user key, "keystore")', async () => {
    const storage = new MemoryStorage();
    const user = await makeUser(storage, 'alice');
    const ca = await testCa();
    expect(await storage.getObject(directoryObjectId(ca.caPublicKey, 'alice@lab.example'))).toBeDefined();
    expect(await storage.getObject(objectIdOf(user.signing.publicKey, 'keystore'))).toBeDefined();
    expect(await storage.getObject(objectIdOf(user.signing.publicKey, 'identity'))).toBeDefined();
  });

  it('the keystore is never in clear in storage: no secret key, box key, master secret or log key bytes', async () => {
    const storage = new MemoryStorage();
    const user = await makeUser(storage, 'alice', { seed: 'scan' });
    // createUser draws the signing seed, the box seed and the master secret first, in that order.
    const replay = new SimRandom('scan');
    const signingSeed = replay.bytes(32);
    const boxSeed = replay.bytes(32);
    const masterSecret = replay.bytes(32);
    expect(bytesEqual(user.signing.secretKey.subarray(0, 32), signingSeed)).toBe(true);
    const secrets = [signingSeed, user.signing.secretKey, boxSeed, user.box.secretKey, masterSecret, user.logKey('folders')];
    let scanned = 0;
    for (const stored of storage.storedBytes()) {
      scanned++;
      for (const secret of secrets) expect(contains(stored, secret)).toBe(false);
    }
    expect(scanned).toBeGreaterThanOrEqual(3);
    // The public key is there (identity record, certificate): the scan can find what is stored.
    expect([...storage.storedBytes()].some((b) => contains(b, user.signing.publicKey))).toBe(true);
  });

  it('keystore: interactive Argon2id by default; a forged keystore asking for huge limits is refused before any work', async () => {
    const issuer = await testIssuer();
    const cert = await issuer.issue({ address: 'dave@lab.example', signingKey: new Uint8Array(32).fill(2), boxKey: new Uint8Array(32).fill(3) }, T0);
    const secrets = { signingSecretKey: new Uint8Array(64).fill(4), boxSecretKey: new Uint8Array(32).fill(5), masterSecret: new Uint8Array(32).fill(6), certificate: cert };
    const sealed = await sealKeystore({ secrets, password: 'pw', random: new SimRandom('ks') });
    const opened = await openKeystore(sealed, 'pw', 'dave@lab.example');
    expect(opened.ok).toBe(true);
    expect(KEYSTORE_KDF_INTERACTIVE.memLimitBytes).toBe(64 * 1024 * 1024);
    expect(await openKeystore(sealed, 'pw', 'eve@lab.example')).toMatchObject({ ok: false, code: 'WRONG_PASSWORD' });
    const forged = canonicalBytes([1, 'argon2id13', 2, 8 * 1024 * 1024 * 1024, new Uint8Array(16), new Uint8Array(64)]);
    expect(await openKeystore(forged, 'pw', 'dave@lab.example')).toMatchObject({ ok: false, code: 'KEYSTORE_INVALID' });
    expect(await openKeystore(new Uint8Array([1, 2, 3]), 'pw', 'dave@lab.example')).toMatchObject({ ok: false, code: 'KEYSTORE_INVALID' });
  });
});
