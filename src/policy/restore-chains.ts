/**
 * What `hbr forget` keeps besides the backups its rules keep, so that each of those can still be
 * restored from the repository: for a SQL Server backup, the backups its restore applies first (a
 * differential's own base full; for a log, the full, the differential and the logs of the chain
 * that ends exactly at it, as `hbr restore` of that backup plans it). A Neo4j backup holds its
 * whole chain and a files backup is whole on its own: they need nothing else.
 *
 * Chains are planned on the sets hbr holds only. A set taken outside hbr (a DBA's full or log that
 * msdb showed) is not in the repository and forget cannot keep it: a chain anchored on it, or
 * running through it, is no chain forget can protect. Where no plan can be made from what the
 * repository holds (such a chain, a gap in the logs, a manifest hbr cannot read), every older
 * backup of the source is kept: retention never breaks a chain it cannot see whole.
 * @module
 */
import { buildCatalog, type SqlServerCatalog } from '../drivers/sqlserver/catalog.ts';
import { planToDataBackup } from '../drivers/sqlserver/chain-base.ts';
import { planToLog } from '../drivers/sqlserver/chain.ts';
import type { BackupSetRecord } from '../drivers/sqlserver/backup-set.ts';
import type { RestorePlan } from '../drivers/sqlserver/plan.ts';
import type { BackupRecord } from '../repository/types.ts';
import { compareText } from '../util/compare-text.ts';

/** A kept backup that the repository alone cannot restore, and why. */
export interface UnplannedBackup {
  readonly backup: BackupRecord;
  readonly why: string;
}

/**
 * The backups that `kept` (ids) need to be restored and that are not in it, each with the reason
 * `forget` shows: `needed by <short id>`, or `older than <short id>, …` when that kept backup has
 * no chain in the repository (then `onUnplanned` hears of it, once per such backup).
 */
export function neededByKept(
  backups: readonly BackupRecord[],
  kept: ReadonlySet<string>,
  onUnplanned: (unplanned: UnplannedBackup) => void = () => undefined,
): Map<string, string> {
  const needed = new Map<string, string>();
  const need = (id: string, reason: string): void => {
    if (!kept.has(id) && !needed.has(id)) needed.set(id, reason);
  };
  const sql = backups.filter((b) => b.kind === 'sqlserver');
  for (const source of new Set(sql.filter((b) => kept.has(b.id)).map((b) => b.source))) {
    const own = sql.filter((b) => b.source === source);
    const olderThan = (b: BackupRecord, why: string): void => {
      onUnplanned({ backup: b, why });
      const reason = `older than ${b.shortId}, which has no restore chain in the repository`;
      for (const o of own) if (o.startedAt <= b.startedAt) need(o.id, reason);
    };
    let catalog: SqlServerCatalog;
    try {
      catalog = buildCatalog(backups, source);
    } catch (error) {
      for (const b of own) if (kept.has(b.id)) olderThan(b, (error as Error).message);
      continue;
    }
    // Only what the repository holds: forget cannot keep a set taken outside hbr.
    const held = catalog.entries.filter((e) => e.backupId !== null);
    const records = held.map((e) => e.record);
    const recordOf = new Map(held.map((e) => [e.backupId, e.record]));
    const idOf = new Map(held.map((e) => [e.record, e.backupId!]));
    // Newest first: a kept backup inside the last plan, after that plan's full and differential,
    // is reached by a prefix of that plan, all of it kept, so it needs nothing more (with logs
    // every 15 minutes, planning each kept backup took minutes).
    let last: { base: bigint; steps: Set<string> } | undefined;
    for (const b of [...own].sort((x, y) => compareText(y.startedAt, x.startedAt))) {
      if (!kept.has(b.id)) continue;
      const record = recordOf.get(b.id);
      if (record && last?.steps.has(b.id) && record.lastLsn >= last.base) continue;
      let plan: RestorePlan;
      try {
        if (!record) throw new Error('not in the catalog');
        plan = _planTo(records, record);
      } catch (error) {
        // Every backup an older kept one could need is kept now.
        olderThan(b, (error as Error).message);
        break;
      }
      const steps = new Set<string>();
      for (const step of plan.steps) {
        const id = idOf.get(step)!;
        steps.add(id);
        need(id, `needed by ${b.shortId}`);
      }
      const base = plan.steps.filter((step) => step.type !== 'log').at(-1);
      last = { base: base?.lastLsn ?? 0n, steps };
    }
  }
  return needed;
}

/**
 * The newest SQL Server backup of each source among `backups`: the head of the chain the database
 * goes on with. The next log backups continue from it (a log continues the last log's LSNs, a
 * differential has the same base as the one before), so they need it and what it needs; removing
 * it leaves them unrestorable until the next full or differential.
 */
export function chainHeads(backups: readonly BackupRecord[]): BackupRecord[] {
  const newest = new Map<string, BackupRecord>();
  for (const b of backups) {
    if (b.kind !== 'sqlserver') continue;
    const n = newest.get(b.source);
    if (!n || compareText(b.startedAt, n.startedAt) > 0) newest.set(b.source, b);
  }
  return [...newest.values()];
}

// --- internal ---

/**
 * The plan that ends exactly at `record`, as `hbr restore` of that one backup makes it: a full
 * alone, a differential on its own base full (by its differential base GUID or LSN), a log at the
 * end of the chain that reaches it.
 * @throws PlanError when the sets given hold no such chain.
 */
function _planTo(records: readonly BackupSetRecord[], record: BackupSetRecord): RestorePlan {
  return record.type === 'log' ? planToLog(records, record) : planToDataBackup(records, record);
}
