import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import {
  EgressStatus,
  EncodedFileOutput,
  EncodingOptionsPreset,
  StartEgressRequest,
  TwirpError,
  WebSource,
} from 'livekit-server-sdk';
import { startTestPage } from '@egress/recorder/testing/test-page';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import { egressClient, REPO, waitForStatus } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';
import { sleep } from '@egress/shared/testing/wait';

const execFileAsync = promisify(execFile);

describe('web egress through a real livekit-server', () => {
  const client = egressClient();

  // Two 720p recordings must both be admitted on a 2-core machine: operators lower web_cpu_cost the same way
  // (and max_cpu_utilization 1.0 keeps the overload guard, tested on its own, out of this test).
  const suite = serviceSuite('cpu_cost: { web_cpu_cost: 0.5, max_cpu_utilization: 1.0 }');

  test('records a page to MP4: STARTING -> ACTIVE -> COMPLETE with FileInfo from the real file', async () => {
    const info = await client.startWebEgress(
      suite.page.urlFor(),
      new EncodedFileOutput({ filepath: 'web/{time}.mp4' }),
    );
    assert.equal(info.status, EgressStatus.EGRESS_STARTING);
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    const activeAt = Date.now();
    await sleep(5000);
    // The recorder's own metrics are merged into the scrape while it records.
    const live = await (await fetch(`http://127.0.0.1:${suite.svc.metricsPort}/metrics`)).text();
    const captured = new RegExp(
      `^livekit_egress_recorder_capture_bytes\\{[^}]*egress_id="${info.egressId}"[^}]*\\} (\\d+)$`,
      'm',
    );
    assert.ok(Number(captured.exec(live)?.[1]) > 0, 'capture bytes of the live recorder are scraped');
    assert.match(
      live,
      new RegExp(
        `^livekit_egress_recorder_start_stage_seconds\\{[^}]*stage="chromium"[^}]*egress_id="${info.egressId}"`,
        'm',
      ),
    );
    await sleep(activeAt + 10_500 - Date.now());
    const stopAt = Date.now();
    const stopped = await client.stopEgress(info.egressId);
    assert.ok(
      [EgressStatus.EGRESS_ENDING, EgressStatus.EGRESS_COMPLETE].includes(stopped.status),
      `stop answered ${EgressStatus[stopped.status]}`,
    );
    const done = await waitForStatus(client, info.egressId, [
      EgressStatus.EGRESS_COMPLETE,
      EgressStatus.EGRESS_FAILED,
      EgressStatus.EGRESS_ABORTED,
    ]);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    const [listed] = await client.listEgress({ egressId: info.egressId });
    assert.equal(listed?.status, EgressStatus.EGRESS_COMPLETE);

    assert.equal(done.fileResults.length, 1);
    const file = done.fileResults[0]!;
    assert.ok(file.location.startsWith(suite.svc.outDir), `${file.location} is under the output dir`);
    assert.match(path.basename(file.location), /^\d{4}-\d{2}-\d{2}T\d{6}\.mp4$/);
    assert.equal(
      file.filename,
      path.relative(suite.svc.outDir, file.location),
      'FileInfo.filename: the requested path',
    );
    const p = await probe(file.location);
    assert.equal(p.video?.codec_name, 'h264');
    assert.equal(p.video?.width, 1280);
    assert.equal(p.video?.height, 720);
    assert.equal(p.audio?.codec_name, 'aac');
    const wall = (stopAt - activeAt) / 1000;
    assert.ok(
      Math.abs(p.durationSec - wall) <= 1.5,
      `duration ${p.durationSec} s vs ${wall} s between ACTIVE and stop`,
    );
    assert.ok(p.fps >= 25, `average frame rate ${p.fps}`);
    // FileInfo is read from the file itself.
    assert.ok(Math.abs(Number(file.duration) / 1e9 - p.durationSec) < 0.2, 'FileInfo.duration matches ffprobe');
    assert.ok(file.size > 0n && file.startedAt > 0n && file.endedAt > file.startedAt);
    // Upstream's manifest next to the file, named in the report.
    assert.equal(done.manifestLocation, path.join(path.dirname(file.location), `${info.egressId}.json`));
    const manifest = JSON.parse(await readFile(done.manifestLocation, 'utf8')) as {
      egress_id: string;
      url: string;
      files: { filename: string; location: string }[];
    };
    assert.equal(manifest.egress_id, info.egressId);
    assert.equal(manifest.url, suite.page.urlFor());
    assert.deepEqual(manifest.files, [{ filename: file.filename, location: file.location }]);

    // Upstream's metric names, with the finished egress counted.
    const metrics = await (await fetch(`http://127.0.0.1:${suite.svc.metricsPort}/metrics`)).text();
    for (const name of [
      'livekit_egress_available',
      'livekit_egress_can_accept_request',
      'livekit_egress_is_disabled',
      'livekit_egress_is_terminating',
      'livekit_node_cpu_load',
      'livekit_egress_proc_rss_bytes',
      'livekit_egress_pulse_sinks',
      'livekit_load_ratio',
    ]) {
      assert.match(metrics, new RegExp(`^${name}\\{`, 'm'), name);
    }
    // The egress's own log: the recorder's, Chromium's and gst-launch's lines, closed with its end.
    const { stdout: log } = await execFileAsync(path.join(REPO, 'bin/egress'), [
      'logs',
      info.egressId,
      '--dir',
      suite.svc.logDir,
    ]);
    assert.match(log, /\[gst\] /);
    assert.match(log, /\[recording\] active after/);
    assert.match(log, /--- egress ended: EGRESS_COMPLETE/);

    assert.match(metrics, /^livekit_egress_handler_results_total\{[^}]*type="web"[^}]*result="completed"[^}]*\} 1$/m);
  });

  test('two egresses at once both complete with playable files', async () => {
    const [a, b] = await Promise.all([
      client.startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'two/a.mp4' })),
      client.startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'two/b.mp4' })),
    ]);
    await Promise.all([a!, b!].map((i) => waitForStatus(client, i.egressId, [EgressStatus.EGRESS_ACTIVE])));
    await sleep(5000);
    await Promise.all([a!, b!].map((i) => client.stopEgress(i.egressId)));
    for (const i of [a!, b!]) {
      const done = await waitForStatus(client, i.egressId, [
        EgressStatus.EGRESS_COMPLETE,
        EgressStatus.EGRESS_FAILED,
        EgressStatus.EGRESS_ABORTED,
      ]);
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      const p = await probe(done.fileResults[0]!.location);
      assert.equal(p.video?.codec_name, 'h264');
      assert.ok(p.durationSec > 3, `duration ${p.durationSec}`);
    }
  });

  test('bad requests get invalid_argument naming the field and leave nothing behind', async () => {
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        'not http(s)',
        () => client.startWebEgress('file:///etc/passwd', new EncodedFileOutput({ filepath: 'x.mp4' })),
        /web\.url/,
      ],
      [
        // An absolute path outside the root is taken relative to it now, so the obstacle is made inside it.
        'a file where the path needs a directory',
        async () => {
          await writeFile(path.join(suite.svc.outDir, 'blocker'), '');
          return client.startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'blocker/x.mp4' }));
        },
        /filepath.*not a directory/,
      ],
      [
        'unknown preset',
        () =>
          client.startWebEgress(suite.page.urlFor(), new EncodedFileOutput({ filepath: 'x.mp4' }), {
            encodingOptions: 77 as EncodingOptionsPreset,
          }),
        /web\.preset/,
      ],
      [
        'no output',
        () =>
          client.startEgress(
            new StartEgressRequest({ source: { case: 'web', value: new WebSource({ url: suite.page.urlFor() }) } }),
          ),
        /egress\.outputs/,
      ],
    ];
    for (const [name, call, pattern] of cases) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof TwirpError, `${name}: ${String(err)}`);
        assert.equal(err.code, 'invalid_argument', `${name}: ${err.message}`);
        assert.match(err.message, pattern, name);
        return true;
      });
    }
    assert.deepEqual(await leftoversAfter(2000), []);
    assert.deepEqual(readdirSync(suite.svc.tmpDir), [], 'no temp dir left');
    assert.equal(existsSync(path.join(suite.svc.outDir, 'x.mp4')), false);
  });
});

describe('egress record (no server)', () => {
  test('records a page to a valid MP4', async () => {
    const page = await startTestPage();
    const out = path.join(REPO, '.stack', `record-test-${process.pid}.mp4`);
    try {
      // Asynchronous on purpose: the page is served from this process, which must keep answering.
      const r = await execFileAsync(
        path.join(REPO, 'bin/egress'),
        ['record', page.urlFor(), '--out', out, '--duration', '4'],
        { timeout: 60_000 },
      );
      assert.match(r.stdout, /record-test-.*\.mp4 \(\d/);
      const p = await probe(out);
      assert.equal(p.video?.codec_name, 'h264');
      assert.equal(p.audio?.codec_name, 'aac');
      assert.ok(p.durationSec > 3 && p.durationSec < 5.5, `duration ${p.durationSec}`);
    } finally {
      await page.close();
      await rm(out, { force: true });
    }
    assert.deepEqual(await leftoversAfter(2000), []);
  });

  test('Ctrl-C (SIGINT) finalizes the file', async () => {
    const page = await startTestPage();
    const out = path.join(REPO, '.stack', `record-sigint-${process.pid}.mp4`);
    try {
      const child = spawn(path.join(REPO, 'bin/egress'), ['record', page.urlFor(), '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      const recording = new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('recording ')) resolve();
        }),
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await Promise.race([recording, exited]);
      await sleep(3000);
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
      const p = await probe(out);
      assert.equal(p.video?.codec_name, 'h264');
      assert.ok(p.durationSec > 2.5 && p.durationSec < 4.5, `duration ${p.durationSec}`);
    } finally {
      await page.close();
      await rm(out, { force: true });
    }
    assert.deepEqual(await leftoversAfter(2000), []);
  });
});
