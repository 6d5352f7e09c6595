// Where this checkout lives, and how to start `post` itself as a child process (the lab's nodes).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_MAIN = join(ROOT, 'cli', 'main.ts');
export const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/** Extra node flags for `post` and every process it starts, as bin/post takes them (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
function nodeFlags(): string[] {
  return (process.env.POST_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
}

/** argv for running `post ARGS...` as a child: [executable, ...args]. */
export function postCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, [...nodeFlags(), '--import', TSX_LOADER, CLI_MAIN, ...args]];
}
