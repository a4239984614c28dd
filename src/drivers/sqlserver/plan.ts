/**
 * The restore plan of a SQL Server database: what the chain planner returns and the restore script
 * generator consumes.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import type { Lsn } from './lsn.ts';

/** Where to restore to. */
export type RestoreTarget =
  | { readonly kind: 'latest' }
  | { readonly kind: 'time'; readonly at: Date }
  | { readonly kind: 'lsn'; readonly lsn: Lsn };

/** An ordered, validated restore sequence. */
export interface RestorePlan {
  /** The database name as the history spells it. */
  readonly database: string;
  readonly target: RestoreTarget;
  /** Full, then at most one differential, then logs in LSN order. */
  readonly steps: readonly BackupSetRecord[];
  /** `STOPAT` for the last log, when the target is a time inside it; else `null`. */
  readonly stopAt: Date | null;
  /** `STOPATMARK = 'lsn:…'` for the last log, when the target is an LSN; else `null`. */
  readonly stopAtLsn: Lsn | null;
  /** Facts a user should know (a newer full skipped, empty log backups extending the chain). */
  readonly warnings: readonly string[];
}
