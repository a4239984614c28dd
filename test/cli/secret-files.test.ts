import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hbr, hbrProcess } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

describe('hbr reading password and key files', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => hbr(args, { env, cwd: dir.path });

  before(async () => {
    dir = await tempDir();
  });
  after(async () => dir.remove());

  it('ends on SIGTERM while it waits on a password file that is a FIFO', async () => {
    const pipe = join(dir.path, 'pw-fifo');
    execFileSync('mkfifo', [pipe]);
    const { child, done } = hbrProcess(['init', '--repo', 'fifo-repo', '--password-file', pipe], {
      cwd: dir.path,
    });
    // Opening the FIFO for writing succeeds once hbr has it open for reading: then hbr waits
    // on a read that nothing will satisfy (the writer stays open and silent).
    let writer;
    for (;;) {
      try {
        writer = await open(pipe, constants.O_WRONLY | constants.O_NONBLOCK);
        break;
      } catch {
        await sleep(50);
      }
    }
    child.kill('SIGTERM');
    const stuck = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const result = await done;
    clearTimeout(stuck);
    await writer.close();
    assert.notEqual(child.signalCode, 'SIGKILL', 'hbr did not end on SIGTERM');
    assert.match(result.stderr, /interrupted while reading .*pw-fifo/);
  });

  it('refuses a key file larger than 1 MiB instead of reading it to its end', async () => {
    await writeFile(join(dir.path, 'big-key'), Buffer.alloc(1024 * 1024 + 1, 7));
    const result = await run(['init', '--repo', 'big-repo', '--key-file', 'big-key']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /key file .*big-key.*larger than 1024 KiB/);
    assert.equal(existsSync(join(dir.path, 'big-repo', 'config')), false, 'no repository made');
  });

  it('refuses in init, as in key add, a key file shorter than 32 bytes', async () => {
    await writeFile(join(dir.path, 'short-key'), Buffer.alloc(31, 1));
    const init = await run(['init', '--repo', 'short-repo', '--key-file', 'short-key']);
    assert.equal(init.code, 2, init.stderr);
    assert.match(init.stderr, /a key file must hold at least 32 bytes/);

    const env = { HBR_PASSWORD: 'pw' };
    assert.equal((await run(['init', '--repo', 'ok-repo'], env)).code, 0);
    const add = await run(['key', 'add', '--repo', 'ok-repo', '--new-key-file', 'short-key'], env);
    assert.equal(add.code, 2, add.stderr);
    assert.equal(add.stderr, init.stderr);
  });

  it('exits 12 for a missing --key-file, 2 with a plain message for a missing --new-password-file', async () => {
    const missingKey = await run(['init', '--repo', 'k-repo', '--key-file', 'no-such-key']);
    assert.equal(missingKey.code, 12, missingKey.stderr);
    assert.match(missingKey.stderr, /cannot read the key file .*no-such-key.*: no such file/);

    const env = { HBR_PASSWORD: 'pw' };
    assert.equal((await run(['init', '--repo', 'p-repo'], env)).code, 0);
    const add = await run(['key', 'add', '--repo', 'p-repo', '--new-password-file', 'nope'], env);
    assert.equal(add.code, 2, add.stderr);
    assert.equal(add.stderr, 'hbr: cannot read --new-password-file nope: no such file\n');
  });

  it("opens with the config's passwordFile the config's repository given by --repo, never another", async () => {
    const home = join(dir.path, 'same');
    await mkdir(home);
    await writeFile(join(home, 'hbr.yaml'), 'repository:\n  path: ./repo\n  passwordFile: ./pw\n');
    await writeFile(join(home, 'pw'), 'the password\n');
    const inHome = (args: string[], env: NodeJS.ProcessEnv = {}) => hbr(args, { env, cwd: home });
    assert.equal((await inHome(['init'])).code, 0);
    const byFlag = await inHome(['-r', join(home, 'repo'), 'backups']);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    const byEnv = await inHome(['backups'], { HBR_REPOSITORY: 'repo/' });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    // Another repository, made with the same password: the config's file is not tried on it.
    const other = await inHome(['-r', 'other', 'init'], { HBR_PASSWORD: 'the password' });
    assert.equal(other.code, 0, other.stderr);
    const refused = await inHome(['-r', 'other', 'backups']);
    assert.equal(refused.code, 12);
    assert.match(
      refused.stderr,
      /no repository password for .*same\/other \(from --repo\): repository\.passwordFile in .*hbr\.yaml is for the config's repository, .*same\/repo,/,
    );
    // An hbr.yaml that cannot be read stands in the way only where it is needed: with the
    // credential given, --repo opens as it did without configs; named by --config, it is meant.
    await writeFile(join(home, 'hbr.yaml'), 'repository: [broken\n');
    const withPassword = await inHome(['-r', 'other', 'backups'], { HBR_PASSWORD: 'the password' });
    assert.equal(withPassword.code, 0, withPassword.stderr);
    const named = await inHome(['-r', 'other', '--config', 'hbr.yaml', 'backups'], {
      HBR_PASSWORD: 'the password',
    });
    assert.equal(named.code, 78, named.stderr);
    assert.equal((await inHome(['-r', 'other', 'backups'])).code, 78);
  });

  it('exits 78 naming the line for a credentialFile in hbr.yaml it cannot read', async () => {
    await writeFile(
      join(dir.path, 'hbr.yaml'),
      [
        'repository:',
        '  url: azure://acct/container/prod',
        '  credentialFile: missing-credential',
        '  passwordFile: pw',
      ].join('\n'),
    );
    await writeFile(join(dir.path, 'pw'), 'pw\n');
    const result = await run(['backups']);
    assert.equal(result.code, 78, result.stderr);
    assert.match(
      result.stderr,
      /hbr\.yaml:3:\d+: repository\.credentialFile: cannot read the credential file .*missing-credential: no such file/,
    );
  });
});
