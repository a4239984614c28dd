/**
 * Names in text output. A file name on Linux may hold any byte but `/` and NUL: a newline in one
 * made a single entry of `hbr ls` span two lines, and an escape sequence in one could drive the
 * terminal. Such a name is printed as a JSON string (`"/srv/a\nb"`), as GNU ls quotes it as
 * `$'a\nb'`; one without control characters is printed as it is. The quotes tell the two apart:
 * a name that starts with `"` (a link's target may) is quoted too, so only a quoted one starts
 * with `"`, and it reads back with `JSON.parse`. `--json` output carries names exactly and never
 * goes through this.
 * @module
 */

/** Control characters: C0, DEL and C1. */
const CONTROL = /\p{Cc}/u;

/**
 * `text` as is, or, when it holds a control character or starts with `"`, as a JSON string in
 * which C1 characters and DEL, which JSON leaves as they are, are escaped too.
 * @example printable('/srv/a\nb') // '"/srv/a\\nb"'
 */
export function printable(text: string): string {
  if (!CONTROL.test(text) && !text.startsWith('"')) return text;
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, _escaped);
}

/** Control characters but line feed and tab. */
const DRIVING = /(?![\n\t])\p{Cc}/gu;
/** Control characters, all of them. */
const ALL = /\p{Cc}/gu;

/**
 * `text` with its control characters escaped as in JSON (`\u001b`, `\n`): for warnings, errors
 * and the live line, which may quote a file name or a store's answer, each one line whatever
 * they quote (a name's line feed would fake a line of its own). Without `oneLine`, line feeds
 * and tabs are kept: a message made of lines (a config's issues, a line each). No escape sequence
 * in a name reaches the terminal.
 * @example withoutControls('cannot read /srv/\u001b[2Jx') // 'cannot read /srv/\\u001b[2Jx'
 */
export function withoutControls(text: string, options: { oneLine?: boolean } = {}): string {
  return text.replace(options.oneLine ? ALL : DRIVING, _escaped);
}

/** A control character as JSON writes it: `\n`, `\t`, else `\u` and four hex digits. */
function _escaped(c: string): string {
  const code = c.charCodeAt(0);
  return code === 10 ? '\\n' : code === 9 ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`;
}
