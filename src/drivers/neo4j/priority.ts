/**
 * Lowers the CPU priority of this process's threads, so that work which can wait (reading the
 * spooled dumps into the repository) leaves the cores to the Neo4j server starting beside it:
 * the server is down until it answers, the repository is in no hurry. Processes started earlier
 * keep their priority (the server, already launched); threads and processes started later
 * inherit the lower one. Raising it back needs privileges (root or CAP_SYS_NICE): without them
 * the rest of the process runs at the lower priority.
 * @module
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets every thread of this process to at least niceness `nice` (per thread on Linux, where
 * `/proc/self/task` lists them; elsewhere the process). Best effort: priority is only a hint.
 * @returns a function that sets them back to the niceness the process had (also best effort).
 */
export function lowerOwnPriority(nice: number): () => void {
  const before = getPriority(0);
  for (const tid of threads()) {
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
    } catch {
      // The thread ended meanwhile, or the platform refuses: it keeps its priority.
    }
  }
  return () => {
    for (const tid of threads()) {
      try {
        setPriority(tid, before);
      } catch {
        // No privilege to raise it (EACCES), or the thread ended: it stays lower.
      }
    }
  };
}

// --- internal ---

function threads(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    // No procfs (macOS, Windows): the process priority is all there is.
    return [0];
  }
}
