// Message Archive Management (XEP-0313, urn:xmpp:mam:2) over the user's conversation store: the
// query's filters (with, start, end from its data form), paging (XEP-0059: max, after, before), and
// the result messages and <fin/>. Ids are the records' keys in the `messages` log.
import { XMPP_MAM_PAGE_MAX } from '../protocol/limits';
import type { ChatMeta, ChatRecord } from './ports';
import { isoTime, NS } from './stanzas';
import { NS_CLIENT } from './streamParser';
import { el, type XmlElement } from './xml';

export interface MamQuery {
  readonly queryId?: string;
  readonly with?: string;
  readonly startMs?: number;
  readonly endMs?: number;
  readonly max: number;
  readonly after?: string;
  /** '' asks for the last page. */
  readonly before?: string;
}

export type MamParse = { readonly ok: true; readonly query: MamQuery } | { readonly ok: false; readonly text: string };

function formFields(query: XmlElement): Map<string, string> {
  const fields = new Map<string, string>();
  const form = query.child('x', NS.dataForms);
  for (const f of form?.elements() ?? []) if (f.name === 'field' && f.attr('var')) fields.set(f.attr('var')!, f.childText('value') ?? '');
  return fields;
}

export function parseMamQuery(query: XmlElement): MamParse {
  const fields = formFields(query);
  const time = (v: string | undefined): number | undefined | null => (v === undefined ? undefined : Number.isFinite(Date.parse(v)) ? Date.parse(v) : null);
  const startMs = time(fields.get('start'));
  const endMs = time(fields.get('end'));
  if (startMs === null || endMs === null) return { ok: false, text: 'start and end are XEP-0082 date-times' };
  const set = query.child('set', NS.rsm);
  const maxText = set?.childText('max');
  const max = maxText === undefined ? XMPP_MAM_PAGE_MAX : Number(maxText);
  if (!Number.isSafeInteger(max) || max < 0) return { ok: false, text: 'max is a count' };
  const q: MamQuery = {
    ...(query.attr('queryid') !== undefined ? { queryId: query.attr('queryid') } : {}),
    ...(fields.get('with') ? { with: fields.get('with')!.toLowerCase() } : {}),
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs } : {}),
    max: Math.min(max, XMPP_MAM_PAGE_MAX),
    ...(set?.child('after') ? { after: set.childText('after') } : {}),
    ...(set?.child('before') ? { before: set.childText('before') } : {}),
  };
  return { ok: true, query: q };
}

export interface MamPage<R extends ChatMeta = ChatMeta> {
  readonly records: readonly R[];
  readonly complete: boolean;
  readonly count: number;
  /** An `after`/`before` id that names no record: item-not-found. */
  readonly unknownId?: boolean;
}

const peerOf = (r: ChatMeta, bare: string): string[] => (r.direction === 'in' ? [r.from.toLowerCase()] : r.to.map((t) => t.toLowerCase()).filter((t) => t !== bare));

export function mamPage<R extends ChatMeta>(records: readonly R[], q: MamQuery, bare: string): MamPage<R> {
  const matching = records.filter(
    (r) => (q.with === undefined || peerOf(r, bare).includes(q.with.split('/')[0]!)) && (q.startMs === undefined || r.sentAtMs >= q.startMs) && (q.endMs === undefined || r.sentAtMs <= q.endMs),
  );
  let from = 0;
  let to = matching.length;
  if (q.after !== undefined) {
    const i = matching.findIndex((r) => r.key === q.after);
    if (i < 0) return { records: [], complete: true, count: matching.length, unknownId: true };
    from = i + 1;
  }
  if (q.before !== undefined && q.before !== '') {
    const i = matching.findIndex((r) => r.key === q.before);
    if (i < 0) return { records: [], complete: true, count: matching.length, unknownId: true };
    to = i;
  }
  // Paging backwards (before): the page ends where asked and is complete when it reaches the start.
  if (q.before !== undefined) {
    const start = Math.max(from, to - q.max);
    return { records: matching.slice(start, to), complete: start === from, count: matching.length };
  }
  const end = Math.min(to, from + q.max);
  return { records: matching.slice(from, end), complete: end === to, count: matching.length };
}

/** The original message of a record, as the archive shows it. */
export function archivedMessage(r: ChatRecord, bare: string): XmlElement {
  return el('message', { xmlns: NS_CLIENT, type: r.type ?? 'chat', id: r.key, from: r.direction === 'in' ? r.from : bare, to: r.direction === 'in' ? bare : r.to[0] }, el('body', {}, r.text));
}

/** One <message><result/></message> of a page, to the querying session. */
export function mamResult(r: ChatRecord, q: MamQuery, bare: string, toFull: string): XmlElement {
  return el(
    'message',
    { xmlns: NS_CLIENT, to: toFull, from: bare, id: `mam-${r.key}` },
    el('result', { xmlns: NS.mam, queryid: q.queryId, id: r.key }, el('forwarded', { xmlns: NS.forward }, el('delay', { xmlns: NS.delay, stamp: isoTime(r.sentAtMs) }), archivedMessage(r, bare))),
  );
}

export function mamFin(page: MamPage): XmlElement {
  const first = page.records[0];
  const last = page.records.at(-1);
  return el(
    'fin',
    { xmlns: NS.mam, complete: page.complete ? 'true' : undefined },
    el('set', { xmlns: NS.rsm }, first && el('first', {}, first.key), last && el('last', {}, last.key), el('count', {}, String(page.count))),
  );
}
