// The in-memory backend passes the MailBackend port compliance suite.
import { MemoryMailStore } from '../../../mail/memory/backend';
import { describeMailBackendCompliance } from './backend.compliance';

describeMailBackendCompliance('memory', async () => {
  const store = new MemoryMailStore();
  store.addUser('alice', 'secret', { quotaBytes: 10_000_000 });
  store.addUser('bob', 'hunter2');
  return {
    authenticator: store.authenticator,
    users: [
      { username: 'alice', password: 'secret' },
      { username: 'bob', password: 'hunter2' },
    ],
    setUnavailable: (unavailable) => {
      store.unavailable = unavailable;
    },
  };
});
