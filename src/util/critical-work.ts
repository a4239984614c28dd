/**
 * Work that a second Ctrl-C must not cut short: a Neo4j server hbr stopped and has yet to start
 * again. The first Ctrl-C or SIGTERM aborts a command, which then finishes such work; a second
 * one ends the process at once (a command stuck on a store that never answers), unless work of
 * this kind is under way, which it names instead.
 * @module
 */

const under = new Map<symbol, string>();

/** Marks `what` (in words for the user) as under way; the function returned ends it. */
export function beginCriticalWork(what: string): () => void {
  const key = Symbol(what);
  under.set(key, what);
  return () => under.delete(key);
}

/** What is under way now, in words. */
export function criticalWork(): string[] {
  return [...under.values()];
}
