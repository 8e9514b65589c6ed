import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { registrationStoreContract } from '../registration-store.contract.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-sqlite-reg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const paths = new WeakMap<object, string>();
const open = (path: string): SqliteStore =>
  new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser: 10 });

// Another process on the same file: another connection.
registrationStoreContract(
  'sqlite',
  () => {
    const path = join(dir, `store-${++n}.db`);
    const store = open(path);
    paths.set(store, path);
    return store;
  },
  (first) => open(paths.get(first) as string),
);
