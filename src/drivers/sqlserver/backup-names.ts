/**
 * File names of backup stripes, the same for both transports: `<db>_<type>_<UTC stamp>.bak`, or
 * `…_<i>of<n>.bak` when striped. Safe in paths and URLs whatever the database is called.
 * @module
 */

/** The stripe names of one backup. */
export function backupFileNames(
  database: string,
  type: string,
  stripes: number,
  now: Date,
): string[] {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = `${safeName(database)}_${type}_${stamp}`;
  return Array.from({ length: stripes }, (_, i) =>
    stripes === 1 ? `${base}.bak` : `${base}_${i + 1}of${stripes}.bak`,
  );
}

/** File-name-safe form of a database name (names may hold brackets, quotes, commas, spaces). */
export function safeName(name: string): string {
  const safe = name
    .trim()
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return safe.slice(0, 80) || 'db';
}
