// Every bound the SMTP gateway enforces, in one place. A client can send anything; these keep one
// connection from costing the node more than a bounded amount of memory, CPU or time, and keep
// every wait (on the client, the storage side, the smarthost) finite.

export const smtpLimits = {
  /** SIZE: the largest message accepted (a 50 MB message with attachments must fit). */
  messageBytesMax: 64 * 1024 * 1024,
  /** Message bytes held in memory by all sessions of a listener together (many large messages at once). */
  inFlightMessageBytesMax: 256 * 1024 * 1024,
  /** Longest command line; longer closes the connection (AUTH PLAIN lines are the longest real ones). */
  commandLineBytesMax: 4 * 1024,
  /** Recipients in one transaction (RFC 5321 4.5.3.1.8 asks for at least 100). */
  recipientsPerMessageMax: 500,
  /** Refused recipients per connection before it is closed: stops address harvesting. */
  refusedRecipientsMax: 50,
  /** Bad commands (5xx syntax/sequence replies) tolerated before each further one is delayed. */
  badCommandsBeforeDelay: 3,
  /** Bad commands after which the connection is closed with 421 (below smtp-server's own 10). */
  badCommandsMax: 8,
  /** Delay imposed on the next command after each bad command beyond the tolerance. */
  badCommandDelayMs: 1_000,
  /** Failed AUTH attempts after which the connection is closed: slows password guessing. */
  failedAuthsMax: 3,
  /** Delay before answering a failed AUTH, multiplied by the failures so far. */
  failedAuthDelayMs: 1_500,
  /** Commands before AUTH on the submission port (EHLO, STARTTLS, EHLO, NOOP, ...): strangers cost sockets. */
  unauthenticatedCommandsMax: 20,
  /** Client inactivity before 421 (RFC 5321 4.5.3.2.7: at least 5 minutes). */
  idleTimeoutMs: 5 * 60 * 1000,
  /** Concurrent connections per listener: each holds a socket and a session actor. */
  connectionsMax: 500,
  /** Time submit() gets to store and notify before the client is told 451 (retry is safe: idempotent). */
  submitTimeoutMs: 2 * 60 * 1000,
  /** Time the port's authenticate/classify calls get before a temporary failure is reported. */
  lookupTimeoutMs: 30 * 1000,
  /** Connecting to the smarthost (TCP + TLS). */
  relayConnectTimeoutMs: 15 * 1000,
  /** Waiting for the smarthost's greeting. */
  relayGreetingTimeoutMs: 30 * 1000,
  /** Smarthost inactivity during a relay. */
  relaySocketTimeoutMs: 60 * 1000,
  /** Whole relay of one message, end to end, on the node's clock. */
  relayTotalTimeoutMs: 3 * 60 * 1000,
  /** How long a successful smarthost check is trusted at RCPT time. */
  relayHealthyCacheMs: 30 * 1000,
  /** How long a failed smarthost check refuses external recipients before checking again. */
  relayDownCacheMs: 5 * 1000,
  /** Time close() gives in-flight DATA to finish before connections are cut. */
  shutdownGraceMs: 30 * 1000,
  /** Length kept of text a client chose (HELO name) when it is written into a header or log. */
  clientTextCharsMax: 255,
} as const;

export type SmtpLimits = { -readonly [K in keyof typeof smtpLimits]: number };
