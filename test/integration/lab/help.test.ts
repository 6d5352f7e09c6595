// Issue 15: a newcomer's first `post lab --help` (and node, user, block, ring, ...) prints what the
// command does and exits 0; an unknown subcommand still fails, saying what exists.
import { describe, expect, test } from 'vitest';
import { post } from './cli';

const COMMANDS = ['lab', 'node', 'user', 'block', 'ring', 'ca', 'nats', 'message', 'scenario', 'machines'];

describe('post COMMAND --help', () => {
  test.each(COMMANDS)('post %s --help prints every subcommand\'s usage and exits 0', async (command) => {
    // Each spawn costs a few seconds: every spelling on one command, --help on the others.
    for (const flag of command === 'lab' ? ['--help', '-h', 'help'] : ['--help']) {
      const r = await post([command, flag], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^usage: post ${command} `, 'm'));
    }
  }, 120_000);

  test('an unknown subcommand fails and lists the ones there are', async () => {
    const r = await post(['lab', 'frobnicate'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown command frobnicate');
    expect(r.stderr).toContain('usage: post lab up');
    expect(r.stderr).toContain('post lab --help');
  }, 60_000);
});
