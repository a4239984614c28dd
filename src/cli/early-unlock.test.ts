import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { initRepository, openRepository } from '../repository/index.ts';
import { addKey } from '../repository/keys.ts';
import {
  derivePasswordKey,
  startedDerivations,
  untakenDerivations,
} from '../repository/password-kdf.ts';
import { createLocalStore } from '../stores/local.ts';
import { hbr } from '../../test/helpers/cli.ts';
import { deriveKeyEarly, deriveKeyForCommandLine, VALUE_OPTIONS } from './early-unlock.ts';

const fast = { N: 1024, r: 8, p: 1 };

/** The password the early derivation was started with, if it was one of `candidates`. */
async function guessedAmong(keyFile: string, candidates: string[]): Promise<string | undefined> {
  const file = JSON.parse(readFileSync(keyFile, 'utf8')) as { salt: string };
  const salt = Buffer.from(file.salt, 'base64');
  for (const password of candidates) {
    const before = untakenDerivations();
    await derivePasswordKey(password, salt, fast);
    if (untakenDerivations() < before) return password;
  }
  return undefined;
}

describe('the key derivation started before the command loads', () => {
  let dir: string;
  let repo: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-early-'));
    repo = join(dir, 'repo');
    await initRepository(
      createLocalStore({ path: repo }),
      { kind: 'password', password: 'right' },
      { scryptParams: fast },
    );
    await writeFile(join(dir, 'pw'), 'right\n');
    await writeFile(join(dir, 'other-pw'), 'other\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the guess for `argv`: for the repository's key file, and taken by its unlock. */
  const takenByTheUnlock = async (
    argv: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
  ): Promise<void> => {
    const [keyName] = await readdir(join(repo, 'keys'));
    assert.equal(
      await deriveKeyEarly(argv, env, cwd),
      join(repo, 'keys', keyName ?? ''),
      argv.join(' '),
    );
    const before = untakenDerivations();
    await openRepository(createLocalStore({ path: repo }), { kind: 'password', password: 'right' });
    assert.equal(untakenDerivations(), before - 1, `${argv.join(' ')}: taken by the unlock`);
  };

  test('the unlock takes it: --repo and a password file, in each way they are written', async () => {
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [['backup', 'x', '--repo', 'repo'], { HBR_PASSWORD_FILE: 'pw' }],
      [['--repo=repo', 'backup', 'x'], { HBR_PASSWORD_FILE: join(dir, 'pw') }],
      [['-r', 'repo', 'restore', 'latest'], { HBR_PASSWORD: 'right' }],
      [['-rrepo', 'check', '--password-file', 'pw'], { HBR_PASSWORD: 'wrong' }],
      [['check'], { HBR_REPOSITORY: pathToFileURL(repo).href, HBR_PASSWORD: 'right' }],
      [['check', '--password-file=pw'], { HBR_REPOSITORY: 'repo', HBR_PASSWORD: 'wrong' }],
    ];
    for (const [argv, env] of cases) await takenByTheUnlock(argv, env, dir);
  });

  test('no guess from a remote repository without copies of its key files, a key file, flags after --, or for help', async () => {
    const before = untakenDerivations();
    const none: [string[], NodeJS.ProcessEnv][] = [
      [['backup', 'x'], { HBR_PASSWORD: 'right' }], // named nowhere: no ./hbr.yaml here
      [['backup', 'x', '--repo', 's3://bucket/repo'], { HBR_PASSWORD: 'right' }],
      // No copy of its key files in the cache (none read yet).
      [
        ['backup', 'x', '--repo', 's3://bucket/repo'],
        { HBR_PASSWORD: 'right', HBR_CACHE_DIR: 'c' },
      ],
      // The password would come from a config naming this repository: not read for --repo.
      [['backup', 'x', '--repo', 'repo'], {}],
      [['backup', 'x', '--repo', 'repo', '--key-file', 'k'], { HBR_PASSWORD: 'right' }],
      [['backup', 'x', '--repo', 'repo'], { HBR_KEY_FILE: 'k' }],
      [['backup', '--', '--repo', 'repo'], { HBR_PASSWORD: 'right' }],
      [['backup', 'x', '--repo', 'missing'], { HBR_PASSWORD: 'right' }],
      [['backup', 'x', '--repo', 'repo', '--password-file', 'no-such-file'], {}],
      [['backup', 'x', '--repo', ''], { HBR_PASSWORD: 'right' }],
      [['backup', '--help', '--repo', 'repo'], { HBR_PASSWORD: 'right' }],
      [['-h', 'check', '--repo', 'repo'], { HBR_PASSWORD: 'right' }],
    ];
    for (const [argv, env] of none) {
      assert.equal(await deriveKeyEarly(argv, env, dir), undefined, argv.join(' '));
    }
    assert.equal(untakenDerivations(), before);
  });

  test('the password is the one resolve.ts would take: flag, then HBR_PASSWORD, then its file', async () => {
    const env = { HBR_PASSWORD: 'right', HBR_PASSWORD_FILE: 'other-pw' };
    const candidates = ['right', 'other'];
    const keyFile = (await deriveKeyEarly(['check', '--repo', 'repo'], env, dir)) ?? '';
    assert.equal(await guessedAmong(keyFile, candidates), 'right');
    const flagged = ['check', '--repo', 'repo', '--password-file', 'other-pw'];
    assert.equal(
      await guessedAmong((await deriveKeyEarly(flagged, env, dir)) ?? '', candidates),
      'other',
    );
    const fileOnly = { HBR_PASSWORD_FILE: 'other-pw' };
    const fromFile = (await deriveKeyEarly(['check', '--repo', 'repo'], fileOnly, dir)) ?? '';
    assert.equal(await guessedAmong(fromFile, candidates), 'other', 'its line break dropped');
  });

  test("the config file's repository and password file: ./hbr.yaml, --config, HBR_CONFIG", async () => {
    const cfg = join(dir, 'cfg');
    await mkdir(cfg, { recursive: true });
    // Relative to the config file's folder, as the command reads them.
    await writeFile(join(cfg, 'hbr.yaml'), 'repository:\n  path: ../repo\n  passwordFile: ../pw\n');
    await writeFile(join(cfg, 'url.yaml'), `repository:\n  url: ${pathToFileURL(repo).href}\n`);
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [['backup', 'x'], {}, cfg],
      [['-c', 'cfg/hbr.yaml', 'check'], {}, dir],
      [['--config=cfg/hbr.yaml', 'check'], {}, dir],
      [['-ccfg/hbr.yaml', 'restore', 'latest'], {}, dir],
      [['check'], { HBR_CONFIG: join(cfg, 'hbr.yaml') }, dir],
      [['check', '--config', 'cfg/url.yaml'], { HBR_PASSWORD: 'right' }, dir],
    ];
    for (const [argv, env, cwd] of cases) await takenByTheUnlock(argv, env, cwd);
    // A password from the environment comes before the config's, as resolve.ts takes them.
    const fromEnv = await deriveKeyEarly(['check'], { HBR_PASSWORD: 'other' }, cfg);
    assert.equal(await guessedAmong(fromEnv ?? '', ['right', 'other']), 'other');

    await writeFile(join(cfg, 'key.yaml'), 'repository:\n  path: ../repo\n  keyFile: ../k\n');
    await writeFile(join(cfg, 'none.yaml'), 'sources: []\n');
    await writeFile(join(cfg, 'bad.yaml'), 'repository: [\n');
    const before = untakenDerivations();
    const none: [string[], NodeJS.ProcessEnv][] = [
      [['check', '-c', 'cfg/key.yaml'], {}], // a key file opens it
      [['check', '-c', 'cfg/hbr.yaml'], { HBR_KEY_FILE: 'k' }], // the environment's key file
      [['check', '-c', 'cfg/none.yaml'], { HBR_PASSWORD: 'right' }], // no repository in it
      [['check', '-c', 'cfg/bad.yaml'], { HBR_PASSWORD: 'right' }], // no YAML
      [['check', '-c', 'cfg/missing.yaml'], { HBR_PASSWORD: 'right' }],
      [['check', '-c', 'cfg/url.yaml'], {}], // no password anywhere
    ];
    for (const [argv, env] of none) {
      assert.equal(await deriveKeyEarly(argv, env, dir), undefined, argv.join(' '));
    }
    assert.equal(untakenDerivations(), before);
  });

  test('a wrong guess opens nothing: the unlock tries every key with the real password', async () => {
    const store = createLocalStore({ path: repo });
    const opened = await openRepository(store, { kind: 'password', password: 'right' });
    await addKey(
      store,
      opened.masterKey,
      { kind: 'password', password: 'second' },
      {
        scryptParams: fast,
      },
    );
    for (const password of ['right', 'second']) {
      await deriveKeyEarly(['check', '--repo', 'repo'], { HBR_PASSWORD: 'wrong' }, dir);
      const again = await openRepository(store, { kind: 'password', password });
      assert.deepEqual(again.masterKey, opened.masterKey, password);
      // The guess for the first key file, with the password it knew, opens nothing.
      await deriveKeyEarly(['check', '--repo', 'repo'], { HBR_PASSWORD: password }, dir);
      await assert.rejects(
        openRepository(store, { kind: 'password', password: 'wrong' }),
        /wrong password/,
      );
    }
  });

  test('from the command line: once, and only for commands that open a repository', async () => {
    const own = join(dir, 'own');
    await initRepository(
      createLocalStore({ path: own }),
      { kind: 'password', password: 'right' },
      { scryptParams: fast },
    );
    const env = { HBR_REPOSITORY: 'own', HBR_PASSWORD: 'right' };
    const started = async (argv: string[]): Promise<number> => {
      const before = startedDerivations();
      await deriveKeyForCommandLine(argv, env, dir);
      return startedDerivations() - before;
    };
    assert.equal(await started(['-c', 'hbr.yaml', '--json', 'check']), 1);
    assert.equal(await started(['check', '--read-data']), 0, 'started already: nothing more');
    await openRepository(createLocalStore({ path: own }), { kind: 'password', password: 'right' });
    for (const argv of [['init'], ['--version'], ['demo'], ['--repo', 'check'], []])
      assert.equal(await started(argv), 0, argv.join(' '));
  });

  test("knows which of main.ts's global options take a value", async () => {
    const help = await hbr(['--help']);
    const global = help.stdout.slice(
      help.stdout.indexOf('Options:'),
      help.stdout.indexOf('Commands:'),
    );
    const taking = [...global.matchAll(/^ {2}(-\w, )?(--[\w-]+) <\w+>/gm)].flatMap((m) =>
      m[1] ? [m[1].slice(0, 2), m[2] ?? ''] : [m[2] ?? ''],
    );
    assert.ok(taking.includes('--repo'), global);
    assert.deepEqual(taking.sort(), [...VALUE_OPTIONS].sort());
  });
});
