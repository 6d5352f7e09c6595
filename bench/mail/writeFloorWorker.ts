// A process of the replicated-write floor (writeFloor.ts): the least a write durable at k replicas
// costs on this machine through the lab's NATS servers, with none of POST's code between the parts.
//   replica  subscribes to its subject; each request is a value and the writer's signature over its
//            id (BLAKE2b-256 of the value, as a block's id is its hash): it hashes the value, verifies
//            the signature (Ed25519, libsodium) and commits the value durably to LMDB (the node's
//            settings: synced commits on lmdb-js's write thread, concurrent ones grouped), then answers.
//   host     serves clients on a loopback TCP port, one line a request: hashes and signs a value of
//            the size it was given, commits it to its own LMDB and sends it to every replica at once,
//            answers the line when all have committed. What a STORE (a head of about 1 KiB) or a
//            mail's block (its size) cannot do without, at the same fan-out as POST's k = 3 with the
//            hosting node one of the replicas. A line `W` sends the value to each replica's own
//            subject (a request each, as POST's puts go); a line `F` publishes it once on a subject
//            every replica also listens on and gathers their answers (NATS fans it out: the host
//            sends the bytes once instead of once per replica).
// Started by writeFloor.ts with the lab file, a role, a folder, the value's size, the shared subject
// and the replicas' own ones; tells its parent on the IPC channel when it is ready (the host with its port).
//   node --import tsx bench/mail/writeFloorWorker.ts LAB_FILE replica DIR BYTES SHARED SUBJECT
//   node --import tsx bench/mail/writeFloorWorker.ts LAB_FILE host DIR BYTES SHARED SUBJECT...
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { open } from 'lmdb';
import { blake2b } from '../../crypto/hash';
import { native } from '../../crypto/sodium';
import { NatsTransport } from '../../infra/nats/transport';
import type { TransportMessage } from '../../infra/ports';
import { readLab } from '../../lab/labFile';
import { operatorNatsOptions } from '../../lab/nats';

/** The writer's key: fixed, the replicas know it (a certificate check is cached in POST too). */
const SEED = Buffer.alloc(32, 7);
const REQUEST_TIMEOUT_MS = 10_000;
/** Keys the writes cycle through: a head is rewritten in place, not added. */
const KEYS = 512;
const SIGNATURE_BYTES = 64;

function keyPair() {
  const publicKey = Buffer.alloc(32);
  const secretKey = Buffer.alloc(64);
  native.crypto_sign_seed_keypair(publicKey, secretKey, SEED);
  return { publicKey, secretKey };
}

/** A durable put in one transaction with a counter beside it, as a replica's object put and its totals. */
function durableStore(dir: string) {
  mkdirSync(dir, { recursive: true });
  const env = open<Buffer, Buffer>({ path: dir, eventTurnBatching: false, overlappingSync: false, keyEncoding: 'binary', encoding: 'binary' });
  const values = env.openDB<Buffer, Buffer>({ name: 'objects', keyEncoding: 'binary', encoding: 'binary' });
  const counters = env.openDB<Buffer, Buffer>({ name: 'counters', keyEncoding: 'binary', encoding: 'binary' });
  const counterKey = Buffer.from('puts');
  let puts = 0;
  return (key: Buffer, value: Buffer) =>
    env.childTransaction(() => {
      values.putSync(key, value);
      const count = Buffer.alloc(8);
      count.writeBigUInt64BE(BigInt(++puts));
      counters.putSync(counterKey, count);
    });
}

/** To the lab's first NATS server, as its nodes connect (they take the servers in order). */
function connectToLab(labFile: string): Promise<NatsTransport> {
  const lab = readLab(labFile);
  return NatsTransport.connect(operatorNatsOptions(lab, [lab.nats[0]!]));
}

async function replica(labFile: string, dir: string, subjects: readonly string[]): Promise<void> {
  const { publicKey } = keyPair();
  const put = durableStore(dir);
  const nats = await connectToLab(labFile);
  const onWrite = (m: TransportMessage) => {
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length);
    const [signature, value] = [data.subarray(0, SIGNATURE_BYTES), data.subarray(SIGNATURE_BYTES)];
    const reply = m.reply;
    if (!reply) return;
    if (!native.crypto_sign_verify_detached(signature, Buffer.from(blake2b(value)), publicKey)) return nats.publish(reply, Buffer.from('bad signature'));
    put(value.subarray(0, 4), value).then(
      () => nats.publish(reply, Buffer.from('ok')),
      (e: Error) => nats.publish(reply, Buffer.from(`failed: ${e.message}`)),
    );
  };
  for (const subject of subjects) nats.subscribe(subject, onWrite);
  await nats.flush();
  process.send!({ ready: true });
}

/** Answers to fan-out writes: one inbox subscription, a subject per write, done when every replica answered. */
function fanOutAnswers(nats: NatsTransport, replicas: number) {
  const prefix = nats.newInbox();
  const waiting = new Map<string, { answers: string[]; resolve(answers: string[]): void }>();
  let next = 0;
  nats.subscribe(`${prefix}.*`, (m) => {
    const w = waiting.get(m.subject);
    if (!w) return;
    w.answers.push(Buffer.from(m.data).toString());
    if (w.answers.length === replicas) {
      waiting.delete(m.subject);
      w.resolve(w.answers);
    }
  });
  return (publish: (reply: string) => void): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const reply = `${prefix}.${next++}`;
      const timer = setTimeout(() => {
        const silent = replicas - (waiting.get(reply)?.answers.length ?? 0);
        waiting.delete(reply);
        reject(new Error(`fan-out write: ${silent} of ${replicas} replicas did not answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      waiting.set(reply, { answers: [], resolve: (answers) => (clearTimeout(timer), resolve(answers)) });
      publish(reply);
    });
}

async function host(labFile: string, dir: string, valueBytes: number, shared: string, replicas: readonly string[]): Promise<void> {
  const { secretKey } = keyPair();
  const put = durableStore(dir);
  const nats = await connectToLab(labFile);
  const fanOut = fanOutAnswers(nats, replicas.length);
  let sequence = 0;
  const write = async (once: boolean): Promise<void> => {
    // The frame is the signature, then the value.
    const frame = Buffer.alloc(SIGNATURE_BYTES + valueBytes, sequence & 0xff);
    const value = frame.subarray(SIGNATURE_BYTES);
    value.writeUInt32BE(sequence++ % KEYS, 0);
    native.crypto_sign_detached(frame.subarray(0, SIGNATURE_BYTES), Buffer.from(blake2b(value)), secretKey);
    const sent = once
      ? fanOut((reply) => nats.publish(shared, frame, { reply }))
      : Promise.all(replicas.map(async (s) => Buffer.from(await nats.request(s, frame, { timeoutMs: REQUEST_TIMEOUT_MS })).toString()));
    const [, answers] = await Promise.all([put(value.subarray(0, 4), value), sent]);
    const wrong = answers.find((a) => a !== 'ok');
    if (wrong) throw new Error(`a replica answered: ${wrong}`);
  };
  const server = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const once = buffered.startsWith('F');
        buffered = buffered.slice(nl + 1);
        write(once).then(
          () => socket.write('K\n'),
          (e: Error) => socket.write(`E ${e.message}\n`),
        );
      }
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ ready: true, port: typeof address === 'object' && address ? address.port : 0 });
  });
}

const [labFile, role, dir, bytesArg, shared, ...subjects] = process.argv.slice(2);
const valueBytes = Number(bytesArg);
if (!labFile || !dir || !Number.isSafeInteger(valueBytes) || valueBytes < 4 || !shared || subjects.length === 0 || (role !== 'host' && role !== 'replica')) {
  process.stderr.write('usage: writeFloorWorker.ts LAB_FILE (replica DIR BYTES SHARED SUBJECT | host DIR BYTES SHARED SUBJECT...)\n');
  process.exit(2);
}
// Gone with the parent: the benchmark stops its workers, and they must not outlive it if it dies.
process.on('disconnect', () => process.exit(0));
(role === 'replica' ? replica(labFile, dir, [subjects[0]!, shared]) : host(labFile, dir, valueBytes, shared, subjects)).catch((e: Error) => {
  process.stderr.write(`write floor ${role}: ${e.message}\n`);
  process.exit(1);
});
