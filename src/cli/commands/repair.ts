import { startCodecWorkers } from '../../repository/index.ts';
import { repairRepository, type RepairReport } from '../../repository/repair.ts';
import { favourMemoryOverSpeed } from '../../util/heap-sizing.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, reporterFor, warnLockLeft } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr repair [--dry-run]`. */
export const registerRepair: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('repair')
    .description(
      'read every pack, take damaged blobs out of the index and damaged packs out of the store, so that the next backups store that data again (takes an exclusive lock)',
    )
    .option('-n, --dry-run', 'show what would be dropped and which backups need it')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      // Every blob is decoded: the codec workers load while the key is derived (see check).
      const loadCodecWorkers = (): void => {
        favourMemoryOverSpeed();
        startCodecWorkers();
      };
      // The store's own index objects, never the local copies of them.
      const { repo } = await accessRepository(ctx, globals, {
        onDeriveKey: loadCodecWorkers,
        objectCache: false,
      });
      const reporter = reporterFor(ctx, globals);
      reporter.start('repair');
      try {
        const report = await repairRepository(repo, {
          dryRun: Boolean(flags.dryRun),
          signal: ctx.signal,
          onStep: (s) => reporter.info(s),
          onProgress: (done, total, bytes) =>
            reporter.progress({ files: done, bytes, totalFiles: total }),
          onLockLeft: warnLockLeft(reporter),
        });
        const advice = _advice(report);
        reporter.summary({ ...report, ...(advice ? { advice } : {}) }, _lines(report, advice));
        setExitCode(_exitCode(report));
      } finally {
        reporter.done();
      }
    });
};

// --- internal ---

/**
 * By what the backups lack once repaired: 0 when none does, 3 (partial) when the repair is done
 * but backups name blobs the index lacks, whatever dropped them (this repair or an earlier one);
 * 4 (integrity) for a dry run that found damage or such backups, as `check` exits.
 */
function _exitCode(report: RepairReport): number {
  if (report.dryRun)
    return _damageFound(report) || report.affected.length > 0 ? ExitCode.integrity : ExitCode.ok;
  return report.affected.length > 0 ? ExitCode.partial : ExitCode.ok;
}

/** Whether the packs or index objects read had damage to repair (not only packs left as they are). */
function _damageFound(report: RepairReport): boolean {
  return report.damaged.some((d) => !d.left) || report.damagedIndexes > 0;
}

/** What to do about the backups that need a dropped blob, if any do. */
function _advice(report: RepairReport): string | undefined {
  if (report.affected.length === 0) return undefined;
  return [
    ...(report.dryRun
      ? ['Run `hbr repair` to drop the damaged blobs; then the backups']
      : ['These backups']),
    'stay damaged until the data they miss is stored again: the next backup of the same data stores it again',
    '(a files backup reads again each file whose content, and each folder whose listing, the index lacks;',
    'the data must still be as it was), then run `hbr check --read-data`. What no source holds any more',
    'cannot come back: restore what such a backup still holds, or forget it.',
  ].join(' ');
}

function _lines(report: RepairReport, advice: string | undefined): string[] {
  const would = (done: string, todo: string): string => (report.dryRun ? todo : done);
  const short = (hex: string): string => hex.slice(0, 16);
  const { blobsDropped: dropped } = report;
  return [
    `Read:     ${report.packsRead} packs (${formatBytes(report.bytesRead)})`,
    ...report.damaged.map(
      (d) =>
        `Damaged:  ${d.message}${d.indexed ? '' : ' (in no index)'}${d.blobs.length ? ` [blobs: ${d.blobs.map(short).join(', ')}]` : ''}`,
    ),
    ...(report.damagedIndexes > 0
      ? [
          `Damaged:  ${report.damagedIndexes} index object(s), ${would('left out of', 'to leave out of')} the new index`,
        ]
      : []),
    ...(dropped.length > 0
      ? [
          `Dropped:  ${dropped.length} blob(s) ${would('taken out of', 'to take out of')} the index (no intact copy left): ${dropped.map(short).join(', ')}`,
        ]
      : []),
    ...(report.packsRewritten > 0
      ? [
          report.dryRun
            ? `Packs:    would copy the intact blobs of ${report.packsRewritten} damaged pack(s) into new packs, then delete them`
            : `Packs:    copied the intact blobs of ${report.packsRewritten} damaged pack(s) into ${report.packsWritten} new pack(s), then deleted them`,
        ]
      : []),
    ...(report.unindexedPacksIndexed > 0
      ? [
          `Indexed:  ${would('', 'would index ')}${report.unindexedPacksIndexed} sound pack(s) that no index named`,
        ]
      : []),
    ...report.affected.flatMap((a) => [
      `Affected: backup ${a.backup} (${a.source}):`,
      ...a.paths.map((p) => `            ${p}`),
    ]),
    ...(advice ? [advice] : []),
    _outcome(report),
  ];
}

/** The last line: what was done, what was left, and how many backups stay damaged. */
function _outcome(report: RepairReport): string {
  const n = report.affected.length;
  const left = report.damaged.filter((d) => d.left).length;
  const leftNote = left > 0 ? `; ${left} damaged pack(s) left as they are (above)` : '';
  if (!_damageFound(report))
    return n === 0
      ? `${left > 0 ? 'nothing to repair' : 'no damage was found'}${leftNote}`
      : `nothing to repair${leftNote}, but ${n} backup(s) name data the index lacks: damaged until healed`;
  if (report.dryRun)
    return `nothing was changed (--dry-run)${leftNote}${n > 0 ? `; ${n} backup(s) would remain damaged until healed` : ''}`;
  return `repaired${leftNote}${n > 0 ? `; ${n} backup(s) remain damaged until healed` : ''}`;
}
