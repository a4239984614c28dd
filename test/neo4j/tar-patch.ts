/**
 * Test helper: corrupts one file inside the tar of unwrapped dump content, in place, to prove
 * that `database check` catches a damaged store.
 * @module
 */

/**
 * Overwrites the middle of the first tar entry whose path matches `name` with 0xFF bytes
 * (store records full of 0xFF point at nonexistent records). `offset` is where the tar starts.
 * Throws when no entry matches.
 */
export function corruptTarEntry(buf: Buffer, offset: number, name: RegExp): void {
  let pos = offset;
  let paxPath: string | undefined;
  while (pos + 512 <= buf.length) {
    const header = buf.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(
      header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const type = String.fromCharCode(header[156] ?? 0);
    const data = pos + 512;
    if (type === 'x') {
      paxPath = /\d+ path=([^\n]*)\n/.exec(buf.subarray(data, data + size).toString('utf8'))?.[1];
    } else {
      const path = paxPath ?? header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
      paxPath = undefined;
      if (name.test(path) && size > 0) {
        // Damage whole 8 KiB pages in the middle so the damage hits records, not only padding.
        const start = data + Math.floor(size / 4);
        buf.fill(0xff, start, Math.min(data + size, start + Math.max(1024, Math.floor(size / 2))));
        return;
      }
    }
    pos = data + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no tar entry matches ${String(name)}`);
}
