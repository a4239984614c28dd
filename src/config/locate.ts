/**
 * Finds where a key path of a parsed YAML document sits in the text, so every config message
 * can start with `file:line:column`.
 * @module
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A 1-based position in the config file. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * The position of `path` in `doc`. A scalar value points at the value; a mapping or list, or a
 * path whose last keys are missing, points at the key of the deepest part that exists.
 * With `key: true` the position is that of the last key itself (for unknown keys).
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  options: { key?: boolean } = {},
): Position {
  let node: unknown = doc.contents;
  // The key node that led to `node`, used when the value itself is a collection or missing.
  let via: Node | undefined;
  for (const [i, segment] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      via = pair.key as Node;
      if (last && options.key) return at(lineCounter, via);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      via = undefined;
      node = item;
    } else {
      break;
    }
  }
  if (isScalar(node) && node.value !== null) return at(lineCounter, node);
  if (via) return at(lineCounter, via);
  if (node && typeof node === 'object' && 'range' in node) return at(lineCounter, node as Node);
  return { line: 1, col: 1 };
}

/**
 * Formats a key path the way a JavaScript reader would write it: `sources[1].retention.keepDaily`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment)))
      text += `${text ? '.' : ''}${String(segment)}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

// --- internal ---

function at(lineCounter: LineCounter, node: Node): Position {
  const offset = node.range?.[0] ?? 0;
  return lineCounter.linePos(offset);
}
