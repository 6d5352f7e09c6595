// JIDs (RFC 7622) as POST uses them: a user's bare JID is their POST address (local@domain, lower
// case), a session's full JID adds the resource it bound. Only what POST needs is checked: the three
// parts, their lengths (1023 bytes each) and the characters a JID may not hold.

export interface Jid {
  readonly local?: string;
  readonly domain: string;
  readonly resource?: string;
}

const PART_BYTES_MAX = 1023;
// RFC 7622 3.3.1: these may not appear in a localpart.
const LOCAL_FORBIDDEN = /["&'/:<>@\s]/;

export function parseJid(text: string): Jid | undefined {
  const slash = text.indexOf('/');
  const bare = slash < 0 ? text : text.slice(0, slash);
  const resource = slash < 0 ? undefined : text.slice(slash + 1);
  const at = bare.indexOf('@');
  const local = at < 0 ? undefined : bare.slice(0, at);
  const domain = (at < 0 ? bare : bare.slice(at + 1)).toLowerCase().replace(/\.$/, '');
  if (!domain || /[@/\s]/.test(domain) || Buffer.byteLength(domain) > PART_BYTES_MAX) return undefined;
  if (local !== undefined && (local === '' || LOCAL_FORBIDDEN.test(local) || Buffer.byteLength(local) > PART_BYTES_MAX)) return undefined;
  if (resource !== undefined && (resource === '' || Buffer.byteLength(resource) > PART_BYTES_MAX)) return undefined;
  return { ...(local !== undefined ? { local: local.toLowerCase() } : {}), domain, ...(resource !== undefined ? { resource } : {}) };
}

export const bareOf = (jid: Jid): string => (jid.local !== undefined ? `${jid.local}@${jid.domain}` : jid.domain);
export const formatJid = (jid: Jid): string => (jid.resource !== undefined ? `${bareOf(jid)}/${jid.resource}` : bareOf(jid));
/** The bare JID of a JID's text, or undefined if it is not a JID. */
export const bareJid = (text: string): string | undefined => {
  const jid = parseJid(text);
  return jid && bareOf(jid);
};
