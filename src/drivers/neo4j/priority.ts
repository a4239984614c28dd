/**
 * Lowers the CPU priority of this process's threads, so that work which can wait (storing the
 * dumps into the repository) leaves the cores to the Neo4j processes whose run decides the
 * downtime: neo4j-admin dumping, the server starting. Processes started earlier keep their
 * priority; threads and processes started later inherit the lower one (a child inherits the
 * niceness of the thread that spawns it). Raising it back needs privileges (root,
 * CAP_SYS_NICE or a high enough RLIMIT_NICE): without them the rest of the process runs at the
 * lower priority, so a process that must start at the former one is spawned before the step
 * back (`Neo4jServer.holdStart`).
 * @module
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets every thread of this process but `except` to at least niceness `nice` (per thread on
 * Linux, where `/proc/self/task` lists them; elsewhere the process). Best effort: priority is
 * only a hint.
 * @returns a function that sets them back to the niceness the process had (also best effort).
 */
export function lowerOwnPriority(
  nice: number,
  except: readonly (number | undefined)[] = [],
): () => void {
  const before = getPriority(0);
  for (const tid of threads()) {
    if (except.includes(tid)) continue;
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
    } catch {
      // The thread ended meanwhile, or the platform refuses: it keeps its priority.
    }
  }
  return () => {
    for (const tid of threads()) {
      try {
        if (getPriority(tid) > before) setPriority(tid, before);
      } catch {
        // No privilege to raise it (EACCES), or the thread ended: it stays lower.
      }
    }
  };
}

/** This process stepping back and forth as a whole (see {@link createStepBack}). */
export interface StepBack {
  /** Lowers every thread but `except` to the niceness (again, after undoing the last step back). */
  back(except?: readonly (number | undefined)[]): void;
  /** Undoes the last step back, as far as permitted. */
  forward(): void;
}

/** Steps back to niceness `nice`, or never when `nice` is false. */
export function createStepBack(nice: number | false): StepBack {
  let undo = (): void => undefined;
  const forward = (): void => {
    undo();
    undo = () => undefined;
  };
  return {
    back(except = []) {
      if (nice === false) return;
      forward();
      undo = lowerOwnPriority(nice, except);
    },
    forward,
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
