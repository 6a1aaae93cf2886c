import type { Connection } from 'mongoose';
import type { AppConfig } from '../../config/index.js';
import { connectMongo } from '../../kernel/clients/mongo.js';
import { defineMongoModels, syncMongoIndexes, type MongoModels } from '../../models/mongo/index.js';
import { dropNamespace, testConfig, uniqueNamespace } from './test-app.js';

export interface TestMongoStore {
  readonly config: AppConfig;
  readonly conn: Connection;
  readonly models: MongoModels;
}

/**
 * A MongoDB database of the suite's own, with the models defined and their indexes created before
 * the suite's tests and dropped after them. Call it inside `describe`; read the fields in tests.
 */
export function useMongoStore(label: string): TestMongoStore {
  const store = {} as { config: AppConfig; conn: Connection; models: MongoModels };
  before(async () => {
    store.config = testConfig(uniqueNamespace(label));
    store.conn = await connectMongo(store.config);
    store.models = defineMongoModels(store.conn);
    await syncMongoIndexes(store.models);
  });
  after(async () => {
    await store.conn?.close();
    if (store.config) await dropNamespace(store.config);
  });
  return store;
}
