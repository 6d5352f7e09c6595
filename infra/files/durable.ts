// Small files that must survive a crash whole: written beside, flushed, renamed over the old one, and
// the folder flushed, so after a power cut the file is either the old one or the new one, never empty
// or half written, and a rename or removal that returned is on disk.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Replaces `path` with `data` atomically and durably (`mode` for a new file). */
export function writeFileDurably(path: string, data: Uint8Array | string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  // A temporary file left by a crash keeps its own mode if opened as is: made anew, it gets `mode`.
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncFolder(dirname(path));
}

/** Removes `path` (if there) durably. */
export function removeFileDurably(path: string): void {
  rmSync(path, { force: true });
  syncFolder(dirname(path));
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
