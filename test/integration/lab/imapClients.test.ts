// Issue 14: the real IMAP clients of test/integration/imap/ on a lab of node processes (NATS, LMDB,
// k = 3 replication), running the same scenarios (imap/clients/) they run against the memory store:
// mutt threading a large INBOX filled with MULTIAPPEND, mbsync, offlineimap with COMPRESS, fetchmail,
// and imapflow (a session; ESEARCH, BINARY and QUOTA over COMPRESS as the node's replies and /metrics
// show; IDLE; a wrong password). One lab for the file, each client its own user (spread over the
// nodes), so each starts from an empty mailbox. Debian clients missing here are skipped, saying so.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { labTarget, type LabFile } from '../imap/clientTarget';
import { fetchmailFetchesAndDeletes, fetchmailMissing } from '../imap/clients/fetchmail';
import { imapflowExtensions, imapflowIdle, imapflowRefusesWrongPassword, imapflowSession } from '../imap/clients/imapflow';
import { mbsyncMissing, mbsyncRoundTrip } from '../imap/clients/mbsync';
import { muttMissing, muttThreadsAndArchives } from '../imap/clients/mutt';
import { offlineimapMissing, offlineimapRoundTrip } from '../imap/clients/offlineimap';
import { labDown, labTrouble, post } from './cli';

const dir = join(tmpdir(), `post-lab-imap-clients-${process.pid}`);
/** The folder mutt threads: filled at ~150-200 messages/s on an idle 3-node lab (MULTIAPPEND), much less on a loaded one. */
const MUTT_MESSAGES = Number(process.env.LAB_MUTT_MESSAGES ?? 1_000);
const USERS = 7;
let lab: LabFile | undefined;
const target = (n: number) => labTarget(lab!, `user${n}@lab.example`);

for (const [client, missing] of [['mutt', muttMissing], ['mbsync', mbsyncMissing], ['offlineimap', offlineimapMissing], ['fetchmail', fetchmailMissing]] as const) {
  if (missing) console.warn(`skipping ${client} on the lab: ${missing}`);
}

describe('lab: real IMAP clients (issue 14)', () => {
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const r = await post(['lab', 'up', '--nodes', '3', '--users', String(USERS), '--dir', dir], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    lab = JSON.parse(readFileSync(r.stdout.trim(), 'utf8')) as LabFile;
  }, 200_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`lab after "${ctx.task.name}" failed:\n${labTrouble(lab)}`);
  });

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test.skipIf(muttMissing !== undefined)(`mutt threads a ${MUTT_MESSAGES}-message INBOX (filled with MULTIAPPEND), then saves one thread to Archive`, async () => {
    await muttThreadsAndArchives(target(1), MUTT_MESSAGES, { muttTimeoutMs: 150_000 });
  }, 300_000);

  test.skipIf(mbsyncMissing !== undefined)('mbsync syncs the node to a Maildir and a new Maildir message, a flag and a deletion back', async () => {
    await mbsyncRoundTrip(target(2));
  }, 120_000);

  test.skipIf(offlineimapMissing !== undefined)('offlineimap syncs every folder over COMPRESS=DEFLATE, and local changes back', async () => {
    await offlineimapRoundTrip(target(3));
  }, 120_000);

  test.skipIf(fetchmailMissing !== undefined)('fetchmail fetches INBOX into a file and deletes the messages on the node; --keep leaves them \\Seen', async () => {
    await fetchmailFetchesAndDeletes(target(4), false);
  }, 120_000);

  test('imapflow: a whole session (list, append, fetch, search, flags, MOVE, expunge, create)', async () => {
    await imapflowSession(target(5));
  }, 120_000);

  test('imapflow: ESEARCH, BINARY and QUOTA over COMPRESS=DEFLATE, as the node replied and counted them', async () => {
    await imapflowExtensions(target(6));
  }, 120_000);

  test('imapflow: IDLE sees a message appended from another connection; a wrong password is refused', async () => {
    const t = target(7);
    console.log(`lab: IDLE saw the appended message after ${await imapflowIdle(t)} ms`);
    await imapflowRefusesWrongPassword(t);
  }, 120_000);
});
