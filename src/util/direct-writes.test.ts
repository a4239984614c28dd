import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDirectWrites, type DirectFile } from './direct-writes.ts';

/** An `EINVAL` as Linux gives it where a file system or memory does not suit `O_DIRECT`. */
const einval = (): NodeJS.ErrnoException =>
  Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' });
const isDirect = (flags: unknown): boolean =>
  typeof flags === 'number' && (flags & constants.O_DIRECT) !== 0;

/** Writes `bytes` to `file` in pieces of the given sizes, cycling through them. */
async function writeInPieces(file: DirectFile, bytes: Buffer, sizes: number[]): Promise<void> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const length = Math.min(sizes[i % sizes.length] ?? 1, bytes.length - at);
    await file.write(bytes, at, length, at);
    at += length;
  }
}

/**
 * `open` whose writes past the page cache wait until the test lets them go: each waiting write
 * puts its go-ahead in `held`.
 */
function heldWrites(held: (() => void)[]): typeof open {
  return (async (path: string, flags?: unknown, mode?: number) => {
    const handle = await open(path, flags as number, mode);
    if (!isDirect(flags)) return handle;
    return new Proxy(handle, {
      get(target, key) {
        // FileHandle's methods use private fields: they must run on the handle itself.
        const value: unknown = Reflect.get(target, key);
        if (key === 'write') {
          return async (...args: unknown[]) => {
            await new Promise<void>((resolve) => held.push(resolve));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function'
          ? (value as (...args: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }) as typeof open;
}

describe('direct writes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-direct-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a file of any length reads back byte for byte, at its own length and mode', async () => {
    const direct = createDirectWrites({ pieceBytes: 64 * 1024, pieces: 4, perFile: 2 });
    for (const length of [0, 1, 4095, 4096, 64 * 1024, 300_001]) {
      const bytes = randomBytes(length);
      const path = join(dir, `len-${length}`);
      const file = await direct.create(path, 0o640);
      assert.ok(file, 'this file system writes past the page cache');
      await writeInPieces(file, bytes, [7, 70_000, 4096, 1]);
      await file.finish({ sync: length % 2 === 0 });
      assert.deepEqual(await readFile(path), bytes);
      assert.equal((await stat(path)).mode & 0o777, 0o640);
    }
  });

  test('files written at once each write from pieces of their own, never waiting on another', async () => {
    // Two pieces: two files take one each as they are created; a third finds none and is left
    // to the page cache. One file holding a half-filled piece while it waits (for bytes to read,
    // which the other may hold) must not stop the other: it writes all of its bytes through its
    // own piece and finishes.
    const direct = createDirectWrites({ pieceBytes: 64 * 1024, pieces: 2, perFile: 2 });
    const waiting = await direct.create(join(dir, 'shared-waiting'), 0o600);
    const writing = await direct.create(join(dir, 'shared-writing'), 0o600);
    assert.ok(waiting && writing);
    assert.equal(await direct.create(join(dir, 'shared-none'), 0o600), undefined);
    const first = randomBytes(1000);
    await waiting.write(first, 0, first.length, 0);
    const bytes = randomBytes(1_000_000);
    await writeInPieces(writing, bytes, [100_000, 12_345]);
    await writing.finish();
    assert.deepEqual(await readFile(join(dir, 'shared-writing')), bytes);
    const rest = randomBytes(300_000);
    await waiting.write(rest, 0, rest.length, first.length);
    await waiting.finish();
    assert.deepEqual(await readFile(join(dir, 'shared-waiting')), Buffer.concat([first, rest]));
    // Finished files give their pieces back.
    const next = await direct.create(join(dir, 'shared-next'), 0o600);
    assert.ok(next, 'a piece is free again');
    await next.abort();
  });

  test('a file created while every piece is being written waits for one to come back', async () => {
    const held: (() => void)[] = [];
    const gated = heldWrites(held);
    const direct = createDirectWrites({
      pieceBytes: 64 * 1024,
      pieces: 2,
      perFile: 2,
      open: gated,
    });
    const first = await direct.create(join(dir, 'gated-1'), 0o600);
    assert.ok(first);
    // Two full pieces: its own and the pool's other, both being written.
    const bytes = randomBytes(2 * 64 * 1024);
    await first.write(bytes, 0, bytes.length, 0);
    assert.equal(held.length, 2);
    const second = direct.create(join(dir, 'gated-2'), 0o600);
    await new Promise((resolve) => setTimeout(resolve, 20));
    held.splice(0).forEach((go) => go());
    const file = await second;
    assert.ok(file, 'the piece written for the other file came back to it');
    const more = randomBytes(1000);
    const release = setInterval(() => held.splice(0).forEach((go) => go()), 2);
    try {
      await file.write(more, 0, more.length, 0);
      await Promise.all([file.finish(), first.finish()]);
    } finally {
      clearInterval(release);
    }
    assert.deepEqual(await readFile(join(dir, 'gated-1')), bytes);
    assert.deepEqual(await readFile(join(dir, 'gated-2')), more);
  });

  test('files waiting for a piece are woken when pieces come back, whoever asked before', async () => {
    // Files created while a piece was being written must not keep a claim on its return: the
    // one file left waiting would then sleep through it, with pieces free, and a restore creating
    // a group's files one after another would hang on it.
    const held: (() => void)[] = [];
    const piece = 64 * 1024;
    const direct = createDirectWrites({
      pieceBytes: piece,
      pieces: 4,
      perFile: 2,
      open: heldWrites(held),
    });
    const writer = await direct.create(join(dir, 'woken-writer'), 0o600);
    assert.ok(writer);
    await writer.write(randomBytes(2 * piece), 0, 2 * piece, 0); // its piece and one more
    assert.equal(held.length, 2);
    // The two pieces left, taken while one of the writer's is on its way back.
    const others = await Promise.all(
      ['woken-1', 'woken-2'].map((name) => direct.create(join(dir, name), 0o600)),
    );
    assert.ok(others.every(Boolean));
    let woken = false;
    const waiter = direct.create(join(dir, 'woken-3'), 0o600).then((file) => {
      woken = true;
      return file;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(woken, false, 'no piece free: it waits');
    held.splice(0).forEach((go) => go());
    await writer.finish();
    const file = await Promise.race([
      waiter,
      new Promise<'asleep'>((resolve) => setTimeout(() => resolve('asleep'), 2000)),
    ]);
    if (file === 'asleep') assert.fail('not woken once the writer gave its pieces back');
    assert.ok(file, 'with a piece of its own');
    const bytes = randomBytes(1000);
    await file.write(bytes, 0, bytes.length, 0);
    const release = setInterval(() => held.splice(0).forEach((go) => go()), 2);
    try {
      await file.finish();
      for (const other of others) await other?.abort();
    } finally {
      clearInterval(release);
    }
    assert.deepEqual(await readFile(join(dir, 'woken-3')), bytes);
  });

  test('a write that does not continue where the last ended is refused', async () => {
    const direct = createDirectWrites({ pieceBytes: 64 * 1024, pieces: 1 });
    const file = await direct.create(join(dir, 'gap'), 0o600);
    assert.ok(file);
    await file.write(Buffer.alloc(10), 0, 10, 0);
    await assert.rejects(file.write(Buffer.alloc(10), 0, 10, 20), /expected 10/);
    await file.abort();
  });

  test('an aborted file gives its memory back and the next file is written whole', async () => {
    const direct = createDirectWrites({ pieceBytes: 64 * 1024, pieces: 1, perFile: 1 });
    const aborted = await direct.create(join(dir, 'aborted'), 0o600);
    assert.ok(aborted);
    await aborted.write(randomBytes(100_000), 0, 100_000, 0);
    await aborted.abort();
    const bytes = randomBytes(200_000);
    const file = await direct.create(join(dir, 'after-abort'), 0o600);
    assert.ok(file);
    await writeInPieces(file, bytes, [65_536]);
    await file.finish();
    assert.deepEqual(await readFile(join(dir, 'after-abort')), bytes);
  });

  test('a write waiting for a piece when the file is aborted gives the piece back', async () => {
    const held: (() => void)[] = [];
    const direct = createDirectWrites({
      pieceBytes: 64 * 1024,
      pieces: 2,
      perFile: 1,
      open: heldWrites(held),
    });
    const file = await direct.create(join(dir, 'abort-while-waiting'), 0o600);
    assert.ok(file);
    const piece = randomBytes(64 * 1024);
    await file.write(piece, 0, piece.length, 0); // the first piece, full: its write is held
    const waiting = file.write(piece, 0, piece.length, piece.length); // waits for that write
    waiting.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const aborting = file.abort();
    held.splice(0).forEach((go) => go());
    await aborting;
    await assert.rejects(waiting, /write after abort/);
    // Both pieces are back: two files each get one of their own.
    const next = await Promise.all(
      ['after-waiting-1', 'after-waiting-2'].map((name) => direct.create(join(dir, name), 0o600)),
    );
    assert.ok(next.every(Boolean), 'each file has a piece of its own');
    for (const other of next) await other?.abort();
  });

  test('an existing file is never written over', async () => {
    const direct = createDirectWrites();
    await assert.rejects(direct.create(join(dir, 'len-1'), 0o600), { code: 'EEXIST' });
    assert.equal((await readdir(dir)).filter((n) => n === 'len-1').length, 1);
    assert.equal((await readFile(join(dir, 'len-1'))).length, 1);
  });

  test('where the file system refuses at open, no file is left and files are written as usual', async () => {
    const tries: string[] = [];
    // As Linux does on such a file system: the file is created, then the open fails.
    const refusing = (async (path: string, flags?: unknown, mode?: number) => {
      if (!isDirect(flags)) return open(path, flags as number, mode);
      tries.push(path);
      await (await open(path, 'wx', mode)).close();
      throw einval();
    }) as typeof open;
    const direct = createDirectWrites({ open: refusing });
    assert.equal(await direct.create(join(dir, 'refused-1'), 0o600), undefined);
    assert.equal(await direct.create(join(dir, 'refused-2'), 0o600), undefined);
    assert.deepEqual(tries, [join(dir, 'refused-1')], 'asked once, then never again');
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('refused')),
      [],
      'the file the failed open created is gone',
    );
  });

  test('where a write past the cache is refused, the file is finished through it, whole', async () => {
    let refusedWrites = 0;
    // Opens past the cache as asked, but its writes fail as misaligned memory would.
    const writesRefused = (async (path: string, flags?: unknown, mode?: number) => {
      const handle = await open(path, flags as number, mode);
      if (!isDirect(flags)) return handle;
      return new Proxy(handle, {
        get(target, key) {
          if (key === 'write') {
            return () => {
              refusedWrites++;
              return Promise.reject(einval());
            };
          }
          // FileHandle's methods use private fields: they must run on the handle itself.
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function'
            ? (value as (...args: unknown[]) => unknown).bind(target)
            : value;
        },
      });
    }) as typeof open;
    const direct = createDirectWrites({ pieceBytes: 64 * 1024, pieces: 2, open: writesRefused });
    const bytes = randomBytes(300_001);
    const file = await direct.create(join(dir, 'fell-back'), 0o600);
    assert.ok(file, 'the open itself succeeded');
    await writeInPieces(file, bytes, [50_000]);
    await file.finish({ sync: true });
    assert.deepEqual(await readFile(join(dir, 'fell-back')), bytes);
    assert.ok(refusedWrites >= 1);
    assert.equal(await direct.create(join(dir, 'after-fall-back'), 0o600), undefined);
  });
});
