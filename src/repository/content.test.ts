import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { BlobSaver } from './blob-saver.ts';
import type { CutChunks } from './codec-pool.ts';
import { createByteBudget } from './byte-budget.ts';
import {
  readContent,
  saveFileCut,
  streamContentRange,
  writeContents,
  type PositionalWriter,
} from './content.ts';
import type { OpenRepository } from './repository.ts';
import type { StoreProperties } from '../stores/types.ts';

const MiB = 1024 * 1024;

/**
 * A saver of chunks mostly stored already (`saveRanges` only, as `saveFileCut` uses it for a
 * changed file), whose hashing and storing each end when the test says: what it was asked, and
 * the gates to open.
 */
function _gatedSaver(): {
  saver: BlobSaver;
  asked: number[];
  hash: () => void;
  store: () => void;
} {
  const asked: number[] = [];
  const hashing: (() => void)[] = [];
  const storing: (() => void)[] = [];
  const saveRanges: BlobSaver['saveRanges'] = async (_fd, position, lengths, options = {}) => {
    asked.push(position);
    await new Promise<void>((resolve) => hashing.push(resolve));
    options.onHashed?.();
    // Then each range's new chunk is stored: it waits (a pack's upload, a slot) until let go.
    await new Promise<void>((resolve) => storing.push(resolve));
    return lengths.map((length, i) => ({ id: Buffer.alloc(32, (position + i) & 0xff), length }));
  };
  return {
    saver: { saveRanges } as unknown as BlobSaver,
    asked,
    hash: () => hashing.splice(0).forEach((go) => go()),
    store: () => storing.splice(0).forEach((go) => go()),
  };
}

/** A cut of `spans` spans of one 8 MiB chunk each. */
function _cut(spans: number): (span: number) => AsyncIterable<CutChunks> {
  return async function* () {
    for (let i = 0; i < spans; i++) {
      await turn(); // as a worker's replies arrive
      yield { lengths: [8 * MiB], end: i === spans - 1 };
    }
  };
}

/** Lets the chunk saves in flight run as far as they can. */
async function _settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await turn();
}

void describe('saveFileCut of a changed file', () => {
  void it('goes on hashing while new chunks wait to be stored, within a bound of unhashed bytes', async () => {
    const { saver, asked, hash, store } = _gatedSaver();
    const saved = saveFileCut(saver, _cut(40), 3);
    await _settle();
    // Nothing hashed yet: a bounded number of requests is out (about 12 x 8 MiB), not all 40.
    const first = asked.length;
    assert.ok(first > 1 && first < 40, `${first} requests before any was hashed`);
    // Hashed, their stores still waiting: the next requests go out meanwhile, and so on to the
    // end, though no store has ended (storing holds its own bounded memory: slots, packs).
    while (asked.length < 40) {
      const before = asked.length;
      hash();
      await _settle();
      assert.ok(asked.length > before, `stuck at ${before} requests with their stores waiting`);
    }
    let done = false;
    void saved.then(() => (done = true));
    while (!done) {
      hash();
      store();
      await _settle();
    }
    const stored = await saved;
    assert.equal(stored.size, 40 * 8 * MiB);
    assert.deepEqual(
      stored.content,
      asked.map((position) => Buffer.alloc(32, position & 0xff).toString('hex')),
      'in the file order',
    );
  });
});

void describe('reading content back as a stream', () => {
  void it("reads a remote store's connections of blobs ahead, a local one's few", async () => {
    const content = Array.from({ length: 40 }, (_, i) => b(i + 1));
    /** The most reads of blobs under way at once while `read` streams `content` whole. */
    const ahead = async (
      read: (repo: OpenRepository) => Promise<NodeJS.ReadableStream>,
      store?: StoreProperties,
    ): Promise<number> => {
      const { repo, counts } = _leasingRepo(undefined, MiB, store);
      const reading = await read(repo);
      const parts: Buffer[] = [];
      for await (const part of reading) parts.push(part as Buffer);
      assert.ok(Buffer.concat(parts).equals(_expected(content)));
      return counts.maxReading;
    };
    const remote: StoreProperties = { connections: 16, remote: true, supportsRetention: false };
    const whole = (repo: OpenRepository): Promise<NodeJS.ReadableStream> =>
      Promise.resolve(readContent(repo, { content }, { what: 'dump' }));
    const range = (repo: OpenRepository): Promise<NodeJS.ReadableStream> =>
      streamContentRange(repo, content, 0, 40 * MiB, { what: 'dump' });
    assert.equal(await ahead(whole), 6, 'readContent from a local store: 6 ahead');
    assert.equal(await ahead(whole, remote), 16, 'readContent: one per connection');
    assert.equal(await ahead(range), 6, 'streamContentRange from a local store: 6 ahead');
    assert.equal(await ahead(range, remote), 16, 'streamContentRange: one per connection');
  });
});

/**
 * A repository of 1 MiB blobs named by one byte (`b(n)`), each filled with that byte, that
 * counts its leases: how many were taken, how many are held now and at most, and which. Its
 * store is local unless `store` says otherwise.
 */
function _leasingRepo(
  failing?: string,
  size = MiB,
  store: StoreProperties = { connections: 4, remote: false, supportsRetention: false },
): {
  repo: OpenRepository;
  counts: {
    leased: number;
    held: number;
    maxHeld: number;
    ids: string[];
    /** The most of `readBlob`'s reads under way at once. */
    maxReading: number;
  };
} {
  const counts = { leased: 0, held: 0, maxHeld: 0, ids: [] as string[], maxReading: 0 };
  let reading = 0;
  const repo = {
    store: { properties: store },
    readBlob: async (_type: string, id: Buffer) => {
      counts.maxReading = Math.max(counts.maxReading, ++reading);
      await turn();
      reading--;
      return Buffer.alloc(size, id[0] ?? 0);
    },
    index: () => Promise.resolve({ get: () => ({ rawLength: size }) }),
    leaseBlob: async (_type: string, id: Buffer) => {
      await turn();
      const hex = id.toString('hex');
      counts.leased++;
      counts.ids.push(hex);
      if (hex === failing) throw new Error(`blob ${hex} damaged`);
      counts.held++;
      counts.maxHeld = Math.max(counts.maxHeld, counts.held);
      return { bytes: Buffer.alloc(size, id[0] ?? 0), release: () => counts.held-- };
    },
  } as unknown as OpenRepository;
  return { repo, counts };
}

const b = (n: number): string => n.toString(16).padStart(2, '0');

/** A writer into memory, at the positions it is given. */
function _memoryOut(size = MiB): { out: PositionalWriter; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    out: {
      write: async (buffer, offset, length, position) => {
        await turn();
        parts.push(Buffer.from(buffer.subarray(offset, offset + length)));
        assert.equal(position, (parts.length - 1) * size, 'written in order');
      },
    },
    bytes: () => Buffer.concat(parts),
  };
}

/** What a stream of blobs `ids` holds. */
const _expected = (ids: string[]): Buffer =>
  Buffer.concat(ids.map((hex) => Buffer.alloc(MiB, Number.parseInt(hex, 16))));

void describe('writeContents', () => {
  void it('decodes a blob shared by streams written together once, and releases every lease', async () => {
    const { repo, counts } = _leasingRepo();
    // A model of 40 blobs; its fine-tuned copy: one blob inserted at the start, two changed.
    const model = Array.from({ length: 40 }, (_, i) => b(i + 1));
    const tuned = [b(250), ...model.map((id, i) => (i === 10 || i === 30 ? b(180 + i) : id))];
    // A blob used again far beyond what is kept for a later use (64 MiB on): read again.
    const repeated = [b(100), ...Array.from({ length: 63 }, (_, i) => b(101 + i)), b(100)];
    const outs = [_memoryOut(), _memoryOut(), _memoryOut()];
    const budget = createByteBudget(6 * MiB);
    const written = await writeContents(
      repo,
      [model, tuned, repeated].map((content, i) => ({
        stored: { content, size: content.length * MiB },
        out: (outs[i] as ReturnType<typeof _memoryOut>).out,
        what: `stream ${i}`,
      })),
      { budget },
    );
    assert.deepEqual(written, [40 * MiB, 41 * MiB, 65 * MiB]);
    for (const [i, content] of [model, tuned, repeated].entries()) {
      assert.ok(outs[i]?.bytes().equals(_expected(content)), `stream ${i} written whole`);
    }
    const distinct = new Set([...model, ...tuned, ...repeated]);
    assert.equal(counts.leased, distinct.size + 1, 'each blob once, the far repeat twice');
    assert.equal(counts.ids.filter((id) => id === b(100)).length, 2);
    assert.equal(counts.held, 0, 'every lease released');
    assert.equal(budget.held, 0, 'the budget given back');
    assert.ok(counts.maxHeld <= 3 * 8 + 2, `${counts.maxHeld} leases held at once`);
  });

  void it('reads a blob used over and over in one stream once per span of it', async () => {
    // A zero-filled region: 40,000 uses of one 1 KiB blob, 16,384 of them to a span of 16 MiB.
    const KiB = 1024;
    const { repo, counts } = _leasingRepo(undefined, KiB);
    const content = Array.from({ length: 40_000 }, () => b(0));
    const out = _memoryOut(KiB);
    const budget = createByteBudget(6 * MiB);
    await writeContents(repo, [{ stored: { content }, out: out.out, what: 'zeros' }], { budget });
    assert.ok(out.bytes().equals(Buffer.alloc(40_000 * KiB)));
    assert.equal(counts.leased, Math.ceil(40_000 / (16 * 1024 + 1)));
    assert.equal(counts.held, 0);
  });

  void it("keeps a remote store's connections of blob reads in flight, a local one's few", async () => {
    const content = Array.from({ length: 60 }, (_, i) => b(i + 1));
    const held = async (store?: StoreProperties): Promise<number> => {
      const { repo, counts } = _leasingRepo(undefined, MiB, store);
      const out = _memoryOut();
      const budget = createByteBudget(64 * MiB);
      await writeContents(repo, [{ stored: { content }, out: out.out, what: 'model' }], { budget });
      assert.ok(out.bytes().equals(_expected(content)));
      return counts.maxHeld;
    };
    // The budget allows 64: the reads in flight are what the store's kind allows.
    assert.equal(await held(), 8, 'a local store: 8 reads ahead');
    const remote = (connections: number): StoreProperties => ({
      connections,
      remote: true,
      supportsRetention: false,
    });
    assert.equal(await held(remote(16)), 16, 'one per connection of a remote store');
    assert.equal(await held(remote(2)), 8, 'never fewer than from a local store');
  });

  void it('fails on a damaged blob, naming nothing written past it, and releases every lease', async () => {
    const model = Array.from({ length: 20 }, (_, i) => b(i + 1));
    const { repo, counts } = _leasingRepo(b(12));
    const budget = createByteBudget(6 * MiB);
    const streams = [model, [b(99), ...model]].map((content) => ({
      stored: { content },
      out: _memoryOut().out,
      what: 'file',
    }));
    await assert.rejects(writeContents(repo, streams, { budget }), /blob 0c damaged/);
    await _settle();
    assert.equal(counts.held, 0, 'every lease released');
    assert.equal(budget.held, 0, 'the budget given back');
  });
});
