// A user's XMPP thread on a node with stream-managed sessions (XEP-0198): the roster's seen count
// advances past a message only once a client acknowledged it, so a message written to a connection
// that died before its client acknowledged it is not lost: it goes to the next session, here or at
// the next login anywhere. A client without stream management counts as having it at once.
import { describe, expect, test } from 'vitest';
import { type ImApp, UserThread } from '../../../actors/xmpp/userThread';
import { silentLog } from '../../../infra/log';
import type { MessageRecord } from '../../../storage/messages/messagesModel';
import type { PushOutcome, RoutedSession } from '../../../xmpp/ports';
import type { XmlElement } from '../../../xmpp/xml';

const ME = 'alice@lab.example';

/** The two logs the thread reads, in memory: the messages log (records arrive) and the roster's seen count. */
function world() {
  const messages = { byKey: new Map<string, MessageRecord>(), order: [] as string[] };
  const roster = { items: new Map(), seen: 0 };
  const listeners = new Set<(e: unknown) => void>();
  const messagesLog = {
    readNow: <T>(f: (s: typeof messages) => T) => f(messages),
    read: async <T>(f: (s: typeof messages) => T) => f(messages),
    refresh: async () => undefined,
    subscribe: (l: (e: unknown) => void) => (listeners.add(l), () => listeners.delete(l)),
  };
  const rosterLog = {
    readNow: <T>(f: (s: typeof roster) => T) => f(roster),
    read: async <T>(f: (s: typeof roster) => T) => f(roster),
    refresh: async () => undefined,
    append: async (ops: { type: string; count: number }[]) => {
      for (const op of ops) if (op.type === 'seen') roster.seen = Math.max(roster.seen, op.count);
      return [];
    },
  };
  const app = {
    address: ME,
    messages: async () => messagesLog,
    xmppRoster: async () => rosterLog,
    read: async (ref: string) => Buffer.from(ref),
    sendMessage: async () => ({ failed: [] }),
    xmppSignals$: { subscribe: () => ({ unsubscribe: () => undefined }) },
    sendXmppSignal: async () => undefined,
    xmppAvailable: () => false,
  } as unknown as ImApp;
  let n = 0;
  const arrive = (text: string) => {
    const key = `n:${++n}`;
    messages.byKey.set(key, { key, direction: 'in', from: 'bob@lab.example', to: [ME], ref: text, sentAtMs: n, recordedAtMs: n });
    messages.order.push(key);
    for (const l of listeners) l({ kind: 'changes', origin: 'remote', changes: [], seq: n, state: messages });
    return key;
  };
  const open = () => UserThread.open(app, { domain: 'lab.example', lookup: async () => undefined, log: silentLog });
  return { roster, arrive, open };
}

function session(resource: string, outcome: PushOutcome) {
  const got: string[] = [];
  const s: RoutedSession = {
    address: ME,
    resource,
    available: true,
    carbons: false,
    push: (stanza: XmlElement) => {
      got.push(`${stanza.childText('body')}${stanza.child('delay') ? ' (delayed)' : ''}`);
      return outcome;
    },
  };
  return { s, got };
}

describe('xmpp user thread: what counts as seen with stream management', () => {
  test('a message to a stream-managed client is seen only once acknowledged', async () => {
    const w = world();
    const thread = await w.open();
    const phone = session('phone', 'unacked');
    thread.sessions.add(phone.s);
    const key = w.arrive('hello');
    await thread.idle();
    expect(phone.got).toEqual(['hello']);
    expect(w.roster.seen).toBe(0);
    thread.acked([key]);
    expect(w.roster.seen).toBe(1);
  });

  test('a client without stream management counts as having it at once (as before)', async () => {
    const w = world();
    const thread = await w.open();
    thread.sessions.add(session('desk', 'written').s);
    w.arrive('hello');
    await thread.idle();
    expect(w.roster.seen).toBe(1);
  });

  test('a session that ended without acknowledging: the next session here gets the message, delayed', async () => {
    const w = world();
    const thread = await w.open();
    const phone = session('phone', 'unacked');
    thread.sessions.add(phone.s);
    const key = w.arrive('lost in transit');
    await thread.idle();
    thread.sessions.delete(phone.s);
    thread.ended(phone.s, [key]);
    await thread.idle();
    expect(w.roster.seen).toBe(0);
    const laptop = session('laptop', 'unacked');
    thread.sessions.add(laptop.s);
    thread.becameAvailable(laptop.s);
    await thread.idle();
    expect(laptop.got).toEqual(['lost in transit (delayed)']);
    thread.acked([key]);
    expect(w.roster.seen).toBe(1);
  });

  test('... or another available session here at once; and with none, the next login anywhere gets it', async () => {
    const w = world();
    const thread = await w.open();
    const phone = session('phone', 'unacked');
    const tablet = session('tablet', 'unacked');
    thread.sessions.add(phone.s);
    const key = w.arrive('one');
    await thread.idle();
    thread.sessions.add(tablet.s); // came after the message
    thread.sessions.delete(phone.s);
    thread.ended(phone.s, [key]);
    await thread.idle();
    expect(tablet.got).toEqual(['one (delayed)']);
    // The tablet's connection dies too, unacknowledged, and the thread closes with the last session.
    thread.sessions.delete(tablet.s);
    thread.ended(tablet.s, [key]);
    thread.close();
    const next = await w.open(); // a later login, on this node or another
    const desk = session('desk', 'written');
    next.sessions.add(desk.s);
    next.becameAvailable(desk.s);
    await next.idle();
    expect(desk.got).toEqual(['one (delayed)']);
    expect(w.roster.seen).toBe(1);
  });
});
