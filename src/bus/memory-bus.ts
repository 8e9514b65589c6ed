import type { BusEvent } from '../domain/events.js';
import type { Bus, BusHandler } from './bus.js';

/**
 * The in-process Bus, for a single ssechat process. Handlers run synchronously inside
 * `publish`, so delivery order is publish order and no event waits in a queue.
 */
export class MemoryBus implements Bus {
  private handlers: BusHandler[] = [];
  private isClosed = false;

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  async publish(event: BusEvent): Promise<void> {
    if (this.isClosed) throw new Error('publish on a closed bus');
    for (const handler of this.handlers) handler(event);
  }

  async ping(): Promise<void> {
    if (this.isClosed) throw new Error('ping on a closed bus');
  }

  subscribe(handler: BusHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.handlers = [];
  }
}
