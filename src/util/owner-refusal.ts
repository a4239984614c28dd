/**
 * Owners a file system or user namespace cannot hold. In a rootless container (a user
 * namespace) an id it does not map gives EINVAL; NFS with root_squash gives root EPERM. A restore
 * there still restores the data, without the owner (and so without setuid and setgid bits).
 * @module
 */

/**
 * The code of a `chown` failure that means the owner cannot be given here (EPERM, EINVAL).
 * @throws the error itself when it is any other (the file then fails as usual).
 */
export function ownerRefusal(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EPERM' || code === 'EINVAL') return code;
  throw error;
}

/** The setuid and setgid bits, left out of an entry whose owner could not be given. */
export const SETID_BITS = 0o6000;
