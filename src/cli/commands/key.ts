import { resolve } from 'node:path';
import { NotFoundError, UsageError } from '../../errors.ts';
import type { Credential } from '../../repository/index.ts';
import { addKey, listKeys, type KeyInfo } from '../../repository/keys.ts';
import { acquireLock } from '../../repository/locks.ts';
import { globalsOf, type CliContext } from '../context.ts';
import { passwordOfFileText } from '../plain-inputs.ts';
import { readSecretFile, SecretFileError } from '../secret-file.ts';
import { accessRepository, reporterFor, warnLockLeft } from '../repository-access.ts';
import { formatTable } from '../table.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr key add|list|remove`: several passwords or key files can open one repository. */
export const registerKey: RegisterCommand = (program, ctx) => {
  const key = program
    .command('key')
    .description('manage the passwords and key files that open the repository');
  key
    .command('add')
    .description(
      'add a password (--new-password-file or HBR_NEW_PASSWORD) or key file (--new-key-file)',
    )
    .option('--new-password-file <file>', 'file holding the new password')
    .option(
      '--new-key-file <file>',
      'key file (32+ random bytes, e.g. head -c 32 /dev/urandom > key)',
    )
    .option('--label <text>', 'a note shown by key list')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const credential = await _newCredential(ctx, flags);
      const id = await addKey(repo.store, repo.masterKey, credential, { label: flags.label });
      reporterFor(ctx, globals).result({ id }, `added key ${id.slice(0, 8)}\n`);
    });
  key
    .command('list')
    .description('list keys')
    .action(async (_flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const keys = await listKeys(repo.store, repo.keyId);
      const rows = keys.map((k) =>
        k.damaged
          ? [` ${k.id.slice(0, 8)}`, 'DAMAGED', '', '', `${k.damaged} (hbr key remove ID)`]
          : [
              `${k.current ? '*' : ' '}${k.id.slice(0, 8)}`,
              k.kdf === 'scrypt' ? 'password' : 'key file',
              k.created.slice(0, 19).replace('T', ' '),
              `${k.username}@${k.host}`,
              k.label ?? '',
            ],
      );
      reporterFor(ctx, globals).result(
        keys,
        formatTable([' ID', 'Kind', 'Created', 'By', 'Label'], rows),
      );
    });
  key
    .command('remove')
    .description('remove a key (not the one in use, not the last one)')
    .argument('<id>', 'key id or unique prefix')
    .action(async (id: string, _flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      // Exclusive: two removals at once, each of the other's key, would leave no key at all,
      // and with it no way to read any backup.
      const lock = await acquireLock(repo.store, repo.keys, {
        exclusive: true,
        operation: 'key remove',
        onLockLeft: warnLockLeft(reporter),
      });
      let found: KeyInfo | undefined;
      try {
        const keys = await listKeys(repo.store, repo.keyId);
        const matches = keys.filter((k) => k.id.startsWith(id));
        found = matches[0];
        if (!found) throw new NotFoundError(`no key ${id}`);
        if (matches.length > 1) throw new UsageError(`key id prefix ${id} is ambiguous`);
        if (found.current)
          throw new UsageError(
            'refusing to remove the key that opened the repository; open it with another key first',
          );
        if (!keys.some((k) => k.id !== found?.id && !k.damaged))
          throw new UsageError('refusing to remove the last intact key');
        await repo.store.delete(`keys/${found.id}`);
      } finally {
        await lock.release();
      }
      reporter.result({ removed: found.id }, `removed key ${found.id.slice(0, 8)}\n`);
    });
};

// --- internal ---

async function _newCredential(
  ctx: CliContext,
  flags: { newPasswordFile?: string; newKeyFile?: string },
): Promise<Credential> {
  if (flags.newPasswordFile && flags.newKeyFile)
    throw new UsageError('give --new-password-file or --new-key-file, not both');
  if (flags.newKeyFile) {
    const secret = await _readNew(ctx, flags.newKeyFile, '--new-key-file');
    return { kind: 'keyFile', secret };
  }
  let password = ctx.env.HBR_NEW_PASSWORD;
  if (flags.newPasswordFile) {
    const text = await _readNew(ctx, flags.newPasswordFile, '--new-password-file');
    password = passwordOfFileText(text.toString('utf8'));
  }
  if (!password)
    throw new UsageError('no new password: pass --new-password-file FILE or set HBR_NEW_PASSWORD');
  return { kind: 'password', password };
}

/** A new secret file's bytes, as the repository's own are read (size limit, interruptible). */
async function _readNew(ctx: CliContext, file: string, flag: string): Promise<Buffer> {
  try {
    return await readSecretFile(resolve(ctx.cwd, file), ctx.signal);
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    throw new UsageError(`cannot read ${flag} ${file}: ${error.message}`, { cause: error });
  }
}
