// The README's table of capabilities after LOGIN is the list the server sends.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capabilityList } from '../../../mail/imap/capabilities';

describe('CAPABILITY after LOGIN', () => {
  it('is what README.md lists, in the same order', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## IMAP: the capabilities after LOGIN'));
    const listed = [...section.slice(0, section.indexOf('\n\n', section.indexOf('| capability'))).matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    const sent = capabilityList({ serverName: 'x', tlsAvailable: false, requireTls: false, appendLimitBytes: 67108864 }, false, true);
    expect(listed).toEqual(sent);
  });
});
