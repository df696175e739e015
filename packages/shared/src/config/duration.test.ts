import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from './duration.js';
import { closestKey, editDistance } from './suggest.js';

describe('parseGoDuration', () => {
  it('parses Go durations to milliseconds', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['1h', 3_600_000],
      ['90m', 5_400_000],
      ['1h30m', 5_400_000],
      ['45s', 45_000],
      ['500ms', 500],
      ['1.5h', 5_400_000],
      ['1m30.5s', 90_500],
      ['1.1s', 1_100],
      ['250us', 0.25],
      ['250µs', 0.25],
      ['1500000ns', 1.5],
      ['.5s', 500],
      ['2h45m10s', 9_910_000],
      ['-5s', -5_000],
      ['+5s', 5_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
  });

  it('rejects what Go rejects', () => {
    for (const text of ['', '15', '1x', 'h', '1h 30m', 's1', '1.5', 'one hour', '--1s', '1d']) {
      assert.equal(parseGoDuration(text), undefined, JSON.stringify(text));
    }
  });
});

describe('key suggestions', () => {
  it('measures edits with transpositions', () => {
    assert.equal(editDistance('adress', 'address'), 1);
    assert.equal(editDistance('reids', 'redis'), 1);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('suggests within distance 2 only', () => {
    assert.equal(closestKey('helth_prot', ['health_port', 'template_port']), 'health_port');
    assert.equal(closestKey('API_KEY', ['api_key', 'api_secret']), 'api_key');
    assert.equal(closestKey('completely_else', ['api_key']), undefined);
    assert.equal(closestKey('s4', ['s3']), 's3');
    assert.equal(closestKey('xy', ['s3']), undefined);
  });
});
