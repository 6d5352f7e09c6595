// The log-backed mailbox passes the MailBackend port compliance suite (the same one the in-memory
// reference backend passes), over an in-memory StorageApi.
import { describeMailBackendCompliance } from '../imap/backend.compliance';
import { ring, USERS } from './fixtures';

describeMailBackendCompliance('post (folder logs over StorageApi)', async () => {
  const r = await ring();
  const mailbox = await r.node('gateway');
  return {
    authenticator: mailbox.authenticator,
    users: [USERS[0], USERS[1]],
    setUnavailable: (unavailable) => {
      r.storage.unavailable = unavailable;
    },
  };
});
