// A connection compressed with raw DEFLATE (RFC 1951) in both directions, as IMAP COMPRESS=DEFLATE
// (RFC 4978) wants: a Duplex over the underlying socket (plain or TLS) that inflates what it reads
// and deflates what it writes. Each write batch (one writev: the connection corks a turn's output)
// ends with a Z_SYNC_FLUSH, so the client can decode a reply without waiting for more (RFC 4978 4).
//
// Backpressure holds on both sides: pausing this stream stops the inflater, whose full buffer stops
// reading the socket (so a small compressed input cannot expand without bound in memory); a write
// completes only once its flushed output was taken by the socket without asking for a drain.
import type { Duplex as DuplexType } from 'node:stream';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

export class DeflateStream extends Duplex {
  private readonly inflate = zlib.createInflateRaw();
  private readonly deflate = zlib.createDeflateRaw();

  /**
   * @param inner the socket carrying the compressed bytes
   * @param head compressed bytes already read from `inner` before this layer was in place
   */
  constructor(
    private readonly inner: DuplexType,
    head: Buffer,
  ) {
    super({ allowHalfOpen: false });
    this.inflate.on('data', (data: Buffer) => {
      if (!this.push(data)) this.inflate.pause();
    });
    this.inflate.on('end', () => this.push(null));
    this.inflate.on('error', (error) => this.destroy(new Error(`the client's compressed data is corrupt: ${error.message}`)));
    this.deflate.on('data', (data: Buffer) => this.inner.write(data));
    this.deflate.on('error', (error) => this.destroy(error));
    if (head.length > 0) this.inflate.write(head);
    inner.pipe(this.inflate);
    inner.on('error', (error) => this.destroy(error));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    this.inflate.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: readonly { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.deflate.write(chunk);
    this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      if (!this.inner.writableNeedDrain) return callback();
      this.inner.once('drain', () => callback());
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.deflate.once('end', () => {
      this.inner.end();
      callback();
    });
    this.deflate.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.unpipe(this.inflate);
    this.inflate.destroy();
    this.deflate.destroy();
    this.inner.destroy();
    callback(error);
  }
}
