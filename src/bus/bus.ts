import type { BusEvent } from '../domain/events.js';

/** Receives every event published on the Bus, by any process. */
export type BusHandler = (event: BusEvent) => void;

/**
 * The Bus carries events between processes. It is the one delivery path: the chat service
 * publishes, and the handler on every process (the one that published included) hands the
 * event to its Hub. Nothing is delivered around the Bus.
 *
 * Contract (checked for every backend by bus.contract.ts):
 *
 * - Every handler subscribed before a publish receives that event exactly once, on every
 *   process, with the same content (backends may copy it through serialization).
 * - Events from one publisher reach each handler in publish order.
 * - A handler must not throw; the Bus does not catch for it.
 * - The Bus is not durable. An event published while a process is cut off may never reach
 *   it; the Store is the durable truth and clients catch up from it.
 * - `publish` resolves once the backend has accepted the event; in-process backends may call
 *   the handlers before it resolves.
 * - `ping` resolves when the backend can carry events now (for a networked one: connected,
 *   subscribed, and its server answering), and rejects otherwise, after `close()` included. It
 *   publishes nothing. Networked backends bound it by their command timeout; a caller that
 *   needs a tighter bound races it against its own timer.
 * - After `close()` resolves, handlers are not called and `publish` rejects.
 */
export interface Bus {
  /** Sends an event to the handlers of every process. */
  publish(event: BusEvent): Promise<void>;
  /** Adds a handler for every event published from now on. */
  subscribe(handler: BusHandler): void;
  /** Checks that events can flow now (readiness); see the contract above. */
  ping(): Promise<void>;
  /** Stops delivery and releases connections. */
  close(): Promise<void>;
}
