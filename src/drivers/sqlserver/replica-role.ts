/**
 * The role of this instance's replica of a database in an availability group: whether a log past
 * a gap can be promoted here (a secondary takes no differential, and no full but a copy-only one).
 * Read by a query of its own, run only for a database in a group (`sys.databases.replica_id` not
 * null): `sys.fn_hadr_is_primary_replica` exists only from SQL Server 2014 and, resolved when the
 * batch compiles, would fail the database state query on 2012 for every database; and the view read
 * here needs VIEW SERVER STATE, which the state query must not need.
 * @module
 */
import * as f from './history-fields.ts';
import { quoteString } from './quote.ts';

/** The role, or why it is not known (hbr then does not promote). */
export type ReplicaRole =
  | { readonly role: 'primary' }
  | { readonly role: 'secondary' }
  | { readonly role: 'unknown'; readonly why: string };

/** This instance's replica of a database in an availability group. */
export type AvailabilityReplica = { readonly id: string } & ReplicaRole;

/**
 * The query for {@link parseReplicaRole}: the local replica's row of
 * `sys.dm_hadr_availability_replica_states` (SQL Server 2012 and later; VIEW SERVER STATE).
 */
export function replicaRoleQuery(replicaId: string): string {
  return [
    'SELECT ars.role_desc FROM sys.dm_hadr_availability_replica_states AS ars',
    `WHERE ars.replica_id = ${quoteString(replicaId)} AND ars.is_local = 1;`,
  ].join('\n');
}

/** Reads the rows of {@link replicaRoleQuery}: no row, or RESOLVING, is a role not known. */
export function parseReplicaRole(rows: readonly Record<string, unknown>[]): ReplicaRole {
  const raw = rows[0];
  const role = raw ? f.textField(f.toRow(raw), 'role_desc')?.toUpperCase() : undefined;
  if (role === 'PRIMARY') return { role: 'primary' };
  if (role === 'SECONDARY') return { role: 'secondary' };
  return {
    role: 'unknown',
    why: role
      ? `sys.dm_hadr_availability_replica_states says ${role}`
      : 'sys.dm_hadr_availability_replica_states has no row for the local replica',
  };
}
