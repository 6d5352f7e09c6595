// Address lists (RFC 5322 3.4) for ENVELOPE and SEARCH, parsed by kept libraries: email-addresses
// (the RFC 5322 grammar with comments, folding whitespace, groups, obsolete routes, RFC 6532 UTF-8)
// first, nodemailer's addressparser (lenient) for lists that do not follow the grammar. Display
// names keep encoded words verbatim (ENVELOPE passes header text through; clients decode); a
// comment stands in for a missing display name ("alice@example.org (Alice)").
import emailAddresses from 'email-addresses';
import addressparser, { type MailboxAddress as LenientMailbox } from 'nodemailer/lib/addressparser';

export interface MailboxAddress {
  readonly kind: 'mailbox';
  readonly name: string | undefined;
  /** Source route ("@a.example,@b.example"), obsolete but representable in ENVELOPE. */
  readonly route: string | undefined;
  /** Local part, quoted when it is not a dot-atom (as ENVELOPE shows it). */
  readonly local: string;
  readonly domain: string | undefined;
}

export interface GroupAddress {
  readonly kind: 'group';
  readonly name: string;
  readonly members: readonly MailboxAddress[];
}

export type ParsedAddress = MailboxAddress | GroupAddress;

type Node = emailAddresses.ASTNode;

const dotAtom = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;

function quoteLocal(local: string): string {
  return dotAtom.test(local) ? local : `"${local.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function findNode(node: Node | undefined, name: string): Node | undefined {
  if (!node) return undefined;
  if (node.name === name) return node;
  for (const child of node.children ?? []) {
    const found = findNode(child, name);
    if (found) return found;
  }
  return undefined;
}

function commentText(node: Node): string | undefined {
  const match = /\(([\s\S]*)\)/.exec(node.tokens);
  const text = match?.[1]?.replace(/\\(.)/g, '$1').trim();
  return text ? text : undefined;
}

function strictMailbox(parsed: emailAddresses.ParsedMailbox): MailboxAddress {
  const angle = findNode(parsed.node, 'angle-addr');
  const routeNode = findNode(angle, 'obs-domain-list');
  const route = routeNode?.tokens.replace(/\s+/g, '') || undefined;
  // A comment names the mailbox only in the bare addr-spec form.
  const name = parsed.name ?? (angle ? undefined : parsed.parts.comments.map(commentText).find((t) => t !== undefined));
  return { kind: 'mailbox', name: name ?? undefined, route, local: quoteLocal(parsed.local), domain: parsed.domain };
}

function parseStrict(value: string): ParsedAddress[] | undefined {
  const result = emailAddresses({
    input: value,
    startAt: 'address-list',
    rfc6532: true,
    strict: false,
    rejectTLD: false,
    atInDisplayName: true,
    commaInDisplayName: true,
  });
  if (!result) return undefined;
  return result.addresses.map((address) =>
    address.type === 'group'
      ? { kind: 'group', name: address.name, members: address.addresses.map(strictMailbox) }
      : strictMailbox(address),
  );
}

function lenientMailbox(address: LenientMailbox): MailboxAddress | undefined {
  const name = address.name.trim() || undefined;
  if (!address.address) return name ? { kind: 'mailbox', name: undefined, route: undefined, local: name, domain: undefined } : undefined;
  const strict = parseStrict(address.address)?.[0];
  if (strict?.kind === 'mailbox') return { ...strict, name: name ?? strict.name };
  const at = address.address.lastIndexOf('@');
  const local = at < 0 ? address.address : address.address.slice(0, at);
  return { kind: 'mailbox', name, route: undefined, local, domain: at < 0 ? undefined : address.address.slice(at + 1) };
}

const atext = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\uffff";
const simpleAddrSpec = new RegExp(`^([${atext}]+(?:\\.[${atext}]+)*)@([A-Za-z0-9\\u0080-\\uffff-]+(?:\\.[A-Za-z0-9\\u0080-\\uffff-]+)*)$`);
const simpleNameAddr = new RegExp(`^([${atext}. ]*?) *<([^<>@\\s]+@[^<>@\\s]+)>$`);

/**
 * The common shapes ("a@b", "Name <a@b>", lists of them) without the full grammar, which costs
 * about 100 µs per address (SORT FROM over 100,000 messages); anything else returns undefined.
 */
function parseSimple(value: string): ParsedAddress[] | undefined {
  if (/[()"\\:;[\]]/.test(value)) return undefined;
  const result: ParsedAddress[] = [];
  for (const item of value.split(',')) {
    const text = item.trim();
    if (text.length === 0) return undefined;
    const named = simpleNameAddr.exec(text);
    const spec = simpleAddrSpec.exec(named ? named[2]! : text);
    if (!spec) return undefined;
    const name = named?.[1]?.trim();
    result.push({ kind: 'mailbox', name: name ? name : undefined, route: undefined, local: spec[1]!, domain: spec[2]! });
  }
  return result;
}

/** The addresses of a header value; never throws (a hopeless value gives what could be read). */
export function parseAddressList(value: string): ParsedAddress[] {
  if (value.trim().length === 0) return [];
  const simple = parseSimple(value);
  if (simple) return simple;
  const strict = parseStrict(value);
  if (strict) return strict;
  const result: ParsedAddress[] = [];
  for (const item of addressparser(value)) {
    if (item.group) {
      const members = item.group.flatMap((member): LenientMailbox[] => (member.group ? (member.group.filter((m) => !m.group) as LenientMailbox[]) : [member]));
      result.push({ kind: 'group', name: item.name, members: members.map(lenientMailbox).filter((m) => m !== undefined) });
    } else {
      const mailbox = lenientMailbox(item);
      if (mailbox) result.push(mailbox);
    }
  }
  return result;
}

/** "local@domain" of a mailbox (the local part unquoted when it is a dot-atom anyway). */
export function mailboxAddress(address: MailboxAddress): string {
  return address.domain === undefined ? address.local : `${address.local}@${address.domain}`;
}
