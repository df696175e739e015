import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partDestination } from './parts.js';

test('part 1 keeps the requested name; later parts are numbered before the extension', () => {
  assert.equal(partDestination('/out/room-1.mp4', 1), '/out/room-1.mp4');
  assert.equal(partDestination('/out/room-1.mp4', 2), '/out/room-1-part2.mp4');
  assert.equal(partDestination('/out/a.b/rec', 3), '/out/a.b/rec-part3');
  assert.throws(() => partDestination('/out/x.mp4', 0), /part number must be an integer >= 1 \(got 0\)/);
});
