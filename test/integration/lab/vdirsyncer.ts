// Debian's vdirsyncer paired with one POST account for the lab tests: a local folder tree ("filesystem"
// storage) against the node's DAV base URL as a caldav or carddav storage. Used by the CalDAV and
// CardDAV lab tests alike.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const hasVdirsyncer = spawnSync('sh', ['-c', 'command -v vdirsyncer'], { stdio: 'ignore' }).status === 0;

export interface VdirsyncerPair {
  readonly storage: 'caldav' | 'carddav';
  /** The node's DAV base URL (lab.json's `caldav`). */
  readonly url: string;
  readonly user: { readonly address: string; readonly password: string };
  /** vdirsyncer's `collections` setting, as TOML-ish text: `["personal"]` or `["from a", "from b"]`. */
  readonly collections: readonly string[];
  readonly fileext: '.ics' | '.vcf';
}

/** Writes the configuration under `dir`; returns the local folder (one sub-folder per collection) and a runner that fails the test on a non-zero exit. */
export function vdirsyncerPair(dir: string, p: VdirsyncerPair) {
  mkdirSync(join(dir, 'local'), { recursive: true });
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [`[general]`, `status_path = "${dir}/status/"`, `[pair post]`, `a = "local"`, `b = "remote"`, `collections = [${p.collections.map((c) => `"${c}"`).join(', ')}]`, `conflict_resolution = "a wins"`,
      `[storage local]`, `type = "filesystem"`, `path = "${dir}/local/"`, `fileext = "${p.fileext}"`,
      `[storage remote]`, `type = "${p.storage}"`, `url = "${p.url}"`, `username = "${p.user.address}"`, `password = "${p.user.password}"`, ''].join('\n'),
  );
  const vdirsyncer = (...args: string[]) => {
    // discover asks once per collection to make on the other side: yes to each.
    const r = spawnSync('vdirsyncer', ['-c', config, ...args], { input: 'y\n'.repeat(8), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, `vdirsyncer ${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
    return `${r.stdout}${r.stderr}`;
  };
  return { local: join(dir, 'local'), vdirsyncer };
}
