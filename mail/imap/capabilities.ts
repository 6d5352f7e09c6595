// The CAPABILITY list, which depends on TLS state and authentication (RFC 3501 6.1.1, 6.2.1).

export interface ImapServerSettings {
  /** Name in the greeting and ID response. */
  readonly serverName: string;
  /** A TLS certificate is configured: STARTTLS is offered before TLS is up. */
  readonly tlsAvailable: boolean;
  /** Plaintext login is refused before TLS (LOGINDISABLED). */
  readonly requireTls: boolean;
  /** APPENDLIMIT advertised and enforced, in bytes. */
  readonly appendLimitBytes: number;
}

const common = [
  'IMAP4rev1',
  'IMAP4rev2',
  'LITERAL+',
  'SASL-IR',
  'ID',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'UNSELECT',
  'CHILDREN',
  'UIDPLUS',
  'MOVE',
  'SPECIAL-USE',
  'XLIST',
  'CONDSTORE',
  'QRESYNC',
  'UTF8=ACCEPT',
  'ESEARCH',
  'SEARCHRES',
  'WITHIN',
  'SORT',
  'ESORT',
  'CONTEXT=SEARCH',
  'CONTEXT=SORT',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  'BINARY',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'STATUS=SIZE',
  'MULTIAPPEND',
  'CATENATE',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'COMPRESS=DEFLATE',
  'NOTIFY',
];

export function capabilityList(settings: ImapServerSettings, tlsActive: boolean, authenticated: boolean): string[] {
  const caps = [...common, `APPENDLIMIT=${settings.appendLimitBytes}`];
  if (authenticated) return caps;
  if (settings.tlsAvailable && !tlsActive) caps.push('STARTTLS');
  if (settings.requireTls && !tlsActive) caps.push('LOGINDISABLED');
  else caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
  return caps;
}

export function loginAllowed(settings: ImapServerSettings, tlsActive: boolean): boolean {
  return !settings.requireTls || tlsActive;
}
