/**
 * The XML of Azure's Put Block List and Get Block List calls, as SQL Server and the Azure SDK
 * send and read it. Block ids are opaque base64 strings.
 * @module
 */
import { UsageError } from '../../../errors.ts';

/** Where Put Block List says to take each block from. */
export type BlockSource = 'Latest' | 'Committed' | 'Uncommitted';

/**
 * Parses `<BlockList><Latest>id</Latest>…</BlockList>` in document order.
 * @throws UsageError on anything else.
 */
export function parseBlockList(xml: string): { id: string; source: BlockSource }[] {
  // Found with indexOf, not a regular expression: one with `[\s\S]*` takes quadratic time on
  // many openers and no closing tag, blocking the endpoint for every stripe.
  const start = xml.indexOf('<BlockList>');
  const end = xml.lastIndexOf('</BlockList>');
  if (start < 0 || end < start) throw new UsageError('block list: no <BlockList> element');
  const body = xml.slice(start + '<BlockList>'.length, end);
  const blocks: { id: string; source: BlockSource }[] = [];
  const element = /<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>|(\S)/g;
  for (const match of body.matchAll(element)) {
    if (match[3] !== undefined) throw new UsageError('block list: unexpected content');
    blocks.push({ id: _unescape(match[2] ?? ''), source: match[1] as BlockSource });
  }
  return blocks;
}

/** Serialises a Get Block List answer. */
export function blockListXml(
  committed: readonly { id: string; size: number }[],
  uncommitted: readonly { id: string; size: number }[],
): string {
  const list = (tag: string, blocks: readonly { id: string; size: number }[]): string =>
    `<${tag}>${blocks.map((b) => `<Block><Name>${_escape(b.id)}</Name><Size>${b.size}</Size></Block>`).join('')}</${tag}>`;
  return `<?xml version="1.0" encoding="utf-8"?><BlockList>${list('CommittedBlocks', committed)}${list('UncommittedBlocks', uncommitted)}</BlockList>`;
}

// --- internal ---

function _unescape(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function _escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
