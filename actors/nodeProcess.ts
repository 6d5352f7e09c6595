// A real node process (`post node start`): the composition root for real adapters. Loads the node's
// identity from its data folder, connects to NATS, runs the node's supervisor tree and its HTTP port,
// logs JSON lines to stdout, stops gracefully on SIGTERM/SIGINT, and exits non-zero if the supervisor
// escalates (so whatever started the process can restart it).
import { wallClock } from '../infra/clock';
import { readNode } from '../infra/files/identity';
import { startHttpServer } from '../infra/http/server';
import { JsonLog } from '../infra/log';
import { LmdbStore } from '../infra/store/lmdb';
import { FileHostedUsers } from '../infra/files/hostedUsers';
import { join } from 'node:path';
import { NatsTransport } from '../infra/nats/transport';
import { CryptoRandom } from '../infra/random';
import { NODE_STOP_GRACE_MS, OVERLAY_TIMINGS } from '../protocol/limits';
import { createNode, type PostNode } from './node';

export interface NodeProcessOptions {
  readonly dataDir: string;
  readonly natsUrls: readonly string[];
  readonly httpPort?: number;
  readonly imapPort?: number;
  readonly smtpPort?: number;
  readonly gateway?: boolean;
  /** The inbound MX port (Internet mail for local users), on an organisation's gateway node. */
  readonly mxPort?: number;
  /** The hosted user inbound mail is stored and notified under. */
  readonly gatewayUser?: string;
  /** Relay for non-POST recipients: host:port. */
  readonly smarthost?: { host: string; port: number };
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export async function runNodeProcess(opts: NodeProcessOptions): Promise<PostNode> {
  const files = readNode(opts.dataDir);
  const log = new JsonLog(process.stdout, { level: opts.logLevel ?? 'info', clock: wallClock, bindings: { node: files.cert.nodeId.slice(0, 12) } });
  const store = await LmdbStore.open(join(opts.dataDir, 'store'));
  const transport = await NatsTransport.connect({ servers: opts.natsUrls, name: files.cert.nodeId, log });
  const node = createNode(
    { transport, clock: wallClock, random: new CryptoRandom(), log, store },
    {
      cert: files.cert,
      signingSecretKey: files.signingSecretKey,
      trust: files.trust,
      convergenceSecret: files.convergenceSecret,
      replicationFactor: files.replicationFactor,
    },
    {
      timings: OVERLAY_TIMINGS,
      control: true,
      hostedUsers: new FileHostedUsers(opts.dataDir),
      mail: { imapPort: opts.imapPort, smtpPort: opts.smtpPort, mxPort: opts.mxPort, serverName: files.trust.org, smarthost: opts.smarthost },
      gatewayUser: opts.gatewayUser,
    },
  );
  node.start();
  const http = await startHttpServer({ state: () => node.status(), metrics: () => node.metrics.render() }, { port: opts.httpPort ?? 8025 });
  log.info('node.started', { nodeId: node.id, org: files.trust.org, nats: opts.natsUrls, http: http.port });
  let was = '';
  node.router.stateChanges$.subscribe((s) => {
    if (s === 'ready' && was !== 'ready') log.info('node.ready', { nodeId: node.id });
    was = s;
  });

  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('node.stopping', { why });
    const force = setTimeout(() => process.exit(code || 1), NODE_STOP_GRACE_MS);
    force.unref();
    try {
      await http.close();
      await node.stop();
    } finally {
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('SIGINT', () => void stop(0, 'SIGINT'));
  node.failed$.subscribe((e) => void stop(2, `supervisor escalated: ${e.message}`));
  node.router.stateChanges$.subscribe((s) => {
    if (s === 'failed') void stop(3, `router failed: ${node.router.status().failure?.reason ?? 'unknown'}`);
  });
  return node;
}
