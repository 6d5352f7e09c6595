#!/usr/bin/env node
// Run a command whose listeners bind loopback only (`post node start`: IMAP, SMTP, HTTP) and make
// them reachable from outside its container: each PORT=LOCAL pair listens on 0.0.0.0:PORT and pipes
// every connection to 127.0.0.1:LOCAL. Signals go to the command; this process exits with its code.
//
//   node infra/docker/expose.mjs 1143=11143 2525=12525 -- bin/post node start --imap 11143 --smtp 12525 ...
//
// (A bind-address option on `post node start` would make this unnecessary.)
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

const usage = 'usage: node infra/docker/expose.mjs PORT=LOCALPORT [PORT=LOCALPORT...] -- COMMAND [ARGS...]';
const split = process.argv.indexOf('--');
const pairs = split < 0 ? [] : process.argv.slice(2, split);
const command = split < 0 ? [] : process.argv.slice(split + 1);
const forwards = pairs.map((pair) => {
  const m = /^(\d{1,5})=(\d{1,5})$/.exec(pair);
  if (!m) fail(`expected PORT=LOCALPORT, got ${pair}\n${usage}`);
  return { port: Number(m[1]), local: Number(m[2]) };
});
if (command.length === 0) fail(`no command to run\n${usage}`);

/** The command, once started: a failure after that stops it first, so it is never left running alone. */
let child;

function fail(message) {
  console.error(`expose: ${message}`);
  if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(2);
  child.removeAllListeners('exit');
  child.once('exit', () => process.exit(2));
  child.kill('SIGTERM');
}

const host = process.env.EXPOSE_HOST ?? '0.0.0.0';
const servers = forwards.map(({ port, local }) => {
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: local });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Either side closing or failing ends both (the command may not listen yet: the client retries).
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', (e) => fail(`cannot listen on ${host}:${port}: ${e.message}`));
  server.listen(port, host);
  return server;
});

child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
child.on('error', (e) => fail(`cannot run ${command[0]}: ${e.message}`));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  for (const server of servers) server.close();
  process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15));
});
