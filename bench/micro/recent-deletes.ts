/**
 * What creating files costs right after others were deleted. On ext4 without a journal, the
 * inode allocator passes over free inodes deleted less than 60 s ago (360 s while their inode
 * table block is dirty, as creating files in it makes it), looking each up in the buffer cache,
 * for every file it creates: a restore into a folder made just after another restore was deleted
 * pays for that deletion. The benchmark therefore retires trees instead of deleting them while
 * it measures (`bench/retire.ts`).
 *
 * Creates `--files` files of `--kb` KB in 50 folders three times, each in a new folder: after a
 * first set was retired (files emptied and moved, nothing deleted), right after the second set was
 * deleted, and after that deletion plus `sync` and `drop_caches` (root only), which empties the
 * buffer cache the allocator looks in. Prints the process's CPU per file for each.
 * `node --import tsx bench/micro/recent-deletes.ts [--files 20000] [--kb 17] [--dir DIR]`
 * @module
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { retire } from '../retire.ts';
import { dropCaches } from '../system.ts';
import { timed } from './timed.ts';

const FOLDERS = 50;
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    kb: { type: 'string', default: '17' },
    dir: { type: 'string' },
  },
});
const files = Number(values.files);
const content = Buffer.alloc(Number(values.kb) * 1000, 7);
const root = mkdtempSync(join(values.dir ?? tmpdir(), 'hbr-recent-deletes-'));
const rows: { what: string; wall: number; cpu: number }[] = [];
const fileSystem = _fileSystem();

try {
  await retire(_create('first set (not timed)'), join(root, 'retired'));
  rows.pop();
  rmSync(_create('after the first set was retired, nothing deleted'), { recursive: true });
  rmSync(_create('right after deleting the second set'), { recursive: true });
  const dropped = await dropCaches();
  _create(
    dropped
      ? 'after deleting the third set, sync and drop_caches'
      : 'after deleting the third set (drop_caches not permitted: not dropped)',
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}

console.log(`file system: ${fileSystem}`);
console.log(`${files} files of ${content.length} bytes in ${FOLDERS} new folders each time`);
console.log('| files created | wall s | CPU s | CPU us per file |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows) {
  const perFile = (row.cpu / files) * 1e6;
  console.log(
    `| ${row.what} | ${row.wall.toFixed(2)} | ${row.cpu.toFixed(2)} | ${perFile.toFixed(0)} |`,
  );
}

/** Creates the files in a new folder named after `what`, timing it into `rows`; returns it. */
function _create(what: string): string {
  const folder = join(root, `${rows.length}`);
  for (let f = 0; f < FOLDERS; f++) mkdirSync(join(folder, `${f}`), { recursive: true });
  const time = timed(() => {
    for (let i = 0; i < files; i++) {
      const fd = openSync(join(folder, `${i % FOLDERS}`, `${i}.json`), 'wx', 0o644);
      writeSync(fd, content);
      closeSync(fd);
    }
  });
  rows.push({ what, ...time });
  return folder;
}

/** The file system under `root`, and whether ext4 there keeps a journal. */
function _fileSystem(): string {
  const found = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '-T', root], {
    encoding: 'utf8',
  });
  const [source = '?', type = '?'] = found.trim().split(/\s+/);
  const journal = `/sys/fs/ext4/${basename(source)}/journal_task`;
  if (type !== 'ext4' || !existsSync(journal)) return `${source} ${type}`;
  const task = readFileSync(journal, 'utf8').trim();
  return `${source} ext4, ${task === '<none>' ? 'no journal' : `journal (${task})`}`;
}
