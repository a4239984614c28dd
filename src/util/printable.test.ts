import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable, withoutControls } from './printable.ts';

describe('printable', () => {
  it('leaves a name without control characters as it is, quotes and backslashes included', () => {
    for (const name of ['/srv/models/llm.bin', '/srv/é ü/"x"\\y', '/srv/\u2028']) {
      assert.equal(printable(name), name);
    }
  });

  it('quotes a name holding a control character as a JSON string, on one line', () => {
    assert.equal(printable('/srv/a\nb'), '"/srv/a\\nb"');
    assert.equal(printable('/srv/\u001b[31mred'), '"/srv/\\u001b[31mred"');
    assert.equal(printable('/srv/tab\there'), '"/srv/tab\\there"');
  });

  it('quotes a name that starts with a quote, so only a quoted name does', () => {
    assert.equal(printable('"a\\nb"'), '"\\"a\\\\nb\\""');
    assert.equal(JSON.parse(printable('"a\\nb"')), '"a\\nb"');
  });

  it('escapes DEL and C1 characters, which JSON leaves as they are', () => {
    assert.equal(printable('/srv/\u007f\u009b'), '"/srv/\\u007f\\u009b"');
    assert.equal(JSON.parse(printable('/srv/a\n\u0085b')), '/srv/a\n\u0085b');
  });
});

describe('withoutControls', () => {
  it('escapes every control character of a message of lines but its line breaks and tabs', () => {
    assert.equal(
      withoutControls('cannot read /srv/\u001b[2J\u0007x\u009b: EIO\n\tsecond line'),
      'cannot read /srv/\\u001b[2J\\u0007x\\u009b: EIO\n\tsecond line',
    );
    assert.equal(withoutControls('/srv/é ü "x"'), '/srv/é ü "x"');
  });

  it('escapes line breaks and tabs too in a message of one line', () => {
    assert.equal(withoutControls('/srv/a\nb\tc\rd', { oneLine: true }), '/srv/a\\nb\\tc\\u000dd');
  });
});
