// A process of the replicated-write floor (writeFloor.ts): the least a write durable at k replicas
// costs on this machine through the lab's NATS servers, with none of POST's code between the parts.
//   replica  subscribes to its subject; each request is a writer's signature and a head-sized
//            value: it verifies the signature (Ed25519, libsodium) and commits the value durably to
//            LMDB (the node's settings: synced commits on lmdb-js's write thread, concurrent ones
//            grouped), then answers.
//   host     serves clients on a loopback TCP port, one line a request: signs a value, commits it
//            to its own LMDB and sends it to every replica at once, answers the line when all have
//            committed. What a STORE cannot do without, at the same fan-out as POST's k = 3 with the
//            hosting node one of the replicas.
// Started by writeFloor.ts with the lab file, a role and a folder; tells its parent on the IPC channel
// when it is ready (the host with its port).
//   node --import tsx bench/mail/writeFloorWorker.ts LAB_FILE replica DIR SUBJECT
//   node --import tsx bench/mail/writeFloorWorker.ts LAB_FILE host DIR SUBJECT...
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { open } from 'lmdb';
import { native } from '../../crypto/sodium';
import { NatsTransport } from '../../infra/nats/transport';
import { readLab } from '../../lab/labFile';
import { operatorNatsOptions } from '../../lab/nats';

/** The value each write stores: about a STORE's head on the lab (0.7-1.4 KiB measured). */
const FLOOR_VALUE_BYTES = 1024;
/** The writer's key: fixed, the replicas know it (a certificate check is cached in POST too). */
const SEED = Buffer.alloc(32, 7);
const REQUEST_TIMEOUT_MS = 10_000;
/** Keys the writes cycle through: a head is rewritten in place, not added. */
const KEYS = 512;

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

async function replica(labFile: string, dir: string, subject: string): Promise<void> {
  const { publicKey } = keyPair();
  const put = durableStore(dir);
  const nats = await connectToLab(labFile);
  nats.subscribe(subject, (m) => {
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length);
    const [signature, value] = [data.subarray(0, 64), data.subarray(64)];
    const reply = m.reply;
    if (!reply) return;
    if (!native.crypto_sign_verify_detached(signature, value, publicKey)) return nats.publish(reply, Buffer.from('bad signature'));
    put(value.subarray(0, 4), value).then(
      () => nats.publish(reply, Buffer.from('ok')),
      (e: Error) => nats.publish(reply, Buffer.from(`failed: ${e.message}`)),
    );
  });
  await nats.flush();
  process.send!({ ready: true });
}

async function host(labFile: string, dir: string, replicas: readonly string[]): Promise<void> {
  const { secretKey } = keyPair();
  const put = durableStore(dir);
  const nats = await connectToLab(labFile);
  let sequence = 0;
  const write = async (): Promise<void> => {
    // The frame is the signature, then the value.
    const frame = Buffer.alloc(64 + FLOOR_VALUE_BYTES, sequence & 0xff);
    const value = frame.subarray(64);
    value.writeUInt32BE(sequence++ % KEYS, 0);
    native.crypto_sign_detached(frame.subarray(0, 64), value, secretKey);
    const answers = await Promise.all([put(value.subarray(0, 4), value).then(() => 'ok'), ...replicas.map(async (s) => Buffer.from(await nats.request(s, frame, { timeoutMs: REQUEST_TIMEOUT_MS })).toString())]);
    const wrong = answers.find((a) => a !== 'ok');
    if (wrong) throw new Error(`a replica answered: ${wrong}`);
  };
  const server = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        buffered = buffered.slice(nl + 1);
        write().then(
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

const [labFile, role, dir, ...subjects] = process.argv.slice(2);
if (!labFile || !dir || subjects.length === 0 || (role !== 'host' && role !== 'replica')) {
  process.stderr.write('usage: writeFloorWorker.ts LAB_FILE (replica DIR SUBJECT | host DIR SUBJECT...)\n');
  process.exit(2);
}
// Gone with the parent: the benchmark stops its workers, and they must not outlive it if it dies.
process.on('disconnect', () => process.exit(0));
(role === 'replica' ? replica(labFile, dir, subjects[0]!) : host(labFile, dir, subjects)).catch((e: Error) => {
  process.stderr.write(`write floor ${role}: ${e.message}\n`);
  process.exit(1);
});
