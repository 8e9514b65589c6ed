import { accountsContract } from './accounts.contract.js';
import { MemoryStore } from './memory-store.js';
import { storeContract } from './store.contract.js';

storeContract('memory', (limits) => new MemoryStore(limits));
accountsContract('memory', () => new MemoryStore({ maxOfflinePerUser: 10 }));
