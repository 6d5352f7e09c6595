// `post lab dashboard --lab FILE`: the lab's live dashboard (DESIGN section 8). Listens to every
// organisation's inspect subjects and to the scenario subject over the lab's NATS, keeps the latest
// view of each node, and serves the page, its event stream and a JSON snapshot over HTTP. Runs until
// SIGTERM or SIGINT. `post lab up` starts one of these detached and records it in lab.json.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { NatsTransport } from '../../infra/nats/transport';
import { DASHBOARD_LAB_REREAD_MS, DASHBOARD_TICK_MS } from '../../protocol/limits';
import { CommandError, defineCommand, helpText, intOption, parse, printJson, required } from '../args';
import { DashboardFeed } from '../dashboard/feed';
import { type DashboardServer, startDashboardServer } from '../dashboard/server';
import { DashboardState } from '../dashboard/state';
import { type LabFile, readLab } from '../../lab/labFile';
import { operatorNatsOptions } from '../../lab/nats';

export const DEFAULT_DASHBOARD_PORT = 8026;

export const dashboardSpec = defineCommand({
  usage: 'post lab dashboard --lab FILE [--port PORT] [--host HOST] [--json]',
  summary: 'Serve the live dashboard of a running lab (rings, nodes, actor trees, replica health, scenario runs) until stopped.',
  options: {
    lab: { type: 'string', description: 'the lab file (lab.json)' },
    port: { type: 'string', description: `HTTP port (default ${DEFAULT_DASHBOARD_PORT}; 0 picks a free one)` },
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1)' },
    json: { type: 'boolean', description: 'print {"url", "host", "port", "pid"} as JSON once listening' },
  },
});

export async function dashboardCommand(argv: string[]): Promise<void> {
  const { values, help } = parse(dashboardSpec, argv);
  if (help) return void console.log(helpText(dashboardSpec));
  const labPath = resolve(required(values.lab, 'lab', dashboardSpec.usage));
  const port = intOption(values.port, 'port', DEFAULT_DASHBOARD_PORT, { min: 0, max: 65_535 });
  const host = values.host ?? '127.0.0.1';
  const running = await runDashboard(labPath, { host, port });
  const info = { url: running.url, host, port: running.port, pid: process.pid };
  if (values.json) printJson(info);
  else console.log(`dashboard: ${running.url}`);
  const stop = () => void running.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Like `post node start`: never resolves; the process ends on a signal.
  await new Promise<never>(() => {});
}

export interface RunningDashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Connect to the lab's NATS, follow its rings and scenario runs, and serve the dashboard. */
export async function runDashboard(labPath: string, opts: { host: string; port: number }): Promise<RunningDashboard> {
  let lab: LabFile = readLab(labPath);
  const now = () => Date.now();
  const state = new DashboardState();
  let server: DashboardServer;
  try {
    server = await startDashboardServer(state, { host: opts.host, port: opts.port, now });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? `port ${opts.port} is in use; pick another with --port` : (e as Error).message;
    throw new CommandError(`cannot serve the dashboard on ${opts.host}:${opts.port}: ${why}`);
  }
  const emit = server.broadcast.bind(server);
  // lab.json may change (a restarted lab): the credentials of the lab as last read.
  const connect = (servers: readonly string[]) => NatsTransport.connect({ ...operatorNatsOptions(lab, servers), name: 'post-dashboard' });
  const feed = new DashboardFeed({ connect, state, emit, now });
  emit(state.setLab(lab, now()));
  try {
    await feed.follow(lab);
  } catch (e) {
    await feed.close();
    await server.close();
    throw new CommandError(`cannot reach the lab's NATS servers (${lab.nats.join(', ')}): is the lab up? (${(e as Error).message})`);
  }

  // lab.json changes as the lab starts nodes and restarts them: follow it (new pids, new rings).
  let labStamp = stamp(labPath);
  const reread = setInterval(() => {
    const s = stamp(labPath);
    if (s === undefined || s === labStamp) return;
    labStamp = s;
    try {
      lab = readLab(labPath);
    } catch {
      return; // half-written or removed (`lab down`): keep what we know
    }
    emit(state.setLab(lab, now()));
    feed.follow(lab).catch(() => {
      labStamp = undefined; // a new organisation's cluster is not up yet: try again next time
    });
  }, DASHBOARD_LAB_REREAD_MS);
  const tick = setInterval(() => emit(state.tick(now())), DASHBOARD_TICK_MS);
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${server.port}/`,
    port: server.port,
    async close() {
      clearInterval(reread);
      clearInterval(tick);
      await server.close();
      await feed.close();
    },
  };
}

function stamp(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}
