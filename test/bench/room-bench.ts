/**
 * `scripts/bench` part four: room composite egress. A synthetic participant flashes and beeps in a room on
 * the real livekit-server (a bar also moves every frame, so the distinct frame rate shows what was captured);
 * each room composite request (grid and speaker, BENCH_ROOM_N times each, then audio only and video only
 * once) records BENCH_RECORD_SEC seconds. Per request: request -> ACTIVE, the recorder tree's CPU per
 * recorded second (after a warm-up), the distinct frame rate, and the A/V offset median and worst. Not a
 * test: the numbers are for people, taken on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import { EgressStatus, EncodedFileOutput, RoomServiceClient } from 'livekit-server-sdk';
import { measureAvSync } from '../e2e/fixtures/av-sync.js';
import { distinctFps, probe } from '../e2e/fixtures/media.js';
import { disposeRtc, startPublisher } from '../e2e/fixtures/publisher.js';
import { egressClient, recorderPid, stackEnv, startService, waitForStatus } from '../e2e/fixtures/stack.js';
import { groupCpuSec, median } from './proc-stats.js';

const N = Number(process.env.BENCH_ROOM_N ?? 3);
const RECORD_SEC = Number(process.env.BENCH_RECORD_SEC ?? 10);
const WARMUP_SEC = 2;
const WINDOW_SEC = RECORD_SEC - WARMUP_SEC;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  name: string;
  layout: string;
  audioOnly?: boolean;
  videoOnly?: boolean;
}

interface RoomRun {
  request: string;
  startToActiveSec: number;
  cpuPerSec: number;
  /** Frames that differ from the one before, per second (0 for audio only). */
  distinctFps: number;
  durationSec: number;
  /** A/V offsets of the flash/beep pairs (NaN without both streams); positive = audio late. */
  avMedianMs: number;
  avWorstMs: number;
  avPairs: number;
}

async function main(): Promise<void> {
  const env = stackEnv();
  const room = `bench-${randomBytes(4).toString('hex')}`;
  const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
  const svc = await startService();
  const client = egressClient();
  const publisher = await startPublisher({
    ...env,
    room,
    identity: 'flasher',
    maxDurationMs: 3_600_000,
    motion: true,
  });
  const cases: Case[] = [
    ...Array.from({ length: N }, () => [
      { name: 'grid', layout: 'grid' },
      { name: 'speaker', layout: 'speaker' },
    ]).flat(),
    { name: 'grid audio only (OGG)', layout: 'grid', audioOnly: true },
    { name: 'speaker video only', layout: 'speaker', videoOnly: true },
  ];
  const runs: RoomRun[] = [];
  try {
    for (const [i, c] of cases.entries()) {
      const t0 = Date.now();
      const info = await client.startRoomCompositeEgress(
        room,
        // The default file type: MP4, or OGG for audio only.
        new EncodedFileOutput({ filepath: `bench-rooms/${i}` }),
        { layout: c.layout, audioOnly: !!c.audioOnly, videoOnly: !!c.videoOnly },
      );
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE], 60_000);
      const tActive = Date.now();
      const pid = await recorderPid(svc, info.egressId);
      await sleep(WARMUP_SEC * 1000 - (Date.now() - tActive));
      const c0 = groupCpuSec(pid);
      await sleep(WINDOW_SEC * 1000);
      const cpuPerSec = (groupCpuSec(pid) - c0) / WINDOW_SEC;
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, [
        EgressStatus.EGRESS_COMPLETE,
        EgressStatus.EGRESS_FAILED,
      ]);
      const file = done.fileResults[0]?.location;
      if (done.status !== EgressStatus.EGRESS_COMPLETE || !file) throw new Error(`${c.name}: ${done.error}`);
      const p = await probe(file);
      const sync = p.video && p.audio ? await measureAvSync(file) : undefined;
      runs.push({
        request: c.name,
        startToActiveSec: (tActive - t0) / 1000,
        cpuPerSec,
        distinctFps: p.video ? await distinctFps(file) : 0,
        durationSec: p.durationSec,
        avMedianMs: sync?.medianMs ?? NaN,
        avWorstMs: sync?.worstMs ?? NaN,
        avPairs: sync?.offsetsMs.length ?? 0,
      });
      process.stderr.write(`${i + 1}/${cases.length}: ${JSON.stringify(runs.at(-1))}\n`);
      await sleep(2000);
    }
  } finally {
    await publisher.stop();
    await disposeRtc();
    await rooms.deleteRoom(room).catch(() => {});
    await svc.stop('SIGTERM');
  }
  const fmt = (x: number, digits: number) => (Number.isNaN(x) ? '-' : x.toFixed(digits));
  process.stdout.write(
    `\nroom composite, one flash/beep publisher, ${RECORD_SEC} s each (CPU over the last ${WINDOW_SEC} s); ` +
      'the machine is shared, so load from other work is in these numbers\n',
  );
  process.stdout.write(
    `${'request'.padEnd(24)}${'->ACTIVE s'.padEnd(12)}${'core-s/s'.padEnd(10)}${'distinct fps'.padEnd(14)}` +
      `A/V median / worst ms (pairs)\n`,
  );
  for (const r of runs) {
    process.stdout.write(
      `${r.request.padEnd(24)}${fmt(r.startToActiveSec, 2).padEnd(12)}${fmt(r.cpuPerSec, 3).padEnd(10)}` +
        `${fmt(r.distinctFps, 2).padEnd(14)}${fmt(r.avMedianMs, 0)} / ${fmt(r.avWorstMs, 0)} (${r.avPairs})\n`,
    );
  }
  const av = runs.filter((r) => r.avPairs > 0);
  process.stdout.write(
    `medians over the A/V runs: ->ACTIVE ${fmt(median(av.map((r) => r.startToActiveSec)), 2)} s, ` +
      `${fmt(median(av.map((r) => r.cpuPerSec)), 3)} core-s/s, ${fmt(median(av.map((r) => r.distinctFps)), 2)} fps, ` +
      `A/V median ${fmt(median(av.map((r) => r.avMedianMs)), 0)} ms, ` +
      `worst of all ${fmt(
        av.reduce((w, r) => (Math.abs(r.avWorstMs) > Math.abs(w) ? r.avWorstMs : w), 0),
        0,
      )} ms\n`,
  );
  process.stdout.write(`\n${JSON.stringify(runs, null, 2)}\n`);
}

await main();
