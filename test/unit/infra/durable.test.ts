// Small files replaced whole: the new content or the old, with the mode asked for; a leftover
// temporary file from a crash in the middle of a write is simply written over.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { removeFileDurably, writeFileDurably } from '../../../infra/files/durable';

const dirs: string[] = [];
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-durable-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('durable small files', () => {
  test('written, replaced and removed; no temporary file left; the mode of a secret', () => {
    const path = join(folder(), 'user.sealed');
    writeFileSync(`${path}.tmp`, 'half a write from before a crash');
    writeFileDurably(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileDurably(path, 'second version\n', 0o644);
    expect(readFileSync(path, 'utf8')).toBe('second version\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    removeFileDurably(path);
    expect(existsSync(path)).toBe(false);
    removeFileDurably(path); // gone already: nothing to do
  });

  test('a large file is written whole', () => {
    const path = join(folder(), 'big');
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    writeFileDurably(path, data);
    expect(Buffer.compare(readFileSync(path), Buffer.from(data))).toBe(0);
  });
});
