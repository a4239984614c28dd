import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addToCodedSample,
  addToSample,
  emptyCodedSample,
  emptySample,
  sampleText,
  SAMPLE_SIZE,
} from './sample.ts';

describe('sample', () => {
  it('counts every item and keeps the first few, named with an ellipsis for the rest', () => {
    const sample = emptySample();
    for (let i = 1; i <= SAMPLE_SIZE + 2; i++) addToSample(sample, `f${i}`);
    assert.equal(sample.count, SAMPLE_SIZE + 2);
    assert.deepEqual(sample.first, ['f1', 'f2', 'f3', 'f4', 'f5']);
    assert.equal(sampleText(sample), 'f1, f2, f3, f4, f5, …');
    assert.equal(sampleText(sample, '; '), 'f1; f2; f3; f4; f5; …');
  });

  it('names all of them, without an ellipsis, when they are few', () => {
    const sample = emptySample();
    addToSample(sample, 'a');
    addToSample(sample, 'b');
    assert.equal(sampleText(sample), 'a, b');
    assert.equal(JSON.stringify(sample), '{"count":2,"first":["a","b"]}');
  });

  it('notes each reason of a coded sample once, in the order first seen', () => {
    const sample = emptyCodedSample();
    addToCodedSample(sample, 'a', 'EPERM');
    addToCodedSample(sample, 'b', 'EXDEV');
    addToCodedSample(sample, 'c', 'EPERM');
    assert.equal(
      JSON.stringify(sample),
      '{"count":3,"first":["a","b","c"],"codes":["EPERM","EXDEV"]}',
    );
  });
});
