// The read-ahead window of a command that reads a folder in order (SEARCH BODY): bounded in messages
// and in bytes not yet reached, every message loaded at most once, none bigger than the byte window.
import { describe, expect, it } from 'vitest';
import { readAheadWindow } from '../../../mail/imap/session';

function run(sizes: readonly number[], countMax: number, bytesMax: number, indexes: Iterable<number> = sizes.keys()) {
  const messages = sizes.map((sizeOctets, i) => ({ i, sizeOctets }));
  const loaded: number[] = [];
  const ahead = readAheadWindow(messages, async (m) => void loaded.push(m.i), countMax, bytesMax);
  const aheadBytes: number[] = [];
  for (const index of indexes) {
    ahead(index);
    aheadBytes.push(loaded.filter((j) => j > index).reduce((sum, j) => sum + sizes[j]!, 0));
    expect(loaded.filter((j) => j > index + countMax)).toEqual([]);
  }
  return { loaded, aheadBytes };
}

describe('readAheadWindow', () => {
  it('read-ahead: at most countMax messages past the one being read, each loaded once, all in order', () => {
    const { loaded } = run(Array(200).fill(100), 16, 1 << 20);
    expect(loaded).toEqual([...Array(200).keys()]);
  });

  it('read-ahead: the bytes loaded past the reader never exceed bytesMax', () => {
    const sizes = Array.from({ length: 300 }, (_, i) => 1_000 + ((i * 7919) % 5_000));
    const { loaded, aheadBytes } = run(sizes, 64, 20_000);
    expect(Math.max(...aheadBytes)).toBeLessThanOrEqual(20_000);
    expect(loaded).toEqual([...Array(300).keys()]);
  });

  it('read-ahead: a message bigger than the byte window is left to the reader and does not stall the window', () => {
    const sizes = [10, 10, 50_000, 10, 10];
    const { loaded } = run(sizes, 8, 1_000);
    expect(loaded).toEqual([0, 1, 3, 4]);
  });

  it('read-ahead: a reader that skips messages (expunge pending) keeps the window going without loading twice', () => {
    const indexes = [0, 1, 3, 4, 9, 10, 11, 30, 31];
    const { loaded } = run(Array(40).fill(10), 4, 1_000, indexes);
    expect(new Set(loaded).size).toBe(loaded.length);
    for (const index of indexes) expect(loaded).toContain(index);
  });
});
