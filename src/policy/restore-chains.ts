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
    for (const b of own) {
      if (!kept.has(b.id)) continue;
      const record = catalog.entries.find((e) => e.backupId === b.id)?.record;
      try {
        if (!record) throw new Error('not in the catalog');
        const plan = planRestore(
          catalog.records,
          { kind: 'time', at: record.finish },
          { database: record.database },
        );
        for (const step of plan.steps) {
          const id = catalog.entryOf(step).backupId;
          if (id !== null) need(id, b);
        }
      } catch {
        olderThan(b);
      }
    }
  }
  return needed;
}
