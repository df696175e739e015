/**
 * `BENCH_ONLY=sdk scripts/bench`: SDK egresses (participant, track composite, track audio, track video) through
 * the real livekit-server and this service, each recording a synthetic publisher (flashes and beeps) in its own
 * room. Per request type: request -> ACTIVE, the recorder tree's CPU per recorded second, the achieved frame rate
 * (distinct frames) and the A/V offsets of the flashes and beeps. Not a test: numbers for people, taken on a
 * shared machine.
 */
import { randomBytes } from 'node:crypto';
import {
  DirectFileOutput,
  EgressClient,
  EgressInfo,
  EgressStatus,
  EncodedFileOutput,
  RoomServiceClient,
  TrackType,
} from 'livekit-server-sdk';
import { measureAvSync } from '../e2e/fixtures/av-sync.js';
import { disposeRtc, startPublisher, type Publisher } from '../e2e/fixtures/publisher.js';
import { egressClient, recorderPid, stackEnv, startService, waitForStatus } from '../e2e/fixtures/stack.js';
import { groupCpuSec, median } from './proc-stats.js';

const N = Number(process.env.BENCH_N ?? 3);
const RECORD_SEC = Number(process.env.BENCH_RECORD_SEC ?? 10);
/** CPU is measured in steady state, after the first seconds of a recording. */
const WARMUP_SEC = 2;
const WINDOW_SEC = RECORD_SEC - WARMUP_SEC;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = 'participant' | 'track_composite' | 'track_audio' | 'track_video';
const KINDS: Kind[] = ['participant', 'track_composite', 'track_audio', 'track_video'];

interface Run {
  startToActiveSec: number;
  cpuPerRecordedSec: number;
  fps?: number;
  avMedianMs?: number;
  avWorstMs?: number;
}

/** Track frames shown per second of output, from the recorder's pacing line ("paced N frames (M distinct)"). */
function shownFps(logs: string[], egressId: string): number | undefined {
  const line = logs.find((l) => l.includes(egressId) && l.includes('paced '));
  const m = line && /paced (\d+) frames \((\d+) distinct\)/.exec(line);
  if (!m) return undefined;
  // Output frames are written at the default 30 fps, so written / 30 is the output's length in seconds.
  return Number(m[1]) ? (Number(m[2]) * 30) / Number(m[1]) : undefined;
}

function start(client: EgressClient, kind: Kind, room: string, audio: string, video: string, i: number) {
  const file = (name: string) => new EncodedFileOutput({ filepath: `bench-sdk/${name}-${i}.mp4` });
  switch (kind) {
    case 'participant':
      return client.startParticipantEgress(room, 'bench', { file: file(kind) });
    case 'track_composite':
      return client.startTrackCompositeEgress(room, { file: file(kind) }, { audioTrackId: audio, videoTrackId: video });
    case 'track_audio':
      return client.startTrackEgress(room, new DirectFileOutput({ filepath: `bench-sdk/${kind}-${i}` }), audio);
    case 'track_video':
      return client.startTrackEgress(room, new DirectFileOutput({ filepath: `bench-sdk/${kind}-${i}` }), video);
  }
}

async function main(): Promise<void> {
  const env = stackEnv();
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const svc = await startService();
  const client = egressClient();
  const results: Record<string, Run[]> = {};
  try {
    for (const kind of KINDS) {
      results[kind] = [];
      for (let i = 0; i < N; i++) {
        const room = `bench-${randomBytes(4).toString('hex')}`;
        let publisher: Publisher | undefined;
        try {
          publisher = await startPublisher({ ...env, room, identity: 'bench', maxDurationMs: 120_000 });
          let tracks: { audio?: string; video?: string } = {};
          for (let k = 0; k < 100 && !(tracks.audio && tracks.video); k++) {
            const [p] = await rooms.listParticipants(room);
            tracks = {
              audio: p?.tracks.find((t) => t.type === TrackType.AUDIO)?.sid,
              video: p?.tracks.find((t) => t.type === TrackType.VIDEO)?.sid,
            };
            if (!(tracks.audio && tracks.video)) await sleep(100);
          }
          const t0 = Date.now();
          const info: EgressInfo = await start(client, kind, room, tracks.audio ?? '', tracks.video ?? '', i);
          await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE], 60_000);
          const tActive = Date.now();
          const pid = await recorderPid(svc, info.egressId);
          await sleep(WARMUP_SEC * 1000 - (Date.now() - tActive));
          const c0 = groupCpuSec(pid);
          await sleep(WINDOW_SEC * 1000);
          const c1 = groupCpuSec(pid);
          await client.stopEgress(info.egressId);
          const done = await waitForStatus(client, info.egressId, [
            EgressStatus.EGRESS_COMPLETE,
            EgressStatus.EGRESS_FAILED,
          ]);
          const file = done.fileResults[0]?.location;
          if (done.status !== EgressStatus.EGRESS_COMPLETE || !file) throw new Error(`${kind}: ${done.error}`);
          const run: Run = { startToActiveSec: (tActive - t0) / 1000, cpuPerRecordedSec: (c1 - c0) / WINDOW_SEC };
          // The publisher's picture is two solid colours, so distinct-frame counting (mpdecimate) sees ~2 fps: the
          // recorder's own count of track frames that made it into the output is the achieved rate.
          if (kind !== 'track_audio') run.fps = shownFps(svc.logs, info.egressId);
          if (kind === 'participant' || kind === 'track_composite') {
            const sync = await measureAvSync(file);
            run.avMedianMs = sync.medianMs;
            run.avWorstMs = sync.worstMs;
          }
          results[kind].push(run);
          process.stderr.write(`${kind} ${i + 1}/${N}: ${JSON.stringify(run)}\n`);
        } finally {
          await publisher?.stop();
          await rooms.deleteRoom(room).catch(() => {});
        }
        await sleep(1000);
      }
    }
  } finally {
    await svc.stop('SIGTERM');
    await disposeRtc();
  }
  const stat = (runs: Run[], k: keyof Run) => {
    const xs = runs.map((r) => r[k]).filter((x): x is number => x !== undefined);
    if (!xs.length) return undefined;
    // The A/V worst is the offset furthest from zero, with its sign.
    const worst = xs.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), furthest: worst };
  };
  const summary = Object.fromEntries(
    Object.entries(results).map(([kind, runs]) => [
      kind,
      {
        startToActiveSec: stat(runs, 'startToActiveSec'),
        cpuPerRecordedSec: stat(runs, 'cpuPerRecordedSec'),
        fps: stat(runs, 'fps'),
        avMedianMs: stat(runs, 'avMedianMs'),
        avWorstMs: stat(runs, 'avWorstMs'),
      },
    ]),
  );
  const f = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
  process.stdout.write(
    `\nSDK egress, ${N} runs of ${RECORD_SEC} s each (CPU over the last ${WINDOW_SEC} s; 640x360 publisher, 1280x720 output except track video)\n`,
  );
  process.stdout.write(
    `${'type'.padEnd(16)} ${'->ACTIVE med/max s'.padEnd(19)} ${'CPU core-s/s'.padEnd(13)} ${'fps med/min'.padEnd(12)} A/V median (of runs) / worst ms\n`,
  );
  for (const [kind, s] of Object.entries(summary)) {
    process.stdout.write(
      `${kind.padEnd(16)} ${`${f(s.startToActiveSec?.median)} / ${f(s.startToActiveSec?.max)}`.padEnd(19)} ` +
        `${f(s.cpuPerRecordedSec?.median, 3).padEnd(13)} ${`${f(s.fps?.median, 1)} / ${f(s.fps?.min, 1)}`.padEnd(12)} ` +
        `${f(s.avMedianMs?.median, 0)} / ${f(s.avWorstMs?.furthest, 0)}\n`,
    );
  }
  process.stdout.write(`\n${JSON.stringify({ n: N, recordSec: RECORD_SEC, results, summary }, null, 2)}\n`);
}

await main();
