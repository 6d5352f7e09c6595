// CANCELUPDATE (RFC 5267 4.3.5): ends the updates of the search contexts named by their commands'
// tags, given as quoted strings.
import { defineCommand, failBad, no, ok } from '../command';

export const cancelUpdateCommand = defineCommand({
  names: ['CANCELUPDATE'],
  states: ['selected'],
  schema: [{ name: 'tags', kind: 'rest' }],
  async handle({ session }, { tags }) {
    const view = session.selectedOrThrow();
    if (tags.length === 0) failBad('CANCELUPDATE needs the tag of at least one search, e.g. CANCELUPDATE "A1"');
    const unknown: string[] = [];
    for (const token of tags) {
      if (token.kind !== 'string') failBad('CANCELUPDATE takes the tags as quoted strings, e.g. CANCELUPDATE "A1"');
      const tag = token.value.toString('utf8');
      if (!view.contexts.delete(tag)) unknown.push(tag);
    }
    if (unknown.length > 0) return no(`No search with RETURN (UPDATE) is live under ${unknown.map((t) => JSON.stringify(t)).join(', ')}; the others were cancelled`);
    return ok('CANCELUPDATE completed');
  },
});
