import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { TwirpError } from 'livekit-server-sdk';
import { bytes, describeError, duration, Progress, table } from './cli-format.js';

test('tables align every column but the last', () => {
  assert.equal(
    table(
      ['A', 'LONG'],
      [
        ['xyz', '1'],
        ['q', ''],
      ],
    ),
    'A    LONG\nxyz  1\nq\n',
  );
});

test('durations and sizes', () => {
  assert.deepEqual([0, 59.4, 65, 3599, 7380].map(duration), ['0s', '59s', '1m05s', '59m59s', '2h03m']);
  assert.deepEqual([512, 1536, 5 * 2 ** 30].map(bytes), ['512 B', '1.5 KB', '5.0 GB']);
});

test('errors in one line: Twirp code and status, unreachable servers by address', () => {
  assert.equal(
    describeError(new TwirpError('TwirpError', 'egress not found', 404, 'not_found')),
    'not_found: egress not found (HTTP 404)',
  );
  assert.equal(
    describeError(new TwirpError('error', 'invalid token: eyJhbGc.eyJ2aWRlbyI6.sig-_1, error: bad signature', 401)),
    'unauthenticated: invalid token: <token>, error: bad signature (HTTP 401)',
  );
  const refused = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
  assert.equal(
    describeError(refused, 'http://127.0.0.1:7880'),
    'cannot reach the LiveKit server at http://127.0.0.1:7880: ECONNREFUSED',
  );
  assert.equal(describeError(new Error('plain')), 'plain');
});

test('progress: one line per change when not on a terminal', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const p = new Progress(out as unknown as NodeJS.WriteStream);
  for (const s of ['EG_a STARTING', 'EG_a STARTING', 'EG_a ACTIVE']) p.update(s);
  p.done();
  assert.equal(text, 'EG_a STARTING\nEG_a ACTIVE\n');
});
