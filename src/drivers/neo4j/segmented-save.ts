/**
 * Stores unwrapped dump content as one artifact whose chunks never straddle an
 * `ENTRY_BOUNDARY` (see `dump-tar.ts`): each segment (a tar header group, the state pages at the
 * start of a file, the rest of a file) is chunked on its own, and the artifact's content is the
 * segments' chunks in order. Restores read it like any artifact; only the cut points differ.
 *
 * Needs a session that can save content without adding an artifact (`saveContent` and
 * `addStoredArtifact` of the repository's own session); any other session gets the bytes through
 * `addArtifact`, without the boundaries.
 * @module
 */
import { createHash } from 'node:crypto';
import type { RepositorySession } from '../../repository/index.ts';
import type { ArtifactInfo, BackupSession } from '../../repository/types.ts';
import { ENTRY_BOUNDARY } from './dump-tar.ts';

/** What the content stream yields. */
export type SegmentedItem = Uint8Array | typeof ENTRY_BOUNDARY;

/** Segments whose chunk saves may still be finishing while the next segment streams. */
const SEGMENTS_IN_FLIGHT = 4;

/**
 * Adds `items` as artifact `path`, cutting a chunk at every boundary.
 * @throws whatever the session or the stream throws (the artifact is then not added).
 */
export async function addSegmentedArtifact(
  session: BackupSession,
  path: string,
  items: AsyncIterable<SegmentedItem>,
  options: { signal?: AbortSignal } = {},
): Promise<ArtifactInfo> {
  if (!canSaveContent(session)) return session.addArtifact(path, bytesOnly(items), options);
  const state: SegmentState = {
    it: items[Symbol.asyncIterator](),
    ended: false,
    hash: createHash('sha256'),
    size: 0,
  };
  const parts: Promise<{ content: string[] }>[] = [];
  while (!state.ended) {
    let consumed = (): void => undefined;
    const done = new Promise<void>((resolve) => (consumed = resolve));
    // The artifact's checksum is `state.hash`, over all segments; one per segment would be
    // thrown away (a second SHA-256 of the whole dump on the thread that reads the pipes).
    const saved = session.saveContent(segment(state, consumed), {
      profile: 'db',
      wholeHash: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    saved.catch(() => undefined); // awaited in order below; this only avoids an early unhandled rejection
    parts.push(saved);
    // The next segment may start once this one's bytes are read; its saves finish in the background.
    await Promise.race([done, saved]);
    const oldest = parts[parts.length - 1 - SEGMENTS_IN_FLIGHT];
    if (oldest !== undefined) await oldest;
  }
  const content = (await Promise.all(parts)).flatMap((p) => p.content);
  return session.addStoredArtifact(path, {
    content,
    size: state.size,
    sha256: state.hash.digest('hex'),
  });
}

// --- internal ---

interface SegmentState {
  readonly it: AsyncIterator<SegmentedItem>;
  ended: boolean;
  readonly hash: ReturnType<typeof createHash>;
  size: number;
}

/** Yields the bytes up to the next boundary (or the end), then calls `consumed`. */
async function* segment(state: SegmentState, consumed: () => void): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      const next = await state.it.next();
      if (next.done === true) {
        state.ended = true;
        return;
      }
      if (next.value === ENTRY_BOUNDARY) return;
      state.hash.update(next.value);
      state.size += next.value.byteLength;
      yield next.value;
    }
  } catch (error) {
    state.ended = true;
    throw error;
  } finally {
    consumed();
  }
}

async function* bytesOnly(items: AsyncIterable<SegmentedItem>): AsyncGenerator<Uint8Array> {
  for await (const item of items) if (item !== ENTRY_BOUNDARY) yield item;
}

function canSaveContent(
  session: BackupSession,
): session is BackupSession & Pick<RepositorySession, 'saveContent' | 'addStoredArtifact'> {
  const s = session as Partial<RepositorySession>;
  return typeof s.saveContent === 'function' && typeof s.addStoredArtifact === 'function';
}
