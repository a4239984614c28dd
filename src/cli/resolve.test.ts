import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, MissingPasswordError, UsageError } from '../errors.ts';
import {
  parseLocation,
  sameLocation,
  requireConfig,
  resolveConfigFile,
  resolveCredentials,
  resolveRepositoryLocation,
} from './resolve.ts';

let dir: string;
/** A folder with an hbr.yaml naming a repository and a password file. */
let withConfig: string;
/** A folder with no hbr.yaml. */
let empty: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hbr-resolve-'));
  withConfig = path.join(dir, 'project');
  empty = path.join(dir, 'empty');
  await mkdir(withConfig);
  await mkdir(empty);
  await writeFile(
    path.join(withConfig, 'hbr.yaml'),
    'repository:\n  path: repo\n  passwordFile: config-password\n',
  );
  await writeFile(path.join(withConfig, 'config-password'), 'from-config\n');
  await writeFile(path.join(dir, 'flag-password'), 'from-flag\r\n');
  await writeFile(path.join(dir, 'env-password'), 'from-env-file\n\n');
  await writeFile(path.join(dir, 'empty-password'), '\n');
  await writeFile(path.join(dir, 'key'), 'KEY-BYTES');
  await writeFile(
    path.join(dir, 'other.yaml'),
    'repository:\n  url: azure://acct/container/prefix\n',
  );
  await writeFile(path.join(dir, 'no-repo.yaml'), 'sources: []\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}`);
}

void describe('resolveRepositoryLocation', () => {
  void it('takes --repo over HBR_REPOSITORY over the config file', async () => {
    const env = { HBR_REPOSITORY: 'from-env' };
    const flag = await resolveRepositoryLocation({ flag: 'from-flag', env, cwd: withConfig });
    assert.deepEqual(flag, {
      location: { kind: 'path', path: path.join(withConfig, 'from-flag') },
      from: 'flag',
    });
    const fromEnv = await resolveRepositoryLocation({ env, cwd: withConfig });
    assert.deepEqual(fromEnv.location, { kind: 'path', path: path.join(withConfig, 'from-env') });
    assert.equal(fromEnv.from, 'env');
    const fromConfig = await resolveRepositoryLocation({ env: {}, cwd: withConfig });
    assert.equal(fromConfig.from, 'config');
    assert.deepEqual(fromConfig.location, { kind: 'path', path: path.join(withConfig, 'repo') });
    assert.equal(fromConfig.configFile, path.join(withConfig, 'hbr.yaml'));
    assert.equal(
      fromConfig.config?.repository?.passwordFile,
      path.join(withConfig, 'config-password'),
    );
  });

  void it('reads --config over HBR_CONFIG over ./hbr.yaml', async () => {
    const viaFlag = await resolveRepositoryLocation({
      configFile: '../other.yaml',
      env: { HBR_CONFIG: path.join(dir, 'no-repo.yaml') },
      cwd: withConfig,
    });
    assert.deepEqual(viaFlag.location, {
      kind: 'url',
      url: 'azure://acct/container/prefix',
      scheme: 'azure',
    });
    const viaEnv = await resolveRepositoryLocation({
      env: { HBR_CONFIG: '../other.yaml' },
      cwd: withConfig,
    });
    assert.equal(viaEnv.configFile, path.join(dir, 'other.yaml'));
  });

  void it('treats empty variables as unset', async () => {
    const resolved = await resolveRepositoryLocation({
      flag: '',
      env: { HBR_REPOSITORY: '', HBR_CONFIG: '' },
      cwd: withConfig,
    });
    assert.equal(resolved.from, 'config');
  });

  void it('says how to name a repository when nothing does', async () => {
    const error = await rejects(resolveRepositoryLocation({ env: {}, cwd: empty }), UsageError);
    assert.match(error.message, /--repo LOCATION.*HBR_REPOSITORY.*hbr\.yaml/);
  });

  void it('fails with a ConfigError when a named config file is missing', async () => {
    const error = await rejects(
      resolveRepositoryLocation({ configFile: 'missing.yaml', env: {}, cwd: empty }),
      ConfigError,
    );
    assert.match(error.message, /missing\.yaml: cannot read the config file: no such file/);
  });

  void it('names an invalid ./hbr.yaml as the user sees it, with line and key', async () => {
    const bad = path.join(dir, 'bad');
    await mkdir(bad);
    await writeFile(path.join(bad, 'hbr.yaml'), 'repository:\n  path: r\n  compresion: 3\n');
    const error = await rejects(resolveRepositoryLocation({ env: {}, cwd: bad }), ConfigError);
    assert.equal(
      error.message,
      'hbr.yaml:3:3: repository.compresion: unknown key "compresion" (did you mean "compression"?)',
    );
  });

  void it('fails with a ConfigError when the config has no repository', async () => {
    const error = await rejects(
      resolveRepositoryLocation({ configFile: '../no-repo.yaml', env: {}, cwd: empty }),
      ConfigError,
    );
    assert.match(error.message, /no "repository:" in the config/);
  });
});

void describe('parseLocation', () => {
  void it('knows paths, file URLs and cloud URLs, and rejects other schemes', () => {
    assert.deepEqual(parseLocation('/abs', '/cwd', 'x'), { kind: 'path', path: '/abs' });
    assert.deepEqual(parseLocation('rel/r', '/cwd', 'x'), { kind: 'path', path: '/cwd/rel/r' });
    assert.deepEqual(parseLocation('file:///srv/r', '/cwd', 'x'), { kind: 'path', path: '/srv/r' });
    assert.throws(() => parseLocation('file://relative', '/cwd', '--repo'), {
      name: 'UsageError',
      message: /--repo: "file:\/\/relative" is no file URL of a local path/,
    });
    assert.deepEqual(parseLocation('s3://b/p', '/cwd', 'x'), {
      kind: 'url',
      url: 's3://b/p',
      scheme: 's3',
    });
    assert.throws(
      () => parseLocation('sftp://h/r', '/cwd', '--repo'),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^--repo: unknown repository URL scheme "sftp:\/\/"/);
        return true;
      },
    );
  });
});

void describe('sameLocation', () => {
  const url = (text: string) => parseLocation(text, '/', 'test');
  void it('takes a URL for the same repository whatever the order of its query or its trailing slash', () => {
    const held = 'azure://acct/backups/prod?endpoint=http%3A%2F%2F127.0.0.1&immutability=Unlocked';
    for (const same of [
      'azure://acct/backups/prod/?immutability=Unlocked&endpoint=http%3A%2F%2F127.0.0.1',
      'azure://acct/backups/prod//?endpoint=http%3A%2F%2F127.0.0.1&immutability=Unlocked',
    ])
      assert.equal(sameLocation(url(held), url(same)), true, same);
    for (const other of [
      'azure://acct/backups/prod?endpoint=http%3A%2F%2F127.0.0.2&immutability=Unlocked',
      'azure://acct/backups/prod?endpoint=http%3A%2F%2F127.0.0.1',
      'azure://acct/backups/test?endpoint=http%3A%2F%2F127.0.0.1&immutability=Unlocked',
      's3://acct/backups/prod?endpoint=http%3A%2F%2F127.0.0.1&immutability=Unlocked',
    ])
      assert.equal(sameLocation(url(held), url(other)), false, other);
    assert.equal(
      sameLocation({ kind: 'path', path: '/srv/repo/' }, { kind: 'path', path: '/srv/repo' }),
      true,
    );
  });
});

void describe('parseLocation of restic-style locations', () => {
  void it('refuses s3:bucket/prefix and its kin, naming the form hbr expects', () => {
    assert.throws(() => parseLocation('s3:bucket/prod', '/cwd', '--repo'), {
      name: 'UsageError',
      message: /^--repo: "s3:bucket\/prod" .*expects s3:\/\/BUCKET\/PREFIX.*\.\/s3:bucket\/prod/,
    });
    assert.throws(() => parseLocation('azure:container/x', '/cwd', 'repository.url'), {
      message: /expects azure:\/\/ACCOUNT\/CONTAINER\/PREFIX/,
    });
    for (const text of ['sftp:host:/srv', 'rest:http://h/', 'b2:bucket:path'])
      assert.throws(() => parseLocation(text, '/cwd', '--repo'), { name: 'UsageError' });
  });

  void it('still takes ./s3:x and names that only look alike as paths', () => {
    assert.deepEqual(parseLocation('./s3:x', '/cwd', 'x'), { kind: 'path', path: '/cwd/s3:x' });
    assert.deepEqual(parseLocation('backup:2024', '/cwd', 'x'), {
      kind: 'path',
      path: '/cwd/backup:2024',
    });
  });
});

void describe('resolveConfigFile and requireConfig', () => {
  void it('finds ./hbr.yaml only when it exists, and marks named files explicit', async () => {
    assert.deepEqual(await resolveConfigFile({ env: {}, cwd: withConfig }), {
      file: path.join(withConfig, 'hbr.yaml'),
      explicit: false,
    });
    assert.equal(await resolveConfigFile({ env: {}, cwd: empty }), undefined);
    assert.deepEqual(await resolveConfigFile({ env: { HBR_CONFIG: 'x.yaml' }, cwd: empty }), {
      file: path.join(empty, 'x.yaml'),
      explicit: true,
    });
  });

  void it('requireConfig is a usage error without any config file', async () => {
    await rejects(requireConfig({ env: {}, cwd: empty }), UsageError);
    const { config } = await requireConfig({ env: {}, cwd: withConfig });
    assert.equal(config.repository?.path, path.join(withConfig, 'repo'));
  });
});

void describe('resolveCredentials', () => {
  void it('takes --password-file first and strips its line break', async () => {
    const env = { HBR_PASSWORD: 'from-env', HBR_PASSWORD_FILE: 'env-password' };
    const config = { passwordFile: path.join(withConfig, 'config-password') };
    const credentials = await resolveCredentials({
      passwordFile: 'flag-password',
      env,
      cwd: dir,
      config,
    });
    assert.deepEqual(credentials, {
      kind: 'password',
      password: 'from-flag',
      from: '--password-file',
    });
  });

  void it('takes --key-file over the environment and returns the key bytes', async () => {
    const credentials = await resolveCredentials({
      keyFile: 'key',
      env: { HBR_PASSWORD: 'x' },
      cwd: dir,
    });
    assert.equal(credentials.kind, 'keyFile');
    assert.ok(credentials.kind === 'keyFile');
    assert.equal(credentials.path, path.join(dir, 'key'));
    assert.equal(credentials.key.toString(), 'KEY-BYTES');
  });

  void it('takes HBR_PASSWORD, then HBR_PASSWORD_FILE, then HBR_KEY_FILE, then the config', async () => {
    const env = { HBR_PASSWORD: 'literal', HBR_PASSWORD_FILE: 'env-password', HBR_KEY_FILE: 'key' };
    const cfg = { passwordFile: path.join(withConfig, 'config-password') };
    const first = await resolveCredentials({ env, cwd: dir, config: cfg });
    assert.deepEqual(first, { kind: 'password', password: 'literal', from: 'HBR_PASSWORD' });
    const second = await resolveCredentials({
      env: { ...env, HBR_PASSWORD: '' },
      cwd: dir,
      config: cfg,
    });
    assert.deepEqual(second, {
      kind: 'password',
      password: 'from-env-file',
      from: 'HBR_PASSWORD_FILE',
    });
    const third = await resolveCredentials({ env: { HBR_KEY_FILE: 'key' }, cwd: dir, config: cfg });
    assert.equal(third.from, 'HBR_KEY_FILE');
    const fourth = await resolveCredentials({
      env: {},
      cwd: dir,
      config: cfg,
      configFile: 'hbr.yaml',
    });
    assert.deepEqual(fourth, {
      kind: 'password',
      password: 'from-config',
      from: 'repository.passwordFile in hbr.yaml',
    });
    const fifth = await resolveCredentials({
      env: {},
      cwd: dir,
      config: { keyFile: path.join(dir, 'key') },
    });
    assert.equal(fifth.kind, 'keyFile');
  });

  void it('refuses both flags at once', async () => {
    await rejects(
      resolveCredentials({ passwordFile: 'flag-password', keyFile: 'key', env: {}, cwd: dir }),
      UsageError,
    );
  });

  void it('is a MissingPasswordError when nothing names a credential', async () => {
    const error = await rejects(
      resolveCredentials({ env: { HBR_PASSWORD: '' }, cwd: dir }),
      MissingPasswordError,
    );
    assert.match(error.message, /HBR_PASSWORD.*--password-file/);
  });

  void it('rejects an empty password file', async () => {
    const error = await rejects(
      resolveCredentials({ passwordFile: 'empty-password', env: {}, cwd: dir }),
      MissingPasswordError,
    );
    assert.match(error.message, /empty-password \(from --password-file\) is empty/);
  });

  void it('names the file and its origin when it cannot be read (a missing password, exit 12)', async () => {
    const fromEnv = await rejects(
      resolveCredentials({ env: { HBR_PASSWORD_FILE: 'nope' }, cwd: dir }),
      MissingPasswordError,
    );
    assert.equal(
      fromEnv.message,
      `cannot read the password file ${path.join(dir, 'nope')} (from HBR_PASSWORD_FILE): no such file`,
    );
    const fromConfig = await rejects(
      resolveCredentials({
        env: {},
        cwd: dir,
        config: { keyFile: '/nonexistent/key' },
        configFile: '/etc/hbr.yaml',
      }),
      ConfigError,
    );
    assert.match(
      fromConfig.message,
      /^\/etc\/hbr\.yaml: cannot read the key file \/nonexistent\/key/,
    );
  });
});
