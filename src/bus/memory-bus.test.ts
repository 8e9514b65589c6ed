import { busContract } from './bus.contract.js';
import { MemoryBus } from './memory-bus.js';

// One process, one in-memory bus: every "connection" is the same instance, until it closes.
busContract('memory', () => {
  let bus = new MemoryBus();
  return {
    connect: () => {
      if (bus.closed) bus = new MemoryBus();
      return bus;
    },
  };
});
