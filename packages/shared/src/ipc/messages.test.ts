import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EgressError } from '../errors.js';
import { parseChildEvent, parseParentCommand } from './messages.js';

/** Asserts a malformed message is refused with an error naming `text`. */
function refuses(fn: () => unknown, text: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EgressError, String(err));
    assert.match(err.message, new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

test('a track_file event carries a known container, an absolute path and an optional key', () => {
  assert.deepEqual(
    parseChildEvent({ type: 'track_file', fileType: 'webm', destination: '/out/a.webm', key: 'a.webm' }),
    {
      type: 'track_file',
      fileType: 'webm',
      destination: '/out/a.webm',
      key: 'a.webm',
    },
  );
  assert.deepEqual(parseChildEvent({ type: 'track_file', fileType: 'ogg', destination: '/out/a.ogg' }), {
    type: 'track_file',
    fileType: 'ogg',
    destination: '/out/a.ogg',
  });
  refuses(
    () => parseChildEvent({ type: 'track_file', fileType: 'avi', destination: '/a' }),
    'track_file.fileType: "avi"',
  );
  refuses(
    () => parseChildEvent({ type: 'track_file', fileType: 'mp4', destination: 'a.mp4' }),
    'track_file.destination',
  );
  refuses(() => parseChildEvent({ type: 'track_file', fileType: 'mp4', destination: '/a', key: 7 }), 'track_file.key');
});

test('child events and parent commands of the wrong shape are refused, naming the field', () => {
  refuses(() => parseChildEvent(null), 'child message: missing type');
  refuses(() => parseChildEvent({ type: 'hello' }), 'unknown type "hello"');
  refuses(() => parseChildEvent({ type: 'active', startedAt: '1' }), 'active.startedAt');
  refuses(() => parseChildEvent({ type: 'segment', entry: { filename: 'a.ts' } }), 'segment.entry');
  refuses(
    () => parseParentCommand({ type: 'update_stream', requestId: 'r', add: [1], remove: [] }),
    'update_stream.add',
  );
  refuses(() => parseParentCommand({ type: 'start', plan: {} }), 'start.plan: missing egressId');
  assert.deepEqual(parseParentCommand({ type: 'stop', reason: 'StopEgress API' }), {
    type: 'stop',
    reason: 'StopEgress API',
  });
});
