// Info/query stanzas the server answers itself (RFC 6120 8.2.3): roster (RFC 6121 2), service
// discovery (XEP-0030), ping (XEP-0199), the legacy session (RFC 3921), carbons (XEP-0280) and the
// message archive (XEP-0313). Anything else addressed to the server or to a user gets
// service-unavailable (RFC 6121 8.5).
import { bareJid, parseJid } from './jid';
import { mamFin, mamPage, mamResult, parseMamQuery } from './mam';
import type { XmppAccount, XmppHub, XmppServerInfo } from './ports';
import { iqResult, NS, stanzaError } from './stanzas';
import { NS_CLIENT } from './streamParser';
import { el, type XmlElement } from './xml';
import type { RosterItem } from '../storage/xmpp/rosterModel';
import { XMPP_ROSTER_GROUPS_MAX, XMPP_ROSTER_TEXT_CHARS_MAX } from '../protocol/limits';

export interface IqContext {
  readonly session: { readonly fullJid: string; readonly address: string; carbons: boolean; push(stanza: XmlElement): void };
  readonly account: XmppAccount;
  readonly hub: XmppHub;
  readonly info: XmppServerInfo;
}

/** Features the server (and each account, for MAM) announce in disco#info. */
export const SERVER_FEATURES = [NS.discoInfo, NS.discoItems, NS.ping, NS.roster, NS.carbons, NS.receipts, NS.chatStates, 'msgoffline'];
export const ACCOUNT_FEATURES = [NS.discoInfo, NS.mam];

export async function handleIq(iq: XmlElement, ctx: IqContext): Promise<void> {
  const type = iq.attr('type');
  if (type === 'result' || type === 'error') return;
  const payload = iq.elements();
  if ((type !== 'get' && type !== 'set') || iq.attr('id') === undefined || payload.length !== 1) return ctx.session.push(stanzaError(iq, 'bad-request', 'an iq get or set has an id and one child'));
  const to = iq.attr('to');
  const target = to === undefined ? 'account' : to.toLowerCase() === ctx.info.domain ? 'server' : bareJid(to) === ctx.account.address && parseJid(to)?.resource === undefined ? 'account' : 'other';
  if (target === 'other') return ctx.session.push(stanzaError(iq, 'service-unavailable'));
  const child = payload[0]!;
  const ns = child.xmlns;
  if (ns === NS.ping || (ns === NS.session && type === 'set')) return ctx.session.push(iqResult(iq));
  if (ns === NS.discoInfo && type === 'get') return ctx.session.push(iqResult(iq, discoInfo(target, child.attr('node'))));
  if (ns === NS.discoItems && type === 'get') return ctx.session.push(iqResult(iq, el('query', { xmlns: NS.discoItems, node: child.attr('node') })));
  if (ns === NS.carbons && type === 'set' && (child.name === 'enable' || child.name === 'disable')) {
    ctx.session.carbons = child.name === 'enable';
    return ctx.session.push(iqResult(iq));
  }
  if (target === 'account' && ns === NS.roster) return roster(iq, child, ctx);
  if (target === 'account' && ns === NS.mam && child.name === 'query' && type === 'set') return archive(iq, child, ctx);
  ctx.session.push(stanzaError(iq, 'service-unavailable'));
}

function discoInfo(target: 'server' | 'account', node: string | undefined): XmlElement {
  const identity = target === 'server' ? el('identity', { category: 'server', type: 'im', name: 'POST' }) : el('identity', { category: 'account', type: 'registered' });
  const features = target === 'server' ? SERVER_FEATURES : ACCOUNT_FEATURES;
  return el('query', { xmlns: NS.discoInfo, node }, identity, ...features.map((f) => el('feature', { var: f })));
}

export function rosterItemXml(item: RosterItem): XmlElement {
  return el('item', { jid: item.jid, name: item.name, subscription: item.subscription, ask: item.ask }, ...item.groups.map((g) => el('group', {}, g)));
}

async function roster(iq: XmlElement, query: XmlElement, ctx: IqContext): Promise<void> {
  if (iq.attr('type') === 'get') {
    const items = await ctx.account.roster();
    return ctx.session.push(iqResult(iq, el('query', { xmlns: NS.roster }, ...items.map(rosterItemXml))));
  }
  // RFC 6121 2.3: a set carries exactly one item; its subscription is the server's to keep.
  const items = query.elements().filter((e) => e.name === 'item');
  const item = items[0];
  const jid = item && bareJid(item.attr('jid') ?? '');
  if (items.length !== 1 || !jid) return ctx.session.push(stanzaError(iq, 'bad-request', 'a roster set carries one item with a JID'));
  if (jid === ctx.account.address) return ctx.session.push(stanzaError(iq, 'not-allowed', 'you are not a contact of yourself'));
  if (item.attr('subscription') === 'remove') {
    await ctx.account.removeRosterItem(jid);
    ctx.session.push(iqResult(iq));
    return pushRoster(ctx, el('item', { jid, subscription: 'remove' }));
  }
  const groups = [...new Set(item.elements().filter((g) => g.name === 'group').map((g) => g.text()))];
  const name = item.attr('name');
  if (groups.length > XMPP_ROSTER_GROUPS_MAX || groups.some((g) => !g || g.length > XMPP_ROSTER_TEXT_CHARS_MAX) || (name !== undefined && name.length > XMPP_ROSTER_TEXT_CHARS_MAX))
    return ctx.session.push(stanzaError(iq, 'not-acceptable', `at most ${XMPP_ROSTER_GROUPS_MAX} non-empty groups, names of at most ${XMPP_ROSTER_TEXT_CHARS_MAX} characters`));
  const current = (await ctx.account.roster()).find((i) => i.jid === jid);
  const next: RosterItem = { jid, groups, subscription: current?.subscription ?? 'none', ...(name ? { name } : {}), ...(current?.ask ? { ask: current.ask } : {}) };
  if ((await ctx.account.setRosterItem(next)) === 'full') return ctx.session.push(stanzaError(iq, 'resource-constraint', 'your roster is full'));
  ctx.session.push(iqResult(iq));
  pushRoster(ctx, rosterItemXml(next));
}

/** RFC 6121 2.1.6: a roster change is pushed to every session of the account (interested resources). */
function pushRoster(ctx: IqContext, item: XmlElement): void {
  for (const s of ctx.hub.sessionsOf(ctx.account.address)) s.push(rosterPush(item, `${s.address}/${s.resource}`, `push-${ctx.info.newId()}`));
}

export function rosterPush(item: XmlElement, toFull: string, id: string): XmlElement {
  return el('iq', { xmlns: NS_CLIENT, type: 'set', id, to: toFull }, el('query', { xmlns: NS.roster }, item));
}

async function archive(iq: XmlElement, query: XmlElement, ctx: IqContext): Promise<void> {
  const parsed = parseMamQuery(query);
  if (!parsed.ok) return ctx.session.push(stanzaError(iq, 'bad-request', parsed.text));
  const page = mamPage(await ctx.account.history(), parsed.query, ctx.account.address);
  if (page.unknownId) return ctx.session.push(stanzaError(iq, 'item-not-found', 'no archived message has that id'));
  for (const r of await ctx.account.withText(page.records)) ctx.session.push(mamResult(r, parsed.query, ctx.account.address, ctx.session.fullJid));
  ctx.session.push(iqResult(iq, mamFin(page)));
}
