import type {
  NewDelete,
  NewEdit,
  NewMemberChange,
  NewMessage,
  NewReaction,
  NewReceipt,
  StoredDelete,
  StoredEdit,
  StoredMemberChange,
  StoredReaction,
  StoredReceipt,
} from '../domain/events.js';
import type { Appended } from './store.js';

/** How a queued write's promise is settled. */
export interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * A write waiting in a batching Store's queue (SQLite, PostgreSQL) for its batch; every kind
 * takes its id there, so ids follow the order of the calls.
 */
export type PendingWrite =
  | { readonly kind: 'message'; readonly message: NewMessage; readonly done: Settle<Appended> }
  | { readonly kind: 'read'; readonly receipt: NewReceipt; readonly done: Settle<StoredReceipt> }
  | {
      readonly kind: 'member';
      readonly change: NewMemberChange;
      readonly done: Settle<StoredMemberChange[]>;
    }
  | { readonly kind: 'edit'; readonly edit: NewEdit; readonly done: Settle<StoredEdit> }
  | { readonly kind: 'delete'; readonly delete: NewDelete; readonly done: Settle<StoredDelete> }
  | {
      readonly kind: 'react';
      readonly reaction: NewReaction;
      readonly done: Settle<StoredReaction | null>;
    };
