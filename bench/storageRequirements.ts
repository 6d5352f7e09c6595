// The seed's own experiment (issue 11), on the simulator: an organisation's year of mail (a seeded
// trace: heavy-tailed sizes, lists, replies that quote, attachments forwarded and re-sent), no
// deletion, everything inserted in the organisation's own ring, and the storage each node holds at
// every month's end, for k = 3 and k = 10, on a ring of one machine per user and on a smaller ring:
// every message stored once per recipient (a conventional server) against single-copy storage
// (convergent encryption: identical MIME parts are one datum) and against what the code stores (as
// built: large parts apart, the rest in a layout per copy), metadata included. Sizes come from
// the real formats (see storageReq/calibration.ts for what is computed and how it is checked).
//   npx tsx bench/storageRequirements.ts [--quick] [--json] [--seed N]
import { pathToFileURL } from 'node:url';
import { SimRandom } from '../infra/sim/random';
import { MAIL_PART_BYTES_MIN, NOTIFY_TOMBSTONE_MS } from '../protocol/limits';
import { calibrate, type Calibration } from './storageReq/calibration';
import { CONTENT, type Category, Ledger, METADATA, type NodeStats } from './storageReq/ledger';
import { MailYear, type TraceCounts } from './storageReq/mailYear';
import { buildOrganisation } from './storageReq/organisation';
import { FULL, QUICK, type TraceParams } from './storageReq/params';
import { RingPlacement } from './storageReq/placement';
import { type Bench, round } from './stats';

const KS = [3, 10] as const;
const YEAR = 2026;

export interface MonthFigures {
  readonly month: string;
  /** Content and metadata, bytes per node. */
  readonly unique: NodeStats;
  readonly single: NodeStats;
  readonly asBuilt: NodeStats;
  /** Metadata alone (the same under every layout). */
  readonly metadata: NodeStats;
  /** Totals over the ring, content only. */
  readonly content: { readonly unique: number; readonly single: number; readonly asBuilt: number };
  /** single / unique and asBuilt / unique, with metadata and for content alone (totals). */
  readonly ratio: { readonly single: number; readonly asBuilt: number; readonly singleContent: number; readonly asBuiltContent: number };
}

export interface RingFigures {
  readonly nodes: number;
  readonly k: number;
  readonly months: MonthFigures[];
  /** Metadata at the last month's end, mean bytes per node, by kind. */
  readonly metadataAtEnd: Record<'logBlocks' | 'objects' | 'drops', number>;
}

export interface StorageRequirementsResult {
  readonly seed: string;
  readonly params: TraceParams;
  readonly calibration: Calibration;
  readonly trace: TraceCounts & { months: { month: string; messages: number; deliveries: number; pendingNotifications: number }[] };
  readonly rings: RingFigures[];
}

const withMetadata = (content: Category): Category[] => [content, ...METADATA];

function monthFigures(ledger: Ledger, ring: number, k: number, month: string): MonthFigures {
  const total = (categories: Category[]) => ledger.stats(ring, k, categories).total;
  const unique = ledger.stats(ring, k, withMetadata(CONTENT.unique));
  const single = ledger.stats(ring, k, withMetadata(CONTENT.single));
  const asBuilt = ledger.stats(ring, k, withMetadata(CONTENT.asBuilt));
  const content = { unique: total([CONTENT.unique]), single: total([CONTENT.single]), asBuilt: total([CONTENT.asBuilt]) };
  return {
    month,
    unique,
    single,
    asBuilt,
    metadata: ledger.stats(ring, k, METADATA),
    content,
    ratio: {
      single: round(single.total / unique.total, 4),
      asBuilt: round(asBuilt.total / unique.total, 4),
      singleContent: round(content.single / content.unique, 4),
      asBuiltContent: round(content.asBuilt / content.unique, 4),
    },
  };
}

const MB = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1);
const GB = (bytes: number) => (bytes / 1e9).toFixed(bytes < 1e10 ? 2 : 1);

function printRing(f: RingFigures, log: (line: string) => void): void {
  log('');
  log(`ring of ${f.nodes} nodes, k = ${f.k}: bytes per node at each month's end (MB = 10^6 B; total over the ring in GB), content + metadata`);
  const cols = (s: NodeStats) => [MB(s.mean), MB(s.p50), MB(s.p99), MB(s.max), GB(s.total)].map((x) => x.padStart(8)).join('');
  const head = ['mean', 'p50', 'p99', 'max', 'total'].map((x) => x.padStart(8)).join('');
  log(`          ${'unique: one copy per recipient'.padEnd(40)}  ${'single-copy: identical MIME parts once'.padEnd(40)}  single/  as built/  metadata`);
  log(`month   ${head}  ${head}  unique   unique    mean MB`);
  for (const m of f.months) {
    log(`${m.month} ${cols(m.unique)}  ${cols(m.single)}  ${m.ratio.single.toFixed(3).padStart(6)}  ${m.ratio.asBuilt.toFixed(3).padStart(8)}  ${MB(m.metadata.mean).padStart(8)}`);
  }
  const last = f.months.at(-1)!;
  log(
    `  content alone: single/unique ${last.ratio.singleContent.toFixed(3)}, as built/unique ${last.ratio.asBuiltContent.toFixed(3)}; ` +
      `metadata per node (mean): log blocks ${MB(f.metadataAtEnd.logBlocks)} MB, heads and user records ${MB(f.metadataAtEnd.objects)} MB, waiting notifications ${MB(f.metadataAtEnd.drops)} MB`,
  );
}

export async function runStorageRequirements(opts: { quick: boolean; log: (line: string) => void; seed?: string; params?: Partial<TraceParams> }): Promise<StorageRequirementsResult> {
  const { log } = opts;
  const params: TraceParams = { ...(opts.quick ? QUICK : FULL), ...opts.params };
  const seed = opts.seed ?? '1';
  const random = new SimRandom(`storage-requirements/${seed}`);
  const startMs = Date.UTC(YEAR, 0, 1);
  const started = performance.now();
  log(
    `storage-requirements: seed ${seed}; ${params.users} users + the MX's postmaster, ${params.months} months from ${YEAR}-01-01, no deletion, ` +
      `rings of ${params.users} and ${params.smallRing} nodes, k = ${KS.join(' and ')}`,
  );
  const org = await buildOrganisation(params, random.fork('organisation'), startMs);
  const rings = org.rings.map((ids) => new RingPlacement(ids));
  log('checked against the real code, and measured from it:');
  const calibration = await calibrate(org, rings, log);
  log(
    '  sizes computed, not encrypted: each datum\'s blocks from its length (the checked arithmetic), block ids drawn from the seeded source; ' +
      'logs written through the real nextHeadBody, heads sealed and signed, notifications sealed and signed, with the real formats',
  );

  const ledger = new Ledger(rings, KS);
  const year = await MailYear.start(org, params, ledger, random.fork('year'), startMs);
  const perRing: MonthFigures[][] = rings.flatMap(() => KS.map(() => []));
  const months: StorageRequirementsResult['trace']['months'] = [];
  let day = 0;
  for (let m = 0; m < params.months; m++) {
    const endMs = Date.UTC(YEAR, m + 1, 1);
    const before = { messages: year.counts.messages, deliveries: year.counts.deliveries };
    for (; startMs + day * 86_400_000 < endMs; day++) await year.day(day);
    await year.settle(endMs);
    const month = `${YEAR}-${String(m + 1).padStart(2, '0')}`;
    months.push({ month, messages: year.counts.messages - before.messages, deliveries: year.counts.deliveries - before.deliveries, pendingNotifications: year.pendingCount });
    rings.forEach((_, r) => KS.forEach((k, ki) => perRing[r * KS.length + ki]!.push(monthFigures(ledger, r, k, month))));
    log(`  ${month}: ${months.at(-1)!.messages} messages, ${months.at(-1)!.deliveries} deliveries, ${year.pendingCount} notifications waiting (${round((performance.now() - started) / 1000, 1)} s)`);
  }

  const c = year.counts;
  log(
    `trace: ${c.messages} messages (${c.internal} written by users, ${c.inbound} from outside, ${c.campaign} newsletter copies), ${c.deliveries} deliveries, ` +
      `${GB(c.mailboxBytes)} GB in mailboxes (one copy per recipient and Sent copies), ${c.recurringLeafHits} MIME parts found already stored, ${c.logOps} log operations`,
  );
  const figures: RingFigures[] = rings.flatMap((ring, r) =>
    KS.map((k, ki) => {
      const mean = (category: 'logBlocks' | 'objects' | 'drops') => ledger.stats(r, k, [category]).mean;
      return { nodes: ring.size, k, months: perRing[r * KS.length + ki]!, metadataAtEnd: { logBlocks: mean('logBlocks'), objects: mean('objects'), drops: mean('drops') } };
    }),
  );
  for (const f of figures) printRing(f, log);
  log('');
  log(
    `single-copy = each MIME part its own convergent datum (DESIGN 3). as built = what submit() and APPEND store: each leaf body of ${MAIL_PART_BYTES_MIN / 1024} KiB or more ` +
      'its own datum, shared by the submission, the Sent copy and any other message carrying it; per copy a layout record with the rest inline ' +
      '(headers, boundaries, short bodies: its Received header makes every submission\'s layout unique); a message without such a body stored whole. ' +
      'Counted as a replica\'s store totals count (block bytes, encoded objects, drop entries); not counted: drop tombstones (LMDB keys kept ' +
      `${NOTIFY_TOMBSTONE_MS / 86_400_000} days after a notification is taken) and the database's own overhead.`,
  );
  return { seed, params, calibration, trace: { ...c, months }, rings: figures };
}

export const storageRequirementsBench: Bench = {
  name: 'storage-requirements',
  summary: 'storage per node over a simulated year of an organisation\'s mail: one copy per recipient vs single-copy, k = 3 and 10',
  run: runStorageRequirements,
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const log = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const seedAt = process.argv.indexOf('--seed');
  const result = await runStorageRequirements({ quick: process.argv.includes('--quick'), log, ...(seedAt > 0 ? { seed: process.argv[seedAt + 1]! } : {}) });
  if (json) console.log(JSON.stringify(result));
}
