import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecorderMetrics } from './recorder-metrics.js';

test('stage times, capture bytes and active time, each labelled with the egress id', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recorder-metrics-'));
  try {
    const m = new RecorderMetrics('EG_metrics');
    const idle = await m.text();
    assert.match(idle, /^livekit_egress_recorder_active_seconds\{egress_id="EG_metrics"\} 0$/m);
    assert.match(idle, /^livekit_egress_recorder_capture_bytes\{egress_id="EG_metrics"\} 0$/m, 'no capture yet');

    m.stage('chromium', 450);
    const capture = path.join(dir, 'capture.mp4');
    writeFileSync(capture, Buffer.alloc(1234));
    m.active(Date.now() - 2000, capture);
    const live = await m.text();
    assert.match(
      live,
      /^livekit_egress_recorder_start_stage_seconds\{stage="chromium",egress_id="EG_metrics"\} 0.45$/m,
    );
    assert.match(live, /^livekit_egress_recorder_capture_bytes\{egress_id="EG_metrics"\} 1234$/m);
    const active = Number(/^livekit_egress_recorder_active_seconds\{[^}]*\} (\S+)$/m.exec(live)?.[1]);
    assert.ok(active >= 2 && active < 10, `active ${active} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
