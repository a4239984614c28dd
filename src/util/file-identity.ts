/**
 * A file's identity, its device and inode number (`dev:ino`), as `fstat` or `lstat` with
 * `bigint` give them: the same for every link of one file, and for no other file while it lives.
 * A string: it crosses to and from worker threads as is, and compares with `===`.
 * @module
 */

/** The identity of the file `st` describes. */
export function fileIdentity(st: { readonly dev: bigint; readonly ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}
