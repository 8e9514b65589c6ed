import { MemoryStore } from './memory-store.js';
import { storeContract } from './store.contract.js';

storeContract('memory', (limits) => new MemoryStore(limits));
