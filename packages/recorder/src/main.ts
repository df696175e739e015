/**
 * Recorder child entry: forked by the supervisor, one per egress. It knows nothing of psrpc or Redis:
 * it takes one validated plan over IPC, records, and reports typed events back.
 */
import { errors, parseParentCommand, type ChildEvent, type EndInfo, type RecordingPlan } from '@egress/shared';
import { RecorderMetrics } from './metrics/recorder-metrics.js';
import { capturePath } from './outputs/file-delivery.js';
import type { SdkRecording } from './sdk-recording.js';
import { WebRecording } from './web-recording.js';

function send(ev: ChildEvent): void {
  if (process.connected) process.send?.(ev);
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

let recording: WebRecording | SdkRecording | undefined;
let metrics: RecorderMetrics | undefined;
let stopReason: string | undefined;

async function run(plan: RecordingPlan): Promise<void> {
  // Room tracks are joined with the SDK, loaded only then (its native library is 25 MB); web pages (and
  // templates) are rendered in Chromium.
  const rec =
    plan.source.kind === 'sdk'
      ? new (await import('./sdk-recording.js')).SdkRecording(plan, { log })
      : new WebRecording(plan, { log });
  recording = rec;
  const m = new RecorderMetrics(plan.egressId);
  metrics = m;
  rec.on('stage', (name, ms) => m.stage(name, ms));
  // A track egress picks its container once it sees the track, before it is active.
  let fileType = plan.outputs.file?.fileType;
  rec.on('trackFile', (file, track) => {
    fileType = file.fileType;
    send({
      type: 'track_file',
      fileType: file.fileType,
      filename: file.filename,
      destination: file.destination,
      ...(file.upload ? { key: file.upload.key } : {}),
      track,
    });
  });
  rec.on('active', (startedAt: number) => {
    m.active(startedAt, capturePath(plan.tmpDir, fileType));
    send({ type: 'active', startedAt });
  });
  rec.on('ending', (reason: string) => send({ type: 'ending', reason }));
  rec.on('progress', () => send({ type: 'progress', ...rec.results() }));
  rec.on('segment', (entry) => send({ type: 'segment', entry }));
  rec.on('image', (output, entry) => send({ type: 'image', output, entry }));
  let end: EndInfo;
  try {
    if (stopReason) rec.stop(stopReason);
    end = await rec.run();
  } catch (err) {
    const e = errors.from(err);
    end = { state: 'failed', details: 'End reason: Failure', error: e.toJSON(), files: [], endedAt: Date.now() };
  }
  send({ type: 'ended', info: end });
  // Let the IPC message flush before the process goes.
  process.disconnect?.();
  setTimeout(() => process.exit(end.state === 'failed' ? 1 : 0), 200).unref();
}

function requestStop(reason: string): void {
  stopReason ??= reason;
  recording?.stop(reason);
}

process.on('message', (raw: unknown) => {
  let cmd;
  try {
    cmd = parseParentCommand(raw);
  } catch (err) {
    log(`ignoring bad command: ${(err as Error).message}`);
    return;
  }
  switch (cmd.type) {
    case 'ping':
      send({ type: 'pong' });
      break;
    case 'stop':
      requestStop(cmd.reason);
      break;
    case 'start':
      if (recording) log('ignoring a second start');
      else void run(cmd.plan);
      break;
    case 'update_stream': {
      const { requestId, add, remove } = cmd;
      const rec = recording;
      const done = rec
        ? rec.updateStream(add, remove)
        : Promise.reject(errors.failedPrecondition('egress is not recording'));
      void done.then(
        (streams) => send({ type: 'update_stream_result', requestId, streams }),
        (err: unknown) =>
          send({
            type: 'update_stream_result',
            requestId,
            error: errors.from(err).toJSON(),
            streams: rec?.results().streams ?? [],
          }),
      );
      break;
    }
    case 'metrics':
      // A spare has recorded nothing yet: an empty exposition.
      void (metrics?.text() ?? Promise.resolve('')).then((text) => send({ type: 'metrics', text }));
      break;
  }
});

// SIGINT from the supervisor (or a terminal) ends with EOS like a StopEgress.
process.on('SIGINT', () => requestStop('Process killed'));
process.on('SIGTERM', () => requestStop('Process killed'));
// The supervisor gone means nobody will stop us or read our report: finalize and go.
process.on('disconnect', () => requestStop('Supervisor disconnected'));

send({ type: 'ready', pid: process.pid });
