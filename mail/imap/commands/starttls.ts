// STARTTLS (RFC 3501 6.2.1): only when a certificate is configured and TLS is not up yet. The
// machine sends the OK, discards anything the client pipelined, and upgrades the socket.
import { bad, defineCommand } from '../command';

export const starttlsCommand = defineCommand({
  names: ['STARTTLS'],
  states: ['notAuthenticated'],
  schema: [],
  async handle({ session }) {
    if (session.tlsActive) return bad('TLS is already active on this connection');
    if (!session.deps.settings.tlsAvailable) return bad('STARTTLS is not available: no TLS certificate is configured');
    return { kind: 'startTls', text: 'Begin TLS negotiation now' };
  },
});
