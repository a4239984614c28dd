import { isHbrError } from '../errors.ts';

/** Exit codes of the hbr command, documented in the README. Unknown codes mean failure. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  partial: 3,
  integrity: 4,
  repositoryNotFound: 10,
  repositoryLocked: 11,
  wrongPassword: 12,
  config: 78,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The one place that maps an error to the process exit code. */
export function exitCodeFor(error: unknown): ExitCode {
  if (!isHbrError(error)) return ExitCode.failure;
  switch (error.code) {
    case 'USAGE':
      return ExitCode.usage;
    case 'CONFIG':
      return ExitCode.config;
    case 'REPOSITORY_NOT_FOUND':
      return ExitCode.repositoryNotFound;
    case 'REPOSITORY_LOCKED':
      return ExitCode.repositoryLocked;
    case 'WRONG_PASSWORD':
    case 'MISSING_PASSWORD':
      return ExitCode.wrongPassword;
    case 'INTEGRITY':
      return ExitCode.integrity;
    case 'INTERRUPTED':
      return ExitCode.interrupted;
    default:
      return ExitCode.failure;
  }
}
