/**
 * Reads the files that hold a password or a key (`--password-file`, `--key-file`, their
 * environment variables and config keys, `key add --new-…-file`). Such a file is small; a
 * mistyped name (`--key-file /dev/urandom`, a log file) must not be read without end, and a
 * file that never delivers (a FIFO no one writes to) must not outlive Ctrl-C or SIGTERM.
 * @module
 */
import { open } from 'node:fs/promises';
import { InterruptedError } from '../errors.ts';

/**
 * The largest password or key file hbr reads: far above any password or key anyone makes (init
 * took key files of any size before the cap, so it is generous: 1 MiB).
 */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/** Why a secret file could not be read, in words for a message (`no such file`, …). */
export class SecretFileError extends Error {
  override name = 'SecretFileError' as const;
  /** True when the file was readable but too large: a wrong file rather than a missing one. */
  readonly tooLarge: boolean;
  constructor(reason: string, options: { tooLarge?: boolean; cause?: unknown } = {}) {
    super(reason, { cause: options.cause });
    this.tooLarge = options.tooLarge ?? false;
  }
}

/**
 * Reads at most {@link MAX_SECRET_FILE_BYTES} of `file`.
 *
 * @throws {SecretFileError} when the file is missing, unreadable, a folder, or larger than
 * the limit (its message is the reason, to be put after the file's name).
 * @throws {InterruptedError} as soon as `signal` aborts, even while the open or a read is
 * still blocked (a FIFO without a writer): the blocked call is left behind, and closes what it
 * opened when it returns.
 */
export async function readSecretFile(file: string, signal: AbortSignal): Promise<Buffer> {
  // Aborted already (a signal as the command started): nothing of the file was read.
  if (signal.aborted) throw new InterruptedError(`interrupted before reading ${file}`);
  const reading = _readLimited(file, signal);
  return new Promise<Buffer>((resolve, reject) => {
    const onAbort = (): void => reject(new InterruptedError(`interrupted while reading ${file}`));
    signal.addEventListener('abort', onAbort, { once: true });
    reading.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

// --- internal ---

async function _readLimited(file: string, signal: AbortSignal): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw _reasonOf(error);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      if (signal.aborted) throw new InterruptedError(`interrupted while reading ${file}`);
      // One byte more than the limit tells a file at the limit from one above it.
      const buffer = Buffer.alloc(Math.min(16 * 1024, MAX_SECRET_FILE_BYTES + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null).catch((error) => {
        throw _reasonOf(error);
      });
      if (bytesRead === 0) return Buffer.concat(chunks);
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_SECRET_FILE_BYTES)
        throw new SecretFileError(
          `larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB, so no password or key file (the wrong file?)`,
          { tooLarge: true },
        );
    }
  } finally {
    await handle.close();
  }
}

function _reasonOf(error: unknown): SecretFileError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'a folder, not a file'
          : String(error);
  return new SecretFileError(reason, { cause: error });
}
