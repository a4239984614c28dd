/**
 * How a codec worker keeps its memory small and reused: a collection of the young generation
 * after every {@link COLLECT_EVERY} bytes it handles (a full one now and then in a check) and,
 * once it decodes or verifies, glibc kept from trimming what those collections free. Per thread
 * (module state); bench/micro/ceiling.ts runs its steps under the same regime, so that it
 * measures what the workers get.
 * @module
 */
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Bytes between collections. What a request leaves behind (the cipher's pieces, a restore's
 * pack range handed over; before zstd wrote into reused memory, also every compressor output)
 * is native memory under small objects, which die young, and V8 collects on native memory only
 * once 64 MiB more of it is held: per worker, that is 64 MiB of garbage, freshly faulted in
 * again after each collection. A scavenge frees them and the next request reuses their memory
 * (measured on the benchmark's first backup when zstd outputs were fresh buffers, collecting
 * every 8 MiB: peak RSS 30-40 MB lower, a third fewer page faults, no more CPU). Every 2 MiB
 * rather than 8: 8 MiB of pieces freed at once left glibc's heaps fragmented and growing (a
 * worker's from 9 to 37 MB over a check of the benchmark's repository); alternating on a
 * repository of its data, a check then peaked at 207-224 MB instead of 238-244 and a restore at
 * 170 instead of 188 MB, in the same time. A full collection instead, every 8 MiB: 180-186 MB,
 * but the check 28 % slower.
 *
 * `gc` is V8's own, made reachable as `--expose-gc` does (the flag applies to contexts created
 * after it is set). `{ type: 'minor' }` asks for a scavenge by name: Node 20's V8 scavenges for
 * `{ type: 'major' }` too, which the code here used to ask for.
 */
const COLLECT_EVERY = 2 * 1024 * 1024;
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options?: { type: 'minor' }) => void;
let sinceCollected = 0;
let keeping = false;

/**
 * Bytes between full collections, once {@link collectFullyToo} was called. A check's workers
 * still grew with the repository they verified: the peak RSS of a check of the benchmark's
 * repository was 204-215 MB at scale 1 against 167-176 at scale 0.25, most of the difference in
 * two heaps of glibc that grew to 20-46 MB, holding what only a full collection frees. A full
 * collection every 64 MiB verified: 179-182 MB, for 3 % more time (3 alternating triples; every
 * 128 MiB: 177-187 MB; every 16 MiB: 15 % more time). A restore's peak is not the largest of
 * any command, and it paid about 0.4 s more CPU for it: only checks collect so.
 */
const FULL_COLLECT_EVERY = 64 * 1024 * 1024;
let sinceFullyCollected = 0;
let fully = false;

/** Counts `bytes` handled in this thread's memory; collects once {@link COLLECT_EVERY} add up. */
export function collectNowAndThen(bytes: number): void {
  sinceCollected += bytes;
  sinceFullyCollected += bytes;
  if (sinceCollected < COLLECT_EVERY) return;
  sinceCollected = 0;
  if (fully && sinceFullyCollected >= FULL_COLLECT_EVERY) {
    sinceFullyCollected = 0;
    collect(); // `gc()` without options: a full (mark-compact) collection
    return;
  }
  collect({ type: 'minor' });
}

/**
 * Objects of each hidden class the codec's hot paths make per blob and drop: node:crypto's
 * hashes, HMACs and deciphers, and the buffers their native code returns (a class of its own,
 * made by giving a typed array Buffer's prototype). V8 holds such a class only weakly once no
 * object has it: a full collection then drops it and throws away all optimized code that
 * embedded it, which runs unoptimized until it is optimized again. A check of the benchmark's
 * repository threw code away so 145-170 times (createHmac, the decipher's update, copyBytes, the
 * byte lanes' join, each a few times) and optimized functions 295-327 times; with the classes
 * kept, 2 and 139-141 times, V8's compiler threads took 0.3 s of CPU instead of 0.7 (`perf`),
 * and the check 0.6 s less CPU in all (of about 7; 6 alternating pairs, 5 faster) at the same
 * peak memory (the collections, not these few objects, decide that).
 */
const _shapesKept: unknown[] = [];

/**
 * Has this thread also collect fully every {@link FULL_COLLECT_EVERY} bytes (a check), keeping
 * {@link _shapesKept} for as long as it runs.
 */
export function collectFullyToo(): void {
  if (fully) return;
  fully = true;
  _shapesKept.push(..._oneOfEachShape());
}

/** One object of each class in {@link _shapesKept}. */
function _oneOfEachShape(): unknown[] {
  const key = Buffer.alloc(32);
  const hash = createHash('sha256');
  const hmac = createHmac('sha256', key);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.alloc(12));
  return [
    hash,
    hash.update(key).digest(),
    hmac,
    hmac.update(key).digest(),
    decipher,
    decipher.update(key),
  ];
}

/** A block freed at once to raise glibc's trim threshold; see {@link keepFreedMemory}. */
const RAISING_BLOCK = 8 * 1024 * 1024;

/**
 * Has this process keep the memory that the collections above free, once it verifies blobs (a
 * check) or decodes one for a restore. Decrypting leaves the cipher's output pieces behind (64
 * KiB each, see `crypto.ts`), which each collection frees, megabytes at a time; glibc's malloc
 * hands freed memory at the top of a heap back to the kernel once it exceeds its trim
 * threshold, 128 KiB until a freed block that was large enough to get its own mapping raises it
 * to twice that block's size (mallopt(3), "dynamic mmap threshold"). So the next pieces faulted
 * in fresh pages again: a check of the benchmark's repository took 240,000 page faults. Freeing
 * one block of {@link RAISING_BLOCK} bytes here lifts the threshold above what a collection
 * frees: 67,000 faults, and the check 9 % and 13 % faster in wall and CPU time (two runs of 6
 * pairs, each pair faster), for about 13 MB more peak RSS. A restore does it once it decodes a
 * large file's blobs (its batches of small files keep the default, which held its peak RSS
 * where it was): page faults 100,000-250,000 → 82,000-88,000, and 8 of 9 alternating pairs
 * faster (5.9 against 6.5 s on average), once its files past the page cache had made room for
 * the memory. Backups gained nothing: their peak RSS is the one nearest its bound, so they keep
 * glibc's default. Elsewhere than glibc, one allocation more. Once per thread.
 */
export function keepFreedMemory(): void {
  if (keeping) return;
  keeping = true;
  Buffer.allocUnsafeSlow(RAISING_BLOCK); // dropped at once: freed by the collection below
  collect({ type: 'minor' });
}
