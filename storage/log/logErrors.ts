// Why a log could not be read or written, with a stable code (protocol/errors.ts) and the log's name:
//   LOG_FORGED      the head is not the owner's (wrong object id, owner or signature, or does not open)
//   LOG_ROLLBACK    a replica served an older head than this reader already saw (replayed head)
//   LOG_FORK        two different heads with the same sequence number
//   LOG_CORRUPT     an entry or snapshot block does not verify (hash, AEAD, chain, counters)
//   LOG_CONTENTION  compare-and-swap kept losing to another writer: retry later
//   LOG_TOO_LARGE   one operation does not fit a log block
//   QUEUE_FULL      too many operations queued on this log
import { PostError } from '../../protocol/errors';

export type LogErrorCode = 'LOG_FORGED' | 'LOG_ROLLBACK' | 'LOG_FORK' | 'LOG_CORRUPT' | 'LOG_CONTENTION' | 'LOG_TOO_LARGE' | 'QUEUE_FULL';

export class LogError extends PostError {
  constructor(
    override readonly code: LogErrorCode,
    message: string,
    /** The log's name, e.g. "folders" or "folder:<id>". */
    readonly logName: string,
  ) {
    super(code, message);
    this.name = 'LogError';
  }
}
