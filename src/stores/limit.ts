import pLimit from 'p-limit';
import type { Store } from './types.ts';

/**
 * Wraps a store so that at most `connections` requests (get, put, head, delete,
 * extendRetention) run at once (writers of `createWriter` are not counted); further calls wait
 * their turn in order. `list` is not limited: a caller that reads objects while iterating a
 * listing would otherwise wait on itself.
 * @param connections @default store.properties.connections
 * @throws TypeError when `connections` is not a positive integer.
 */
export function withLimit(store: Store, connections = store.properties.connections): Store {
  const limit = pLimit(connections);
  const wrapped: Store = {
    name: store.name,
    properties: { ...store.properties, connections },
    get: (key, opts) => limit(() => store.get(key, opts)),
    put: (key, data, opts) => limit(() => store.put(key, data, opts)),
    head: (key, opts) => limit(() => store.head(key, opts)),
    delete: (key, opts) => limit(() => store.delete(key, opts)),
    list: (prefix, opts) => store.list(prefix, opts),
  };
  if (store.extendRetention) {
    wrapped.extendRetention = (key, until, opts) =>
      limit(() => store.extendRetention!(key, until, opts));
  }
  // Not limited: a writer holds no connection, and its writes wait only for its own disk.
  if (store.createWriter) wrapped.createWriter = (opts) => store.createWriter!(opts);
  if (store.removeTemporary) wrapped.removeTemporary = (opts) => store.removeTemporary!(opts);
  if (store.close) wrapped.close = () => store.close!();
  return wrapped;
}
