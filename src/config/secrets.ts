/**
 * Rejects secrets written inline in the config: a `password:` (or token, key, connection
 * string…) anywhere in the file is an error that says which `…File` key to use instead.
 * Secrets in files keep them out of the config, its backups, diffs and log lines.
 * @module
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { ConfigIssue } from './issues.ts';
import { locate } from './locate.ts';

/** Keys that hold a secret value, mapped (lower-case) to the key to use instead. */
const SECRET_KEYS: Record<string, string> = {
  password: 'passwordFile',
  passphrase: 'passwordFile',
  pass: 'passwordFile',
  pwd: 'passwordFile',
  key: 'keyFile',
  privatekey: 'keyFile',
  accesskey: 'credentialFile',
  secretkey: 'credentialFile',
  secretaccesskey: 'credentialFile',
  accountkey: 'credentialFile',
  sastoken: 'credentialFile',
  connectionstring: 'credentialFile',
  credential: 'credentialFile',
  credentials: 'credentialFile',
};

/** Other secret-like keys; the message suggests the same name with a `File` suffix. */
const GENERIC_SECRETS = new Set(['secret', 'token', 'apikey', 'clientsecret', 'webhooksecret']);

/** Every key in the document that would hold a secret inline, located. */
export function findInlineSecrets(doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const found: ConfigIssue[] = [];
  walk(doc.contents, [], (path, key) => {
    const lower = key.toLowerCase();
    const instead = SECRET_KEYS[lower] ?? (GENERIC_SECRETS.has(lower) ? `${key}File` : undefined);
    if (instead === undefined) return;
    found.push({
      ...locate(doc, lineCounter, path, { key: true }),
      path,
      message: `secrets are never written in the config: put it in a file readable only by hbr and name that file with "${instead}"`,
    });
  });
  return found;
}

// --- internal ---

function walk(
  node: unknown,
  path: PropertyKey[],
  visit: (path: PropertyKey[], key: string) => void,
): void {
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const key = String(item.key.value);
      visit([...path, key], key);
      walk(item.value, [...path, key], visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, [...path, i], visit));
  }
}
