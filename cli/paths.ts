// Where this checkout lives, and how to start `post` itself as a child process (the lab's nodes).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_MAIN = join(ROOT, 'cli', 'main.ts');
export const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/** argv for running `post ARGS...` as a child: [executable, ...args]. */
export function postCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, ['--import', TSX_LOADER, CLI_MAIN, ...args]];
}
