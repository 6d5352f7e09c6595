// Configuration files of the private reference pair: Postfix (submission on a loopback port, SASL
// through Dovecot, every virtual domain delivered over LMTP to Dovecot) and Dovecot (IMAP and LMTP on
// loopback ports, passwd-file users, Maildir under the instance directory). Pure text builders: the
// caller writes the files and owns the directories. Anything not set here keeps Debian's compiled-in
// default, so the reference is the stock system and not a tuned one.

export interface ReferenceLayout {
  /** Instance root; every path below lives under it. */
  root: string;
  postfixConfigDir: string;
  postfixQueueDir: string;
  postfixDataDir: string;
  dovecotBaseDir: string;
  dovecotStateDir: string;
  dovecotUsersFile: string;
  mailDir: string;
  logDir: string;
}

export interface ReferencePorts {
  submission: number;
  imap: number;
  lmtp: number;
  /** Dovecot's auth service, which Postfix asks for SASL. */
  auth: number;
}

export const LOOPBACK = '127.0.0.1';

/** Postfix main.cf. `mailboxesFile` lists the accepted recipients (texthash: no postmap step). */
export function postfixMainCf(layout: ReferenceLayout, ports: ReferencePorts, domains: readonly string[], mailboxesFile: string): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${layout.postfixQueueDir}`,
    `data_directory = ${layout.postfixDataDir}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = reference-mail.localhost',
    'mydomain = localhost',
    'myorigin = $myhostname',
    // No local delivery and no relaying: the only destinations are the virtual domains.
    'mydestination =',
    'local_transport = error:local delivery is disabled in the reference instance',
    'relay_domains =',
    'alias_maps =',
    'alias_database =',
    `inet_interfaces = ${LOOPBACK}`,
    'inet_protocols = ipv4',
    'mynetworks_style = host',
    'biff = no',
    'append_dot_mydomain = no',
    `virtual_mailbox_domains = ${domains.join(', ')}`,
    `virtual_mailbox_maps = texthash:${mailboxesFile}`,
    `virtual_transport = lmtp:inet:${LOOPBACK}:${ports.lmtp}`,
    'smtpd_sasl_type = dovecot',
    `smtpd_sasl_path = inet:${LOOPBACK}:${ports.auth}`,
    'smtpd_tls_security_level = none',
    'smtp_tls_security_level = none',
    // Logs go to a file of the instance (there is no syslog here); postlogd refuses other prefixes.
    `maillog_file = ${layout.logDir}/postfix.log`,
    `maillog_file_prefixes = ${layout.logDir}`,
    '',
  ].join('\n');
}

/** Postfix master.cf: Debian's service list without the port-25 listener and without chroot. */
export function postfixMasterCf(ports: ReferencePorts): string {
  // [service, type, private, wakeup, maxproc, command]; unprivileged everywhere, chroot nowhere.
  const services: [string, string, string, string, string, string][] = [
    ['pickup', 'unix', 'n', '60', '1', 'pickup'],
    ['cleanup', 'unix', 'n', '-', '0', 'cleanup'],
    ['qmgr', 'unix', 'n', '300', '1', 'qmgr'],
    ['tlsmgr', 'unix', '-', '1000?', '1', 'tlsmgr'],
    ['rewrite', 'unix', '-', '-', '-', 'trivial-rewrite'],
    ['bounce', 'unix', '-', '-', '0', 'bounce'],
    ['defer', 'unix', '-', '-', '0', 'bounce'],
    ['trace', 'unix', '-', '-', '0', 'bounce'],
    ['verify', 'unix', '-', '-', '1', 'verify'],
    ['flush', 'unix', 'n', '1000?', '0', 'flush'],
    ['proxymap', 'unix', '-', '-', '-', 'proxymap'],
    ['proxywrite', 'unix', '-', '-', '1', 'proxymap'],
    ['smtp', 'unix', '-', '-', '-', 'smtp'],
    ['relay', 'unix', '-', '-', '-', 'smtp'],
    ['showq', 'unix', 'n', '-', '-', 'showq'],
    ['error', 'unix', '-', '-', '-', 'error'],
    ['retry', 'unix', '-', '-', '-', 'error'],
    ['discard', 'unix', '-', '-', '-', 'discard'],
    ['lmtp', 'unix', '-', '-', '-', 'lmtp'],
    ['anvil', 'unix', '-', '-', '1', 'anvil'],
    ['scache', 'unix', '-', '-', '1', 'scache'],
    ['postlog', 'unix-dgram', 'n', '-', '1', 'postlogd'],
  ];
  return [
    '# service type private unpriv chroot wakeup maxproc command',
    `${LOOPBACK}:${ports.submission} inet n - n - - smtpd`,
    '  -o syslog_name=postfix/submission',
    '  -o smtpd_sasl_auth_enable=yes',
    '  -o smtpd_client_restrictions=permit_sasl_authenticated,reject',
    '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
    ...services.map(([name, type, priv, wakeup, maxProc, command]) => `${name} ${type} ${priv} - n ${wakeup} ${maxProc} ${command}`),
    '',
  ].join('\n');
}

/** Dovecot's own dovecot.conf (no include of /etc/dovecot): IMAP and LMTP only, loopback only. */
export function dovecotConf(layout: ReferenceLayout, ports: ReferencePorts, mailUser: { uid: number; gid: number }, instanceName: string): string {
  return [
    `instance_name = ${instanceName}`,
    `base_dir = ${layout.dovecotBaseDir}`,
    `state_dir = ${layout.dovecotStateDir}`,
    `log_path = ${layout.logDir}/dovecot.log`,
    'protocols = imap lmtp',
    `listen = ${LOOPBACK}`,
    'ssl = no',
    // Plaintext logins over loopback are the point: the benchmark clients do not use TLS.
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    `first_valid_uid = ${mailUser.uid}`,
    `first_valid_gid = ${mailUser.gid}`,
    `mail_location = maildir:${layout.mailDir}/%d/%n/Maildir`,
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%u ${layout.dovecotUsersFile}`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${layout.mailDir}/%d/%n`,
    '}',
    'service imap-login {',
    '  inet_listener imap {',
    `    address = ${LOOPBACK}`,
    `    port = ${ports.imap}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    'service lmtp {',
    '  inet_listener lmtp {',
    `    address = ${LOOPBACK}`,
    `    port = ${ports.lmtp}`,
    '  }',
    '}',
    'service auth {',
    '  inet_listener {',
    `    address = ${LOOPBACK}`,
    `    port = ${ports.auth}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Dovecot passwd-file lines: `user:{PLAIN}password::::::`. */
export function dovecotUsers(users: readonly { address: string; password: string }[]): string {
  for (const { address, password } of users) {
    if (/[:\n]/.test(address) || /[:\n]/.test(password)) throw new Error(`reference mail: ${address}: ':' and newlines cannot appear in a passwd-file entry`);
  }
  return users.map(({ address, password }) => `${address}:{PLAIN}${password}::::::\n`).join('');
}

/** Postfix texthash map of accepted recipients. */
export function postfixMailboxes(users: readonly { address: string }[]): string {
  return users.map(({ address }) => `${address} ${address.split('@')[1]}/${address.split('@')[0]}/\n`).join('');
}
