/**
 * `hbr verify ID [--scratch DIR] [--home DIR]`: proves a Neo4j backup restorable without touching
 * the live server (artifacts read back, dumps rebuilt and consistency-checked, logical exports counted;
 * with `--home`, also restored into a scratch server whose counts and Cypher checks must pass) and
 * stores the verdict with the backup as a `verification` note. `hbr verify ID --show` prints the
 * notes stored with a backup (verifications and restore checks).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNeo4jAdmin } from '../../drivers/neo4j/admin.ts';
import { restoreNeo4jSource } from '../../drivers/neo4j/restore-source.ts';
import { resolveNeo4jSource } from '../../drivers/neo4j/source-config.ts';
import { verifyNeo4jSourceBackup } from '../../drivers/neo4j/verify-source.ts';
import { UsageError } from '../../errors.ts';
import { addNote, artifactRepository, listNotes } from '../../repository/index.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatDuration } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';
import { neo4jSourceNamed } from './restore-neo4j.ts';

/** `hbr verify ID [--show]`. */
export const registerVerify: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('verify')
    .description(
      'prove a Neo4j backup restorable (consistency check, counts) and record the result',
    )
    .argument('<backup>', 'backup id, unique prefix, or "latest" (with --source)')
    .option('-s, --source <name>', 'with "latest": the latest backup of this source')
    .option('--scratch <dir>', 'where dumps are rebuilt and checked (default: a temp folder)')
    .option(
      '--home <dir>',
      'also restore into this scratch NEO4J_HOME and compare counts and Cypher checks',
    )
    .option('--bolt <url>', 'Bolt URL of the --home server (default: from its neo4j.conf)')
    .option('--show', 'print the results stored with the backup; verify nothing')
    .action(async (ref: string, flags, command) => {
      const globals = globalsOf(command);
      // The verdict is recorded for every host: it rests on the store's own objects, never on
      // this host's copies of its manifests and index.
      const { repo } = await accessRepository(ctx, globals, { objectCache: false });
      const backup = await repo.findBackup(ref, flags.source ? { source: flags.source } : {});
      const reporter = reporterFor(ctx, globals);
      if (flags.show) {
        const notes = await listNotes(repo, backup.id);
        reporter.result(
          { backupId: backup.id, shortId: backup.shortId, notes },
          notes.length === 0
            ? `backup ${backup.shortId}: nothing recorded (run hbr verify ${backup.shortId})\n`
            : notes
                .map((n) => `${n.time}  ${n.kind}  ${n.data.ok === true ? 'passed' : 'FAILED'}`)
                .join('\n') + '\n',
        );
        return;
      }
      if (backup.kind !== 'neo4j') {
        throw new UsageError(
          `backup ${backup.shortId} is a ${backup.kind} backup; hbr verify checks Neo4j backups (hbr check --read-data checks any backup's data)`,
        );
      }
      const found = await neo4jSourceNamed(ctx, globals, backup.source);
      if (!found) {
        throw new UsageError(
          `backup ${backup.shortId} is of source ${backup.source}, which the config does not name as a neo4j source; its neo4j-admin is needed to check the dumps`,
        );
      }
      const { source, file } = found;
      const base = path.dirname(file);
      const admin = createNeo4jAdmin({
        home: path.resolve(base, source.neo4j.home),
        ...(source.neo4j.adminCommand !== undefined
          ? { command: path.resolve(base, source.neo4j.adminCommand) }
          : {}),
      });
      const scratch =
        flags.scratch !== undefined
          ? path.resolve(ctx.cwd, flags.scratch)
          : await mkdtemp(path.join(tmpdir(), 'hbr-verify-'));
      reporter.start('verify');
      try {
        const checked = await verifyNeo4jSourceBackup({
          repo: artifactRepository(repo),
          backup,
          admin,
          scratch,
          signal: ctx.signal,
        });
        // The consistency check proves the store sound; a drill into a scratch server also proves
        // the counts per label and type and the configured Cypher checks.
        const drill =
          flags.home !== undefined && checked.ok
            ? await restoreNeo4jSource(
                artifactRepository(repo),
                await resolveNeo4jSource(source.name, source.neo4j, file, ctx.env, {
                  scratchHome: path.resolve(ctx.cwd, flags.home),
                  ...(flags.bolt !== undefined ? { scratchBolt: flags.bolt } : {}),
                }),
                backup,
                { drill: true, signal: ctx.signal },
              )
            : undefined;
        const result = {
          ...checked,
          ...(drill ? { drill, ok: checked.ok && drill.ok } : {}),
        };
        await addNote(repo, backup.id, 'verification', { ...result });
        reporter.summary({ shortId: backup.shortId, source: backup.source, ...result }, [
          ...(result.error !== undefined ? [`FAILED:   ${result.error}`] : []),
          ...result.databases.map(
            (d) =>
              `${d.ok ? 'OK' : 'FAILED'}:${d.ok ? '       ' : '   '}${d.database}: ${d.method}: ${d.detail}`,
          ),
          ...(drill
            ? [
                `${drill.countsOk ? 'OK' : 'FAILED'}:${drill.countsOk ? '       ' : '   '}counts in the scratch server at ${drill.home}${drill.countsOk ? (drill.countsNotCompared.length > 0 ? ` not compared for ${drill.countsNotCompared.join(', ')} (the graph changed while the backup ran)` : ' equal the backup') : `: ${drill.countsError ?? ''}`}`,
                ...drill.checks.map(
                  (c) =>
                    `${c.ok ? 'OK' : 'FAILED'}:${c.ok ? '       ' : '   '}Cypher check ${c.name}${c.ok ? '' : `: ${c.error ?? ''}`}`,
                ),
              ]
            : []),
          `backup ${backup.shortId} ${result.ok ? 'verified' : 'FAILED verification'} in ${formatDuration(result.durationMs)} (recorded with the backup)`,
        ]);
        if (!result.ok) setExitCode(ExitCode.integrity);
      } finally {
        reporter.done();
        if (flags.scratch === undefined) await rm(scratch, { recursive: true, force: true });
      }
    });
};
