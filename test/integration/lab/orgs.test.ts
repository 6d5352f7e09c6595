// Issue 6 on the real lab: two organisations, each on its own NATS cluster, linked by leaf-node
// connections that carry only the global ring's subjects. A mail from user1@a.example to
// user1@b.example is read by its recipient over IMAP; its content blocks are held only by a.example's
// nodes; killing one of a.example's gateways does not stop the next mail. Both clusters take TLS and
// per-node keys only.
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sealConvergent } from '../../../crypto/convergent';
import { readOrganisation } from '../../../infra/files/identity';
import { isAlive } from '../../../infra/nats/process';
import { labTrouble, post, postJson, labDown } from './cli';
import { natsClientSecurity } from '../../../infra/nats/clientSecurity';
import { NatsTransport } from '../../../infra/nats/transport';
import { MemoryLog } from '../../../infra/log';
import { replyPrefix, subjects } from '../../../protocol/subjects';

const dir = join(tmpdir(), `post-lab-orgs-${process.pid}`);
let lab: any;
let labFile = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const user = (a: string) => lab.users.find((u: any) => u.address === a);
const nodeOf = (id: string) => lab.nodes.find((n: any) => n.id === id);

async function send(from: string, to: string, subject: string) {
  const u = user(from);
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: nodeOf(u.node).smtp.port, auth: { user: u.address, pass: u.password } });
  return t.sendMail({ from, to, subject, text: `${subject}\n` });
}

/** imapflow's "Command failed", with the command and the server's words. */
function imapFailure(e: unknown): Error {
  const x = e as { message?: string; executedCommand?: string; responseStatus?: string; responseText?: string };
  return x.responseStatus ? new Error(`${x.message}: ${x.executedCommand ?? '?'} -> ${x.responseStatus} ${x.responseText ?? ''}`) : (e as Error);
}

async function readSource(address: string, subject: string): Promise<Buffer> {
  const u = user(address);
  const c = new ImapFlow({ host: '127.0.0.1', port: nodeOf(u.node).imap.port, secure: false, auth: { user: u.address, pass: u.password }, logger: false });
  await c.connect().catch((e) => {
    throw imapFailure(e);
  });
  try {
    for (let i = 0; i < 60; i++) {
      const lock = await c.getMailboxLock('INBOX');
      try {
        const uids = await c.search({ subject }, { uid: true });
        if (uids && uids.length) {
          const m = await c.fetchOne(String(uids[0]), { source: true }, { uid: true });
          if (m && m.source) return m.source;
        }
      } finally {
        lock.release();
      }
      await sleep(250);
    }
    throw new Error(`"${subject}" never reached ${address}`);
  } catch (e) {
    throw imapFailure(e);
  } finally {
    await c.logout().catch(() => {});
  }
}

describe('lab: two organisations on their own NATS clusters', () => {
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const r = await post(['lab', 'up', '--nodes', '6', '--orgs', 'a.example,b.example', '--users', '1', '--nats-topology', 'per-org', '--dir', dir], { timeoutMs: 200_000 });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    lab = JSON.parse(readFileSync(labFile, 'utf8'));
  }, 240_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`lab after "${ctx.task.name}" failed:\n${labTrouble(lab)}`);
  });

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('each organisation is its own ring; its gateways meet in the global ring', async () => {
    expect(lab.orgs[1].nats).toHaveLength(3);
    expect(lab.orgs[1].nats).not.toEqual(lab.nats);
    const nodes = (await postJson(['ring', 'status', '--lab', labFile])).nodes;
    for (const n of nodes) {
      expect(n.state).toBe('ready');
      for (const m of n.leafSet) expect(nodes.find((x: any) => x.id === m).org).toBe(n.org);
    }
    const gateways = nodes.filter((n: any) => n.global);
    expect(gateways).toHaveLength(4);
    for (const g of gateways) expect(g.global.state).toBe('ready');
  }, 60_000);

  test("a mail from a.example to b.example is read over IMAP; its content stays on a.example's nodes", async () => {
    await send('user1@a.example', 'user1@b.example', 'across organisations');
    const source = await readSource('user1@b.example', 'across organisations');
    expect(source.toString()).toContain('across organisations');
    // The content block, as a.example stored it (convergent under a.example's secret).
    const secret = readOrganisation(lab.orgs[0].ca).convergenceSecret;
    const id = sealConvergent(secret, source).id.toString('hex');
    const aNode = lab.nodes.find((n: any) => n.org === 'a.example').id;
    const bNode = lab.nodes.find((n: any) => n.org === 'b.example').id;
    const inA = await postJson(['block', 'where', id, '--lab', labFile, '--node', aNode]);
    expect(inA.replicas).toHaveLength(3);
    for (const r of inA.replicas) expect(nodeOf(r).org).toBe('a.example');
    const inB = await postJson(['block', 'where', id, '--lab', labFile, '--node', bNode]);
    expect(inB.replicas).toEqual([]);
  }, 90_000);

  test("the lab's NATS (both clusters) refuses anonymous and plaintext clients; a node's key cannot listen to '>' or reach the other organisation", async () => {
    for (const urls of [lab.nats, lab.orgs[1].nats]) {
      await expect(NatsTransport.connect({ ...natsClientSecurity(urls, { caFile: lab.natsCa }), connectTimeoutMs: 3000 })).rejects.toThrow(/Authorization Violation/);
      await expect(NatsTransport.connect({ servers: urls.map((u: string) => u.replace('tls://', 'nats://')), connectTimeoutMs: 3000 })).rejects.toThrow();
    }
    const aNode = lab.nodes.find((n: any) => n.org === 'a.example');
    const bNode = lab.nodes.find((n: any) => n.org === 'b.example');
    const log = new MemoryLog({ level: 'warn' });
    const t = await NatsTransport.connect({ ...natsClientSecurity(lab.nats, { credsFile: join(aNode.data, 'nats', 'node.nk'), caFile: lab.natsCa }), inboxPrefix: replyPrefix(aNode.id), log });
    try {
      t.subscribe('>', () => {});
      t.publish(subjects.node(lab.orgs[1].ringId, bNode.id), new Uint8Array(1));
      await t.flush().catch(() => {});
      const refused = () => log.entries().map((e) => (e.error as Error | undefined)?.message ?? '');
      const wanted = ['Permissions Violation for Subscription to ">"', `Permissions Violation for Publish to "${subjects.node(lab.orgs[1].ringId, bNode.id)}"`];
      for (let i = 0; i < 100 && !wanted.every((w) => refused().includes(w)); i++) await sleep(50);
      for (const w of wanted) expect(refused()).toContain(w);
    } finally {
      await t.close();
    }
  }, 60_000);

  test("killing one of a.example's gateways does not stop the next mail", async () => {
    const alice = user('user1@a.example');
    const gateway = lab.nodes.find((n: any) => n.org === 'a.example' && n.gateway && n.id !== alice.node);
    process.kill(gateway.pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(gateway.pid); i++) await sleep(50);
    const info = await send('user1@a.example', 'user1@b.example', 'after a gateway died');
    expect(info.response).toMatch(/^250/);
    expect((await readSource('user1@b.example', 'after a gateway died')).toString()).toContain('after a gateway died');
    // And the other way round.
    await send('user1@b.example', 'user1@a.example', 'reply across');
    expect((await readSource('user1@a.example', 'reply across')).toString()).toContain('reply across');
  }, 120_000);

  test('nothing the nodes did in this lab was refused by NATS: their permissions cover the whole protocol', () => {
    const refused = lab.nodes.flatMap((n: any) => readFileSync(n.log, 'utf8').split('\n').filter((l: string) => /Permissions Violation/.test(l)));
    expect(refused).toEqual([]);
  });
});
