import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chunkLengths } from './chunker.ts';
import type { CodecReply, CodecRequest } from './codec-messages.ts';
import { createGearTable } from './gear.ts';
import { copyOutOfRing, startRingCut } from './ring-cut.ts';
import { DIRECT_ALIGN } from '../util/aligned-memory.ts';
import { pseudoRandomBytes } from './testdata/inputs.ts';

describe('ring cut', () => {
  const gear = createGearTable(randomBytes(32));
  const params = { min: 4 * 1024, avg: 16 * 1024, max: 64 * 1024 };
  const span = 64 * 1024;
  const pieces = 3;
  const data = pseudoRandomBytes(21, 40 * span + 1234);
  let dir = '';
  let path = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-ring-cut-'));
    path = join(dir, 'model');
    await writeFile(path, data);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A cut request of the open file `fd` from `position`, with a ring of its own. */
  const request = (fd: number, position = 0): Extract<CodecRequest, { op: 'cut' }> => ({
    op: 'cut',
    job: 7,
    fd,
    position,
    span,
    gear,
    ...params,
    ring: { memory: new SharedArrayBuffer(pieces * span), pieces },
  });

  /** Replies as they come; `next()` waits for the next one. */
  const replies = () => {
    const got: CodecReply[] = [];
    let wake: (() => void) | undefined;
    return {
      post: (reply: CodecReply) => {
        got.push(reply);
        wake?.();
      },
      next: async (): Promise<CodecReply> => {
        while (got.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        return got.shift() as CodecReply;
      },
    };
  };
  const failed = (error: unknown): CodecReply => ({
    job: 7,
    error: { message: (error as Error).message, integrity: false },
  });

  it('cuts from a position the chunker chunks, each lying in the ring until given back', async () => {
    const handle = await open(path, 'r');
    try {
      for (const position of [0, 3 * DIRECT_ALIGN]) {
        const cutRequest = request(handle.fd, position);
        const memory = cutRequest.ring?.memory as SharedArrayBuffer;
        const { post, next } = replies();
        const ring = startRingCut(cutRequest, post, failed);
        const lengths: number[] = [];
        let at = position;
        for (let end = false; !end;) {
          const reply = await next();
          assert.ok('cut' in reply, JSON.stringify(reply));
          let place = reply.cut.at ?? -1;
          for (const length of reply.cut.lengths) {
            // Copied out late, after the worker had every chance to read on over it.
            await new Promise((resolve) => setTimeout(resolve, 1));
            const chunk = Buffer.alloc(length);
            copyOutOfRing({ memory, size: pieces * span, at: place }, chunk);
            assert.ok(chunk.equals(data.subarray(at, at + length)), `the chunk at ${at}`);
            place = (place + length) % (pieces * span);
            at += length;
            ring.free(at);
          }
          lengths.push(...reply.cut.lengths);
          end = reply.cut.end;
        }
        assert.deepEqual(lengths, chunkLengths(gear, params, data.subarray(position), true));
      }
    } finally {
      await handle.close();
    }
  });

  it('ends when cancelled while the ring is full, and replies with a failure', async () => {
    const handle = await open(path, 'r');
    try {
      const { post, next } = replies();
      const ring = startRingCut(request(handle.fd), post, failed);
      // Nothing given back: the ring fills, and the job waits.
      let chunks = 0;
      for (let i = 0; i < pieces - 1; i++) {
        const reply = await next();
        assert.ok('cut' in reply && !reply.cut.end);
        chunks += reply.cut.lengths.length;
      }
      ring.cancel();
      let last = await next();
      // A reply already on its way may come first.
      if ('cut' in last && last.cut.lengths.length > 0) last = await next();
      assert.deepEqual(last, { job: 7, cut: { lengths: [], end: true } });
      assert.ok(chunks > 0 && chunks < chunkLengths(gear, params, data, true).length);
    } finally {
      await handle.close();
    }
    const { post, next } = replies();
    startRingCut(request(999_999), post, failed);
    assert.match(JSON.stringify(await next()), /EBADF/);
  });
});
