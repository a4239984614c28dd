import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

describe('hbr backup of entries that are not plain files, folders or links', () => {
  const cli = cliRepository();
  const { run } = cli;

  it('reports names that are not UTF-8 and records the rest of their folder, restorable', async () => {
    const names = join(cli.path, 'names');
    await mkdir(names);
    const bytes = (...parts: (string | number[])[]): Buffer =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    // A real U+FFFD, the byte Node decodes to it, and a Latin-1 name.
    await writeFile(bytes(`${names}/n`, [0xef, 0xbf, 0xbd]), 'replacement char');
    await writeFile(bytes(`${names}/n`, [0xff]), 'byte ff');
    await writeFile(bytes(`${names}/`, [0xe9], 't', [0xe9]), 'latin-1');
    await writeFile(join(names, 'other'), 'other');
    // The first backup lists the folder itself; the second takes the scan's listing.
    for (const round of [1, 2]) {
      const backup = await run('backup', 'names', '--json');
      assert.equal(backup.code, 3, `${round}: ${backup.stderr}`);
      const errors = summaryOf(backup).errors as { path: string; message: string }[];
      assert.deepEqual(
        errors.map((e) => [e.path, e.message]).sort(),
        [
          [`${names}/n\\xff`, 'name is not valid UTF-8: n\\xff; not backed up'],
          [`${names}/\\xe9t\\xe9`, 'name is not valid UTF-8: \\xe9t\\xe9; not backed up'],
        ].sort(),
        `${round}`,
      );
      assert.equal(summaryOf(backup).totalFiles, 2, `${round}`);
    }
    const restored = await run('restore', 'latest', '--target', 'out');
    assert.equal(restored.code, 0, restored.stderr);
    const back = join(cli.path, 'out', names);
    assert.equal(await readFile(join(back, 'other'), 'utf8'), 'other');
    assert.equal(await readFile(join(back, 'n\uFFFD'), 'utf8'), 'replacement char');
  });

  it('records a FIFO and restores it; leaves a socket out with a warning, not an error', async () => {
    const odd = join(cli.path, 'odd');
    await mkdir(odd);
    await writeFile(join(odd, 'plain.txt'), 'plain');
    execFileSync('mkfifo', [join(odd, 'pipe')]);
    await chmod(join(odd, 'pipe'), 0o640);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(odd, 'agent.sock'), resolve));
    try {
      for (const round of [1, 2]) {
        const backup = await run('backup', 'odd', '--json');
        assert.equal(backup.code, 0, `${round}: ${backup.stderr}`);
        assert.deepEqual(summaryOf(backup).errors, [], `${round}`);
        assert.match(
          backup.stderr,
          /"messageType":"warning","message":"[^"]*agent\.sock: a socket: not backed up"/,
        );
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const listed = await run('ls', 'latest', odd);
    assert.match(listed.stdout, /^p0640 .*\/odd\/pipe$/m);
    assert.doesNotMatch(listed.stdout, /agent\.sock/);
    const restored = await run('restore', 'latest', '--target', 'out-odd');
    assert.equal(restored.code, 0, restored.stderr);
    const pipe = await lstat(join(cli.path, 'out-odd', odd, 'pipe'));
    assert.ok(pipe.isFIFO());
    assert.equal(pipe.mode & 0o7777, 0o640);
    assert.equal(await readFile(join(cli.path, 'out-odd', odd, 'plain.txt'), 'utf8'), 'plain');
  });

  it('prints names holding a newline escaped in ls, diff and a refusal, exactly in --json', async () => {
    const folder = join(cli.path, 'ctl');
    await mkdir(folder);
    const name = join(folder, 'a\nb');
    await writeFile(name, 'one');
    await symlink('x\ny', join(folder, 'link'));
    const first = await run('backup', 'ctl', '--json');
    assert.equal(first.code, 0, first.stderr);
    const quoted = JSON.stringify(name);
    const listed = await run('ls', 'latest', folder);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, listed.stdout); // the folder and its two entries
    assert.ok(
      lines.some((l) => l.endsWith(`  ${quoted}`)),
      listed.stdout,
    );
    assert.ok(
      lines.some((l) => l.endsWith(' -> "x\\ny"')),
      listed.stdout,
    );
    const json = await run('ls', 'latest', folder, '--json');
    const nodes = JSON.parse(json.stdout) as { path: string; linkTarget?: string }[];
    assert.ok(nodes.some((n) => n.path === name));
    assert.ok(nodes.some((n) => n.linkTarget === 'x\ny'));

    await writeFile(name, 'two');
    const second = await run('backup', 'ctl', '--json');
    assert.equal(second.code, 0, second.stderr);
    const diff = await run('diff', String(summaryOf(first).shortId), 'latest');
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, new RegExp(`^M {2}${_escaped(quoted)}$`, 'm'));

    assert.equal((await run('restore', 'latest', '--target', 'out-ctl')).code, 0);
    const refused = await run('restore', 'latest', '--target', 'out-ctl');
    assert.equal(refused.code, 2);
    const message = refused.stderr.split('\n').find((l) => l.includes('refusing to overwrite'));
    assert.ok(message?.includes(JSON.stringify(join(cli.path, 'out-ctl', name))), refused.stderr);
    // And a path asked of a backup that does not hold it, in ls and restore alike.
    const missing = join(folder, 'no\nsuch');
    const ls = await run('ls', 'latest', missing);
    assert.equal(ls.code, 1);
    assert.ok(ls.stderr.startsWith(`hbr: ${JSON.stringify(missing)}: not in this backup`));
    const include = await run('restore', 'latest', '--target', 'out-no', '--include', missing);
    assert.equal(include.code, 1);
    assert.ok(include.stderr.includes(`: ${JSON.stringify(missing)} (`), include.stderr);
    // An error naming a path holds no escape sequence of it: the terminal is not driven.
    const driving = await run('backup', join(cli.path, 'no\u001b[2Jsuch'));
    assert.notEqual(driving.code, 0);
    assert.ok(driving.stderr.includes('no\\u001b[2Jsuch'), driving.stderr);
    assert.doesNotMatch(driving.stderr, /\u001b/);
  });
});

function _escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
