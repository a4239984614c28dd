/**
 * The worker side of `codec-pool.ts`: hashes, encodes and decodes blobs with the functions of
 * `blob-codec.ts`, reading and writing them in the slots of memory it shares with the main
 * thread. What this thread allocates along the way is collected cheaply: its heap is tiny.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeBlob, encodeBlob } from './blob-codec.ts';
import type { CodecReply, CodecRequest, CodecWorkerData } from './codec-messages.ts';
import { blobId, type RepositoryKeys } from './crypto.ts';

const port = parentPort;
if (!port) throw new Error('[codec] codec-worker.ts runs only as a worker thread');
const { slab, slotSize } = workerData as CodecWorkerData;

port.on('message', (request: CodecRequest) => {
  _handle(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const integrity = error instanceof Error && error.name === 'IntegrityError';
      port.postMessage({ job: request.job, error: { message, integrity } } satisfies CodecReply);
    },
  );
});

async function _handle(request: CodecRequest): Promise<CodecReply> {
  const { job } = request;
  const slot = Buffer.from(slab, request.slot * slotSize, slotSize);
  const input = slot.subarray(0, request.length);
  switch (request.op) {
    case 'identify':
      return { job, id: new Uint8Array(blobId(_keys({ idKey: request.idKey }), input)) };
    case 'encode': {
      const keys = _keys({ dataKey: request.dataKey });
      const id = Buffer.from(request.id);
      const blob = await encodeBlob(keys, request.type, id, input, request.policy);
      return { job, length: _put(slot, blob.encoded) };
    }
    case 'decode': {
      const keys = _keys({ idKey: request.idKey, dataKey: request.dataKey });
      const id = Buffer.from(request.id);
      const { type, rawLength, what } = request;
      return { job, length: _put(slot, await decodeBlob(keys, type, id, input, rawLength, what)) };
    }
  }
}

/** Copies a result into its slot (the pool sizes slots for any result it sends here). */
function _put(slot: Buffer, result: Buffer): number {
  if (result.length > slot.length) throw new Error('[codec] result larger than its slot');
  result.copy(slot);
  return result.length;
}

/** Only the keys a request needs travel with it; the others are never used here. */
function _keys(given: { idKey?: Uint8Array; dataKey?: Uint8Array }): RepositoryKeys {
  const none = Buffer.alloc(0);
  const buffer = (key?: Uint8Array): Buffer => (key ? Buffer.from(key) : none);
  return {
    idKey: buffer(given.idKey),
    dataKey: buffer(given.dataKey),
    metaKey: none,
    chunkerKey: none,
  };
}
