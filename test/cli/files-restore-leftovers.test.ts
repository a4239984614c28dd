import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

describe('hbr restore into a folder holding temporary files of another restore', () => {
  const cli = cliRepository();
  const { run } = cli;

  before(async () => {
    await mkdir(join(cli.path, 'src'));
    await writeFile(join(cli.path, 'src', 'f.txt'), 'f');
    assert.equal((await run('backup', 'src')).code, 0);
  });

  it('warns of them, in text and --json, and leaves them to the user', async () => {
    const target = join(cli.path, 'target');
    assert.equal((await run('restore', 'latest', '--target', target)).code, 0);
    // A user's own file so named, or one another host's restore is writing over NFS.
    const left = join(target, cli.path, 'src', '.zz-0badf00d-1.hbr-restore');
    await writeFile(left, 'in progress elsewhere');
    const text = await run('restore', 'latest', '--target', target, '--overwrite');
    assert.equal(text.code, 0, text.stderr);
    // Once: as a warning, not again in the summary right after it.
    const said = `${text.stdout}${text.stderr}`.match(
      /1 temporary file\(s\) of an interrupted restore found/g,
    );
    assert.equal(said?.length, 1, text.stdout + text.stderr);
    const json = await run('restore', 'latest', '--target', target, '--overwrite', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(summaryOf(json).leftoverTemps, { count: 1, first: [left] });
    const warning = json.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { messageType: string; details?: unknown });
    assert.deepEqual(
      warning.map((w) => [w.messageType, w.details]),
      [['warning', { leftoverTemps: { count: 1, first: [left] } }]],
    );
    assert.equal(await readFile(left, 'utf8'), 'in progress elsewhere');
  });
});
