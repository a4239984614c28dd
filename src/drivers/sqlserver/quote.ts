/**
 * Safe quoting for generated T-SQL. Database and logical file names cannot be parameters in
 * BACKUP/RESTORE/ALTER DATABASE, so they are quoted here by SQL Server's own rules.
 * @module
 */
import { UsageError } from '../../errors.ts';

/**
 * Quotes an identifier as `QUOTENAME` does: `[name]` with every `]` doubled.
 * @throws UsageError for an empty name, one longer than 128 characters (sysname) or one holding
 * a NUL character, none of which SQL Server accepts.
 */
export function quoteName(name: string): string {
  if (name.length === 0 || name.length > 128 || name.includes('\0')) {
    throw new UsageError(`[sqlserver:tsql] not a valid SQL Server name: ${JSON.stringify(name)}`);
  }
  return `[${name.replaceAll(']', ']]')}]`;
}

/**
 * Quotes a Unicode string literal: `N'text'` with every `'` doubled.
 * @throws UsageError when the text holds a NUL character.
 */
export function quoteString(text: string): string {
  if (text.includes('\0')) {
    throw new UsageError(`[sqlserver:tsql] string holds a NUL character: ${JSON.stringify(text)}`);
  }
  return `N'${text.replaceAll("'", "''")}'`;
}
