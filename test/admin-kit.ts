import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { openStore } from '../src/open-store.js';

/** A fresh data directory for a test server whose database a test also opens (promote). */
export function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'ssechat-admin-'));
}

/**
 * Makes `nick` a server admin in the SQLite database of `dir` (a second connection beside the
 * server's, as the command line's `ssechat user role` is), audited as the command line.
 */
export async function promote(dir: string, nick: string, over: Partial<Config> = {}) {
  const store = await openStore(
    configWith({ store: 'sqlite', dataDir: dir, ...over }),
    silentLogger,
  );
  try {
    const audit = {
      ts: Date.now(),
      actor: '(cli)',
      action: 'role' as const,
      target: nick,
      reason: '',
    };
    if (!(await store.accounts.setAdmin(nick, true, { ...audit, detail: { role: 'admin' } }))) {
      throw new Error(`no account ${nick}`);
    }
  } finally {
    await store.close();
  }
}
