/**
 * A stand-in recorder child for supervisor tests (bullmq-style fixture): it speaks the real IPC vocabulary
 * but records nothing, so each way a child can misbehave can be staged on demand. Each misbehaviour has its own
 * entry file beside this one; the `once` ones misbehave only for the first recorder of an egress (remembered in
 * FAKE_RECORDER_MARK_DIR) and record normally when restarted.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildEvent, RecordingPlan } from '@egress/shared';
import type { FakeRecorderMode } from './index.js';

/** Runs this process as a recorder child that behaves as `initial` says. */
export function runFakeRecorder(initial: FakeRecorderMode): void {
  let mode: FakeRecorderMode = initial;
  const send = (ev: ChildEvent | Record<string, unknown>) => process.connected && process.send?.(ev);
  let startedAt = 0;
  let plan: RecordingPlan | undefined;
  let silent = false;

  process.on('message', (raw: unknown) => {
    const cmd = raw as { type: string; reason?: string; plan?: RecordingPlan };
    if (cmd.type === 'ping' && !silent) send({ type: 'pong' });
    if (cmd.type === 'metrics' && !silent)
      send({ type: 'metrics', text: `fake_recorder_up{pid="${process.pid}"} 1\n` });
    if (cmd.type === 'start' && cmd.plan) {
      plan = cmd.plan;
      if (mode.includes('-once')) {
        const mark = path.join(process.env.FAKE_RECORDER_MARK_DIR ?? '', cmd.plan.egressId);
        if (existsSync(mark)) mode = 'complete';
        else writeFileSync(mark, '');
      }
      if (mode === 'crash-before-active') process.exit(3);
      startedAt = Date.now();
      // Owns a scratch dir like a real recorder, so the supervisor's cleanup of it can be checked.
      mkdirSync(cmd.plan.tmpDir, { recursive: true });
      writeFileSync(path.join(cmd.plan.tmpDir, 'partial.mp4'), '');
      setTimeout(() => {
        send({ type: 'active', startedAt });
        if (mode === 'crash-after-active' || mode === 'crash-once-after-active') setTimeout(() => process.exit(3), 200);
        if (mode === 'lose-process-once') setTimeout(() => endWith('failed', 'Chromium disconnected'), 200);
        if (mode === 'hang-after-active') silent = true;
        if (mode === 'garbage') send({ type: 'active', startedAt: 'yesterday' } as unknown as ChildEvent);
      }, 50);
    }
    if (cmd.type === 'stop') {
      send({ type: 'ending', reason: cmd.reason ?? '' });
      setTimeout(() => endWith('complete', `End reason: ${cmd.reason}`), 50);
    }
  });

  /** Reports the end with one file at the plan's destination (nothing is written there), then leaves. */
  function endWith(state: 'complete' | 'failed', details: string): void {
    const endedAt = Date.now();
    const location = plan?.outputs.file?.destination ?? '/nowhere/f.mp4';
    const filename = plan?.outputs.file?.filename ?? 'f.mp4';
    send({
      type: 'ended',
      info: {
        state,
        details,
        files: [{ filename, location, size: 10, durationMs: endedAt - startedAt, startedAt, endedAt }],
        startedAt,
        endedAt,
        ...(state === 'failed' ? { error: { code: 'internal', message: details }, restartable: true } : {}),
      },
    });
    process.disconnect?.();
  }

  process.on('disconnect', () => process.exit(0));
  // Keeps the event loop alive in every mode; the supervisor decides when this process ends.
  setInterval(() => undefined, 1000);
  if (mode !== 'never-ready') send({ type: 'ready', pid: process.pid });
}
