// Stable error codes: operating errors are values carrying one of these, never bare strings.
// A code never changes meaning; new codes are added at the end of their group.

export const ErrorCodes = {
  // transport
  TIMEOUT: 'TIMEOUT',
  NO_RESPONDERS: 'NO_RESPONDERS',
  CLOSED: 'CLOSED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  // wire
  BAD_FRAME: 'BAD_FRAME',
  // identity
  CERT_INVALID: 'CERT_INVALID',
  CERT_EXPIRED: 'CERT_EXPIRED',
  WRONG_RING: 'WRONG_RING',
  // overlay
  NOT_READY: 'NOT_READY',
  HOPS_EXCEEDED: 'HOPS_EXCEEDED',
  ROUTE_FAILED: 'ROUTE_FAILED',
  JOIN_FAILED: 'JOIN_FAILED',
  QUEUE_FULL: 'QUEUE_FULL',
  // storage: blocks and references
  BAD_REFERENCE: 'BAD_REFERENCE',
  BLOCK_MISSING: 'BLOCK_MISSING',
  BLOCK_CORRUPT: 'BLOCK_CORRUPT',
  BAD_MANIFEST: 'BAD_MANIFEST',
  DATA_TOO_LARGE: 'DATA_TOO_LARGE',
  // storage: signed objects (a replica's acceptance rule)
  SEQ_NOT_NEWER: 'SEQ_NOT_NEWER',
  CAS_MISMATCH: 'CAS_MISMATCH',
  FORK: 'FORK',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  BAD_OBJECT_ID: 'BAD_OBJECT_ID',
  BAD_OBJECT: 'BAD_OBJECT',
  // storage: the local store
  STORE_CLOSED: 'STORE_CLOSED',
  STORE_FAILED: 'STORE_FAILED',
  // storage: the replicated service
  NOT_AUTHORISED: 'NOT_AUTHORISED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  UNAVAILABLE: 'UNAVAILABLE',
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  // users: directory, keystore, login
  UNKNOWN_USER: 'UNKNOWN_USER',
  WRONG_PASSWORD: 'WRONG_PASSWORD',
  CERT_REVOKED: 'CERT_REVOKED',
  USER_EXISTS: 'USER_EXISTS',
  KEYSTORE_INVALID: 'KEYSTORE_INVALID',
  // single-writer logs
  LOG_FORGED: 'LOG_FORGED',
  LOG_ROLLBACK: 'LOG_ROLLBACK',
  LOG_FORK: 'LOG_FORK',
  LOG_CORRUPT: 'LOG_CORRUPT',
  LOG_CONTENTION: 'LOG_CONTENTION',
  LOG_TOO_LARGE: 'LOG_TOO_LARGE',
  // authentication on the bus: operator requests and overlay frames
  UNSIGNED: 'UNSIGNED',
  STALE: 'STALE',
  REPLAYED: 'REPLAYED',
  // notifications: a drop's refusals and answers
  ALREADY_DELIVERED: 'ALREADY_DELIVERED',
  MISADDRESSED: 'MISADDRESSED',
  SENDER_BLOCKED: 'SENDER_BLOCKED',
  INBOX_FULL: 'INBOX_FULL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/**
 * A code heard from another node (frames carry it as a string): ours as is; one we do not know (a node
 * of a later version) or none becomes `fallback`, so every code in this process is an ErrorCode.
 */
export const errorCodeOf = (wire: string | undefined, fallback: ErrorCode): ErrorCode => (wire !== undefined && KNOWN_CODES.has(wire) ? (wire as ErrorCode) : fallback);

/** The codes of a single-writer log's failures (storage/log): see the group above. */
export type LogErrorCode = Extract<ErrorCode, 'LOG_FORGED' | 'LOG_ROLLBACK' | 'LOG_FORK' | 'LOG_CORRUPT' | 'LOG_CONTENTION' | 'LOG_TOO_LARGE' | 'QUEUE_FULL'>;
/** The codes of a failed block read (storage/blockReader.ts). */
export type BlockErrorCode = Extract<ErrorCode, 'BLOCK_MISSING' | 'BLOCK_CORRUPT' | 'BAD_MANIFEST' | 'BAD_REFERENCE' | 'DATA_TOO_LARGE'>;

/** What an error concerns, where a caller acts on it (reports it, tries another replica, repairs that block). */
export interface PostErrorDetails {
  /** The log at fault, e.g. "folders" or "folder:<id>". */
  readonly logName?: string;
  /** Hex id of the block that is missing, corrupt or inconsistent. */
  readonly blockId?: string;
}

/**
 * An operating error: something that can happen in a correct system (timeouts, bad input, dead peers).
 * A programmer error is never one of these: it stays a TypeError (or an Error) and crashes the actor.
 */
export class PostError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: PostErrorDetails = {},
  ) {
    super(message);
    this.name = 'PostError';
  }
}

/** A log could not be read or written: `code` says why, `details.logName` which log. */
export const logError = (code: LogErrorCode, logName: string, message: string): PostError => new PostError(code, message, { logName });

/** A block read failed: `code` says why, `details.blockId` which block. */
export const blockError = (code: BlockErrorCode, blockId: string, message: string): BlockFailure => new PostError(code, message, { blockId }) as BlockFailure;

/** A PostError from blockError(): its code is a block read's and it names the block. */
export type BlockFailure = PostError & { readonly code: BlockErrorCode; readonly details: { readonly blockId: string } };
export const isBlockFailure = (e: unknown): e is BlockFailure => e instanceof PostError && e.details.blockId !== undefined;

export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = <T = never>(code: ErrorCode, message: string): Result<T> => ({ ok: false, code, message });
