/**
 * Writing a sparse file back with its holes: a restore that wrote every zero of a 100 GB disk
 * image holding 1 GB of data would allocate 100 GB, and could fill the target's disk.
 * @module
 */
import type { PositionalWriter } from '../../repository/index.ts';

/**
 * `out` leaving zeros unwritten, block by block of the file (4 KiB, aligned to the file's start),
 * so a file system that supports holes allocates none for them. Only for a new file written once
 * per byte, whose every byte not written reads as zero, and which is cut to its size at the end
 * (`ftruncate`: a file ending in zeros would otherwise be short). The runs of bytes that are not
 * zero are written as they are, each in one write.
 */
export function skippingZeroBlocks(out: PositionalWriter): PositionalWriter {
  return {
    async write(buffer, offset, length, position) {
      const end = offset + length;
      const toFile = position - offset;
      let run = -1; // where the bytes not yet written start, if any
      for (let at = offset; at < end;) {
        const next = Math.min(end, at + BLOCK - ((toFile + at) % BLOCK));
        // By memcmp, without a Buffer per block: a block of data mostly differs at its first bytes.
        const zero = buffer.compare(ZEROS, 0, next - at, at, next) === 0;
        if (zero && run >= 0) {
          await out.write(buffer, run, at - run, toFile + run);
          run = -1;
        } else if (!zero && run < 0) run = at;
        at = next;
      }
      if (run >= 0) await out.write(buffer, run, end - run, toFile + run);
    },
  };
}

// --- internal ---

/** The block of most file systems (ext4, XFS, tmpfs on x86-64), and the unit of their holes. */
const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);
