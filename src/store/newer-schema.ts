/**
 * A database whose schema was written by a newer ssechat: this one cannot know what the newer
 * steps changed, so it refuses to touch it. Startup turns it into one line naming the setting
 * (startup.ts); the fix is to run that newer version, or to restore a backup made before it.
 */
export class NewerSchemaError extends Error {
  override readonly name = 'NewerSchemaError';

  /** `what` names the database (a file, a PostgreSQL schema) as the message should. */
  constructor(
    what: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(`${what} has schema version ${found}, newer than this ssechat supports (${known})`);
  }
}
