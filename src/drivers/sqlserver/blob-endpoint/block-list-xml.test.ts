import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseBlockList } from './block-list-xml.ts';

void it('parses a block list in document order, sources and escapes included', () => {
  const xml =
    '<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AAA=</Latest>' +
    '<Committed>a&amp;b</Committed>\n  <Uncommitted>Q0M=</Uncommitted></BlockList>';
  assert.deepEqual(parseBlockList(xml), [
    { id: 'AAA=', source: 'Latest' },
    { id: 'a&b', source: 'Committed' },
    { id: 'Q0M=', source: 'Uncommitted' },
  ]);
  assert.throws(() => parseBlockList('<BlockList><Latest>x</Latest>'), /no <BlockList>/);
  assert.throws(() => parseBlockList('<BlockList>junk</BlockList>'), /unexpected content/);
});

// A body of many openers and no closing tag took quadratic time in a regular expression: about
// 5 s for 322 KiB, and hours for this one, while the endpoint served no other request. The
// timeout only catches such a hang; the parse itself takes milliseconds.
void it(
  'refuses a block list of many openers and no end without hanging',
  { timeout: 120_000 },
  () => {
    const xml = '<BlockList>'.repeat(1_000_000);
    assert.throws(() => parseBlockList(xml), /no <BlockList>|unexpected content/);
  },
);
