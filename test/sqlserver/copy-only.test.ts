/**
 * `copyOnly: true` makes fulls and logs COPY_ONLY; a differential, which SQL Server cannot take
 * copy-only, is taken as a normal one with a warning instead of failing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { backupSqlServerSource } from '../../src/drivers/sqlserver/backup-source.ts';
import { diskStandIn } from './disk-stand-in.ts';

void it('with copyOnly, takes copy-only fulls and logs, and a normal differential with a warning', async (t) => {
  const { sql, repo, settings } = await diskStandIn(t, 'Shared', { backup: { copyOnly: true } });
  // Another tool owns the chain: its conventional full is the differential base.
  await sql.manualBackup('Shared', 'full', '/var/opt/mssql/backup/other/Shared_full.bak');
  const full = await backupSqlServerSource(sql, repo, settings, 'full');
  sql.write('Shared', 2);
  const diff = await backupSqlServerSource(sql, repo, settings, 'diff');
  sql.write('Shared', 2);
  const log = await backupSqlServerSource(sql, repo, settings, 'log');
  assert.deepEqual([full.type, diff.type, log.type], ['full', 'diff', 'log']);
  const backups = sql.statements.filter((s) => s.startsWith('BACKUP ') && s.includes('/hbr/'));
  assert.equal(backups.length, 3);
  assert.match(backups[0]!, /^BACKUP DATABASE .* COPY_ONLY/);
  assert.match(backups[1]!, /^BACKUP DATABASE .* DIFFERENTIAL/);
  assert.doesNotMatch(backups[1]!, /COPY_ONLY/);
  assert.match(backups[2]!, /^BACKUP LOG .* COPY_ONLY/);
  assert.match(diff.warnings.join('\n'), /copyOnly: a differential cannot be copy-only/);
  assert.doesNotMatch(full.warnings.join('\n'), /copyOnly/);
});
