/**
 * Locations written the way restic writes them (`s3:bucket/prefix`, `azure:container/path`,
 * `sftp:host:/path`): without the `//`, hbr would take them for local folders of those names
 * and back up to the disk. They are refused with the form hbr expects. A dependency-free
 * module: the CLI checks every location it is given before it loads any store.
 * @module
 */
import { UsageError } from '../errors.ts';

/** restic's location schemes, and what hbr takes instead. */
const EXPECTED: Readonly<Record<string, string>> = {
  s3: 's3://BUCKET/PREFIX',
  azure: 'azure://ACCOUNT/CONTAINER/PREFIX',
  local: 'a path (/srv/backup) or file:///srv/backup',
  file: 'a path (/srv/backup) or file:///srv/backup',
  sftp: '',
  rest: '',
  b2: '',
  gs: '',
  swift: '',
  rclone: '',
};

/**
 * Refuses `text` when it starts with one of restic's schemes and a ':' that is not '://'.
 * A local folder of such a name is still reachable as `./s3:x`.
 * @throws {UsageError} naming the location form hbr expects.
 */
export function refuseResticStyleLocation(text: string, origin: string): void {
  const scheme = /^([a-z0-9]+):(?!\/\/)/i.exec(text.trim())?.[1]?.toLowerCase();
  if (scheme === undefined || !Object.hasOwn(EXPECTED, scheme)) return;
  const expected =
    EXPECTED[scheme] ||
    `a path, azure://ACCOUNT/CONTAINER/PREFIX or s3://BUCKET/PREFIX (hbr has no ${scheme} store)`;
  throw new UsageError(
    `${origin}: "${text}" is written as restic writes locations; hbr expects ${expected}. A local folder of that name: ./${text}`,
  );
}
