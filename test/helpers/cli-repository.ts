import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { openRepository, type OpenRepository } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { hbr, type CliResult } from './cli.ts';
import { tempDir } from './temp.ts';

/** Options of {@link cliRepository}. */
export interface CliRepositoryOptions {
  /** The repository's password, given as HBR_PASSWORD. @default 'pw' */
  readonly password?: string;
  /** Flags of the `hbr init` that creates the repository (`--pack-size 1`). @default [] */
  readonly init?: readonly string[];
  /** More variables for every command, made once the folder exists (`HBR_CACHE_DIR`). */
  readonly env?: (path: string) => NodeJS.ProcessEnv;
  /** What must be undone before the folder can be removed (a folder's permissions taken away). */
  readonly beforeRemove?: (path: string) => Promise<void>;
}

/** A temporary folder holding a repository made by `hbr init`, and a runner of hbr in it. */
export interface CliRepository {
  /** The temporary folder: the commands' working folder, holding the repository at `repo`. */
  readonly path: string;
  /**
   * What every command gets: HBR_REPOSITORY and HBR_PASSWORD (and the options' `env`). The same
   * object throughout, so a test that changes a variable changes it for the tests after it.
   */
  readonly env: NodeJS.ProcessEnv;
  /** Runs one hbr command line in-process, with {@link env}, in {@link path}. */
  readonly run: (...args: string[]) => Promise<CliResult>;
  /** Opens the repository in-process, with the password it was made with. */
  readonly open: () => Promise<OpenRepository>;
}

/**
 * The setup of most CLI tests, for a `describe`: registers a `before` hook that makes a temporary
 * folder and runs `hbr init` on `repo` in it (asserting it exits 0), and an `after` hook that
 * removes the folder (after `beforeRemove`). node:test runs a suite's hooks in the order they were
 * registered: the suite's own `before` hooks run after the init, its `after` hooks after the
 * removal.
 *
 * @example
 * describe('hbr backup', () => {
 *   const cli = cliRepository();
 *   before(() => writeFile(join(cli.path, 'a.txt'), 'a'));
 *   it('backs up a file', async () => assert.equal((await cli.run('backup', 'a.txt')).code, 0));
 * });
 */
export function cliRepository(options: CliRepositoryOptions = {}): CliRepository {
  const password = options.password ?? 'pw';
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let env: NodeJS.ProcessEnv | undefined;
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('cliRepository: used before its before hook ran');
    return value;
  };
  const path = (): string => made(dir).path;
  const run = (...args: string[]): Promise<CliResult> => hbr(args, { env: made(env), cwd: path() });

  before(async () => {
    dir = await tempDir();
    env = {
      HBR_REPOSITORY: join(dir.path, 'repo'),
      HBR_PASSWORD: password,
      ...options.env?.(dir.path),
    };
    const init = await run('init', ...(options.init ?? []));
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    if (!dir) return;
    await options.beforeRemove?.(dir.path);
    await dir.remove();
  });

  return {
    get path() {
      return path();
    },
    get env() {
      return made(env);
    },
    run,
    open: () =>
      openRepository(createLocalStore({ path: join(path(), 'repo') }), {
        kind: 'password',
        password,
      }),
  };
}
