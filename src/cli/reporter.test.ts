import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { NotFoundError } from '../errors.ts';
import { createReporter, type ReporterOptions } from './reporter.ts';

/** A writable that keeps what was written. */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/** A reporter over in-memory streams and a clock the test moves by hand. */
function harness(options: Partial<ReporterOptions> = {}) {
  const stdout = sink();
  const stderr = sink();
  const clock = { t: 1_000_000 };
  const reporter = createReporter({
    isTTY: false,
    env: {},
    stdout,
    stderr,
    now: () => clock.t,
    ...options,
  });
  return { reporter, stdout, stderr, clock };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const ANSI = /\u001b\[/;

void describe('createReporter', () => {
  void it('picks JSON for --json, a live line for a terminal, plain lines otherwise', () => {
    assert.equal(harness({ json: true, isTTY: true }).reporter.mode, 'json');
    assert.equal(harness({ isTTY: true }).reporter.mode, 'tty');
    assert.equal(harness({ isTTY: false }).reporter.mode, 'plain');
    assert.equal(harness({ isTTY: true, progress: false }).reporter.mode, 'plain');
    assert.equal(harness({ isTTY: true, env: { TERM: 'dumb' } }).reporter.mode, 'plain');
  });
});

void describe('JSON reporter', () => {
  void it('writes at most two status lines a second, then the last state and the summary', () => {
    const { reporter, stdout, stderr, clock } = harness({ json: true });
    reporter.start('backup', { bytes: 1000, files: 4 });
    for (let step = 1; step <= 11; step++) {
      clock.t += 100;
      reporter.progress({
        files: Math.floor(step / 4),
        bytes: step * 25,
        currentPath: `/data/f${step}`,
      });
    }
    reporter.summary({ filesNew: 3, bytesAdded: 275 }, ['ignored in JSON mode']);
    reporter.done();

    const lines = jsonLines(stdout.text());
    const statuses = lines.filter((line) => line.messageType === 'status');
    // Updates at 100…1100 ms: shown at 100, 600 and 1100 (500 ms apart); the rest are dropped.
    assert.deepEqual(
      statuses.map((s) => s.secondsElapsed),
      [0.1, 0.6, 1.1],
    );
    const last = statuses.at(-1);
    assert.equal(last?.bytesDone, 275);
    assert.equal(last?.totalBytes, 1000);
    assert.equal(last?.percentDone, 0.275);
    assert.equal(last?.bytesPerSecond, 250);
    assert.equal(last?.secondsRemaining, 3);
    assert.deepEqual(last?.currentFiles, ['/data/f11']);
    assert.deepEqual(lines.at(-1), { messageType: 'summary', filesNew: 3, bytesAdded: 275 });
    assert.equal(stderr.text(), '');
  });

  void it('flushes a pending status before the summary', () => {
    const { reporter, stdout, clock } = harness({ json: true });
    reporter.start('restore');
    reporter.progress({ files: 1, bytes: 10 });
    clock.t += 50;
    reporter.progress({ files: 2, bytes: 20 });
    reporter.summary({ files: 2 }, []);
    const lines = jsonLines(stdout.text());
    assert.deepEqual(
      lines.map((l) => [l.messageType, l.filesDone]),
      [
        ['status', 1],
        ['status', 2],
        ['summary', undefined],
      ],
    );
  });

  void it('puts per-file errors on stdout and warnings on stderr, both as JSON', () => {
    const { reporter, stdout, stderr } = harness({ json: true });
    reporter.start('backup');
    const denied = Object.assign(new Error("EACCES: permission denied, open '/srv/x'"), {
      code: 'EACCES',
    });
    reporter.fileError('/srv/x', denied);
    reporter.fileError('/srv/y', new NotFoundError('gone'));
    reporter.warn('file changed while being read', { path: '/srv/z' });
    reporter.info('for humans only');
    assert.equal(reporter.fileErrors, 2);
    assert.deepEqual(jsonLines(stdout.text()), [
      {
        messageType: 'error',
        error: { message: "EACCES: permission denied, open '/srv/x'", code: 'EACCES' },
        during: 'backup',
        item: '/srv/x',
      },
      {
        messageType: 'error',
        error: { message: 'gone', code: 'NOT_FOUND' },
        during: 'backup',
        item: '/srv/y',
      },
    ]);
    assert.deepEqual(jsonLines(stderr.text()), [
      {
        messageType: 'warning',
        message: 'file changed while being read',
        details: { path: '/srv/z' },
      },
    ]);
  });

  void it('prints a one-shot result as one JSON document', () => {
    const { reporter, stdout } = harness({ json: true });
    reporter.result([{ id: 'ab12', files: 3 }], 'ID    FILES\nab12  3');
    reporter.done();
    assert.equal(stdout.text(), '[{"id":"ab12","files":3}]\n');
  });

  void it('writes no status lines with --no-progress', () => {
    const { reporter, stdout } = harness({ json: true, progress: false });
    reporter.start('check');
    reporter.progress({ files: 1, bytes: 1 });
    reporter.summary({ ok: true }, []);
    assert.deepEqual(jsonLines(stdout.text()), [{ messageType: 'summary', ok: true }]);
  });
});

void describe('terminal reporter', () => {
  void it('redraws one progress line on stderr with rate and ETA, at most ten times a second', () => {
    const { reporter, stdout, stderr, clock } = harness({ isTTY: true, columns: 120 });
    reporter.start('backup', { files: 10, bytes: 4 * 1024 * 1024 });
    clock.t += 2000;
    reporter.progress({ files: 5, bytes: 1024 * 1024, currentPath: '/srv/models/a.bin' });
    const afterFirst = stderr.text().length;
    clock.t += 50;
    reporter.progress({ files: 6, bytes: 1024 * 1024 });
    assert.equal(stderr.text().length, afterFirst, 'no redraw within 100 ms');
    const frames = stderr.text().split('\r\u001b[2K');
    const line = frames.at(-1) ?? '';
    assert.equal(
      line,
      'backup [0:02]  25.0%  5/10 files  1 MiB/4 MiB  512 KiB/s  ETA 0:06  /srv/models/a.bin',
    );
    assert.equal(stdout.text(), '');
  });

  void it('prints warnings above the line, then the summary on stdout after clearing it', () => {
    const { reporter, stdout, stderr, clock } = harness({ isTTY: true, env: { NO_COLOR: '1' } });
    reporter.start('backup');
    clock.t += 1000;
    reporter.progress({ files: 1, bytes: 100 });
    reporter.warn('/srv/x changed while being read');
    reporter.fileError('/srv/y', new Error('EIO'));
    reporter.summary({}, ['Files: 1 new', 'Added: 100 B']);
    reporter.done();
    const err = stderr.text();
    assert.match(err, /\r\u001b\[2Kwarning: \/srv\/x changed while being read\n/);
    assert.match(err, /\r\u001b\[2Kerror: \/srv\/y: EIO\n/);
    assert.ok(err.endsWith('\r\u001b[2K'), 'the progress line is cleared at the end');
    assert.doesNotMatch(err.replaceAll('\r\u001b[2K', ''), ANSI, 'NO_COLOR: no colour codes');
    assert.equal(stdout.text(), 'Files: 1 new\nAdded: 100 B\n');
    assert.equal(reporter.fileErrors, 1);
  });

  void it('never lets a name drive the terminal: warnings, errors and the live line escape it', () => {
    const { reporter, stderr, clock } = harness({ isTTY: true, env: { NO_COLOR: '1' } });
    const name = '/srv/\u001b[2J\u001b]0;owned\u0007x\ny';
    reporter.start('backup');
    clock.t += 1000;
    reporter.progress({ files: 1, bytes: 1, currentPath: name });
    reporter.warn(`${name} changed while being read`);
    reporter.fileError(name, new Error(`EIO: i/o error, open '${name}'`));
    reporter.done();
    const err = stderr.text();
    // The reporter's own codes (clearing the line) and no others.
    assert.doesNotMatch(
      err.replaceAll('\r\u001b[2K', '').replaceAll('\n', ''),
      /[\u0000-\u001f\u007f-\u009f]/,
    );
    // Each one line: a name's line feed cannot fake a line of its own.
    assert.match(err, /warning: \/srv\/\\u001b\[2J\\u001b\]0;owned\\u0007x\\ny changed/);
    assert.ok(err.includes(`error: ${JSON.stringify(name)}: EIO`), err);
    assert.equal(err.split('\n').filter((line) => line.includes('owned')).length, 3, err);
    assert.match(
      err,
      /\/srv\/\\u001b\[2J\\u001b\]0;owned\\u0007x\\ny\r/,
      'the live line, on one line',
    );
  });

  void it('escapes names in the plain reporter alike', () => {
    const { reporter, stderr } = harness();
    reporter.warn('/srv/\u001b[31mred');
    reporter.fileError('/srv/\u001b[31mred', new Error('unreadable'));
    reporter.info('restoring /srv/\u009bx');
    assert.equal(
      stderr.text(),
      'warning: /srv/\\u001b[31mred\nerror: "/srv/\\u001b[31mred": unreadable\nrestoring /srv/\\u009bx\n',
    );
  });

  void it('colours warnings unless NO_COLOR is set', () => {
    const { reporter, stderr } = harness({ isTTY: true });
    reporter.warn('careful');
    assert.equal(stderr.text(), '\u001b[33mwarning:\u001b[39m careful\n');
  });

  void it('keeps the line shorter than the terminal, cutting the start of long paths', () => {
    const { reporter, stderr, clock } = harness({ isTTY: true, columns: 60 });
    reporter.start('restore');
    clock.t += 1000;
    reporter.progress({ files: 1, bytes: 1, currentPath: `/very/${'deep/'.repeat(30)}file.bin` });
    for (const frame of stderr.text().split('\r\u001b[2K')) {
      assert.ok(frame.length <= 59, `frame too long: ${frame}`);
    }
    assert.match(stderr.text(), /…[a-z/]*file\.bin$/);
  });
});

void describe('plain reporter', () => {
  void it('writes a start line and a progress line per interval, never redrawing', () => {
    const { reporter, stdout, stderr, clock } = harness({ plainIntervalMs: 10_000 });
    reporter.start('backup', { files: 1200, bytes: 3 * 1024 ** 3 });
    for (let second = 1; second <= 25; second++) {
      clock.t += 1000;
      reporter.progress({ files: second * 10, bytes: second * 1024 ** 2 });
    }
    reporter.summary({}, ['done']);
    const lines = stderr.text().split('\n').filter(Boolean);
    assert.equal(lines[0], 'backup: started (1,200 files, 3 GiB)');
    assert.deepEqual(
      lines.slice(1).map((line) => line.split('  ')[0]),
      ['backup [0:10]', 'backup [0:20]'],
    );
    assert.doesNotMatch(stderr.text(), /\r|\u001b/);
    assert.equal(stdout.text(), 'done\n');
  });

  void it('with --no-progress prints only warnings, errors and results', () => {
    const { reporter, stdout, stderr, clock } = harness({ progress: false });
    reporter.start('backup', { files: 1 });
    clock.t += 60_000;
    reporter.progress({ files: 1, bytes: 1 });
    reporter.fileError('/x', new Error('unreadable'));
    reporter.result({ ok: true }, 'ok');
    assert.equal(stderr.text(), 'error: /x: unreadable\n');
    assert.equal(stdout.text(), 'ok\n');
  });
});
