import { parseDuration, subtractDuration } from '../../config/index.ts';
import { extendRetentionLocks } from '../../repository/retention-locks.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, reporterFor, warnLockLeft } from '../repository-access.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr maintain --retain-for DURATION`. */
export const registerMaintain: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('maintain')
    .description(
      'extend the retention (immutability) of every object kept backups need, where the store supports it',
    )
    .requiredOption(
      '--retain-for <duration>',
      'keep those objects undeletable for this long from now (e.g. 30d, 6mo)',
    )
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const period = parseDuration(flags.retainFor);
      // Adding a duration is subtracting its negation (keeps calendar months right).
      const retainUntil = subtractDuration(new Date(), {
        years: -period.years,
        months: -period.months,
        ms: -period.ms,
      });
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      reporter.start('maintain');
      try {
        const report = await extendRetentionLocks(repo, {
          retainUntil,
          signal: ctx.signal,
          onProgress: (done, total) =>
            reporter.progress({ files: done, bytes: 0, totalFiles: total }),
          onLockLeft: warnLockLeft(reporter),
        });
        const e = report.extended;
        const total = e.config + e.keys + e.index + e.snapshots + e.data;
        reporter.summary(
          { ...report },
          report.supported
            ? [
                `Retention: ${total} objects held until ${report.retainUntil} (${e.data} packs, ${e.index} index, ${e.snapshots} backups, ${e.keys} keys, config)`,
                `Left:      ${report.packsLeft} packs no kept backup needs (they expire; prune frees them then)`,
                ...(report.failed.length > 0
                  ? [
                      `Failed:    ${report.failed.length} objects the store refused to extend (the others were extended):`,
                      ...report.failed.slice(0, 20).map((f) => `  ${f.key}: ${f.message}`),
                      ...(report.failed.length > 20
                        ? [`  … and ${report.failed.length - 20} more (--json lists them all)`]
                        : []),
                    ]
                  : []),
              ]
            : [
                `${report.store} does not support object retention (S3 Object Lock or Azure version-level immutability, enabled in the location URL); nothing to do`,
              ],
        );
        // Some refused: partial. All refused (a rejected credential, no Object Lock): a failure.
        if (report.failed.length > 0) setExitCode(total > 0 ? ExitCode.partial : ExitCode.failure);
      } finally {
        reporter.done();
      }
    });
};
