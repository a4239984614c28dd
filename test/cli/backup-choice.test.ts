import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbrProcess, summaryOf, withoutRootRights, type CliResult } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

/** The JSON lines a `--json` run wrote to stderr (warnings). */
function warningsOf(result: CliResult): { message: string; details?: Record<string, unknown> }[] {
  return result.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { messageType: string; message: string })
    .filter((l) => l.messageType === 'warning');
}

describe('which backup a command takes, and what it says of an incomplete one', () => {
  const cli = cliRepository({
    // A test that failed before giving the folder back its permissions leaves it unreadable.
    beforeRemove: (path) => chmod(join(path, 'src', 'd'), 0o755).catch(() => undefined),
  });
  const { run } = cli;
  const idOf = async (...args: string[]): Promise<string> => {
    const result = await run('backup', ...args, '--json');
    assert.ok(result.code === 0 || result.code === 3, result.stderr);
    return String(summaryOf(result).shortId);
  };
  // As root, files are readable whatever their mode: the backup runs without the capabilities
  // that allow it, and the folder belongs to another user.
  const asRoot = process.getuid?.() === 0;
  const backupUnreadable = async (...args: string[]): Promise<CliResult> =>
    hbrProcess(['backup', ...args], {
      env: cli.env,
      cwd: cli.path,
      prefix: withoutRootRights(),
    }).done;

  before(async () => {
    await mkdir(join(cli.path, 'src', 'd'), { recursive: true });
    await writeFile(join(cli.path, 'src', 'd', 'file'), 'data\n');
    await mkdir(join(cli.path, 'other'));
    await writeFile(join(cli.path, 'other', 'x'), 'x\n');
  });

  it('passes over a backup that could read nothing for "latest", and warns when one is restored by id', async () => {
    const good = await idOf('src/d');
    const folder = join(cli.path, 'src', 'd');
    if (asRoot) await chown(folder, 65534, 65534);
    await chmod(folder, 0o000);
    const failed = await backupUnreadable('src/d', '--json');
    await chmod(folder, 0o755);
    assert.equal(failed.code, 3, failed.stderr);
    const failedId = String(summaryOf(failed).shortId);

    const listed = await run('backups');
    assert.match(listed.stdout, new RegExp(`^${failedId} .* 1 unreadable .*src/d$`, 'm'));
    assert.match(listed.stdout, /2 backups, 1 incomplete/);
    const records = JSON.parse((await run('backups', '--json')).stdout) as {
      shortId: string;
      summary: { unreadable?: number; changedWhileRead?: number };
      incomplete: { unreadable: number; changedWhileRead: number } | null;
    }[];
    const record = records.find((r) => r.shortId === failedId);
    assert.equal(record?.summary.unreadable, 1);
    assert.deepEqual(record?.incomplete, { unreadable: 1, changedWhileRead: 0 });
    assert.equal(records.find((r) => r.shortId === good)?.incomplete, null);

    // "latest" is yesterday's good backup, not the one that stored nothing.
    const latest = await run('restore', 'latest', '--target', 'back', '--json');
    assert.equal(latest.code, 0, latest.stderr);
    assert.equal(summaryOf(latest).shortId, good);
    assert.equal(summaryOf(latest).files, 1);
    assert.deepEqual(warningsOf(latest), []);

    // Named by its id it is restored, and said to be incomplete, in text and in JSON.
    const text = await run('restore', failedId, '--target', 'failed-text');
    assert.equal(text.code, 0, text.stderr);
    const warning = `backup ${failedId} was incomplete: 1 files or folders could not be read when it was taken`;
    assert.ok(text.stderr.includes(warning), text.stderr);
    assert.ok(text.stdout.includes(`Warning:  ${warning}`), text.stdout);
    const json = await run('restore', failedId, '--target', 'failed-json', '--json');
    assert.deepEqual(summaryOf(json).incomplete, { unreadable: 1, changedWhileRead: 0 });
    assert.ok(warningsOf(json)[0]?.message.startsWith(warning), json.stderr);
    const ls = await run('ls', failedId);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stderr.includes(warning), ls.stderr);
  });

  it('warns at restore of a backup that left an unreadable file out', async () => {
    const secret = join(cli.path, 'src', 'd', 'secret');
    await writeFile(secret, 'no access');
    if (asRoot) await chown(secret, 65534, 65534);
    await chmod(secret, 0o000);
    const partial = await backupUnreadable('src/d', '--json');
    await rm(secret);
    assert.equal(partial.code, 3, partial.stderr);
    const restored = await run('restore', 'latest', '--target', 'partial');
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /Restored: 1 files/);
    assert.match(
      restored.stdout,
      /Warning: {2}backup \w+ was incomplete: 1 files or folders could not be read/,
    );
  });

  it('"latest" with --path is the newest backup holding the path, alike in ls, restore and diff', async () => {
    const ofSrc = await idOf('src');
    const file = join(cli.path, 'src', 'd', 'file');
    await writeFile(file, 'data, changed\n');
    const ofSrcAgain = await idOf('src');
    const ofOther = await idOf('other');

    // Without --path, "latest" is the backup of other/: the error names it and the way out.
    const ls = await run('ls', 'latest', file);
    assert.equal(ls.code, 1);
    assert.ok(ls.stderr.includes(`"latest" is backup ${ofOther} of ${join(cli.path, 'other')}`));
    assert.match(ls.stderr, /add --path PATH/);
    const restore = await run('restore', 'latest', '--target', 'r1', '--include', file);
    assert.equal(restore.code, 1);
    assert.ok(restore.stderr.includes(`"latest" is backup ${ofOther}`), restore.stderr);

    const listed = await run('ls', 'latest', '--path', 'src/d/file', file, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { path: string }[]).map((n) => n.path),
      [file],
    );
    const restored = await run(
      'restore',
      'latest',
      '--path',
      'src',
      '--target',
      'r2',
      '--include',
      file,
      '--json',
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(summaryOf(restored).shortId, ofSrcAgain);
    const diff = await run('diff', ofSrc, 'latest', '--path', 'src', '--json');
    assert.equal(diff.code, 0, diff.stderr);
    assert.deepEqual(
      (JSON.parse(diff.stdout) as { changes: { path: string; change: string }[] }).changes.filter(
        (c) => c.change === 'M',
      ),
      [{ path: file, change: 'M' }],
    );
    const none = await run('ls', 'latest', '--path', 'nowhere');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no backups holding .*nowhere/);
  });

  it('takes a relative path inside a backup from the current folder, as --path takes it', async () => {
    const file = join(cli.path, 'src', 'd', 'file');
    const listed = await run('ls', 'latest', '--path', 'src', 'src/d/file', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { path: string }[]).map((n) => n.path),
      [file],
    );
    const restored = await run(
      ...['restore', 'latest', '--path', 'src', '--target', 'r3', '--include', 'src/d/file'],
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await readFile(join(cli.path, 'r3', file), 'utf8'), await readFile(file, 'utf8'));
    // Not in the backup, below its paths: named as resolved, without advice to add a --path
    // that the backup already holds.
    const missing = join(cli.path, 'src', 'nothing');
    const ls = await run('ls', 'latest', '--path', 'src', 'src/nothing');
    assert.equal(ls.code, 1);
    assert.ok(ls.stderr.includes(`${missing}: not in this backup ("latest" is backup`), ls.stderr);
    assert.doesNotMatch(ls.stderr, /add --path/);
    const restore = await run(
      ...['restore', 'latest', '--path', 'src', '--target', 'r4', '--include', 'src/nothing'],
    );
    // A named thing not found, as for ls.
    assert.equal(restore.code, 1);
    assert.match(
      restore.stderr,
      new RegExp(`not in backup \\w+: ${missing} \\("latest" is backup`),
    );
    assert.doesNotMatch(restore.stderr, /add --path/);
  });

  it('diff shows a folder whose own mode or mtime changed, and what a type change removed', async () => {
    const tree = join(cli.path, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'a', 'b', 'f'), 'f');
    await mkdir(join(tree, 'models'));
    for (const name of ['1', '2', '3']) await writeFile(join(tree, 'models', name), name);
    await mkdir(join(tree, 'c'));
    await writeFile(join(tree, 'c', 'old'), 'old');
    const before = await idOf('tree');
    await writeFile(join(tree, 'c', 'new'), 'new'); // moves c's mtime: the + line says it all
    await chmod(join(tree, 'a', 'b'), 0o700);
    await utimes(join(tree, 'a'), new Date('2020-01-01Z'), new Date('2020-01-01Z'));
    await rm(join(tree, 'models'), { recursive: true });
    await writeFile(join(tree, 'models'), 'now a file');
    const afterId = await idOf('tree');
    const diff = await run('diff', before, afterId);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^U {2}.*\/tree\/a {2}\(mtime\)$/m);
    assert.match(diff.stdout, /^U {2}.*\/tree\/a\/b {2}\(mode\)$/m);
    assert.match(diff.stdout, /^T {2}.*\/tree\/models$/m);
    assert.match(diff.stdout, /^- {2}.*\/tree\/models\/3$/m);
    assert.match(diff.stdout, /^\+ {2}.*\/tree\/c\/new$/m);
    assert.doesNotMatch(diff.stdout, /^U {2}.*\/tree\/c( |$)/m);
    assert.match(diff.stdout, /1 added, 3 removed, 0 modified, 1 type changed, 2 metadata only/);
    // The folders above the backed-up path are only the way to it: not reported.
    assert.doesNotMatch(diff.stdout, new RegExp(`^U {2}${cli.path}( |$)`, 'm'));
  });
});
