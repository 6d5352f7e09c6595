// Every bound the IMAP core enforces, in one place. A client can send anything; these keep one
// connection from costing the node more than a bounded amount of memory, CPU or time.

export const imapLimits = {
  /** Longest command line, literals excluded: long UID sets from sync clients need room. */
  commandLineBytesMax: 64 * 1024,
  /** Literal in any command other than APPEND: names, passwords, search strings are short. */
  argumentLiteralBytesMax: 256 * 1024,
  /** APPENDLIMIT: the largest message a client may upload (a 50 MB message must fit). */
  appendMessageBytesMax: 64 * 1024 * 1024,
  /** Literals in one command: no legitimate command needs more. */
  literalsPerCommandMax: 64,
  /**
   * Response bytes a connection collects before it writes them out in one go (otherwise it writes once
   * the command's work yields to I/O): a FETCH of 10,000 messages was 10,000 socket writes.
   */
  outboxFlushBytes: 256 * 1024,
  /** Commands parsed ahead of the one running; at it the connection stops parsing and pauses the socket (resumes at half). */
  pipelinedCommandsHighWater: 32,
  /** Backstop on queued commands: the connection never queues more than the high-water mark, so reaching it is a bug (BYE). */
  pipelinedCommandsMax: 512,
  /** Nesting depth of parenthesised lists in a command: stops stack exhaustion. */
  listNestingDepthMax: 32,
  /** Search keys in one SEARCH program (after parsing): bounds evaluation cost per message. */
  searchKeysMax: 1000,
  /** Bad commands tolerated before each further one is answered only after a delay. */
  badCommandsBeforeDelay: 3,
  /** Bad commands after which the connection is closed with BYE. */
  badCommandsMax: 20,
  /** Delay before answering a bad command once the tolerance is used up. */
  badCommandDelayMs: 1_000,
  /** Failed logins after which the connection is closed: slows password guessing. */
  failedLoginsMax: 5,
  /** Delay before answering a failed login, multiplied by the failures so far. */
  failedLoginDelayMs: 1_500,
  /** Inactivity before autologout (RFC 3501 5.4: at least 30 minutes). */
  autologoutMs: 30 * 60 * 1000,
  /** Inactivity before autologout before authentication: idle strangers cost sockets. */
  preAuthTimeoutMs: 60 * 1000,
  /**
   * Raw message bytes cached across sessions, for repeated section fetches and searches of the text:
   * a folder of 100,000 4 KiB messages (about 420 MB) fits, so SEARCH BODY over it again reads no
   * block, as a reference server's reads hit the page cache. Filled only by what sessions read; a
   * bigger folder is searched past it (rawPassing).
   */
  messageCacheBytesMax: 512 * 1024 * 1024,
  /** Parsed MIME structures cached across sessions (each a few hundred bytes). */
  structureCacheEntriesMax: 20_000,
  /** SORT/THREAD keys cached across sessions (about 200 bytes each): two 100,000-message folders. */
  sortKeyCacheEntriesMax: 250_000,
  /**
   * SEARCH SUBJECT/FROM/TO/CC/BCC values cached across sessions (a few hundred bytes each): without
   * them a header search of a folder bigger than the raw cache read every message again (77 s for
   * SUBJECT over 100,000 messages).
   */
  headerSearchCacheEntriesMax: 250_000,
  /** Metadata-only FETCH responses collected as text before they are handed to the connection (a few hundred per write). */
  fetchTextBatchChars: 64 * 1024,
  /** Distinct flag sets one selected-mailbox view shares among its messages; past it, messages keep their own copy. */
  viewFlagSetsMax: 4096,
  /**
   * SORT orders and SORT and THREAD answers over a whole folder kept per open folder (sort/orderMemo.ts)
   * for when the client asks again: a few orderings (date, subject, threads), a plain SORT keeping both
   * its order and its answer; each a 4-byte index per message or the answer's text, about 0.5-1 MiB
   * for 100,000 messages.
   */
  orderMemosPerViewMax: 8,
  /** Message loads in flight while SORT or THREAD read the keys of a cold folder (no order to read ahead in). */
  messageLoadsInFlightMax: 16,
  /**
   * Messages read ahead of a command that reads a folder in order (SEARCH BODY): each costs a storage
   * round trip on the ring (0.2-0.4 ms over NATS, more under load), so enough must be in flight to
   * keep the ring busy, not the command waiting.
   */
  messageReadAheadMax: 64,
  /**
   * Bytes (RFC822.SIZE) read ahead of such a command and not yet reached: they wait in the shared raw
   * cache (messageCacheBytesMax), which must keep them until the command gets there.
   */
  messageReadAheadBytesMax: 4 * 1024 * 1024,
  /** MIME nesting depth parsed: deeper parts are treated as opaque leaves. */
  mimeDepthMax: 40,
  /** MIME parts indexed per message: a message with more is indexed up to this many. */
  mimePartsMax: 5_000,
  /** Flags (system + keywords) one message may carry. */
  flagsPerMessageMax: 128,
  /** Length of one keyword. */
  keywordBytesMax: 128,
  /** Mailbox name length, in bytes of UTF-8. */
  mailboxNameBytesMax: 1_024,
  /** Hierarchy levels in a mailbox name. */
  mailboxDepthMax: 32,
  /** Concurrent connections per listener: each holds a socket and a session. */
  connectionsMax: 1_000,
  /** Time a closing server gives sessions to say BYE and flush before sockets are destroyed. */
  shutdownGraceMs: 2_000,
  /** Time a closing connection gets to flush its last responses before the socket is destroyed. */
  closeFlushMs: 5_000,
  /** UIDs a client may list as known in SELECT (QRESYNC ...): bounds the set we expand. */
  qresyncKnownUidsMax: 1_000_000,
  /** Field/value pairs in an ID command (RFC 2971 allows at most 30). */
  idFieldsMax: 30,
  /** Untagged change notices buffered per selected mailbox before the view resynchronises. */
  pendingChangesMax: 10_000,
  /** SEARCH/SORT ... RETURN (UPDATE) contexts per session (RFC 5267 4.3.1: at least one); each is re-run on every change. */
  searchContextsMax: 8,
  /** Event groups in one NOTIFY SET (RFC 5465): a client needs a handful (selected, inboxes, a few subtrees). */
  notifyEventGroupsMax: 32,
  /** Mailbox names listed in one NOTIFY SET, SUBTREE and MAILBOXES together: more is refused with NO [LIMIT]. */
  notifyMailboxNamesMax: 100,
  /**
   * Mailboxes one session watches for message events under NOTIFY, besides the selected one: each holds
   * a folder change feed (in the log backend, an open folder log). More is refused, or ends NOTIFY with
   * NOTIFICATIONOVERFLOW when the set grows past it later.
   */
  notifyWatchedMailboxesMax: 200,
  /**
   * Mailbox-list notices (LIST responses for created, renamed, deleted, (un)subscribed mailboxes) queued
   * for one session while it cannot take them (a long command, a client not reading): past this the
   * session is told NOTIFICATIONOVERFLOW and NOTIFY is off, as after NOTIFY NONE (RFC 5465).
   */
  notifyQueuedNoticesMax: 1_000,
} as const;
