// ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE) and UTF8=ACCEPT. Unknown names
// are ignored, as the RFC requires.
import { defineCommand, failBad, ok } from '../command';
import { atom } from '../encoder';

const enableable = new Set(['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT']);

export const enableCommand = defineCommand({
  names: ['ENABLE'],
  states: ['authenticated'],
  schema: [{ name: 'capabilities', kind: 'rest' }],
  async handle({ session }, { capabilities }) {
    if (capabilities.length === 0) failBad('ENABLE needs at least one capability');
    const newlyEnabled: string[] = [];
    for (const token of capabilities) {
      if (token.kind !== 'atom') failBad('ENABLE takes capability names');
      const name = token.value.toUpperCase();
      const implied = name === 'QRESYNC' ? ['CONDSTORE', 'QRESYNC'] : [name];
      for (const capability of implied) {
        if (!enableable.has(capability) || session.enabled.has(capability)) continue;
        session.enabled.add(capability);
        newlyEnabled.push(capability);
      }
    }
    if (session.enabled.has('CONDSTORE')) session.condstore = true;
    await session.untagged([atom('ENABLED'), ...newlyEnabled.map(atom)]);
    return ok('ENABLE completed');
  },
});
