import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partDestination, partFile } from './parts.js';

test('part 1 keeps the requested name; later parts are numbered before the extension', () => {
  assert.equal(partDestination('/out/room-1.mp4', 1), '/out/room-1.mp4');
  assert.equal(partDestination('/out/room-1.mp4', 2), '/out/room-1-part2.mp4');
  assert.equal(partDestination('/out/a.b/rec', 3), '/out/a.b/rec-part3');
  assert.throws(() => partDestination('/out/x.mp4', 0), /part number must be an integer >= 1 \(got 0\)/);
});

test("a part's name and upload key are numbered like its path, and a track egress's video variant's too", () => {
  const storage = { prefix: '', generate_presigned_url: false };
  const file = {
    fileType: 'ogg' as const,
    filename: 't/a.ogg',
    destination: '/out/t/a.ogg',
    manifest: true,
    upload: { storage, key: 't/a.ogg' },
    ifVideo: {
      fileType: 'mp4' as const,
      filename: 't/a.mp4',
      destination: '/out/t/a.mp4',
      upload: { storage, key: 't/a.mp4' },
    },
  };
  assert.deepEqual(partFile(file, 1), file);
  const p2 = partFile(file, 2);
  assert.deepEqual(
    [p2.filename, p2.destination, p2.upload?.key],
    ['t/a-part2.ogg', '/out/t/a-part2.ogg', 't/a-part2.ogg'],
  );
  assert.deepEqual(
    [p2.ifVideo?.filename, p2.ifVideo?.destination, p2.ifVideo?.upload?.key],
    ['t/a-part2.mp4', '/out/t/a-part2.mp4', 't/a-part2.mp4'],
  );
});
