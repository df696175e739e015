/**
 * A stand-in recorder child for supervisor tests (bullmq-style fixture): it speaks the real IPC vocabulary
 * but records nothing, so each way a child can misbehave can be staged on demand. FAKE_RECORDER_MODE picks:
 * complete (default) | never-ready | crash-after-active | hang-after-active | garbage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildEvent, RecordingPlan } from '@egress/shared';

const mode = process.env.FAKE_RECORDER_MODE ?? 'complete';
const send = (ev: ChildEvent | Record<string, unknown>) => process.connected && process.send?.(ev);
let startedAt = 0;
let silent = false;

process.on('message', (raw: unknown) => {
  const cmd = raw as { type: string; reason?: string; plan?: RecordingPlan };
  if (cmd.type === 'ping' && !silent) send({ type: 'pong' });
  if (cmd.type === 'start' && cmd.plan) {
    startedAt = Date.now();
    // Owns a scratch dir like a real recorder, so the supervisor's cleanup of it can be checked.
    mkdirSync(cmd.plan.tmpDir, { recursive: true });
    writeFileSync(path.join(cmd.plan.tmpDir, 'partial.mp4'), '');
    setTimeout(() => {
      send({ type: 'active', startedAt });
      if (mode === 'crash-after-active') setTimeout(() => process.exit(3), 200);
      if (mode === 'hang-after-active') silent = true;
      if (mode === 'garbage') send({ type: 'active', startedAt: 'yesterday' });
    }, 50);
  }
  if (cmd.type === 'stop') {
    send({ type: 'ending', reason: cmd.reason ?? '' });
    setTimeout(() => {
      const endedAt = Date.now();
      send({
        type: 'ended',
        info: {
          state: 'complete',
          details: `End reason: ${cmd.reason}`,
          files: [
            {
              filename: 'f.mp4',
              location: '/nowhere/f.mp4',
              size: 10,
              durationMs: endedAt - startedAt,
              startedAt,
              endedAt,
            },
          ],
          startedAt,
          endedAt,
        },
      });
      process.disconnect?.();
    }, 50);
  }
});

process.on('disconnect', () => process.exit(0));
// Keeps the event loop alive in every mode; the supervisor decides when this process ends.
setInterval(() => undefined, 1000);
if (mode !== 'never-ready') send({ type: 'ready', pid: process.pid });
