/**
 * How a store in the cloud is named: in messages, and by the folder of its local object cache
 * (object-cache.ts), which the key derivation started before a command loads
 * (cli/early-unlock.ts) finds from the location alone, before any SDK is loaded.
 * @module
 */

/** A key prefix as a folder of keys: no slash at its start, one at its end; '' for none. */
export function prefixFolder(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/**
 * `azure:ACCOUNT/CONTAINER[/PREFIX]` or `s3:BUCKET[/PREFIX]`: `place` is `ACCOUNT/CONTAINER` or
 * `BUCKET`.
 */
export function remoteStoreName(scheme: 'azure' | 's3', place: string, prefix: string): string {
  const folder = prefixFolder(prefix);
  return `${scheme}:${place}${folder ? `/${folder.slice(0, -1)}` : ''}`;
}
