import { UsageError } from '../../errors.ts';
import { checkRepository } from '../../repository/check.ts';
import { startCodecWorkers } from '../../repository/index.ts';
import { favourMemoryOverSpeed } from '../../util/heap-sizing.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, lockForReading, reporterFor } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr check [--read-data [--subset N%]]`. */
export const registerCheck: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('check')
    .description('verify the repository: structure, and with --read-data every blob')
    .option('--read-data', 'read, decrypt and re-hash every blob')
    .option(
      '--subset <percent>',
      'with --read-data: only this share of packs, chosen at random (e.g. 5%)',
    )
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      let subsetPercent: number | undefined;
      if (flags.subset !== undefined) {
        const match = /^(\d+(?:\.\d+)?)%?$/.exec(flags.subset);
        subsetPercent = match ? Number(match[1]) : NaN;
        if (!(subsetPercent > 0 && subsetPercent <= 100))
          throw new UsageError('--subset takes a percentage above 0 and at most 100, e.g. 5%');
        if (!flags.readData) throw new UsageError('--subset goes with --read-data');
      }
      // Reading data, the codec workers load (about a tenth of a second of a core each) while the
      // key is derived on the thread pool, their heaps sized for memory as the check's are.
      const loadCodecWorkers = (): void => {
        favourMemoryOverSpeed();
        startCodecWorkers();
      };
      // The store's own objects, never the local copies of its index and manifests.
      const { repo } = await accessRepository(ctx, globals, {
        objectCache: false,
        ...(flags.readData ? { onDeriveKey: loadCodecWorkers } : {}),
      });
      const reporter = reporterFor(ctx, globals);
      const lock = await lockForReading(repo, reporter, 'check');
      reporter.start('check');
      try {
        const report = await checkRepository(repo, {
          readData: Boolean(flags.readData),
          ...(subsetPercent !== undefined ? { subsetPercent } : {}),
          signal: ctx.signal,
          onProgress: (done, total, bytes) =>
            reporter.progress({ files: done, bytes, totalFiles: total }),
        });
        for (const p of report.problems)
          if (p.severity === 'warning') reporter.warn(p.message, { kind: p.kind, pack: p.pack });
        const errors = report.problems.filter((p) => p.severity === 'error');
        const s = report.stats;
        reporter.summary({ ...report }, [
          `Checked:  ${s.backups} backups, ${s.packs} packs, ${s.blobs} blobs${flags.readData ? `; read ${s.packsRead} packs (${formatBytes(s.bytesRead)})` : ''}`,
          ...errors.map(
            (p) =>
              `ERROR:    ${p.message}${p.blobs?.length ? ` [blobs: ${p.blobs.map((b) => b.slice(0, 16)).join(', ')}]` : ''}`,
          ),
          ...report.affected.flatMap((a) => [
            `Affected: backup ${a.backup} (${a.source}):`,
            ...a.paths.map((p) => `            ${p}`),
          ]),
          report.ok ? 'no errors were found' : `${errors.length} error(s) found`,
        ]);
        if (!report.ok) setExitCode(ExitCode.integrity);
      } finally {
        reporter.done();
        await lock.release();
      }
    });
};
