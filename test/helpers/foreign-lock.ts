/**
 * Locks as other holders leave them, for tests of what a command does beside them.
 * @module
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { sealObject, type RepositoryKeys } from '../../src/repository/crypto.ts';
import type { Store } from '../../src/stores/types.ts';

/** 40 minutes: past the 30 after which a lock is stale. */
export const FORTY_MINUTES = 40 * 60_000;

/** Writes a lock as a backup on another machine would, recording `time` by its own clock. */
export async function putForeignLock(
  store: Store,
  keys: RepositoryKeys,
  key: string,
  time: number,
): Promise<void> {
  const info = {
    exclusive: false,
    host: 'elsewhere',
    pid: 4242,
    time: new Date(time).toISOString(),
    operation: 'backup',
  };
  await store.put(key, sealObject(keys, 'lock', Buffer.from(JSON.stringify(info))));
}

/** Makes a local store's object look written `ms` ago, as the store's clock tells it. */
export async function writtenAgo(root: string, key: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(join(root, ...key.split('/')), then, then);
}
