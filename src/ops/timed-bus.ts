import type { Bus, BusHandler } from '../bus/bus.js';
import type { BusEvent } from '../domain/events.js';
import type { Observer } from './stats.js';
import { timed } from './timed-store.js';

/** A Bus that times each publish until the backend accepted it, and passes the rest through. */
export class TimedBus implements Bus {
  constructor(
    private readonly inner: Bus,
    private readonly publishSeconds: Observer,
  ) {}

  publish(event: BusEvent): Promise<void> {
    return timed(this.publishSeconds, () => this.inner.publish(event));
  }

  subscribe(handler: BusHandler): void {
    this.inner.subscribe(handler);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
