import { beforeEach, describe, expect, test } from 'vitest';
import { scramClientProof } from '../../../crypto/scram';
import { incomingChat, sentCarbon, signalMessage } from '../../../xmpp/chat';
import { archivedMessage } from '../../../xmpp/mam';
import { DOMAIN, FakeWorld, TestClient } from './fakes';

const SASL = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
let world: FakeWorld;

beforeEach(() => {
  world = new FakeWorld((r, to, delayed) => incomingChat(r, `${to.address}/${to.resource}`, { bare: to.address, domain: DOMAIN, delayed }));
  world.addUser(`alice@${DOMAIN}`, 'alice-pw');
  world.addUser(`bob@${DOMAIN}`, 'bob-pw');
});

/** Alice logged in on her phone, Bob logged in on his desk and available (his initial presence sent). */
async function aliceAndAvailableBob(): Promise<{ alice: TestClient; bob: TestClient }> {
  const alice = new TestClient(world);
  await alice.loginPlain('alice', 'alice-pw', 'phone');
  const bob = new TestClient(world);
  await bob.loginPlain('bob', 'bob-pw', 'desk');
  await bob.send('<presence/>');
  return { alice, bob };
}

const errorCondition = (events: { kind: string }[]) => {
  const stanza = (events as { kind: string; element?: import('../../../xmpp/xml').XmlElement }[]).find((e) => e.kind === 'stanza' && e.element!.name === 'error');
  return stanza?.element!.elements()[0]?.name;
};

describe('xmpp session: stream, features, login', () => {
  test('the server answers a header with its own and offers SASL mechanisms (STARTTLS only with a certificate)', async () => {
    const c = new TestClient(world);
    const events = await c.send(TestClient.header());
    expect(events[0]).toMatchObject({ kind: 'open', attrs: { from: DOMAIN, version: '1.0' } });
    const features = c.stanzas(events)[0]!;
    expect(features.name).toBe('features');
    expect(features.child('mechanisms')!.elements().map((m) => m.text())).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    expect(features.child('starttls')).toBeUndefined();
    const tls = new TestClient(world, { tls: true });
    expect(tls.stanzas(await tls.send(TestClient.header()))[0]!.child('starttls', 'urn:ietf:params:xml:ns:xmpp-tls')).toBeDefined();
  });

  test('STARTTLS: proceed, the socket is upgraded, a new stream no longer offers it', async () => {
    const c = new TestClient(world, { tls: true });
    await c.send(TestClient.header());
    const proceed = c.stanzas(await c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    expect(proceed[0]!.name).toBe('proceed');
    expect(c.tlsStarted).toBe(true);
    c.restartReader();
    const features = c.stanzas(await c.send(TestClient.header()))[0]!;
    expect(features.child('starttls')).toBeUndefined();
    expect(features.child('mechanisms')).toBeDefined();
  });

  test('a header for another domain gets host-unknown; a stanza before login gets not-authorized', async () => {
    const c = new TestClient(world);
    expect(errorCondition(await c.send(TestClient.header('elsewhere.example')))).toBe('host-unknown');
    expect(c.closed).toBe(true);
    const d = new TestClient(world);
    await d.send(TestClient.header());
    expect(errorCondition(await d.send("<message to='bob@lab.example'><body>hi</body></message>"))).toBe('not-authorized');
  });

  test('malformed XML after login closes the stream with not-well-formed and unbinds the session', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    expect(world.hub.sessions.size).toBe(1);
    expect(errorCondition(await c.send('<message><body></message>'))).toBe('not-well-formed');
    expect(c.closed).toBe(true);
    expect(world.hub.sessions.size).toBe(0);
  });

  test('an unknown top-level element is unsupported-stanza-type', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    expect(errorCondition(await c.send("<foo xmlns='urn:example:foo'/>"))).toBe('unsupported-stanza-type');
  });

  test('PLAIN: a wrong password is not-authorized, the right one succeeds and binds the asked resource', async () => {
    const c = new TestClient(world);
    await c.send(TestClient.header());
    const wrong = c.stanzas(await c.send(`<auth ${SASL} mechanism='PLAIN'>${Buffer.from('\0alice\0nope').toString('base64')}</auth>`));
    expect(wrong[0]!.name).toBe('failure');
    expect(wrong[0]!.elements()[0]!.name).toBe('not-authorized');
    const ok = c.stanzas(await c.send(`<auth ${SASL} mechanism='PLAIN'>${Buffer.from('\0alice\0alice-pw').toString('base64')}</auth>`));
    expect(ok[0]!.name).toBe('success');
    expect(world.attempts).toEqual(['failure', 'success']);
    c.restartReader();
    const features = c.stanzas(await c.send(TestClient.header()))[0]!;
    expect(features.child('bind', 'urn:ietf:params:xml:ns:xmpp-bind')).toBeDefined();
    const bound = c.stanzas(await c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>laptop</resource></bind></iq>"))[0]!;
    expect(bound.child('bind')!.childText('jid')).toBe(`alice@${DOMAIN}/laptop`);
  });

  test('SCRAM before any PLAIN login: temporary-auth-failure (the node holds no keys for that user yet)', async () => {
    const c = new TestClient(world);
    await c.send(TestClient.header());
    const r = c.stanzas(await c.send(`<auth ${SASL} mechanism='SCRAM-SHA-256'>${Buffer.from('n,,n=alice,r=abc').toString('base64')}</auth>`));
    expect(r[0]!.name).toBe('failure');
    expect(r[0]!.elements()[0]!.name).toBe('temporary-auth-failure');
  });

  for (const [mechanism, hash] of [['SCRAM-SHA-256', 'sha256'], ['SCRAM-SHA-1', 'sha1']] as const)
    test(`${mechanism}: after a PLAIN login, the right proof logs in and the server proves itself; a wrong one is a failed guess`, async () => {
      await new TestClient(world).loginPlain('alice', 'alice-pw', 'first');
      const scramLogin = async (password: string) => {
        const c = new TestClient(world);
        await c.send(TestClient.header());
        const clientFirstBare = 'n=alice,r=clientnonce';
        const challenge = c.stanzas(await c.send(`<auth ${SASL} mechanism='${mechanism}'>${Buffer.from(`n,,${clientFirstBare}`).toString('base64')}</auth>`))[0]!;
        expect(challenge.name).toBe('challenge');
        const serverFirst = Buffer.from(challenge.text(), 'base64').toString();
        const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
        expect(attrs.r!.startsWith('clientnonce')).toBe(true);
        const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`;
        const proof = scramClientProof(hash, password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), `${clientFirstBare},${serverFirst},${withoutProof}`);
        return c.stanzas(await c.send(`<response ${SASL}>${Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64')}</response>`))[0]!;
      };
      const ok = await scramLogin('alice-pw');
      expect(ok.name).toBe('success');
      expect(Buffer.from(ok.text(), 'base64').toString()).toMatch(/^v=/);
      const bad = await scramLogin('guess');
      expect(bad.name).toBe('failure');
      expect(world.attempts.at(-1)).toBe('failure');
    });

  test('a second session asking for a bound resource gets a different one', async () => {
    const a = (await new TestClient(world).loginPlain('alice', 'alice-pw', 'phone')).at(-1)!;
    const b = (await new TestClient(world).loginPlain('alice', 'alice-pw', 'phone')).at(-1)!;
    expect(a.child('bind')!.childText('jid')).toBe(`alice@${DOMAIN}/phone`);
    expect(b.child('bind')!.childText('jid')).toMatch(new RegExp(`^alice@${DOMAIN}/phone-.+`));
  });
});

describe('xmpp session: stanzas', () => {
  test('roster: set, get, remove, and a push to every session of the account', async () => {
    const phone = new TestClient(world);
    await phone.loginPlain('alice', 'alice-pw', 'phone');
    const laptop = new TestClient(world);
    await laptop.loginPlain('alice', 'alice-pw', 'laptop');
    const before = laptop.received.length;
    const set = phone.stanzas(await phone.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='Bob@lab.example' name='Bob'><group>Friends</group></item></query></iq>"));
    expect(set.find((s) => s.attr('id') === 'r1')!.attr('type')).toBe('result');
    const pushed = laptop.stanzas(laptop.received.slice(before)).find((s) => s.attr('type') === 'set')!;
    expect(pushed.child('query')!.child('item')!.attrs).toMatchObject({ jid: 'bob@lab.example', name: 'Bob', subscription: 'none' });
    const got = phone.stanzas(await phone.send("<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>"))[0]!;
    expect(got.child('query')!.elements().map((i) => [i.attr('jid'), i.childText('group')])).toEqual([['bob@lab.example', 'Friends']]);
    await phone.send("<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='bob@lab.example' subscription='remove'/></query></iq>");
    expect(world.accounts.get(`alice@${DOMAIN}`)!.rosterItems.size).toBe(0);
  });

  test('disco#info of the server lists carbons and ping; of the account, MAM; an unknown iq is service-unavailable', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    const server = c.stanzas(await c.send(`<iq type='get' id='d1' to='${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))[0]!;
    const features = server.child('query')!.elements().filter((e) => e.name === 'feature').map((f) => f.attr('var'));
    expect(features).toEqual(expect.arrayContaining(['urn:xmpp:carbons:2', 'urn:xmpp:ping', 'jabber:iq:roster']));
    const account = c.stanzas(await c.send(`<iq type='get' id='d2' to='alice@${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))[0]!;
    expect(account.child('query')!.elements().map((f) => f.attr('var'))).toContain('urn:xmpp:mam:2');
    const unknown = c.stanzas(await c.send("<iq type='get' id='u1'><query xmlns='jabber:iq:version:unknown'/></iq>"))[0]!;
    expect(unknown.attr('type')).toBe('error');
    expect(unknown.child('error')!.elements()[0]!.name).toBe('service-unavailable');
    const pong = c.stanzas(await c.send(`<iq type='get' id='p1' to='${DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>`))[0]!;
    expect(pong.attr('type')).toBe('result');
  });

  test('a chat to a user goes through the account; an unknown user gets service-unavailable; the recipient online gets it at once', async () => {
    const { alice, bob } = await aliceAndAvailableBob();
    const before = bob.received.length;
    await alice.send(`<message to='bob@${DOMAIN}' type='chat' id='m1'><body>hello bob</body></message>`);
    const got = bob.stanzas(bob.received.slice(before));
    expect(got).toHaveLength(1);
    expect(got[0]!.attrs).toMatchObject({ from: `alice@${DOMAIN}`, to: `bob@${DOMAIN}/desk`, type: 'chat' });
    expect(got[0]!.childText('body')).toBe('hello bob');
    expect(got[0]!.child('delay')).toBeUndefined();
    const unknown = alice.stanzas(await alice.send(`<message to='carol@${DOMAIN}' type='chat' id='m2'><body>hi</body></message>`))[0]!;
    expect(unknown.attr('type')).toBe('error');
    expect(unknown.child('error')!.elements()[0]!.name).toBe('service-unavailable');
  });

  test('offline: a message sent while the recipient had no session arrives with a delay after its initial presence, once', async () => {
    const alice = new TestClient(world);
    await alice.loginPlain('alice', 'alice-pw', 'phone');
    await alice.send(`<message to='bob@${DOMAIN}' type='chat'><body>while you were out</body></message>`);
    const bob = new TestClient(world);
    await bob.loginPlain('bob', 'bob-pw', 'desk');
    const delivered = bob.stanzas(await bob.send('<presence/>')).filter((s) => s.name === 'message');
    expect(delivered.map((m) => m.childText('body'))).toEqual(['while you were out']);
    expect(delivered[0]!.child('delay', 'urn:xmpp:delay')).toBeDefined();
    const again = new TestClient(world);
    await again.loginPlain('bob', 'bob-pw', 'tablet');
    expect(again.stanzas(await again.send('<presence/>')).filter((s) => s.name === 'message')).toEqual([]);
  });

  test('message types: normal and headline are kept with the stored message and reach the recipient as sent; no type or an unknown one is normal; chat stays chat', async () => {
    const { alice, bob } = await aliceAndAvailableBob();
    const before = bob.received.length;
    const sent: [string, string][] = [
      ["type='normal'", 'a normal one'],
      ["type='headline'", 'a headline'],
      ['', 'no type at all'],
      ["type='bogus'", 'an unknown type'],
      ["type='chat'", 'a chat'],
    ];
    for (const [type, body] of sent) await alice.send(`<message to='bob@${DOMAIN}' ${type}><body>${body}</body></message>`);
    const got = bob.stanzas(bob.received.slice(before));
    expect(got.map((m) => [m.attr('type'), m.childText('body')])).toEqual([
      ['normal', 'a normal one'],
      ['headline', 'a headline'],
      ['normal', 'no type at all'],
      ['normal', 'an unknown type'],
      ['chat', 'a chat'],
    ]);
    // What the account was asked to store: the type when not chat, nothing for chat.
    expect(world.accounts.get(`bob@${DOMAIN}`)!.records.map((r) => r.type)).toEqual(['normal', 'headline', 'normal', 'normal', undefined]);
  });

  test('groupchat to a user is refused with service-unavailable (cancel) and nothing is stored; a message of type error gets no answer', async () => {
    const { alice, bob } = await aliceAndAvailableBob();
    const before = bob.received.length;
    const [refusal] = alice.stanzas(await alice.send(`<message to='bob@${DOMAIN}' type='groupchat' id='g1'><body>to the room</body></message>`));
    expect(refusal!.attrs).toMatchObject({ type: 'error', id: 'g1', from: `bob@${DOMAIN}` });
    expect(refusal!.child('error')!.attr('type')).toBe('cancel');
    expect(refusal!.child('error')!.elements()[0]!.name).toBe('service-unavailable');
    expect(alice.stanzas(await alice.send(`<message to='bob@${DOMAIN}/desk' type='groupchat' id='g2'><body>to a resource</body></message>`))[0]!.child('error')!.elements()[0]!.name).toBe('service-unavailable');
    expect(alice.stanzas(await alice.send(`<message to='bob@${DOMAIN}' type='error' id='e1'><body>an error</body></message>`))).toEqual([]);
    expect(world.accounts.get(`bob@${DOMAIN}`)!.records).toEqual([]);
    expect(bob.received.length).toBe(before);
  });

  test('carbons: another resource with carbons enabled gets a sent copy; one without does not', async () => {
    const phone = new TestClient(world);
    await phone.loginPlain('alice', 'alice-pw', 'phone');
    const laptop = new TestClient(world);
    await laptop.loginPlain('alice', 'alice-pw', 'laptop');
    const tablet = new TestClient(world);
    await tablet.loginPlain('alice', 'alice-pw', 'tablet');
    expect(laptop.stanzas(await laptop.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>"))[0]!.attr('type')).toBe('result');
    const [l, t] = [laptop.received.length, tablet.received.length];
    await phone.send(`<message to='bob@${DOMAIN}' type='chat' id='m1'><body>from my phone</body></message>`);
    const carbon = laptop.stanzas(laptop.received.slice(l))[0]!;
    expect(carbon.child('sent', 'urn:xmpp:carbons:2')!.child('forwarded')!.child('message')!.childText('body')).toBe('from my phone');
    expect(tablet.received.length).toBe(t);
  });

  test('carbons: a headline is not copied (XEP-0280 6); a normal message is, with its type', async () => {
    const phone = new TestClient(world);
    await phone.loginPlain('alice', 'alice-pw', 'phone');
    const laptop = new TestClient(world);
    await laptop.loginPlain('alice', 'alice-pw', 'laptop');
    await laptop.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
    const l = laptop.received.length;
    await phone.send(`<message to='bob@${DOMAIN}' type='headline'><body>news</body></message>`);
    await phone.send(`<message to='bob@${DOMAIN}' type='normal'><body>a note</body></message>`);
    const carbons = laptop.stanzas(laptop.received.slice(l));
    expect(carbons.map((c) => [c.attr('type'), c.child('sent')!.child('forwarded')!.child('message')!.childText('body')])).toEqual([['normal', 'a note']]);
  });

  test('MAM: pages of the conversation store, forwards with after and backwards with before', async () => {
    const alice = new TestClient(world);
    await alice.loginPlain('alice', 'alice-pw', 'phone');
    for (let i = 1; i <= 5; i++) await alice.send(`<message to='bob@${DOMAIN}' type='chat'><body>m${i}</body></message>`);
    const query = (set: string) =>
      alice.send(`<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='Q'><set xmlns='http://jabber.org/protocol/rsm'>${set}</set></query></iq>`).then((e) => alice.stanzas(e));
    const first = await query('<max>2</max>');
    expect(first.filter((s) => s.name === 'message').map((m) => m.child('result')!.child('forwarded')!.child('message')!.childText('body'))).toEqual(['m1', 'm2']);
    const fin = first.at(-1)!.child('fin', 'urn:xmpp:mam:2')!;
    expect(fin.attr('complete')).toBeUndefined();
    const last = fin.child('set')!.childText('last')!;
    const second = await query(`<max>10</max><after>${last}</after>`);
    expect(second.filter((s) => s.name === 'message').map((m) => m.child('result')!.child('forwarded')!.child('message')!.childText('body'))).toEqual(['m3', 'm4', 'm5']);
    expect(second.at(-1)!.child('fin')!.attr('complete')).toBe('true');
    const lastPage = await query('<max>2</max><before/>');
    expect(lastPage.filter((s) => s.name === 'message').map((m) => m.child('result')!.child('forwarded')!.child('message')!.childText('body'))).toEqual(['m4', 'm5']);
    const unknown = await query('<after>nope</after>');
    expect(unknown[0]!.child('error')!.elements()[0]!.name).toBe('item-not-found');
  });

  test('a sender over its rate gets policy-violation errors instead of service, and recovers as time passes', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    const pings = (n: number) => Array.from({ length: n }, (_, i) => `<iq type='get' id='p${i}'><ping xmlns='urn:xmpp:ping'/></iq>`).join('');
    // The burst allows 200 stanzas at once; the queue too: send them in two halves.
    await c.send(pings(150));
    const over = c.stanzas(await c.send(pings(150)));
    expect(over.filter((s) => s.attr('type') === 'error').length).toBeGreaterThan(0);
    expect(over.find((s) => s.attr('type') === 'error')!.child('error')!.elements()[0]!.name).toBe('policy-violation');
    world.nowMs += 10_000;
    const after = c.stanzas(await c.send(pings(10)));
    expect(after.every((s) => s.attr('type') === 'result')).toBe(true);
    expect(c.closed).toBe(false);
  });

  test('a flood that overflows the stanza queue loses the stream with policy-violation', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    const flood = Array.from({ length: 500 }, (_, i) => `<iq type='get' id='p${i}'><ping xmlns='urn:xmpp:ping'/></iq>`).join('');
    expect(errorCondition(await c.send(flood))).toBe('policy-violation');
    expect(c.closed).toBe(true);
  });
});

describe('xmpp session: stream management (XEP-0198)', () => {
  test('enable, then <r/> is answered with the count of stanzas handled; <a/> beyond what was sent ends the stream', async () => {
    const c = new TestClient(world);
    const bound = await c.loginPlain('alice', 'alice-pw', 'phone');
    expect(bound).toBeDefined();
    const enabled = c.stanzas(await c.send("<enable xmlns='urn:xmpp:sm:3'/>"))[0]!;
    expect([enabled.name, enabled.xmlns, enabled.attr('resume')]).toEqual(['enabled', 'urn:xmpp:sm:3', undefined]);
    await c.send(`<iq type='get' id='p1' to='${DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq><presence/>`);
    const ack = c.stanzas(await c.send("<r xmlns='urn:xmpp:sm:3'/>"))[0]!;
    expect([ack.name, ack.attr('h')]).toEqual(['a', '2']);
    const resume = c.stanzas(await c.send("<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>"))[0]!;
    expect(resume.name).toBe('failed');
    expect(c.closed).toBe(false);
    expect(errorCondition(await c.send("<a xmlns='urn:xmpp:sm:3' h='99'/>"))).toBe('undefined-condition');
  });

  const SM = "xmlns='urn:xmpp:sm:3'";
  /** Alice on her phone with stream management and resumption, available; Bob available on his desk. */
  async function managedAlice(resume = true): Promise<{ alice: TestClient; bob: TestClient; id: string | undefined }> {
    const alice = new TestClient(world);
    await alice.loginPlain('alice', 'alice-pw', 'phone');
    const enabled = alice.stanzas(await alice.send(`<enable ${SM}${resume ? " resume='true'" : ''}/>`))[0]!;
    await alice.send('<presence/>');
    const bob = new TestClient(world);
    await bob.loginPlain('bob', 'bob-pw', 'desk');
    await bob.send('<presence/>');
    return { alice, bob, id: enabled.attr('id') };
  }
  const chat = (text: string) => `<message to='alice@${DOMAIN}' type='chat'><body>${text}</body></message>`;
  const names = (c: TestClient, events: Parameters<TestClient['stanzas']>[0]) => c.stanzas(events).map((e) => (e.name === 'message' ? `message:${e.childText('body')}` : e.name));

  test('with resumption: enabled with an id; a chat message comes with an ack request, and its ack reaches the hub', async () => {
    const { alice, bob, id } = await managedAlice();
    expect(id).toBe('id3id4'); // two of the node's fresh ids (random there)
    const before = alice.received.length;
    await bob.send(chat('one'));
    const got = alice.received.slice(before);
    expect(names(alice, got)).toEqual(['message:one', 'r']);
    const key = alice.stanzas(got)[0]!.child('stanza-id')!.attr('id');
    await alice.send(`<a ${SM} h='1'/>`);
    expect(world.hub.ackedRecords).toEqual([key]);
  });

  test('a dropped connection holds the session: what arrives meanwhile waits; the same user resumes with h and gets the rest, once', async () => {
    const { alice, bob, id } = await managedAlice();
    await bob.send(chat('before the drop'));
    expect(alice.session.detach()).toBe(true);
    const before = alice.received.length;
    await bob.send(chat('while away'));
    expect(alice.received.length).toBe(before); // nothing written: it waits in the queue
    expect(alice.session.unackedCount).toBe(2);
    const again = new TestClient(world);
    await again.login('alice', 'alice-pw');
    // The client had read the first message before the drop: h=1 acknowledges it, the second comes again.
    const resumed = await again.send(`<resume ${SM} previd='${id}' h='1'/>`);
    expect(names(again, resumed)).toEqual(['resumed', 'message:while away', 'r']);
    expect(again.stanzas(resumed)[0]!.attrs).toMatchObject({ previd: id, h: '1' });
    expect(world.hub.sessionsOf(`alice@${DOMAIN}`)).toEqual([again.session]);
    expect([again.session.resource, again.session.available, again.session.isBound]).toEqual(['phone', true, true]);
    await bob.send(chat('after'));
    expect(names(again, again.received.slice(-2))).toEqual(['message:after', 'r']);
    await again.send(`<a ${SM} h='3'/>`);
    expect(world.hub.ackedRecords).toHaveLength(3);
    // And the id goes on working for the next drop.
    expect(again.session.detach()).toBe(true);
    const third = new TestClient(world);
    await third.login('alice', 'alice-pw');
    expect(names(third, await third.send(`<resume ${SM} previd='${id}' h='3'/>`))).toEqual(['resumed']);
  });

  test('an unknown id, or another user\'s, fails with item-not-found, and the client binds anew', async () => {
    const { id } = await managedAlice();
    const mallory = new TestClient(world);
    await mallory.login('bob', 'bob-pw');
    const failed = mallory.stanzas(await mallory.send(`<resume ${SM} previd='${id}' h='0'/>`))[0]!;
    expect([failed.name, failed.elements()[0]!.name]).toEqual(['failed', 'item-not-found']);
    const bound = mallory.stanzas(await mallory.send("<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"))[0]!;
    expect(bound.attr('type')).toBe('result');
    expect(world.hub.resumeTarget(`alice@${DOMAIN}`, id!)).toBeDefined();
  });

  test('resuming a session whose old connection is still open takes it over: the old stream is told conflict', async () => {
    const { alice, id } = await managedAlice();
    const again = new TestClient(world);
    await again.login('alice', 'alice-pw');
    expect(names(again, await again.send(`<resume ${SM} previd='${id}' h='0'/>`))[0]).toBe('resumed');
    expect(alice.closed).toBe(true);
    expect(alice.received.some((e) => e.kind === 'stanza' && e.element.name === 'error' && e.element.child('conflict') !== undefined)).toBe(true);
    expect(world.hub.sessionsOf(`alice@${DOMAIN}`)).toEqual([again.session]);
  });

  test('an h beyond what was sent fails the resumption and leaves the held session alone', async () => {
    const { alice, id } = await managedAlice();
    alice.session.detach();
    const again = new TestClient(world);
    await again.login('alice', 'alice-pw');
    const failed = again.stanzas(await again.send(`<resume ${SM} previd='${id}' h='7'/>`))[0]!;
    expect([failed.name, failed.elements()[0]!.name]).toEqual(['failed', 'undefined-condition']);
    expect(world.hub.sessionsOf(`alice@${DOMAIN}`)).toEqual([alice.session]);
  });

  test('without resumption a drop ends the session; a stream that ends with stanzas unacknowledged hands their records back', async () => {
    const { alice, bob } = await managedAlice(false);
    await bob.send(chat('never acknowledged'));
    expect(alice.session.detach()).toBe(false);
    await alice.send('</stream:stream>');
    expect(world.hub.returnedRecords).toHaveLength(1);
    expect(world.hub.sessionsOf(`alice@${DOMAIN}`)).toEqual([]);
  });

  test('stream management is offered after login only, and <r/> before enabling ends the stream', async () => {
    const c = new TestClient(world);
    const features = c.stanzas(await c.send(TestClient.header()))[0]!;
    expect(features.child('sm', 'urn:xmpp:sm:3')).toBeUndefined();
    const d = new TestClient(world);
    await d.loginPlain('alice', 'alice-pw', 'phone');
    expect(errorCondition(await d.send("<r xmlns='urn:xmpp:sm:3'/>"))).toBe('unsupported-stanza-type');
  });
});

describe('xmpp session: presence', () => {
  test('subscription requests go to the hub with the bare JID; one to oneself is a bad request', async () => {
    const c = new TestClient(world);
    await c.loginPlain('alice', 'alice-pw', 'phone');
    await c.send(`<presence to='Bob@${DOMAIN}/desk' type='subscribe'/><presence to='bob@${DOMAIN}' type='subscribed'/>`);
    expect(world.hub.subscriptions).toEqual([`alice@${DOMAIN} subscribe bob@${DOMAIN}`, `alice@${DOMAIN} subscribed bob@${DOMAIN}`]);
    const self = c.stanzas(await c.send(`<presence to='alice@${DOMAIN}' type='subscribe'/>`))[0]!;
    expect(self.child('error')!.elements()[0]!.name).toBe('bad-request');
  });
});

describe('xmpp session: the end of a stream', () => {
  test('a chat message queued before the client closed its stream is still sent; after a stream error, queued stanzas are dropped', async () => {
    const alice = new TestClient(world);
    await alice.loginPlain('alice', 'alice-pw', 'phone');
    // Hold the queue with a roster get that waits, then close behind a message (what sendxmpp does).
    const account = world.accounts.get(`alice@${DOMAIN}`)!;
    const roster = account.roster.bind(account);
    const gated = () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      account.roster = async () => {
        await gate;
        return roster();
      };
      return release;
    };
    let release = gated();
    alice.session.receive(Buffer.from(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq><message to='bob@${DOMAIN}' type='chat'><body>last words</body></message>`));
    alice.session.end();
    release();
    await alice.session.idle();
    expect(world.accounts.get(`bob@${DOMAIN}`)!.records.map((r) => r.text)).toEqual(['last words']);

    const mallory = new TestClient(world);
    await mallory.loginPlain('alice', 'alice-pw', 'tablet');
    release = gated();
    mallory.session.receive(Buffer.from(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq><message to='bob@${DOMAIN}' type='chat'><body>never</body></message><bad`));
    mallory.session.end('policy-violation');
    release();
    await mallory.session.idle();
    expect(world.accounts.get(`bob@${DOMAIN}`)!.records.map((r) => r.text)).toEqual(['last words']);
  });
});

describe('xmpp session: receipts (XEP-0184) and chat states (XEP-0085)', () => {
  test('a receipt request travels with the message and its id; the receipt and chat states go to the hub as signals', async () => {
    const { alice, bob } = await aliceAndAvailableBob();
    const before = bob.received.length;
    await alice.send(`<message to='bob@${DOMAIN}' type='chat' id='m-1'><body>did you get this?</body><request xmlns='urn:xmpp:receipts'/></message>`);
    const got = bob.stanzas(bob.received.slice(before))[0]!;
    expect(got.attr('id')).toBe('m-1');
    expect(got.child('request', 'urn:xmpp:receipts')).toBeDefined();
    await bob.send(`<message to='alice@${DOMAIN}/phone' id='r-1'><received xmlns='urn:xmpp:receipts' id='m-1'/></message>`);
    await alice.send(`<message to='bob@${DOMAIN}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
    await alice.send(`<message to='bob@${DOMAIN}' type='chat'><unknown xmlns='urn:example'/></message>`);
    expect(world.hub.signals).toEqual([
      `bob@${DOMAIN} alice@${DOMAIN} {"kind":"receipt","id":"m-1"}`,
      `alice@${DOMAIN} bob@${DOMAIN} {"kind":"chatstate","state":"composing"}`,
    ]);
  });

  test('a signal as its recipient sees it: from the sender\'s bare JID, the receipt\'s id or the state element', () => {
    const receipt = signalMessage({ kind: 'receipt', id: 'm-1' }, `alice@${DOMAIN}`, `bob@${DOMAIN}/desk`);
    expect(receipt.toString()).toBe(`<message xmlns="jabber:client" type="chat" from="alice@${DOMAIN}" to="bob@${DOMAIN}/desk"><received xmlns="urn:xmpp:receipts" id="m-1"/></message>`);
    expect(signalMessage({ kind: 'chatstate', state: 'paused' }, `alice@${DOMAIN}`, `bob@${DOMAIN}/desk`).child('paused', 'http://jabber.org/protocol/chatstates')).toBeDefined();
  });

  test('a stored record keeps its type wherever it is shown: live or offline, as a sent carbon, in the archive; a record without one is chat', () => {
    const record = { key: 'n:1', direction: 'in' as const, from: `alice@${DOMAIN}`, to: [`bob@${DOMAIN}`], sentAtMs: 0, text: 'news' };
    const bare = `bob@${DOMAIN}`;
    for (const type of ['headline', 'normal'] as const) {
      const typed = { ...record, type };
      expect(incomingChat(typed, `${bare}/desk`, { bare, domain: DOMAIN, delayed: true }).attr('type')).toBe(type);
      expect(archivedMessage(typed, bare).attr('type')).toBe(type);
      const carbon = sentCarbon({ ...typed, direction: 'out' }, `${bare}/desk`, bare);
      expect([carbon.attr('type'), carbon.child('sent')!.child('forwarded')!.child('message')!.attr('type')]).toEqual([type, type]);
    }
    expect(incomingChat(record, `${bare}/desk`, { bare, domain: DOMAIN, delayed: false }).attr('type')).toBe('chat');
    expect(archivedMessage(record, bare).attr('type')).toBe('chat');
  });
});
