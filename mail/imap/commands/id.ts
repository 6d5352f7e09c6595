// ID (RFC 2971): records what the client says about itself (for logs) and names this server.
import { defineCommand, failBad, ok } from '../command';
import { atom } from '../encoder';
import { imapLimits } from '../limits';
import { tokenText } from '../schema';

export const idCommand = defineCommand({
  names: ['ID'],
  states: ['notAuthenticated', 'authenticated', 'selected'],
  schema: [{ name: 'parameters', kind: 'rest' }],
  async handle({ session }, { parameters }) {
    const only = parameters[0];
    if (parameters.length !== 1 || !only) failBad('ID takes NIL or a list of field/value pairs');
    const client: Record<string, string | null> = {};
    if (only.kind === 'list') {
      if (only.items.length % 2 !== 0) failBad('ID list must hold field/value pairs');
      if (only.items.length / 2 > imapLimits.idFieldsMax) failBad(`ID allows at most ${imapLimits.idFieldsMax} fields`);
      for (let i = 0; i < only.items.length; i += 2) {
        const field = tokenText(only.items[i]!);
        const value = only.items[i + 1]!;
        if (field === undefined || field.length > 30) failBad('ID field names must be strings of at most 30 octets');
        client[field] = value.kind === 'atom' && value.value.toUpperCase() === 'NIL' ? null : (tokenText(value) ?? null);
      }
    } else if (!(only.kind === 'atom' && only.value.toUpperCase() === 'NIL')) failBad('ID takes NIL or a list');
    session.log.info('imap.client.id', { client });
    await session.untagged([atom('ID'), ['name', session.deps.settings.serverName, 'vendor', 'POST']]);
    return ok('ID completed');
  },
});
