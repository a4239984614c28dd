/**
 * The error hierarchy of hbr. Every failure a user can act on has its own class with a
 * string-literal `code`; the CLI maps classes to exit codes in one place (`src/cli/exit-codes.ts`).
 * @module
 */
import { printable } from './util/printable.ts';

/** Base of every error hbr throws on purpose. Check with {@link isHbrError}, not `instanceof`. */
export class HbrError extends Error {
  override name: string = 'HbrError';
  readonly code: string = 'HBR_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  /** Marker that survives realms (worker threads, duplicated modules), unlike `instanceof`. */
  get isHbrError(): true {
    return true;
  }
}

/** Type guard for {@link HbrError}, safe across realms. */
export function isHbrError(error: unknown): error is HbrError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isHbrError?: unknown }).isHbrError === true
  );
}

/** A bad flag, argument or combination of them. Exit code 2. */
export class UsageError extends HbrError {
  override name = 'UsageError' as const;
  override readonly code = 'USAGE' as const;
}

/** The configuration file is invalid. The message names the file, line and key. Exit code 78. */
export class ConfigError extends HbrError {
  override name = 'ConfigError' as const;
  override readonly code = 'CONFIG' as const;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(
    message: string,
    details: { file?: string; line?: number; key?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.file = details.file;
    this.line = details.line;
    this.key = details.key;
  }
}

/** No repository at the location (missing folder or no `config` object). Exit code 10. */
export class RepositoryNotFoundError extends HbrError {
  override name = 'RepositoryNotFoundError' as const;
  override readonly code = 'REPOSITORY_NOT_FOUND' as const;
}

/** Another process holds a conflicting lock on the repository. Exit code 11. */
export class RepositoryLockedError extends HbrError {
  override name = 'RepositoryLockedError' as const;
  override readonly code = 'REPOSITORY_LOCKED' as const;
}

/** No key of the repository opens with the given password or key file. Exit code 12. */
export class WrongPasswordError extends HbrError {
  override name = 'WrongPasswordError' as const;
  override readonly code = 'WRONG_PASSWORD' as const;
}

/** No password or key file was given where one is needed. Exit code 12. */
export class MissingPasswordError extends HbrError {
  override name = 'MissingPasswordError' as const;
  override readonly code = 'MISSING_PASSWORD' as const;
}

/**
 * Stored data failed verification: a blob's tag or id, a pack's hash, a restored file's hash.
 * The message names the object. Exit code 4.
 */
export class IntegrityError extends HbrError {
  override name = 'IntegrityError' as const;
  override readonly code = 'INTEGRITY' as const;
}

/** A named thing (backup, source, key, replica, path in a backup) does not exist. Exit code 1. */
export class NotFoundError extends HbrError {
  override name = 'NotFoundError' as const;
  override readonly code = 'NOT_FOUND' as const;
}

/**
 * Paths asked of a backup (`restore --include`) that it does not hold: a named thing not found,
 * exit code 1, as `hbr ls` of such a path exits.
 */
export class NotInBackupError extends NotFoundError {
  readonly paths: readonly string[];
  constructor(backup: string, paths: readonly string[]) {
    super(`not in backup ${backup}: ${paths.map(printable).join(', ')}`);
    this.paths = paths;
  }
}

/**
 * A store operation failed. `permanent` errors (403, 404 on a required object, disk full)
 * are not retried; the message names the store and the object. Exit code 1.
 */
export class StoreError extends HbrError {
  override name = 'StoreError' as const;
  override readonly code = 'STORE' as const;
  readonly permanent: boolean;
  readonly status: number | undefined;
  constructor(message: string, details: { permanent: boolean; status?: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.permanent = details.permanent;
    this.status = details.status;
  }
}

/** The store refused a delete because the credential lacks the right (append-only use). */
export class DeleteForbiddenError extends HbrError {
  override name = 'DeleteForbiddenError' as const;
  override readonly code = 'DELETE_FORBIDDEN' as const;
}

/** A source (database server, file tree, external tool) failed. Exit code 1. */
export class SourceError extends HbrError {
  override name = 'SourceError' as const;
  override readonly code = 'SOURCE' as const;
}

/**
 * The target of a restore cannot load the backup (an older release than the backup's, a store
 * format it lacks). Raised before anything is stopped or changed. Exit code 1.
 */
export class IncompatibleTargetError extends HbrError {
  override name = 'IncompatibleTargetError' as const;
  override readonly code = 'INCOMPATIBLE_TARGET' as const;
}

/** A restore target cannot be reached from the backups there are (gap, no full, fork). Exit code 1. */
export class PlanError extends HbrError {
  override name = 'PlanError' as const;
  /** A stable machine-readable reason, e.g. `NO_FULL_BEFORE_TARGET`, `LSN_GAP`, `TAIL_LOG_NEEDED`. */
  readonly reason: string;
  override readonly code = 'PLAN' as const;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The operation was cancelled by a signal. Exit code 130. */
export class InterruptedError extends HbrError {
  override name = 'InterruptedError' as const;
  override readonly code = 'INTERRUPTED' as const;
}
