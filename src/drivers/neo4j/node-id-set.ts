/**
 * The element ids of the nodes a logical export holds, so that a relationship whose start or
 * end node the export lacks (one written while the export ran: Neo4j reads are read-committed)
 * is found while exporting and verifying. Such an export cannot be imported.
 *
 * Neo4j 5 element ids end in the store's node id (`4:<database id>:<node id>`), dense from 0:
 * one bit per id (1 MiB per 8 million ids) instead of one string per node. Ids of any other
 * shape are kept as strings.
 * @module
 */

/** A set of node element ids. */
export interface NodeIdSet {
  add(elementId: string): void;
  has(elementId: string): boolean;
}

/** An empty {@link NodeIdSet}. */
export function createNodeIdSet(): NodeIdSet {
  let prefix: string | undefined;
  let bits = new Uint8Array(8192);
  const others = new Set<string>();
  /** The node id of an element id of the common prefix, else undefined. */
  const numeric = (id: string, learn: boolean): number | undefined => {
    const i = id.lastIndexOf(':');
    const tail = id.slice(i + 1);
    // Beyond 2^30 the bitmap would be 128 MiB: such ids go with the others.
    if (i < 0 || !/^\d{1,10}$/.test(tail) || Number(tail) >= 2 ** 30) return undefined;
    const head = id.slice(0, i);
    if (prefix === undefined && learn) prefix = head;
    return head === prefix ? Number(tail) : undefined;
  };
  return {
    add(id) {
      const n = numeric(id, true);
      if (n === undefined) {
        others.add(id);
        return;
      }
      if (n >> 3 >= bits.length) {
        const grown = new Uint8Array(Math.max(bits.length * 2, (n >> 3) + 1));
        grown.set(bits);
        bits = grown;
      }
      bits[n >> 3]! |= 1 << (n & 7);
    },
    has(id) {
      const n = numeric(id, false);
      if (n === undefined) return others.has(id);
      return ((bits[n >> 3] ?? 0) & (1 << (n & 7))) !== 0;
    },
  };
}
