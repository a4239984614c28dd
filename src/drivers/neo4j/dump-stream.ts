/**
 * `neo4j-admin database dump --to-stdout` and `database load --from-stdin` as Node streams, so a
 * dump goes straight into the repository and a restore straight out of it, with no temp file.
 * Both need the database offline (on Community: the whole server stopped).
 * @module
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { adminError, type Neo4jAdmin } from './admin.ts';

/**
 * Streams the dump of `database`. Never add `--verbose` here: it prints to stdout and would
 * corrupt the dump (neo4j/neo4j#13397).
 * The stream errors with a SourceError (stderr's tail) when neo4j-admin fails, e.g. because the
 * database is in use or needs recovery.
 */
export function dumpDatabase(
  admin: Neo4jAdmin,
  database: string,
  options: { signal?: AbortSignal } = {},
): Readable {
  const args = ['database', 'dump', database, '--to-stdout'];
  const subprocess = admin.spawn(args, options);
  // Failures are rethrown by the generator; this only prevents an unhandled rejection when the
  // stream is destroyed before it is read.
  subprocess.catch(() => undefined);
  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of subprocess.readable()) yield chunk as Uint8Array;
      await subprocess;
    } catch (error) {
      // The awaited subprocess carries stderr, which names the reason; prefer it.
      const settled = await subprocess.then(
        () => error,
        (e: unknown) => e,
      );
      throw adminError(admin.command, args, settled);
    }
  }
  return Readable.from(generate(), { objectMode: false });
}

/**
 * Loads a dump stream into `database`, replacing it when `overwrite` (the default).
 * @throws SourceError when neo4j-admin rejects the dump or the database is in use.
 */
export async function loadDatabase(
  admin: Neo4jAdmin,
  database: string,
  dump: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: { signal?: AbortSignal; overwrite?: boolean } = {},
): Promise<void> {
  const args = ['database', 'load', database, '--from-stdin'];
  if (options.overwrite !== false) args.push('--overwrite-destination=true');
  const subprocess = admin.spawn(args, { ...options, stdin: true });
  try {
    await Promise.all([
      pipeline(Readable.from(dump, { objectMode: false }), subprocess.stdin!),
      subprocess,
    ]);
  } catch (error) {
    const settled = await subprocess.then(
      () => error,
      (e: unknown) => e,
    );
    throw adminError(admin.command, args, settled);
  }
}
