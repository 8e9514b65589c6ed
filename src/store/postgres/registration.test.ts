import { TEST_DATABASE_URL, testSchemas } from '../../../test/pg-schemas.js';
import { registrationStoreContract } from '../registration-store.contract.js';
import { PostgresStore } from './store.js';

const newSchema = testSchemas('ssechat_reg_');
const open = (schema: string): Promise<PostgresStore> =>
  PostgresStore.open({ url: TEST_DATABASE_URL, schema, maxOfflinePerUser: 10, poolSize: 4 });
const schemaOf = new WeakMap<object, string>();

// Another node on the same schema: another pool, so registrations really race.
registrationStoreContract(
  'postgres',
  async () => {
    const schema = newSchema();
    const store = await open(schema);
    schemaOf.set(store, schema);
    return store;
  },
  (first) => open(schemaOf.get(first) as string),
);
