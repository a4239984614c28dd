/**
 * What `hbr forget` keeps besides the backups its rules keep, so that each of those can still be
 * restored: for a SQL Server backup, the backups its restore applies first (the full, the
 * differential and the logs the restore planner chooses to reach its end). A Neo4j backup holds
 * its whole chain and a files backup is whole on its own: they need nothing else. Where no plan
 * can be made (a gap in the logs, a manifest hbr cannot read), every older backup of the source
 * is kept: retention never breaks a chain it cannot see whole.
 * @module
 */
import { buildCatalog } from '../drivers/sqlserver/catalog.ts';
import { planRestore } from '../drivers/sqlserver/chain.ts';
import type { BackupRecord } from '../repository/types.ts';
import { compareText } from '../util/compare-text.ts';

/**
 * The backups that `kept` (ids) need to be restored and that are not in it, each with the short
 * id of a kept backup that needs it.
 */
export function neededByKept(
  backups: readonly BackupRecord[],
  kept: ReadonlySet<string>,
): Map<string, string> {
  const needed = new Map<string, string>();
  const need = (id: string, by: BackupRecord): void => {
    if (!kept.has(id) && !needed.has(id)) needed.set(id, by.shortId);
  };
  const sql = backups.filter((b) => b.kind === 'sqlserver');
  for (const source of new Set(sql.filter((b) => kept.has(b.id)).map((b) => b.source))) {
    const own = sql.filter((b) => b.source === source);
    const olderThan = (b: BackupRecord): void => {
      for (const o of own) if (o.startedAt <= b.startedAt) need(o.id, b);
    };
    let catalog: ReturnType<typeof buildCatalog>;
    try {
      catalog = buildCatalog(backups, source);
    } catch {
      for (const b of own) if (kept.has(b.id)) olderThan(b);
      continue;
    }
    const recordOf = new Map(catalog.entries.map((e) => [e.backupId, e.record]));
    // Newest first: a kept backup inside the last plan, after that plan's full and differential,
    // has a plan of the same base and a prefix of its logs, so it needs nothing more (with logs
    // every 15 minutes, planning each kept backup took minutes).
    let last: { base: number; steps: Set<string> } | undefined;
    for (const b of [...own].sort((x, y) => compareText(y.startedAt, x.startedAt))) {
      if (!kept.has(b.id)) continue;
      const record = recordOf.get(b.id);
      if (record && last?.steps.has(b.id) && record.finish.getTime() >= last.base) continue;
      try {
        if (!record) throw new Error('not in the catalog');
        const plan = planRestore(
          catalog.records,
          { kind: 'time', at: record.finish },
          { database: record.database },
        );
        const steps = new Set<string>();
        for (const step of plan.steps) {
          const id = catalog.entryOf(step).backupId;
          if (id === null) continue; // taken outside hbr: not in the repository
          steps.add(id);
          need(id, b);
        }
        const base = plan.steps.filter((step) => step.type !== 'log').at(-1);
        last = { base: base?.finish.getTime() ?? Infinity, steps };
      } catch {
        olderThan(b);
        last = undefined;
      }
    }
  }
  return needed;
}
