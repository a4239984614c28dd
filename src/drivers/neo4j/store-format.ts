/**
 * The store format of a database (`record-aligned-1.1`, as `SHOW DATABASES` and `database info`
 * print it), read from its metadata store file `neostore` as a dump carries it: a dump backup
 * then needs no `SHOW DATABASES`, the slowest query on a server that just started.
 *
 * Layout (Neo4j 5, record storage; checked against 5.26.30's `MetaDataStore` and
 * `StoreIdSerialization`): 9-byte records, an in-use byte and 8 bytes of data each; the store id
 * fills the data of records 5 to 12: version byte 1, creation time and random (8 bytes each),
 * then the storage engine's and the format's names (a length byte and ASCII each), then the major
 * (negative: a beta format) and minor version bytes.
 * @module
 */

/** The metadata store's file name inside a database's folder (and a dump). */
export const METADATA_STORE_FILE = 'neostore';

const RECORD_SIZE = 9;
const STORE_ID_FIRST_RECORD = 5;
const STORE_ID_RECORDS = 8;

/**
 * The store format the metadata store names, e.g. `record-aligned-1.1`; undefined when the file
 * does not hold a store id in the layout above (another version or storage engine).
 */
export function storeFormatOf(neostore: Buffer): string | undefined {
  const data: number[] = [];
  for (let i = 0; i < STORE_ID_RECORDS; i++) {
    const at = (STORE_ID_FIRST_RECORD + i) * RECORD_SIZE;
    if (at + RECORD_SIZE > neostore.length || neostore[at] !== 1) return undefined;
    data.push(...neostore.subarray(at + 1, at + RECORD_SIZE));
  }
  const bytes = Buffer.from(data);
  if (bytes[0] !== 1) return undefined;
  let at = 17;
  const name = (): string | undefined => {
    const length = bytes[at];
    if (length === undefined || length === 0 || at + 1 + length > bytes.length) return undefined;
    const text = bytes.toString('latin1', at + 1, at + 1 + length);
    at += 1 + length;
    return /^[a-z][a-z0-9_]*$/i.test(text) ? text : undefined;
  };
  const engine = name();
  const format = engine === undefined ? undefined : name();
  if (engine === undefined || format === undefined || at + 2 > bytes.length) return undefined;
  const major = bytes.readInt8(at);
  const minor = bytes.readInt8(at + 1);
  if (minor < 0) return undefined;
  return `${engine}-${format}-${Math.abs(major)}${major < 0 ? 'b' : ''}.${minor}`;
}
