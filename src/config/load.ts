/**
 * Reads and validates `hbr.yaml`.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { configErrorMap, formatIssue, locateIssues, type ConfigIssue } from './issues.ts';
import { formatPath, locate, type Position } from './locate.ts';
import { resolveConfigPaths } from './paths.ts';
import { configSchema, type HbrConfig } from './schema.ts';
import { findInlineSecrets } from './secrets.ts';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Folder a relative `file` is relative to. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Reads, parses and validates a config file and resolves the relative paths in it against the
 * file's folder.
 *
 * @throws {ConfigError} when the file cannot be read, is not valid YAML, or does not match the
 * schema. The message has one line per problem, `file:line:col: key.path: what is wrong`
 * (sorted by position); `error.line` and `error.key` describe the first.
 * @example
 * const config = await loadConfig('hbr.yaml', { cwd: ctx.cwd });
 * for (const source of config.sources ?? []) console.log(source.name, source.kind);
 */
export async function loadConfig(
  file: string,
  options: LoadConfigOptions = {},
): Promise<HbrConfig> {
  const absolute = path.resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the config file: ${reason(error)}`, {
      file,
      cause: error,
    });
  }
  return parseConfig(text, { file, baseDir: path.dirname(absolute) });
}

/**
 * Where `keyPath` sits in the config file `file`, for a problem found after loading (an
 * unreadable `credentialFile`), so its message names the line as a validation error's does.
 * Undefined when the file no longer reads.
 */
export async function locateInConfigFile(
  file: string,
  keyPath: readonly PropertyKey[],
): Promise<Position | undefined> {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter });
    return locate(doc, lineCounter, keyPath);
  } catch {
    return undefined;
  }
}

/**
 * Parses and validates config text already in memory (for tests, the HTTP API and `hbr config
 * check -`). `file` is only used in messages; relative paths resolve against `baseDir`.
 *
 * @throws {ConfigError} as {@link loadConfig} does.
 */
export function parseConfig(text: string, options: { file: string; baseDir: string }): HbrConfig {
  const { file, baseDir } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((error) => {
      const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
      // yaml appends " at line L, column C:" and a source excerpt; the prefix already says where.
      const message = (error.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      return `${file}:${pos.line}:${pos.col}: invalid YAML: ${message}`;
    });
    const first = doc.errors[0]?.linePos?.[0];
    throw new ConfigError(lines.join('\n'), { file, ...(first && { line: first.line }) });
  }
  if (doc.contents === null) {
    throw new ConfigError(
      `${file}: the config file is empty (expected at least "repository:" or "sources:")`,
      { file },
    );
  }

  const secrets = findInlineSecrets(doc, lineCounter);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(`${file}: ${reason(error)}`, { file, cause: error });
  }
  const result = configSchema.safeParse(data, { error: configErrorMap, reportInput: true });
  const issues: ConfigIssue[] = [...secrets];
  if (!result.success) {
    const secretPaths = new Set(secrets.map((s) => JSON.stringify(s.path)));
    for (const issue of locateIssues(result.error.issues, doc, lineCounter, configSchema)) {
      // A secret key is also an unknown key; one message about it is enough.
      if (!secretPaths.has(JSON.stringify(issue.path))) issues.push(issue);
    }
  }
  if (issues.length > 0 || !result.success) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    const first = issues[0];
    throw new ConfigError(issues.map((issue) => formatIssue(file, issue)).join('\n'), {
      file,
      ...(first && { line: first.line, key: formatPath(first.path) }),
    });
  }
  return resolveConfigPaths(result.data, baseDir);
}

// --- internal ---

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
