// COMPRESS (RFC 4978): DEFLATE in both directions from the byte after the tagged OK. The framer stops
// cutting after a COMPRESS line (what follows may already be deflate data); the machine sends the OK
// in clear and the connection puts the deflate layer under the parser (actors/mail/deflateStream.ts).
import { bad, defineCommand, no } from '../command';

export const compressCommand = defineCommand({
  names: ['COMPRESS'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mechanism', kind: 'atom' }],
  async handle({ session }, { mechanism }) {
    if (mechanism.toUpperCase() !== 'DEFLATE') return bad(`COMPRESS ${mechanism} is not supported; use COMPRESS DEFLATE`);
    if (session.compressionActive) return no('DEFLATE compression is already active on this connection', 'COMPRESSIONACTIVE');
    return { kind: 'compress', text: 'DEFLATE active' };
  },
});
