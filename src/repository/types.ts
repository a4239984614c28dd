/**
 * The repository's public, driver-facing types. Drivers (files, sqlserver, neo4j) produce
 * artifacts (named byte streams) inside a backup session and read them back verified; they never
 * see packs, blobs or keys.
 * @module
 */
import type { Readable } from 'node:stream';

/** The kind of a backup within its source's chain. */
export type BackupType = 'full' | 'diff' | 'log' | 'snapshot';

/** What a finished, committed backup looks like in listings (`hbr backups --json`). */
export interface BackupRecord {
  /** 64 hex characters: SHA-256 of the stored manifest object. */
  readonly id: string;
  /** The first 8 characters of `id`, accepted wherever an id is. */
  readonly shortId: string;
  /** Source name from the config, or `files` for ad hoc backups of paths. */
  readonly source: string;
  /** Driver kind: `files`, `sqlserver`, `neo4j`. */
  readonly kind: string;
  readonly type: BackupType;
  /** ISO 8601 UTC. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: string;
  /** Paths backed up (files driver) or the database name(s). */
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  /** The backup this one depends on or was compared against (files: parent snapshot). */
  readonly parent?: string;
  /** Root tree blob id (hex). */
  readonly tree: string;
  /** Totals for the summary line. */
  readonly summary: BackupSummary;
  /**
   * Driver-specific facts needed later (LSNs as decimal strings, Neo4j tx ids, counts, versions,
   * downtime, verification results). JSON-safe values only: never `bigint` or `number` for LSNs.
   */
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface BackupSummary {
  readonly files: number;
  readonly bytes: number;
  /** Bytes this backup added to the repository after dedup and compression (encoded size). */
  readonly addedBytes: number;
  readonly durationMs: number;
  /**
   * Files backups: files and folders that could not be read, so are not in the backup (absent
   * for database backups). With `files` 0, the backup stored nothing of its paths, and `latest`
   * passes over it (see `isFailedBackup` in manifest.ts).
   */
  readonly unreadable?: number;
  /** Files backups: files that changed while they were read; their stored copy may be torn. */
  readonly changedWhileRead?: number;
}

/** The result of storing one artifact. */
export interface ArtifactInfo {
  readonly path: string;
  readonly size: number;
  /**
   * SHA-256 (hex) of the artifact's plaintext, checked again on every read; empty when the
   * artifact was assembled from blocks that never passed through in order (every blob is still
   * authenticated and re-hashed).
   */
  readonly sha256: string;
}

/** What a driver tells the repository when it commits a backup. */
export interface CommitInfo {
  readonly source: string;
  readonly kind: string;
  readonly type: BackupType;
  readonly startedAt: Date;
  readonly paths?: readonly string[];
  readonly tags?: readonly string[];
  readonly parent?: string;
  /** The host the backup is recorded as from (default: this machine's hostname). */
  readonly host?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/**
 * One backup being written. Artifacts are stored as they stream in (chunked, deduplicated,
 * compressed, encrypted, packed). Nothing is visible to readers until `commit` writes the
 * manifest; a session that dies or is aborted leaves data that the next backup reuses and that
 * `prune` eventually removes, never a half backup.
 */
export interface BackupSession {
  /**
   * Stores a byte stream under `path` (e.g. `Hartonomous.bak`, `neo4j.dump`).
   * @throws StoreError when the store fails after retries; the session is then unusable.
   */
  addArtifact(
    path: string,
    data: Readable | AsyncIterable<Uint8Array>,
    options?: { signal?: AbortSignal },
  ): Promise<ArtifactInfo>;
  /** Flushes packs and index, writes the manifest, releases the lock. */
  commit(info: CommitInfo): Promise<BackupRecord>;
  /** Releases the lock without writing a manifest. */
  abort(): Promise<void>;
}

/** The repository as drivers use it. Obtained from `openRepository` in `./index.ts`. */
export interface ArtifactRepository {
  /** Starts a backup (takes a shared lock: concurrent backups are fine, prune is not). */
  startBackup(options?: { signal?: AbortSignal }): Promise<BackupSession>;
  /** Every committed backup, oldest first. */
  listBackups(options?: { signal?: AbortSignal }): Promise<BackupRecord[]>;
  /** Finds a backup by full id, unique prefix, or `latest` (optionally of one source). */
  findBackup(idOrLatest: string, options?: { source?: string }): Promise<BackupRecord>;
  /** The artifacts of a backup (the top level of its tree). */
  listArtifacts(backupId: string): Promise<ArtifactInfo[]>;
  /**
   * Streams an artifact back. Every blob is authenticated and re-hashed before its bytes are
   * emitted, and the whole stream's SHA-256 is checked at the end.
   * @throws IntegrityError (as a stream error) on any mismatch.
   */
  openArtifact(backupId: string, path: string, options?: { signal?: AbortSignal }): Readable;
  /** Reads `length` bytes at `offset` of an artifact (for ranged reads, e.g. RESTORE FROM URL). */
  readArtifactRange(
    backupId: string,
    path: string,
    offset: number,
    length: number,
    options?: { signal?: AbortSignal },
  ): Promise<Buffer>;
}
