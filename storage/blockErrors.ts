// Why stored data could not be read back, naming the block at fault, so a reader can report it,
// try another replica or trigger repair of exactly that block.
import { PostError } from '../protocol/errors';

export type BlockErrorCode = 'BLOCK_MISSING' | 'BLOCK_CORRUPT' | 'BAD_MANIFEST' | 'BAD_REFERENCE' | 'DATA_TOO_LARGE';

export class BlockError extends PostError {
  constructor(
    override readonly code: BlockErrorCode,
    message: string,
    /** Hex id of the block that is missing, corrupt or inconsistent. */
    readonly blockId: string,
  ) {
    super(code, message);
    this.name = 'BlockError';
  }
}

export type BlockReadFailure = { ok: false; code: BlockErrorCode; message: string; blockId: string };
