import type { Credential, CredentialKind } from './accounts.js';

/** A row of the credentials table, as both SQL backends read it (secret hash left out). */
export interface CredentialRow {
  kind: CredentialKind;
  id: string;
  nick: string;
  label: string;
  created: number;
  expires: number;
}

/** The columns of a CredentialRow, for SELECT and RETURNING lists. */
export const CREDENTIAL = 'kind, id, nick, label, created, expires';

/** A fresh Credential from a row (drivers may hand out objects with extra fields). */
export function toCredential(row: CredentialRow): Credential {
  return {
    kind: row.kind,
    id: row.id,
    nick: row.nick,
    label: row.label,
    created: row.created,
    expires: row.expires,
  };
}
