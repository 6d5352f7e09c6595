// Python's imaplib (python3 subprocess) against the TCP server: synchronising literals in APPEND
// and LOGIN, LIST, SELECT, FETCH, SEARCH, STORE, COPY, UID commands, EXPUNGE, LOGOUT.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type RunningServer } from './serverFixture';

const script = String.raw`
import imaplib, json, sys

port = int(sys.argv[1])
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
out['capabilities'] = sorted(m.capabilities)
# A literal password forces a synchronising literal in LOGIN.
m.literal = b'correct horse'
out['login'] = m._simple_command('LOGIN', 'alice@lab.example')[0]
m.state = 'AUTH'
typ, data = m.list()
out['list'] = [d.decode() for d in data]
typ, data = m.create('Reports')
out['create'] = typ
msg = b'From: py@example.org\r\nTo: alice@lab.example\r\nSubject: From Python\r\n\r\nHello from imaplib.\r\n'
typ, data = m.append('INBOX', '(\\Flagged)', imaplib.Time2Internaldate(1700000000), msg)
out['append'] = [typ, data[0].decode()]
typ, data = m.select('INBOX')
out['select'] = [typ, data[0].decode()]
typ, data = m.fetch('1', '(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[TEXT])')
out['fetch'] = [part.decode() if isinstance(part, bytes) else [p.decode() for p in part] for part in data]
typ, data = m.search(None, 'FROM', '"py@example.org"', 'FLAGGED')
out['search'] = data[0].decode()
typ, data = m.store('1', '+FLAGS', '(\\Deleted)')
out['store'] = [d.decode() for d in data]
typ, data = m.copy('1', 'Reports')
out['copy'] = typ
typ, data = m.uid('SEARCH', 'ALL')
out['uid_search'] = data[0].decode()
typ, data = m.expunge()
out['expunge'] = [d.decode() for d in data if d]
typ, data = m.status('Reports', '(MESSAGES UIDNEXT)')
out['status'] = data[0].decode()
typ, data = m.select('Reports')
typ, data = m.uid('FETCH', '1:*', '(UID FLAGS)')
out['uid_fetch'] = [d.decode() for d in data]
m.close()
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;

function runPython(path: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', [path, String(port)], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`imaplib client failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

describe("Python's imaplib", () => {
  it('runs a full session', async () => {
    running = await startTestServer();
    const dir = mkdtempSync(join(tmpdir(), 'imaplib-'));
    try {
      const path = join(dir, 'client.py');
      writeFileSync(path, script);
      const out = JSON.parse(await runPython(path, running.server.port));
      expect(out.capabilities).toEqual(expect.arrayContaining(['IMAP4REV1', 'IDLE', 'UIDPLUS', 'AUTH=PLAIN']));
      expect(out.login).toBe('OK');
      expect(out.list).toContain('(\\HasNoChildren) "/" "INBOX"');
      expect(out.list).toContain('(\\HasNoChildren \\Sent) "/" "Sent"');
      expect(out.create).toBe('OK');
      expect(out.append).toEqual(['OK', '[APPENDUID 5000 1] APPEND completed']);
      expect(out.select).toEqual(['OK', '1']);
      // BODY[TEXT] (not PEEK) sets \Seen before the response is built, so FLAGS already has it.
      expect(out.fetch[0][0]).toMatch(/^1 \(FLAGS \(\\Flagged \\Seen \\Recent\) RFC822\.SIZE 90 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{24\}$/);
      expect(out.fetch[0][1]).toBe('Subject: From Python\r\n\r\n');
      expect(out.fetch[1][1]).toBe('Hello from imaplib.\r\n');
      expect(out.fetch[2]).toBe(')');
      expect(out.search).toBe('1');
      expect(out.store).toEqual(['1 (FLAGS (\\Flagged \\Seen \\Deleted \\Recent))']);
      expect(out.copy).toBe('OK');
      expect(out.uid_search).toBe('1');
      expect(out.expunge).toEqual(['1']);
      expect(out.status).toBe('"Reports" (MESSAGES 1 UIDNEXT 2)');
      expect(out.uid_fetch).toEqual(['1 (UID 1 FLAGS (\\Flagged \\Seen \\Deleted \\Recent))']);
      expect(out.logout).toBe('BYE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
