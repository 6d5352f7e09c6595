// A user's storage: writes go to its own organisation's ring only; reads fall back to the federated
// organisations' rings (through the gateways) for what is not held at home: the content of mail from
// another organisation stays in the sender's ring and is read from there (DESIGN 5).
import { ErrorCodes, PostError } from '../../protocol/errors';
import type { ObjectPutResult, PutOptions, StorageApi } from '../../storage/api';
import { type BlockRef, type DataSource, type MailSegment, readBlockData, readBlocks } from '../../storage/blocks';
import type { SignedObject } from '../../storage/signedObject';
import type { StorageClient } from '../storage/storageClient';
import type { Federation } from './federation';

export class FederatedStorage implements StorageApi {
  constructor(
    private readonly home: StorageClient,
    private readonly federation: Federation,
  ) {}

  /** A block from home, else from the first federated ring that has a verified copy. */
  private async fetch(id: string): Promise<Uint8Array | undefined> {
    const local = await this.home.fetchBlock(id);
    if (local) return local;
    for (const ring of this.federation.trusted().slice(1)) {
      try {
        return await this.federation.storageOf(ring).getBlock(id);
      } catch {
        // not there, or that organisation cannot be reached now: try the next
      }
    }
    return undefined;
  }

  async getBlock(id: string): Promise<Uint8Array> {
    const b = await this.fetch(id);
    if (!b) throw new PostError(ErrorCodes.BLOCK_MISSING, `no ring reachable from here has a good copy of block ${id.slice(0, 16)}`);
    return b;
  }

  async getData(ref: BlockRef, opts?: { maxBytes?: number }): Promise<Buffer> {
    const r = await readBlockData(ref, (id) => this.fetch(id), opts);
    if (!r.ok) throw new PostError(r.code, r.message);
    return r.data;
  }

  readData(ref: BlockRef): AsyncGenerator<Buffer> {
    return readBlocks(ref, (id) => this.fetch(id));
  }

  putData(data: DataSource, opts?: PutOptions): Promise<BlockRef> {
    return this.home.putData(data, opts);
  }

  putMail(segments: readonly MailSegment[], opts?: PutOptions): Promise<BlockRef> {
    return this.home.putMail(segments, opts);
  }

  mailRefOf(segments: readonly MailSegment[]): Promise<BlockRef> {
    return this.home.mailRefOf(segments);
  }

  putBlock(bytes: Uint8Array, opts?: PutOptions): Promise<string> {
    return this.home.putBlock(bytes, opts);
  }

  putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
    return this.home.putObject(object, replacesSeq);
  }

  getObject(objectId: string): Promise<SignedObject | undefined> {
    return this.home.getObject(objectId);
  }

  getObjectVersions(objectId: string): Promise<SignedObject[]> {
    return this.home.getObjectVersions(objectId);
  }

  refresh(blockIds: readonly string[], opts?: PutOptions): Promise<void> {
    return this.home.refresh(blockIds, opts);
  }
}
