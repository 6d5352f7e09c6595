// The XMPP listener on a real socket: STARTTLS with a certificate (the upgraded stream no longer
// offers it and still offers SASL), and PLAIN logins through the node's login guard (the IMAP
// throttle: wrong passwords beyond the free ones are turned away without a check).
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LoginGuard } from '../../../actors/mail/loginGuard';
import { startXmppServer, type XmppServer } from '../../../actors/xmpp/xmppServer';
import { wallClock } from '../../../infra/clock';
import { silentLog } from '../../../infra/log';
import { SimRandom } from '../../../infra/sim/random';
import { LoginThrottle } from '../../../mail/loginThrottle';
import { PostError } from '../../../protocol/errors';
import { selfSignedCertificate } from '../../integration/imap/serverFixture';

const HEADER = "<stream:stream to='lab.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const certificate = selfSignedCertificate();
let server: XmppServer;
let logins = 0;

beforeAll(async () => {
  // A clock that never moves for the throttle: its delay after the free failures never runs out.
  const guard = new LoginGuard({ throttle: new LoginThrottle({ now: () => 1_000_000 }), log: silentLog });
  server = await startXmppServer({
    port: 0,
    domain: 'lab.example',
    ...(certificate ? { tls: certificate } : {}),
    loginGuard: () => guard,
    login: async () => {
      logins++;
      throw new PostError('WRONG_PASSWORD', 'wrong password');
    },
    imAppFor: () => {
      throw new Error('nobody logs in here');
    },
    lookup: async () => undefined,
    clock: wallClock,
    random: new SimRandom('xmpp'),
    log: silentLog,
  });
});

afterAll(() => server.close());

/** A connection that reads until what it got so far matches. */
class Wire {
  private got = '';
  private waiting: { pattern: RegExp; resolve: (text: string) => void } | undefined;
  constructor(private stream: Duplex) {
    this.listen(stream);
  }
  private listen(stream: Duplex): void {
    stream.on('data', (d: Buffer) => {
      this.got += d.toString('utf8');
      this.check();
    });
  }
  private check(): void {
    if (this.waiting && this.waiting.pattern.test(this.got)) {
      const { resolve } = this.waiting;
      const text = this.got;
      this.got = '';
      this.waiting = undefined;
      resolve(text);
    }
  }
  send(text: string, until: RegExp): Promise<string> {
    const answer = new Promise<string>((resolve) => (this.waiting = { pattern: until, resolve }));
    this.stream.write(text);
    this.check();
    return answer;
  }
  async upgrade(socket: net.Socket): Promise<void> {
    socket.removeAllListeners('data');
    const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    this.stream = secure;
    this.listen(secure);
  }
  end(): void {
    this.stream.destroy();
  }
}

const connect = async (): Promise<{ wire: Wire; socket: net.Socket }> => {
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return { wire: new Wire(socket), socket };
};

describe('XMPP listener', () => {
  test.skipIf(!certificate)('STARTTLS: offered with a certificate, proceed, then a TLS stream offering SASL only', async () => {
    const { wire, socket } = await connect();
    const features = await wire.send(HEADER, /<\/stream:features>/);
    expect(features).toContain('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    expect(await wire.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", /<proceed/)).toContain('<proceed xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    await wire.upgrade(socket);
    const secured = await wire.send(HEADER, /<\/stream:features>/);
    expect(secured).not.toContain('starttls');
    expect(secured).toContain('<mechanism>PLAIN</mechanism>');
    wire.end();
  });

  test('wrong passwords are not-authorized; beyond the free failures the throttle answers without checking', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { wire } = await connect();
      await wire.send(HEADER, /<\/stream:features>/);
      const auth = Buffer.from(`\0mallory\0guess ${i}`).toString('base64');
      answers.push(await wire.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth>`, /<\/failure>/));
      wire.end();
    }
    expect(answers.slice(0, 3).every((a) => a.includes('<not-authorized/>'))).toBe(true);
    expect(answers.slice(3).every((a) => a.includes('<temporary-auth-failure/>'))).toBe(true);
    expect(logins).toBe(3);
  });
});
