// Python's smtplib (python3 subprocess, script written into the test's temp dir) against the TCP
// listener: EHLO, a bad command (500, session goes on), login, sendmail to two recipients, a
// malformed MAIL (501), RSET, a sendmail with one unknown recipient (partial), QUIT.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, tempDir, type RunningGateway } from './smtpFixture';

const script = String.raw`
import json, smtplib, sys

port = int(sys.argv[1])
out = {}
s = smtplib.SMTP('127.0.0.1', port, timeout=10)
out['ehlo'] = s.ehlo('python.example')[0]
out['features'] = sorted(s.esmtp_features.keys())
code, text = s.docmd('FROBNICATE')
out['bad'] = [code, text.decode()]
out['noop_after_bad'] = s.noop()[0]
out['login'] = s.login('alice@rice.example', 'correct horse')[0]
msg = 'From: alice@rice.example\r\nTo: bob@rice.example, carol@lip6.example\r\nSubject: from smtplib\r\n\r\nHello from Python, \u00e7a marche.\r\n'.encode('utf-8')
out['refused'] = s.sendmail('alice@rice.example', ['bob@rice.example', 'carol@lip6.example'], msg)
code, text = s.docmd('MAIL', 'FROM:<broken')
out['mail_bad'] = [code, text.decode()]
out['rset'] = s.rset()[0]
partial = s.sendmail('alice@rice.example', ['bob@rice.example', 'nobody@rice.example'], b'Subject: second\r\n\r\nTwo.\r\n')
out['partial'] = {k: [v[0], v[1].decode()] for k, v in partial.items()}
out['quit'] = s.quit()[0]
print(json.dumps(out))
`;

function runPython(path: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', [path, String(port)], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`smtplib client failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let running: RunningGateway | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

describe("Python's smtplib", () => {
  it('runs a full session: bad command answered and survived, login, sendmail, partial refusal, quit', async () => {
    running = await startGateway();
    const dir = tempDir('smtplib-');
    try {
      const path = join(dir.path, 'client.py');
      writeFileSync(path, script);
      const out = JSON.parse(await runPython(path, running.server.port));
      expect(out.ehlo).toBe(250);
      expect(out.features).toEqual(expect.arrayContaining(['8bitmime', 'auth', 'enhancedstatuscodes', 'pipelining', 'size', 'smtputf8']));
      expect(out.bad[0]).toBe(500);
      expect(out.bad[1]).toMatch(/^5\.5\.2 /);
      expect(out.noop_after_bad).toBe(250);
      expect(out.login).toBe(235);
      expect(out.refused).toEqual({});
      expect(out.mail_bad[0]).toBe(501);
      expect(out.rset).toBe(250);
      expect(out.partial).toEqual({ 'nobody@rice.example': [550, '5.1.1 <nobody@rice.example>: no such user here; check the address'] });
      expect(out.quit).toBe(221);
      expect(running.submission.inbox('bob@rice.example')).toHaveLength(2);
      expect(running.submission.inbox('carol@lip6.example')).toHaveLength(1);
      expect(Buffer.from(running.submission.accepted[0]!.raw).toString('utf8')).toContain('Hello from Python, ça marche.');
    } finally {
      dir.remove();
    }
  });
});
