// Issue 12 on the simulator: the router drops forged, replayed, misaddressed and unsigned overlay
// frames (and counts them), so spoofed heartbeats cannot keep a dead node in leaf sets; the control
// service takes only what a certified operator signed, charges an operator's data to its own quota,
// and seals what it answers a user to that user.
import { describe, expect, test } from 'vitest';
import { OverlayChannel } from '../../actors/overlayChannel';
import { issueNodeCertificate, issueOperatorCertificate, verifyNodeCertificateSync } from '../../crypto/certificates';
import { type OperatorSigner, signControl } from '../../crypto/controlAuth';
import { sealToNode } from '../../crypto/nodeSeal';
import { openSealed } from '../../crypto/notification';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import type { Transport } from '../../infra/ports';
import { BlockPutBegin, BlockPutEnd, BlockPutPiece, ControlReply, MessageListRequest, SignedControl, StatusRequest } from '../../protocol/control';
import { decodeFrame } from '../../protocol/frame';
import type { OperatorRole } from '../../protocol/identity';
import { Heartbeat, OverlayAuth } from '../../protocol/overlay';
import { FrameRefused } from '../../protocol/refusal';
import { subjects } from '../../protocol/subjects';
import { OVERLAY_TIMINGS } from '../../protocol/limits';
import { SimCluster } from '../../scenarios/sim/cluster';
import type { SimRandom } from '../../infra/sim/random';
import { simSeed, withSeed } from './seed';

/** The test's own draws (keys, nonces, data), from the seeded source: a seed replays a run exactly. */
const draws = new WeakMap<SimCluster, SimRandom>();
const randomBytes = (cluster: SimCluster, n: number): Uint8Array => {
  let r = draws.get(cluster);
  if (!r) draws.set(cluster, (r = cluster.random.fork('bus-auth-test')));
  return r.bytes(n);
};

/** Forged-frame counts of a node's /metrics, by reason. */
function forgedCounts(metrics: string): Record<string, number> {
  return Object.fromEntries([...metrics.matchAll(/^post_overlay_forged_total\{reason="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('overlay frames are authenticated', () => {
  test('spoofed, replayed, misaddressed and insider-forged heartbeats do not keep a killed node in leaf sets', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(121), checkInvariants: true });
    await withSeed(cluster, async () => {
      await cluster.addNodes(12, 50);
      expect(await cluster.runUntil(() => cluster.allReady(), 30_000)).toBe(true);
      await cluster.runFor(3_000);
      const ring = cluster.ca.ringId;
      const victim = cluster.live()[4]!.id;
      const attacker = cluster.network.connect('attacker');
      // Record the victim's real envelopes for a while.
      const recorded: { subject: string; data: Uint8Array }[] = [];
      const tap = attacker.subscribe(subjects.node(ring, '*'), (m) => {
        const f = decodeFrame(m.data);
        if (f.ok && f.frame.kind === OverlayAuth.kind && (f.frame.body as any).from === victim) recorded.push({ subject: m.subject, data: m.data });
      });
      await cluster.runFor(2_000);
      tap.unsubscribe();
      expect(recorded.length).toBeGreaterThan(0);
      // An insider: a node the CA certified, not in the ring, claiming to be the victim inside its own envelope.
      const keys = await signingKeyPairFromSeed(randomBytes(cluster, 32));
      const insiderCert = await issueNodeCertificate(cluster.ca, keys, { nowMs: cluster.clock.now() });
      const insider = new OverlayChannel({ ringId: ring, cert: insiderCert, signingSecretKey: keys.secretKey, clock: cluster.clock, verifyPeer: (c, n) => verifyNodeCertificateSync(c, cluster.ca, n) });

      await cluster.kill(victim);
      const others = cluster.liveIds();
      const spoof = () => {
        for (const id of others) {
          const subject = subjects.node(ring, id);
          attacker.publish(subject, Heartbeat.encode({ from: victim }));
          attacker.publish(subject, insider.seal({ kind: Heartbeat, body: { from: victim } }, id));
        }
        for (const r of recorded) {
          attacker.publish(r.subject, r.data); // replayed to its receiver
          attacker.publish(subjects.node(ring, others[0]!), r.data); // and to another node
        }
      };
      const bound = OVERLAY_TIMINGS.suspicionTimeoutMs + 3 * OVERLAY_TIMINGS.heartbeatIntervalMs;
      let elapsed = 0;
      while (elapsed < bound && cluster.live().some((n) => n.router.leafSet().includes(victim))) {
        spoof();
        await cluster.runFor(200);
        elapsed += 200;
      }
      expect(cluster.live().filter((n) => n.router.leafSet().includes(victim)).map((n) => n.id)).toEqual([]);
      const counts = cluster.live().map((n) => forgedCounts(n.metrics.render()));
      const total = (reason: string) => counts.reduce((sum, c) => sum + (c[reason] ?? 0), 0);
      for (const reason of ['unsigned', 'wrong_sender', 'replayed', 'misaddressed']) expect(total(reason), reason).toBeGreaterThan(0);
      expect(cluster.log.entries().some((e) => e.event === 'overlay.forged')).toBe(true);
      expect(cluster.violations).toEqual([]);
      // The ring routes correctly still.
      const r = await cluster.checkRoutes(200);
      expect(r.wrongRoot).toEqual([]);
      expect(r.failed).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('an unauthenticated or malformed request on a node subject is refused at once', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(122) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(4, 50);
      expect(await cluster.runUntil(() => cluster.allReady(), 30_000)).toBe(true);
      const [a, b] = cluster.live();
      const attacker = cluster.network.connect('attacker');
      const ask = (data: Uint8Array) => cluster.settle(attacker.request(subjects.node(cluster.ca.ringId, a!.id), data, { timeoutMs: 60_000 }), 1_000);
      const codeOf = (bytes: Uint8Array) => {
        const r = FrameRefused.decode(bytes);
        return r.ok ? r.body.code : `not a refusal: ${r.reason}`;
      };
      expect(codeOf(await ask(new Uint8Array([0x93, 1, 2])))).toBe('BAD_FRAME');
      expect(codeOf(await ask(Heartbeat.encode({ from: b!.id })))).toBe('UNSIGNED');
    });
    await cluster.stop();
  }, 60_000);
});

describe('control requests', () => {
  async function controlRing(seed: number) {
    const cluster = await SimCluster.create({ seed });
    for (let i = 0; i < 5; i++) {
      await cluster.addNode({ control: true, quotaBytes: 64 * 1024 });
      await cluster.runFor(50);
    }
    expect(await cluster.runUntil(() => cluster.allReady(), 30_000)).toBe(true);
    return cluster;
  }

  const operator = async (cluster: SimCluster, name: string, roles: OperatorRole[]): Promise<OperatorSigner> => {
    const keys = await signingKeyPairFromSeed(randomBytes(cluster, 32));
    return { cert: await issueOperatorCertificate(cluster.ca, { name, signingKey: keys.publicKey, roles }, { nowMs: cluster.clock.now() }), secretKey: keys.secretKey };
  };

  /**
   * A control request over the simulated network, signed by `op`; made as a user: signed by the
   * user's key too and, unless `clear`, sealed to the node's key.
   */
  async function ask(cluster: SimCluster, via: Transport, nodeId: string, request: Uint8Array, op?: OperatorSigner, userSecretKey?: Uint8Array, clear = false) {
    const sealed = userSecretKey !== undefined && !clear;
    const body = sealed ? sealToNode(cluster.nodes.get(nodeId)!.router.cert.signingKey, request) : request;
    const fields = { ringId: cluster.ca.ringId, nodeId, timeMs: Math.floor(cluster.clock.now()), nonce: randomBytes(cluster, 16), request: body };
    const bytes = op
      ? SignedControl.encode({ operator: op.cert, nodeId, timeMs: fields.timeMs, nonce: fields.nonce, request: body, sealed, ...signControl(fields, op, userSecretKey) })
      : request;
    const reply = ControlReply.decode(await cluster.settle(via.request(subjects.control(cluster.ca.ringId, nodeId), bytes, { timeoutMs: 60_000 })));
    if (!reply.ok) throw new Error(reply.reason);
    return reply.body;
  }

  test("an operator's data counts against its own quota; a transfer is only its opener's", async () => {
    const cluster = await controlRing(simSeed(123));
    await withSeed(cluster, async () => {
      const via = cluster.network.connect('operator');
      const node = cluster.live()[0]!.id;
      const alice = await operator(cluster, 'alice', ['store']);
      const bob = await operator(cluster, 'bob', ['store']);
      const put = async (op: OperatorSigner, data: Uint8Array) => {
        const begin = await ask(cluster, via, node, BlockPutBegin.encode({}), op);
        const { session } = JSON.parse(begin.json!);
        await ask(cluster, via, node, BlockPutPiece.encode({ session, seq: 0, data }), op);
        return ask(cluster, via, node, BlockPutEnd.encode({ session, pieces: 1 }), op);
      };
      // A quota of 64 KiB per replica holds one 40 KiB block: each put takes a majority of 3 of the 5
      // nodes, so Alice's third put at the latest finds no majority with room left.
      expect(await put(alice, randomBytes(cluster, 40 * 1024))).toMatchObject({ ok: true });
      let over: Awaited<ReturnType<typeof put>> | undefined;
      for (let i = 0; i < 3 && !over; i++) {
        const r = await put(alice, randomBytes(cluster, 40 * 1024));
        if (!r.ok) over = r;
      }
      expect(`${over?.code} ${over?.error}`).toMatch(/QUOTA_EXCEEDED/);
      // Another operator is charged apart.
      expect(await put(bob, randomBytes(cluster, 40 * 1024))).toMatchObject({ ok: true });
      // Bob cannot feed (or end) Alice's transfer.
      const { session } = JSON.parse((await ask(cluster, via, node, BlockPutBegin.encode({}), alice)).json!);
      expect(await ask(cluster, via, node, BlockPutPiece.encode({ session, seq: 0, data: new Uint8Array(8) }), bob)).toMatchObject({ ok: false, code: 'NOT_AUTHORISED' });
      // An operator without the store role cannot store at all; anyone certified may look.
      const viewer = await operator(cluster, 'viewer', []);
      expect(await ask(cluster, via, node, BlockPutBegin.encode({}), viewer)).toMatchObject({ ok: false, code: 'NOT_AUTHORISED' });
      expect(await ask(cluster, via, node, StatusRequest.encode({}), viewer)).toMatchObject({ ok: true });
      expect(await ask(cluster, via, node, StatusRequest.encode({}))).toMatchObject({ ok: false, code: 'UNSIGNED' });
    });
    await cluster.stop();
  }, 120_000);

  test("a request made as a user needs that user's signature, travels sealed to the node, and its answer is sealed to the user", async () => {
    const cluster = await controlRing(simSeed(124));
    await withSeed(cluster, async () => {
      const host = cluster.live()[1]!;
      const app = await cluster.addUser('carol@sim.example', 'pw-carol', host);
      const dave = await cluster.addUser('dave@sim.example', 'pw-dave', cluster.live()[2]!);
      const via = cluster.network.connect('operator');
      const op = await operator(cluster, 'ops', ['store', 'admin']);
      const list = MessageListRequest.encode({ user: 'carol@sim.example' });
      expect(await ask(cluster, via, host.id, list, op)).toMatchObject({ ok: false, code: 'NOT_AUTHORISED' });
      expect(await ask(cluster, via, host.id, list, op, dave.user.signing.secretKey)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
      // Made as Carol, but in clear on the bus: refused (her request's content is hers).
      expect(await ask(cluster, via, host.id, list, op, app.user.signing.secretKey, true)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
      const reply = await ask(cluster, via, host.id, list, op, app.user.signing.secretKey);
      expect(reply).toMatchObject({ ok: true });
      expect(reply.json).toBeUndefined();
      expect(openSealed(reply.sealed!, dave.user.box)).toBeUndefined();
      expect(JSON.parse(Buffer.from(openSealed(reply.sealed!, app.user.box)!).toString('utf8'))).toEqual([]);
      // Carol is not hosted on another node: nothing is done there in her name.
      expect(await ask(cluster, via, cluster.live()[3]!.id, list, op, app.user.signing.secretKey)).toMatchObject({ ok: false, code: 'UNKNOWN_USER' });
    });
    await cluster.stop();
  }, 120_000);
});
