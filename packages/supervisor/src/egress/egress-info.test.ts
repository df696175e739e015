import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressInfo } from '@livekit/protocol';
import { MAX_ERROR_TEXT_BYTES } from '@egress/shared';
import { endedInfo, streamInfo } from './egress-info.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

test('a page error of megabytes reaches livekit-server as at most 4 KiB, details too', () => {
  const pageError = `Could not connect: ${'<div class="error">'.repeat(3 * 1024 * 1024)}`;
  const info = endedInfo(new EgressInfo({ egressId: 'EG_big' }), {
    state: 'failed',
    details: `End reason: Failure; ${'d'.repeat(100_000)}`,
    error: { code: 'internal', message: pageError },
    files: [],
    endedAt: Date.now(),
  });
  assert.ok(bytes(info.error) <= MAX_ERROR_TEXT_BYTES, `error: ${bytes(info.error)} bytes`);
  assert.ok(info.error.startsWith('Could not connect: <div'));
  assert.match(info.error, /… \[cut: \d+ bytes\]$/);
  assert.ok(bytes(info.details) <= MAX_ERROR_TEXT_BYTES, `details: ${bytes(info.details)} bytes`);
  assert.ok(info.toBinary().length < 3 * MAX_ERROR_TEXT_BYTES, 'the whole update stays small');
});

test("a stream's error is capped the same way", () => {
  const s = streamInfo({ url: 'rtmp://h/app/{ke...ey}', status: 'failed', error: 'e'.repeat(1e6), retries: 0 });
  assert.ok(bytes(s.error) <= MAX_ERROR_TEXT_BYTES);
});
