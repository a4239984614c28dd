/**
 * JSON text parsed, or `undefined` when it is not JSON: for objects whose content a schema checks
 * next, so that text that is no JSON at all fails that check like malformed JSON does (as damage)
 * instead of escaping as a SyntaxError that the callers skipping damaged objects do not expect.
 * @module
 */

/** `text` parsed, or `undefined` when it is not JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
