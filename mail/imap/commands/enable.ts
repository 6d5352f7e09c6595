// ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE), UTF8=ACCEPT and IMAP4rev2
// (RFC 9051: what changes is listed at ImapSession.rev2). Unknown names are ignored, as the RFC requires.
import { defineCommand, failBad, ok } from '../command';
import { atom } from '../encoder';

const enableable = new Set(['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT', 'IMAP4rev2']);
/** Capability names are case-insensitive; ENABLED echoes them as advertised. */
const canonical = new Map([...enableable].map((name) => [name.toUpperCase(), name]));

export const enableCommand = defineCommand({
  names: ['ENABLE'],
  states: ['authenticated'],
  schema: [{ name: 'capabilities', kind: 'rest' }],
  async handle({ session }, { capabilities }) {
    if (capabilities.length === 0) failBad('ENABLE needs at least one capability');
    const newlyEnabled: string[] = [];
    for (const token of capabilities) {
      if (token.kind !== 'atom') failBad('ENABLE takes capability names');
      const name = canonical.get(token.value.toUpperCase());
      if (!name) continue;
      const implied = name === 'QRESYNC' ? ['CONDSTORE', 'QRESYNC'] : [name];
      for (const capability of implied) {
        if (session.enabled.has(capability)) continue;
        session.enabled.add(capability);
        newlyEnabled.push(capability);
      }
    }
    if (session.enabled.has('CONDSTORE')) session.condstore = true;
    await session.untagged([atom('ENABLED'), ...newlyEnabled.map(atom)]);
    return ok('ENABLE completed');
  },
});
