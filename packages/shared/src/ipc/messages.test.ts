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

test('a track_file event carries a known container, a name, an absolute path, an optional key and the track', () => {
  const video = { kind: 'video', identity: 'alice', source: 'camera' };
  // Well-formed events come back as they were sent.
  for (const ev of [
    {
      type: 'track_file',
      fileType: 'webm',
      filename: 'a.webm',
      destination: '/out/a.webm',
      key: 'a.webm',
      track: video,
    },
    { type: 'track_file', fileType: 'ogg', filename: 't/a.ogg', destination: '/out/t/a.ogg', track: { kind: 'audio' } },
  ]) {
    assert.deepEqual(parseChildEvent(ev), ev);
  }
  const ok = { type: 'track_file', fileType: 'mp4', filename: 'a.mp4', destination: '/a.mp4', track: video };
  refuses(() => parseChildEvent({ ...ok, fileType: 'avi' }), 'track_file.fileType: "avi"');
  refuses(() => parseChildEvent({ ...ok, destination: 'a.mp4' }), 'track_file.destination');
  refuses(() => parseChildEvent({ ...ok, key: 7 }), 'track_file.key');
  refuses(() => parseChildEvent({ ...ok, filename: '' }), 'track_file.filename: ""');
  refuses(() => parseChildEvent({ ...ok, track: undefined }), 'track_file.track.kind: undefined');
  refuses(() => parseChildEvent({ ...ok, track: { kind: 'data' } }), 'track_file.track.kind: "data"');
  refuses(() => parseChildEvent({ ...ok, track: { kind: 'video', identity: 3 } }), 'track_file.track.identity');
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
