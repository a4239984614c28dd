/**
 * How V8 sizes this process's heaps. By default it sizes them for speed: in the benchmark's first
 * backup (1.9 GB) the main thread's heap grew to 65 MB for 10-15 MB of live objects (16 MiB
 * semi-spaces, the old generation let grow to four times what survived a collection) and each
 * codec worker's to 11 MB. Sized for memory they stay near 20 and 8 MB: that backup peaked at
 * 230-256 MB instead of 283-320, in the same CPU time.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

let favoured = false;

/**
 * Has V8 size heaps for memory from now on: this thread's, and those of workers started after.
 * Called where memory grows with the data (a backup meeting a new folder, a check), not at
 * startup: a backup that finds nothing changed walks 20,000 files in 0.75 s, and in 0.1 s
 * more with heaps sized for memory from the start, since its many short-lived objects then
 * outgrow the young generation. Nor when the codec workers start: the benchmark's version 2
 * (a changed model beside 20,000 unchanged files) then took 1.70 instead of 1.59 s, 2.83
 * instead of 2.67 s of CPU, for 16 MB (6 alternating pairs). Check --read-data sized so took
 * ~2 % more CPU and 20-30 MB less (the same time, 35 MB less, in 4 pairs since). Nor in a files
 * restore, which holds a window of files, not the backup: sized for memory, the benchmark's took
 * 5.0-5.6 s instead of 4.7-5.0 (5 alternating pairs, all slower, 0.8 s more CPU) for 35 MB less
 * (166-181 MB against 205-213 at its peak).
 */
export function favourMemoryOverSpeed(): void {
  if (favoured) return;
  favoured = true;
  setFlagsFromString('--optimize-for-size');
}

/**
 * Has V8 run each young-generation collection (scavenge) on the thread whose heap it is, with no
 * helper tasks on V8's platform threads. hbr keeps the cores busy with its own threads (a codec
 * worker per core beside the main thread), so a scavenge's helpers wait for a core and the
 * thread that collects waits for them. Without them, the benchmark's restore took 4.51-4.90 s
 * instead of 5.05-5.79 (6 of 6 alternating pairs, 0.6 s less CPU); its first backup (5 pairs),
 * unchanged re-backup (6) and check --read-data (6) took the same time. V8's flags are the
 * process's: set once hbr owns the process, every thread's heap reads it at its next scavenge.
 */
export function scavengeWithoutHelpers(): void {
  setFlagsFromString('--no-parallel-scavenge');
}
