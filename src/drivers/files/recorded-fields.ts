/**
 * The fields of a file's node that a backup leaves out for the usual case: `links` (absent: one
 * link) and `sparse` (absent: no holes). A backup made before hbr recorded one has it on no node,
 * so there absent means "not known", and a hard-linked or sparse file would pass for changed
 * between such a backup and a newer one. A files backup therefore lists the fields it records in
 * its manifest (`meta.recorded`), and `diff` compares a field only between backups that both list
 * it.
 * @module
 */

/** What a files backup records, listed in its manifest as `meta.recorded`. */
export const RECORDED_FIELDS = ['links', 'sparse'] as const;

/** A file node's field that a backup records only when it lists it in `meta.recorded`. */
export type RecordedField = (typeof RECORDED_FIELDS)[number];

/**
 * The fields both backups recorded, from their manifests' `meta`: none when either was made
 * before hbr listed them, even one whose nodes hold them (made after hbr recorded the fields but
 * before it listed them): a node without them there cannot be told from one of an older backup.
 */
export function recordedByBoth(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): RecordedField[] {
  return RECORDED_FIELDS.filter((field) => _lists(a, field) && _lists(b, field));
}

// --- internal ---

function _lists(meta: Readonly<Record<string, unknown>>, field: RecordedField): boolean {
  const recorded = meta['recorded'];
  return Array.isArray(recorded) && recorded.includes(field);
}
