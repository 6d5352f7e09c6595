// Issue 16, HTTP Basic over TLS when configured: a lab started with `post lab up --tls` gives each node
// a certificate under a CA of the lab (lab.json's clientCa); the node's HTTP port then speaks HTTPS
// only, and lab.json's `caldav` says https://. Real clients over TLS, trusting only that CA: Python's
// caldav library (python3-caldav, through requests' REQUESTS_CA_BUNDLE) runs its whole flow
// (discovery, MKCALENDAR, PUT/GET/DELETE, a time-range query, sync-collection), and curl PROPFINDs with
// the right password (207) and a wrong one (401). A client speaking plain HTTP to the port gets no
// HTTP answer, so a password is never sent in clear to a node that has a certificate.
// The same certificate gives XMPP its STARTTLS: slixmpp (python3-slixmpp), trusting only the lab CA,
// logs in over TLS, and one with the system's trust store alone refuses the node; openssl s_client
// checks the certificate against the organisation's domain, as clients that connect by the JID do.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { post, labDown } from './cli';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('../clients/caldav_client.py', import.meta.url));
const XMPP_CLIENT = fileURLToPath(new URL('../clients/xmpp_client.py', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasCaldav = spawnSync(PYTHON, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0;
const hasSlixmpp = spawnSync(PYTHON, ['-c', 'import slixmpp'], { stdio: 'ignore' }).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'post-lab-caldav-tls-'));
let labFile = '';
const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));
const user1 = () => lab().users.find((u: { address: string }) => u.address === 'user1@lab.example');
const homeOf = (u: { node: string }) => lab().nodes.find((n: { id: string }) => n.id === u.node);

async function curl(url: string, userPassword: string): Promise<string> {
  const r = await run('curl', ['-sS', '--cacert', lab().clientCa, '-u', userPassword, '-X', 'PROPFIND', '-H', 'Depth: 0', '-o', '/dev/null', '-w', '%{http_code}', url], { timeout: 30_000 });
  return r.stdout.trim();
}

describe.skipIf(!hasCaldav)('lab --tls: CalDAV over HTTPS with real clients', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '2', '--users', '1', '--tls', '--dir', dir, '--no-dashboard'], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 200_000);

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('lab.json gives https:// CalDAV URLs and the CA that signed them', () => {
    expect(existsSync(lab().clientCa)).toBe(true);
    for (const node of lab().nodes) expect(node.caldav).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/dav\/$/);
  });

  test('python3-caldav, trusting the lab CA, discovers, writes, queries and syncs over TLS', async () => {
    const u = user1();
    let out: string;
    try {
      out = (await run(PYTHON, [CLIENT, homeOf(u).caldav, u.address, u.password], { timeout: 120_000, env: { ...process.env, REQUESTS_CA_BUNDLE: lab().clientCa } })).stdout;
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      throw new Error(`caldav client failed over TLS: ${x.stdout ?? ''}\n${x.stderr ?? ''}`);
    }
    const result = JSON.parse(out);
    expect(result.ok).toBe(true);
    expect(result.seen).toMatchObject({ sync_initial: 2 });
  }, 150_000);

  test('curl over TLS: the right password 207, a wrong one 401; plain HTTP to the port gets no HTTP answer', async () => {
    const u = user1();
    const url = homeOf(u).caldav;
    expect(await curl(url, `${u.address}:${u.password}`)).toBe('207');
    expect(await curl(url, `${u.address}:not-the-password`)).toBe('401');
    const plain = await fetch(url.replace('https://', 'http://'), { method: 'PROPFIND', headers: { depth: '0' }, signal: AbortSignal.timeout(10_000) }).then(
      (r) => `HTTP ${r.status}`,
      () => 'no HTTP answer',
    );
    expect(plain).toBe('no HTTP answer');
  }, 60_000);

  test.skipIf(!hasSlixmpp)('XMPP STARTTLS with the same certificate: slixmpp trusting the lab CA logs in; the system trust store alone refuses the node', async () => {
    const u = user1();
    const a = { jid: u.address, password: u.password, ...homeOf(u).xmpp };
    let out: string;
    try {
      out = (await run(PYTHON, [XMPP_CLIENT, 'tls', JSON.stringify({ a, ca: lab().clientCa })], { timeout: 120_000 })).stdout;
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      throw new Error(`xmpp client failed over TLS: ${x.stdout ?? ''}\n${x.stderr ?? ''}`);
    }
    const result = JSON.parse(out);
    expect(result.secured).toBe(true);
    expect(result.untrusting_refused).toMatch(/certificate verify failed/i);
    // slixmpp given an address checks the certificate against it; clients that connect by the JID's
    // domain (RFC 6120 13.7.2.1) check that name: the lab's certificate carries it too.
    const byDomain = spawnSync('openssl', ['s_client', '-starttls', 'xmpp', '-xmpphost', 'lab.example', '-connect', `${a.host}:${a.port}`, '-CAfile', lab().clientCa, '-verify_hostname', 'lab.example', '-verify_return_error'], {
      input: '',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(byDomain.stdout, byDomain.stderr).toContain('Verify return code: 0 (ok)');
  }, 150_000);
});
