import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openRepository } from '../../src/repository/index.ts';
import { acquireLock } from '../../src/repository/locks.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { before, describe, it } from 'node:test';
import { hbr, hbrProcess, summaryOf, withoutRootRights } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

describe('hbr on bad input', () => {
  const cli = cliRepository({ password: 'right' });
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    hbr(args, { env: { ...cli.env, ...extra }, cwd: cli.path });

  before(async () => {
    await mkdir(join(cli.path, 'data'));
    await writeFile(join(cli.path, 'data', 'a.txt'), 'alpha');
  });

  it('exits 12 on a wrong password and says so', async () => {
    const result = await run(['backups'], { HBR_PASSWORD: 'wrong' });
    assert.equal(result.code, 12);
    assert.match(result.stderr, /wrong password/);
  });

  it('exits 12 with directions when no password is given', async () => {
    const result = await hbr(['backups'], {
      env: { HBR_REPOSITORY: cli.env.HBR_REPOSITORY },
      cwd: cli.path,
    });
    assert.equal(result.code, 12);
    assert.match(result.stderr, /HBR_PASSWORD/);
  });

  it('reads a password file that is a pipe once, as the command (--password-file <(…))', async () => {
    // The key derivation started before the command loads guesses from regular files only: had
    // it read the pipe, the command would find it empty, or (here) both would wait forever.
    const pipe = join(cli.path, 'pw-pipe');
    execFileSync('mkfifo', [pipe]);
    const writing = (async () => {
      const handle = await open(pipe, 'w');
      await handle.writeFile('right\n');
      await handle.close();
    })();
    const { child, done } = hbrProcess(['backups', '--password-file', 'pw-pipe'], {
      env: { HBR_REPOSITORY: cli.env.HBR_REPOSITORY },
      cwd: cli.path,
    });
    const stuck = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const result = await done;
    clearTimeout(stuck);
    await writing;
    assert.equal(result.code, 0, result.stderr);
  });

  it('exits 10 for a missing path and for a folder that is no repository', async () => {
    const missing = await run(['backups'], { HBR_REPOSITORY: join(cli.path, 'nowhere') });
    assert.equal(missing.code, 10);
    assert.match(missing.stderr, /no repository here/);
    const notRepo = await run(['backups'], { HBR_REPOSITORY: join(cli.path, 'data') });
    assert.equal(notRepo.code, 10);
    const file = join(cli.path, 'data', 'a.txt');
    const aFile = await run(['--repo', file, 'backups']);
    assert.equal(aFile.code, 10);
    assert.equal(
      aFile.stderr,
      `hbr: no repository at ${file}: it is a file, not a folder (give the repository's folder)\n`,
    );
  });

  it('exits 2 on an unknown flag, and when no repository is named at all', async () => {
    assert.equal((await run(['backup', '--no-such-flag'])).code, 2);
    // With --json, as JSON too: a caller parsing stderr finds the error, not commander's text.
    const json = await run(['--json', 'backup', '--no-such-flag']);
    assert.equal(json.code, 2);
    assert.deepEqual(JSON.parse(json.stderr), {
      messageType: 'exitError',
      code: 2,
      error: { code: 'USAGE', message: "unknown option '--no-such-flag'" },
    });
    const none = await hbr(['backups'], { env: { HBR_PASSWORD: 'right' }, cwd: cli.path });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--repo/);
  });

  it('refuses a database flag on a files backup or restore, and writes nothing', async () => {
    const own = { HBR_REPOSITORY: join(cli.path, 'repo-restore') };
    assert.equal((await run(['init'], own)).code, 0);
    assert.equal((await run(['backup', 'data'], own)).code, 0);
    await mkdir(join(cli.path, 'target'));
    await writeFile(join(cli.path, 'target', 'a.txt'), 'edited');
    for (const flags of [
      ['--dry-run', '--overwrite'],
      ['--at', '2001-01-01T00:00:00Z'],
    ]) {
      const result = await run(['restore', 'latest', '--target', 'target', ...flags], own);
      assert.equal(result.code, 2, flags.join(' '));
      assert.match(result.stderr, new RegExp(`${flags[0]}: only for SQL Server and Neo4j`));
    }
    assert.equal(await readFile(join(cli.path, 'target', 'a.txt'), 'utf8'), 'edited');
    const typed = await run(['backup', 'data', '--type', 'log'], own);
    assert.equal(typed.code, 2);
    assert.match(typed.stderr, /--type log is for SQL Server and Neo4j sources/);
  });

  it('exits 78 on a config with an unknown key or a bad value, naming file, line and key', async () => {
    const file = join(cli.path, 'bad.yaml');
    await writeFile(file, 'repository:\n  path: repo\n  pasword: x\n');
    const unknown = await run(['backups', '--config', file], { HBR_REPOSITORY: '' });
    assert.equal(unknown.code, 78);
    assert.match(unknown.stderr, /bad\.yaml:3:\d+: repository\.pasword: unknown key/);
    await writeFile(
      file,
      'repository:\n  path: repo\nsources:\n  - name: m\n    files: { paths: [data] }\n    retention: { keepDaily: seven }\n',
    );
    const badValue = await run(['backups', '--config', file], { HBR_REPOSITORY: '' });
    assert.equal(badValue.code, 78);
    assert.match(badValue.stderr, /bad\.yaml:6:\d+: sources\[0\]\.retention\.keepDaily/);
  });

  it('fails clearly when a source path does not exist, and stores nothing', async () => {
    const result = await run(['backup', 'no-such-dir']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no-such-dir: does not exist/);
    assert.deepEqual(JSON.parse((await run(['backups', '--json'])).stdout), []);
  });

  it('reports an unreadable file, backs up the rest, and exits 3 (partial)', async () => {
    const secret = join(cli.path, 'data', 'locked.txt');
    await writeFile(secret, 'no access');
    await chmod(secret, 0o000);
    // As root, files are readable whatever their mode: drop the capabilities that allow it.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chown(secret, 65534, 65534);
    const { done } = hbrProcess(['backup', 'data', '--json'], {
      env: cli.env,
      cwd: cli.path,
      prefix: withoutRootRights(),
    });
    const result = await done;
    assert.equal(result.code, 3, result.stderr);
    const summary = summaryOf(result);
    assert.deepEqual(
      (summary.errors as { path: string }[]).map((e) => e.path),
      [secret],
    );
    // Its size is not the backup's: only alpha's 5 bytes were stored.
    assert.equal(summary.totalBytes, 5);
    assert.match(result.stdout, /"messageType":"error".*locked\.txt/);
    const restored = await run(['restore', 'latest', '--target', 'out']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await readFile(join(cli.path, 'out', cli.path, 'data', 'a.txt'), 'utf8'), 'alpha');
    await chmod(secret, 0o600);
  });

  it('refuses a --source of backups that neither the config nor any backup names', async () => {
    const typo = await run(['backups', '--source', 'modls', '--json']);
    assert.equal(typo.code, 1);
    assert.equal(typo.stdout, '');
    assert.match(typo.stderr, /no backups of source modls in the repository, and no config file/);
    const known = await run(['backups', '--source', 'files', '--json']);
    assert.equal(known.code, 0, known.stderr);
    assert.ok((JSON.parse(known.stdout) as unknown[]).length > 0);
    // A source in the config that has no backup yet is no typo: it lists none.
    const file = join(cli.path, 'sources.yaml');
    await writeFile(file, 'sources:\n  - name: models\n    files: { paths: [data] }\n');
    const configured = await run(['backups', '--config', file, '--source', 'models', '--json']);
    assert.equal(configured.code, 0, configured.stderr);
    assert.deepEqual(JSON.parse(configured.stdout), []);
    const notConfigured = await run(['backups', '--config', file, '--source', 'modls']);
    assert.equal(notConfigured.code, 1);
    assert.match(notConfigured.stderr, /no source named "modls" in .*sources\.yaml/);
  });

  it('refuses a restore target that is a file, before anything is read or written', async () => {
    const file = join(cli.path, 'data', 'a.txt');
    const onFile = await run(['restore', 'latest', '--target', file]);
    assert.equal(onFile.code, 2);
    assert.equal(
      onFile.stderr.split('\n').at(-2),
      `hbr: restore target ${file} is a file, not a folder`,
    );
    const below = await run(['restore', 'latest', '--target', join(file, 'sub')]);
    assert.equal(below.code, 2);
    assert.match(below.stderr, /a file stands on its path, not a folder/);
    assert.equal(await readFile(file, 'utf8'), 'alpha');
  });

  it('adds and removes keys: a new password opens the repository, a removed one no longer does', async () => {
    await writeFile(join(cli.path, 'new-pw'), 'second password\n');
    const added = await run(['key', 'add', '--new-password-file', 'new-pw', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const newId = (JSON.parse(added.stdout) as { id: string }).id;
    const keys = JSON.parse(
      (await run(['key', 'list', '--json'], { HBR_PASSWORD: 'second password' })).stdout,
    ) as { id: string; current: boolean }[];
    assert.equal(keys.length, 2);
    assert.equal(keys.find((k) => k.current)?.id, newId);
    const oldId = keys.find((k) => !k.current)?.id ?? '';
    const self = await run(['key', 'remove', newId.slice(0, 8)], {
      HBR_PASSWORD: 'second password',
    });
    assert.equal(self.code, 2);
    assert.match(self.stderr, /refusing to remove the key that opened/);
    assert.equal(
      (await run(['key', 'remove', oldId.slice(0, 8)], { HBR_PASSWORD: 'second password' })).code,
      0,
    );
    assert.equal((await run(['backups'])).code, 12);
    assert.equal((await run(['backups'], { HBR_PASSWORD: 'second password' })).code, 0);
    cli.env.HBR_PASSWORD = 'second password';
  });

  it('opens beside a planted key file of absurd scrypt cost, lists it as damaged and removes it under a lock', async () => {
    const own = { HBR_REPOSITORY: join(cli.path, 'repo-keys'), HBR_PASSWORD: 'pw' };
    assert.equal((await run(['init'], own)).code, 0);
    // Sorted first (the oldest), with a cost that took 8 GB or hung every unlock.
    const planted = Buffer.from(
      JSON.stringify({
        version: 1,
        kdf: 'scrypt',
        N: 2 ** 30,
        r: 8,
        p: 60000,
        salt: randomBytes(32).toString('base64'),
        data: randomBytes(60).toString('base64'),
        created: '0000',
        host: 'x',
        username: 'x',
      }),
    );
    const plantedId = createHash('sha256').update(planted).digest('hex');
    await writeFile(join(cli.path, 'repo-keys', 'keys', plantedId), planted);
    assert.equal((await run(['backups'], own)).code, 0);
    const listed = JSON.parse((await run(['key', 'list', '--json'], own)).stdout) as {
      id: string;
      damaged?: string;
    }[];
    assert.match(listed.find((k) => k.id === plantedId)?.damaged ?? '', /malformed/);
    // key remove takes the exclusive lock: not while another command holds one.
    const repo = await openRepository(createLocalStore({ path: own.HBR_REPOSITORY }), {
      kind: 'password',
      password: 'pw',
    });
    const held = await acquireLock(repo.store, repo.keys, {
      exclusive: false,
      operation: 'backup',
    });
    assert.equal((await run(['key', 'remove', plantedId.slice(0, 8)], own)).code, 11);
    await held.release();
    assert.equal((await run(['key', 'remove', plantedId.slice(0, 8)], own)).code, 0);
    assert.equal(
      (JSON.parse((await run(['key', 'list', '--json'], own)).stdout) as unknown[]).length,
      1,
    );
  });
});
