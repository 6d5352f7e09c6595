// Before the year runs: the bench's shortcuts checked against the real code, and the sizes the real
// formats give the records a message leaves behind, printed so a reader can check the arithmetic.
//   - putData's blocks by arithmetic (dataBlocks.ts) = what writeBlocks puts, at the default limits
//     and at tiny ones (deep manifest trees);
//   - mail layout records by arithmetic (layouts.ts) = what encodeMailLayout writes;
//   - placement (placement.ts) = overlay kClosest, on both rings;
//   - the log accounting (logAccount.ts with its state shadows) = the real LogWriter over the
//     in-memory StorageApi, for a folder and a sent-mail log: blocks and head, to the byte.
import { SimRandom } from '../../infra/sim/random';
import { BLOCK_CHUNK_BYTES_MAX, LOG_PENDING_OPS_MAX, LOG_SNAPSHOT_ENTRIES_MAX, MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX, MANIFEST_ENTRIES_MAX } from '../../protocol/limits';
import { BLOCK_REF_BYTES } from '../../storage/blocks';
import { folderLogAddress } from '../../storage/folders/folderLogs';
import { folderModel } from '../../storage/folders/folderModel';
import type { FolderOp } from '../../storage/folders/folderOps';
import { logAddressFor } from '../../storage/log/logAddress';
import type { LogModel } from '../../storage/log/logModel';
import { LogWriter } from '../../storage/log/logWriter';
import { type MessagesOp, messagesModel } from '../../storage/messages/messagesModel';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { round } from '../stats';
import { checkAgainstWriteBlocks } from './dataBlocks';
import { dropEntryBytes } from './envelopes';
import { checkLayoutRecordBytes } from './layouts';
import { Ledger } from './ledger';
import { ExpiryQueue, LogAccount } from './logAccount';
import { FolderShadow, type LogStateKeeper, MessagesShadow } from './logStates';
import { ORG_DOMAIN, type Organisation, RecordingStorage } from './organisation';
import { checkAgainstKClosest, RingPlacement } from './placement';

const CHECK_START_MS = Date.UTC(2026, 0, 1);

/** Layout records checked against the real encoder: every length prefix size, empty runs, the bounds. */
const LAYOUT_SHAPES: { runs: number[]; partBytes: number }[] = [
  { runs: [300, 0], partBytes: 8192 },
  { runs: [1, 1], partBytes: 100 },
  { runs: [127, 128, 255, 256], partBytes: 2 ** 32 },
  { runs: [65_535, 65_536, 0], partBytes: 70_000 },
  { runs: [4000, ...Array.from({ length: 15 }, () => 230)], partBytes: 50_000 },
  { runs: [4000, ...Array.from({ length: 16 }, () => 230)], partBytes: 50_000 },
  { runs: [MAIL_LAYOUT_INLINE_BYTES_MAX - 1000, ...Array.from({ length: MAIL_LAYOUT_PARTS_MAX }, () => 0)], partBytes: 1 },
];

/** Folder operations like the trace's: inserts, and \Seen on every other message. */
export function folderOps(count: number, shadow: FolderShadow): FolderOp[] {
  const ops: FolderOp[] = [];
  for (let uid = 1; ops.length < count; uid++) {
    ops.push({ type: 'insert', key: shadow.keyOf(uid), ref: shadow.ref, flags: [], internalDateMs: CHECK_START_MS + uid * 60_000, sizeOctets: 3000 + ((uid * 7919) % 300_000) });
    if (uid % 2 === 0 && ops.length < count) ops.push({ type: 'flags', uids: [uid - 1], mode: 'add', flags: ['\\Seen'] });
  }
  return ops;
}

/** Sent-mail records like the trace's: one to a list now and then. */
export function sentMailOps(count: number, from: string): MessagesOp[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'add' as const,
    record: {
      key: `m:${i.toString(16).padStart(64, '0')}`,
      direction: 'out' as const,
      from,
      to: Array.from({ length: i % 50 === 0 ? 40 : 1 + (i % 3) }, (_, k) => `user${k + 1}@${ORG_DOMAIN}`),
      ref: `post1:chunk:${'ab'.repeat(32)}:${'cd'.repeat(32)}:${4000 + i}`,
      sentAtMs: CHECK_START_MS + i * 1000,
      recordedAtMs: CHECK_START_MS + i * 1000,
    },
  }));
}

interface LogCheck {
  ops: number;
  real: { blocks: number; blockBytes: number; headBytes: number };
  bench: { blocks: number; blockBytes: number; headBytes: number };
  equal: boolean;
}

/**
 * Appends of the check: the first SINGLE_APPENDS operations one at a time (pending batch in the head,
 * flushed as an entry on the 51st), then LOG_PENDING_OPS_MAX + 1 at a time, which flushes the same
 * entries with one head write each, to reach the snapshots (one at LOG_SNAPSHOT_ENTRIES_MAX entries at the latest) quickly.
 */
const SINGLE_APPENDS = 600;
export const LOG_CHECK_OPS = (LOG_PENDING_OPS_MAX + 1) * (LOG_SNAPSHOT_ENTRIES_MAX + 3);

function batches<Op>(ops: readonly Op[]): Op[][] {
  const out: Op[][] = ops.slice(0, SINGLE_APPENDS).map((op) => [op]);
  for (let i = SINGLE_APPENDS; i < ops.length; i += LOG_PENDING_OPS_MAX + 1) out.push(ops.slice(i, i + LOG_PENDING_OPS_MAX + 1));
  return out;
}

/** The same appends through the real LogWriter and through a LogAccount: blocks and head compared. */
export async function checkLogAccount<S, Op, C, Sum>(owner: UnlockedUser, name: string, model: LogModel<S, Op, C, Sum>, keeper: LogStateKeeper<Op>, ops: readonly Op[], ring: RingPlacement): Promise<LogCheck> {
  const storage = new RecordingStorage();
  const address = logAddressFor(owner, name);
  const writer = await LogWriter.open({ storage, signing: owner.signing, random: new SimRandom('log check') }, address, model);
  for (const batch of batches(ops)) await writer.append(batch);
  writer.close();
  const real = { blocks: storage.blockBytes.size, blockBytes: [...storage.blockBytes.values()].reduce((a, b) => a + b, 0), headBytes: storage.objectBytes.get(address.objectId) ?? 0 };

  const ledger = new Ledger([ring], [1]);
  const account = new LogAccount(address, owner.signing, keeper, { random: new SimRandom('log check bench'), ledger, expiring: new ExpiryQueue(), now: () => CHECK_START_MS });
  for (const batch of batches(ops)) await account.append(...batch);
  const bench = { blocks: account.blocksPut.count, blockBytes: account.blocksPut.bytes, headBytes: await account.headBytes() };
  const equal = real.blocks === bench.blocks && real.blockBytes === bench.blockBytes && real.headBytes === bench.headBytes;
  return { ops: ops.length, real, bench, equal };
}

export interface Calibration {
  dataBlocks: { sizes: number; wrong: number[] };
  layoutRecords: { shapes: number; wrong: string[] };
  placement: { keys: number; wrong: number };
  logs: { folder: LogCheck; sentMail: LogCheck };
  sizes: Record<string, number>;
}

export async function calibrate(org: Organisation, rings: readonly RingPlacement[], log: (line: string) => void): Promise<Calibration> {
  const secret = new Uint8Array(32).fill(9);
  const defaultSizes = [0, 1, 1000, BLOCK_CHUNK_BYTES_MAX - 16, BLOCK_CHUNK_BYTES_MAX, BLOCK_CHUNK_BYTES_MAX + 1, Math.round(3.5 * BLOCK_CHUNK_BYTES_MAX)];
  const tinySizes = Array.from({ length: 200 }, (_, i) => i * 19);
  const wrong = [
    ...(await checkAgainstWriteBlocks(defaultSizes, { chunkBytesMax: BLOCK_CHUNK_BYTES_MAX, manifestEntriesMax: MANIFEST_ENTRIES_MAX }, secret)),
    ...(await checkAgainstWriteBlocks(tinySizes, { chunkBytesMax: 16, manifestEntriesMax: 4 }, secret)),
  ];
  log(`  putData blocks by arithmetic vs writeBlocks: ${defaultSizes.length + tinySizes.length} sizes (1 MiB chunks; 16-byte chunks under 4-way manifests), ${wrong.length} differ`);
  const layoutWrong = checkLayoutRecordBytes(LAYOUT_SHAPES);
  log(`  mail layout records by arithmetic vs encodeMailLayout: ${LAYOUT_SHAPES.length} shapes (1 to ${MAIL_LAYOUT_PARTS_MAX} parts, runs of 0 B to 512 KiB), ${layoutWrong.length} differ`);

  const keys = new SimRandom('placement check');
  const sample = Array.from({ length: 2000 }, () => Buffer.from(keys.bytes(32)).toString('hex'));
  const placementWrong = rings.reduce((n, ring) => n + checkAgainstKClosest(ring, sample, 10).length, 0);
  log(`  placement vs overlay kClosest (k = 10): ${sample.length} ids on each ring, ${placementWrong} differ`);

  const owner = org.members[0]!.user;
  const ref = new Uint8Array(BLOCK_REF_BYTES);
  const inboxKey = (uid: number) => `n:${uid.toString(16).padStart(64, '0')}`;
  const folderId = '0'.repeat(32);
  const folder = await checkLogAccount(owner, folderLogAddress(owner, folderId).name, folderModel, new FolderShadow(inboxKey, ref), folderOps(LOG_CHECK_OPS, new FolderShadow(inboxKey, ref)), rings[1]!);
  const sentMail = await checkLogAccount(owner, 'sent-mail', messagesModel, new MessagesShadow(), sentMailOps(LOG_CHECK_OPS, owner.address), rings[1]!);
  for (const [what, c] of [['INBOX folder', folder], ['sent-mail', sentMail]] as const) {
    log(
      `  ${what} log, ${c.ops} operations (${SINGLE_APPENDS} one per append, then ${LOG_PENDING_OPS_MAX + 1} per append; a snapshot): real LogWriter ${c.real.blocks} blocks ${c.real.blockBytes} B, head ${c.real.headBytes} B; ` +
        `the bench's accounting ${c.bench.blocks} blocks ${c.bench.blockBytes} B, head ${c.bench.headBytes} B: ${c.equal ? 'equal' : 'DIFFERENT'}`,
    );
  }

  // What one message leaves behind, in the real formats.
  const shadow = new FolderShadow(inboxKey, ref);
  const ops = folderOps(3, shadow);
  const insert = ops.find((op) => op.type === 'insert');
  const seen = ops.find((op) => op.type === 'flags');
  const recipient = org.members[1]!;
  const records = [...org.records.values()];
  const sizes = {
    inboxInsertOpBytes: shadow.encodeOp(insert!).length,
    seenFlagOpBytes: shadow.encodeOp(seen!).length,
    sentMailRecordOpBytes: new MessagesShadow().encodeOp(sentMailOps(2, owner.address)[1]!).length,
    dropEntryBytes: await dropEntryBytes(owner, recipient.user.certificate, { ref: sentMailOps(1, '')[0]!.record.ref, sizeOctets: 4000, internalDateMs: CHECK_START_MS, mailFrom: owner.address, rcptTo: [recipient.address], authenticated: 1 }, CHECK_START_MS, new SimRandom('drop')),
    userRecordsBytes: round(records.reduce((a, b) => a + b, 0) / (org.members.length + 1), 0),
  };
  log(
    `  one message's records (real formats): INBOX insert op ${sizes.inboxInsertOpBytes} B, \\Seen op ${sizes.seenFlagOpBytes} B, sent-mail record (2 recipients) ${sizes.sentMailRecordOpBytes} B, ` +
      `drop entry (1 recipient) ${sizes.dropEntryBytes} B; each user's keystore, identity and directory records ${sizes.userRecordsBytes} B`,
  );
  return { dataBlocks: { sizes: defaultSizes.length + tinySizes.length, wrong }, layoutRecords: { shapes: LAYOUT_SHAPES.length, wrong: layoutWrong }, placement: { keys: sample.length * rings.length, wrong: placementWrong }, logs: { folder, sentMail }, sizes };
}
