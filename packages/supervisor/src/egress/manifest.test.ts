import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EgressInfo, FileInfo } from '@livekit/protocol';
import { writeManifest } from './manifest.js';

test('the manifest lists the files with exact nanosecond times', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
  try {
    const info = new EgressInfo({
      egressId: 'EG_m1',
      roomName: 'r',
      startedAt: 1795660000123456789n,
      endedAt: 1795660010987654321n,
      fileResults: [
        new FileInfo({ filename: 'a.mp4', location: '/out/a.mp4' }),
        new FileInfo({ filename: 'a-part2.mp4', location: '/out/a-part2.mp4' }),
      ],
    });
    const location = await writeManifest(dir, info, 'http://127.0.0.1:1/page', {
      playlists: [{ location: '/out/p.m3u8', segments: [{ filename: 'p_00000.ts', location: '/out/p_00000.ts' }] }],
      images: [{ filename: 'i_00000.jpeg', timestamp: 1795660000123, location: '/out/i_00000.jpeg' }],
    });
    assert.equal(location, path.join(dir, 'EG_m1.json'));
    const text = readFileSync(location, 'utf8');
    assert.match(text, /"started_at": 1795660000123456789,/, 'ns times are exact integers');
    assert.deepEqual(JSON.parse(text.replace(/(\d{16,})/g, '"$1"')), {
      egress_id: 'EG_m1',
      room_id: '',
      room_name: 'r',
      url: 'http://127.0.0.1:1/page',
      started_at: '1795660000123456789',
      ended_at: '1795660010987654321',
      files: [
        { filename: 'a.mp4', location: '/out/a.mp4' },
        { filename: 'a-part2.mp4', location: '/out/a-part2.mp4' },
      ],
      playlists: [{ location: '/out/p.m3u8', segments: [{ filename: 'p_00000.ts', location: '/out/p_00000.ts' }] }],
      images: [{ filename: 'i_00000.jpeg', timestamp: '1795660000123000000', location: '/out/i_00000.jpeg' }],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
