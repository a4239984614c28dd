/**
 * Reading packs whole and verifying every blob in them, for `check --read-data` and `repair`
 * alike: both must agree on what is damaged, since repair drops what check reports.
 * @module
 */
import pLimit from 'p-limit';
import type { Store } from '../stores/types.ts';
import { sharedBuffer, sha256OfShared, verifyBlobsAway } from './codec-pool.ts';
import type { RepositoryKeys } from './crypto.ts';
import { packKey, parsePack, type PackEntry } from './pack.ts';
import { copyBytes } from '../util/copy-bytes.ts';

/** One pack to read: its id, its size in the store, and the blobs to verify in it. */
export interface PackToVerify {
  readonly packId: string;
  readonly size: number;
  /** The blobs to verify (as an index lists them); when absent, those its own header lists. */
  readonly entries?: readonly PackEntry[];
}

/** What reading one pack found. */
export interface VerifiedPack {
  readonly packId: string;
  /** The pack's bytes as read: valid only until `onPack` settles (their memory is reused). */
  readonly bytes: Buffer;
  /** The blobs verified: those asked for, else those its header lists (none if it cannot be read). */
  readonly entries: readonly PackEntry[];
  /**
   * Those of `entries` that fail (unreadable, unauthenticated, not hashing to their id, of another
   * length, or past the pack's end), in pack order.
   */
  readonly bad: readonly PackEntry[];
  /** Whether the pack's bytes hash to its name. */
  readonly hashOk: boolean;
  /** Whether its header opens and its blobs and header add up to its size. */
  readonly headerOk: boolean;
}

/**
 * Reads each of `packs` whole and verifies it: its name, its header and every blob. A pack is
 * verified while the next is read (the next two from a remote store); its blobs are decoded a
 * part at a time on the codec workers straight from the pack's shared memory, and its name is
 * hashed there too (this thread only hands out the work). `onPack` is awaited before the memory
 * of that pack is reused.
 * @throws whatever a read of the store throws (a missing object, a network or permission error),
 *   and a codec worker's failure: damage is reported to `onPack`, never thrown, so a failure to
 *   look is never taken for damage.
 */
export async function verifyPacks(
  repo: { readonly store: Store; readonly keys: RepositoryKeys },
  packs: readonly PackToVerify[],
  onPack: (pack: VerifiedPack) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const decodeLimit = pLimit(DECODES_IN_FLIGHT);
  const ahead = repo.store.properties.remote ? REMOTE_PACKS_AHEAD : 1;
  // Buffers of shared memory, one for the pack being verified and one for each read ahead, read
  // into where the store can: fresh memory per pack would cost a page fault per 4 KiB.
  const buffers = Array.from({ length: ahead + 1 }, () => sharedBuffer(0));
  const read = (at: number): Promise<Buffer> | undefined => {
    const pack = packs[at];
    if (pack === undefined) return undefined;
    // Grown to twice the size a pack needs: packs differ in size a little, and each buffer let go
    // stays in memory until both this thread and the workers collect their garbage. Pages never
    // written cost no memory.
    const slot = at % buffers.length;
    const have = buffers[slot]?.length ?? 0;
    if (have < pack.size) buffers[slot] = sharedBuffer(Math.max(2 * pack.size, have));
    const into = buffers[slot];
    const reading = repo.store
      .get(packKey(pack.packId), { signal, into })
      .then((bytes) => _inShared(bytes, into as Buffer));
    reading.catch(() => undefined); // awaited in turn below
    return reading;
  };
  // Each read starts once the pack whose buffer it takes has been handed on (`onPack` done).
  const reads = Array.from({ length: ahead }, (_, at) => read(at));
  for (let at = 0; at < packs.length; at++) {
    const { packId, entries: asked } = packs[at] as PackToVerify;
    signal?.throwIfAborted();
    const bytes = await (reads.shift() as Promise<Buffer>);
    reads.push(read(at + ahead));
    let header: PackEntry[] | undefined;
    try {
      header = parsePack(repo.keys, packId, bytes);
    } catch {
      header = undefined;
    }
    const entries = asked ?? header ?? [];
    const failed = new Set<PackEntry>();
    const decoded = Promise.all(
      _parts(entries, VERIFY_PART).map((part) =>
        decodeLimit(async () => {
          const blobs = part.map((e) => ({ ...e, id: new Uint8Array(e.id) }));
          for (const i of await verifyBlobsAway(repo.keys, bytes, blobs))
            failed.add(part[i] as PackEntry);
        }),
      ),
    );
    const hashOk = (await sha256OfShared(bytes)) === packId;
    await decoded;
    const bad = entries.filter((e) => failed.has(e));
    await onPack({ packId, bytes, entries, bad, hashOk, headerOk: header !== undefined });
  }
}

/** What is wrong with a verified pack, in words (`content does not match its name; …`), if anything. */
export function packDamage(pack: VerifiedPack): string | undefined {
  const parts = [
    pack.hashOk ? '' : 'content does not match its name',
    pack.bad.length > 0
      ? `${pack.bad.length} of ${pack.entries.length} blobs fail verification`
      : '',
    pack.headerOk ? '' : 'header unreadable',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

// --- internal ---

/**
 * `bytes` in shared memory: as read, or copied once into `into` where the store read them into
 * memory of its own (Azure, S3) and they fit (a pack larger than listed stays where it is). Each
 * part of a pack handed to a worker otherwise copied the whole pack into fresh shared memory: a
 * check of 269 MiB of packs from Azurite took 11.9 s and 594 MB of peak RSS.
 */
function _inShared(bytes: Buffer, into: Buffer): Buffer {
  if (bytes.buffer instanceof SharedArrayBuffer || bytes.length > into.length) return bytes;
  copyBytes(bytes, into);
  return into.subarray(0, bytes.length);
}

/**
 * Packs read ahead of the one being verified from a remote store (from a local one, one): each
 * read waits a round trip. A check --read-data of 269 MiB from Azurite behind 100 ms of added
 * latency took 7.7-7.9 s with two, 8.6-9.6 with one (4.9 and 5.9 s without the latency), at
 * 16-35 MB more peak RSS; three were no faster.
 */
const REMOTE_PACKS_AHEAD = 2;

/** Parts of a pack verified at once: enough to keep two cores busy. */
const DECODES_IN_FLIGHT = 4;

/**
 * Stored bytes of one such part, a message to a codec worker: small blobs go many to a message,
 * since a message costs more than decoding one of them.
 */
const VERIFY_PART = 1024 * 1024;

/** Consecutive runs of `entries` of about `span` stored bytes each (a larger blob alone). */
function _parts(entries: readonly PackEntry[], span: number): PackEntry[][] {
  const parts: PackEntry[][] = [];
  let part: PackEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (part.length > 0 && bytes + e.length > span) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += e.length;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
