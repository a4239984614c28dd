import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Command } from '@commander-js/extra-typings';
import { main } from '../main.ts';
import type { CliContext } from '../context.ts';
import { commands } from './index.ts';

const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });
/** A stream that keeps what is written to it, and a way to read that. */
const capture = (): { stream: Writable; text: () => string } => {
  let text = '';
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
};
const ctx: CliContext = {
  stdout: sink(),
  stderr: sink(),
  env: {},
  cwd: tmpdir(),
  signal: new AbortController().signal,
  isTTY: false,
};

describe('the command table', () => {
  it('names exactly the top-level commands each file registers', async () => {
    for (const entry of commands) {
      const program = new Command('hbr');
      (await entry.load())(program, ctx, () => {});
      assert.deepEqual(
        program.commands.map((command) => command.name()),
        [...entry.names],
      );
    }
  });

  it('gives every command name to one file only', () => {
    const names = commands.flatMap((entry) => entry.names);
    assert.equal(new Set(names).size, names.length);
  });
});

describe('running one command', () => {
  it('finds the command after global options that take a value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-cmd-'));
    try {
      await writeFile(join(dir, 'pw'), 'correct horse\n');
      const { stream: stdout, text } = capture();
      // A repository folder named like a command: taking it for the command would fail the run.
      const args = ['-r', 'backup', '--password-file', join(dir, 'pw'), '--json'];
      assert.equal(await main([...args, 'init'], { ...ctx, cwd: dir, stdout }), 0);
      assert.equal(await main([...args, 'backups'], { ...ctx, cwd: dir, stdout }), 0);
      assert.match(text(), /\[\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists every command in the help', async () => {
    const { stream: stdout, text } = capture();
    assert.equal(await main(['--help'], { ...ctx, stdout }), 0);
    for (const name of commands.flatMap((entry) => entry.names)) {
      assert.match(text(), new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('prints the version of package.json for --version and -V', async () => {
    const { version } = JSON.parse(
      await readFile(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-V']) {
      const { stream: stdout, text } = capture();
      assert.equal(await main([flag], { ...ctx, stdout }), 0);
      assert.equal(text(), `${version}\n`);
    }
  });
});
