import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { EndInfo, RecordingPlan, SessionLimitsPlan } from '@egress/shared';
import { probeMedia, type MediaProbe } from './media/probe.js';
import { delay } from '@egress/shared/host/terminate';
import { leftovers, listProcesses, webPlan, type WebPlanOverrides } from './testing/fixtures.js';
import { startTestPage, type TestPageOptions, type TestPageServer } from './testing/test-page.js';
import { SOURCE_CLOSED } from './recording-lifecycle.js';
import { WebRecording } from './web-recording.js';

const run = promisify(execFile);
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** A recording of the test page with its log, activity time and end. */
interface Session {
  plan: RecordingPlan;
  rec: WebRecording;
  log: string[];
  /** Unix ms of the `active` event. */
  active: Promise<number>;
  endings: string[];
}

describe('WebRecording', { timeout: 240_000 }, () => {
  let page: TestPageServer;
  const plans: RecordingPlan[] = [];

  before(async () => {
    page = await startTestPage();
  });
  after(async () => {
    await page.close();
    for (const plan of plans) {
      assert.deepEqual(await leftovers(plan), [], `${plan.egressId} left something behind`);
      // webPlan delivers to <outputDir>/nested/<id>.mp4.
      await rm(dirname(dirname(plan.outputs.file?.destination ?? '/nonexistent/x/y')), {
        recursive: true,
        force: true,
      });
    }
    const media = listProcesses().filter(
      (p) => p.ppid === process.pid && !p.zombie && ['Xvfb', 'gst-launch-1.0', 'chromium'].includes(p.comm),
    );
    assert.deepEqual(media, [], 'media processes left behind');
  });

  function session(pageOptions: TestPageOptions = {}, overrides: WebPlanOverrides = {}): Session {
    const plan = webPlan(page.urlFor(pageOptions), overrides);
    plans.push(plan);
    const log: string[] = [];
    const rec = new WebRecording(plan, { log: (line) => log.push(line) });
    const active = new Promise<number>((resolve) => rec.once('active', resolve));
    const endings: string[] = [];
    rec.on('ending', (reason) => endings.push(reason));
    return { plan, rec, log, active, endings };
  }

  /** Checks the end left nothing behind and the delivered file is what EndInfo says. */
  async function finished(s: Session, info: EndInfo): Promise<MediaProbe | undefined> {
    assert.deepEqual(await leftovers(s.plan), [], 'everything is cleaned up when `ended` resolves');
    const destination = s.plan.outputs.file?.destination ?? '';
    const [file] = info.files;
    if (!file) {
      assert.equal(await exists(destination), false, 'no file is delivered');
      return undefined;
    }
    assert.equal(info.files.length, 1);
    assert.equal(file.location, destination);
    assert.equal(file.filename, s.plan.outputs.file?.filename, 'the requested name, as upstream reports it');
    assert.equal(file.size, (await stat(destination)).size);
    const probe = await probeMedia(destination);
    assert.equal(file.durationMs, probe.durationMs);
    return probe;
  }

  function timings(t: TestContext, s: Session): void {
    const line = s.log.find((l) => l.includes('active after'));
    if (line) t.diagnostic(line);
    const remux = s.log.find((l) => l.includes('remuxed'));
    if (remux) t.diagnostic(remux);
  }

  it('records the page into a finished MP4 with H.264 720p and AAC', async (t) => {
    const s = session();
    await s.rec.start();
    const activeAt = await s.active;
    await delay(6000);
    const stopAt = Date.now();
    s.rec.stop('StopEgress API');
    s.rec.stop('ignored second stop');
    const info = await s.rec.ended;
    timings(t, s);

    assert.equal(info.state, 'complete');
    assert.equal(info.details, 'End reason: StopEgress API');
    assert.equal(info.error, undefined);
    assert.equal(info.startedAt, activeAt);
    assert.deepEqual(s.endings, ['StopEgress API']);
    const probe = await finished(s, info);
    assert.ok(probe);
    const file = info.files[0];
    assert.ok(file);
    assert.equal(file.startedAt, activeAt);
    assert.ok(file.endedAt >= stopAt && file.endedAt <= info.endedAt);

    const video = probe.streams.find((st) => st.codecType === 'video');
    const audio = probe.streams.find((st) => st.codecType === 'audio');
    assert.deepEqual([video?.codecName, video?.width, video?.height], ['h264', 1280, 720]);
    assert.deepEqual([audio?.codecName, audio?.sampleRate, audio?.channels], ['aac', 48000, 2]);
    const interval = stopAt - activeAt;
    assert.ok(
      Math.abs(probe.durationMs - interval) <= 1500,
      `duration ${probe.durationMs} ms vs active->stop ${interval} ms`,
    );
    assert.ok((video?.avgFrameRate ?? 0) >= 25, `avg frame rate ${video?.avgFrameRate}`);
    assert.ok(((video?.frames ?? 0) * 1000) / (video?.durationMs ?? 1) >= 25, `frames ${video?.frames}`);
    t.diagnostic(
      `duration ${probe.durationMs} ms for active->stop ${interval} ms; ${video?.frames} frames, avg ${video?.avgFrameRate} fps`,
    );

    // The page's tone went through the recording's sink into the file.
    const { stderr } = await run('ffmpeg', [
      '-nostdin',
      '-i',
      file.location,
      '-vn',
      '-af',
      'volumedetect',
      '-f',
      'null',
      '-',
    ]);
    const maxVolume = Number(/max_volume: (-?[\d.]+) dB/.exec(stderr)?.[1]);
    assert.ok(maxVolume > -30, `max volume ${maxVolume} dB`);
  });

  it('waits for START_RECORDING when asked to', async (t) => {
    const s = session({ startSignalAfterMs: 1500 }, { source: { awaitStartSignal: true } });
    const t0 = Date.now();
    await s.rec.start();
    const activeAt = await s.active;
    assert.ok(activeAt - t0 >= 1500, `active ${activeAt - t0} ms after start(), before the signal`);
    assert.ok(s.log.some((l) => /start signal \d+ ms/.test(l)));
    await delay(2000);
    s.rec.stop('StopEgress API');
    const info = await s.rec.ended;
    timings(t, s);
    assert.equal(info.state, 'complete');
    const probe = await finished(s, info);
    assert.ok(probe && probe.durationMs >= 1500);
  });

  it('ends COMPLETE when the page prints END_RECORDING', async () => {
    const s = session({ endSignalAfterMs: 3000 });
    const info = await s.rec.run();
    assert.equal(info.state, 'complete');
    assert.equal(info.details, `End reason: ${SOURCE_CLOSED}`);
    assert.deepEqual(s.endings, [SOURCE_CLOSED]);
    const probe = await finished(s, info);
    assert.ok(probe && probe.durationMs >= 1500 && probe.durationMs <= 4000, `duration ${probe?.durationMs}`);
  });

  it('ends ABORTED "Start signal not received" when stopped before the signal', async () => {
    const s = session({}, { source: { awaitStartSignal: true } });
    // Stopped once the page has loaded, while it has not printed the signal.
    const loaded = new Promise<void>((resolve) => s.rec.on('stage', (name) => name === 'page' && resolve()));
    const started = s.rec.start();
    await Promise.race([loaded, delay(30_000)]);
    await delay(500);
    s.rec.stop('StopEgress API');
    await assert.rejects(started, { code: 'failed_precondition', message: 'Start signal not received' });
    const info = await s.rec.ended;
    assert.equal(info.state, 'aborted');
    assert.equal(info.details, 'End reason: StopEgress API');
    assert.deepEqual(info.error, { code: 'failed_precondition', message: 'Start signal not received' });
    assert.equal(info.startedAt, undefined);
    assert.deepEqual(s.endings, []);
    await finished(s, info);
  });

  it('ends ABORTED when stopped while still starting', async () => {
    const s = session();
    const started = s.rec.start();
    s.rec.stop('StopEgress API');
    await assert.rejects(started, { code: 'failed_precondition', message: 'Stop called before pipeline could start' });
    const info = await s.rec.ended;
    assert.equal(info.state, 'aborted');
    await finished(s, info);
  });

  it('awaiting a start signal, a stop while still starting is "Start signal not received" too', async () => {
    // A slow machine may not have loaded the page yet when the stop comes: the signal was still not received.
    const s = session({}, { source: { awaitStartSignal: true } });
    const started = s.rec.start();
    s.rec.stop('StopEgress API');
    await assert.rejects(started, { code: 'failed_precondition', message: 'Start signal not received' });
    const info = await s.rec.ended;
    assert.equal(info.state, 'aborted');
    await finished(s, info);
  });

  it('fails with the div.error text of an error page, leaving nothing behind', async () => {
    const s = session({ error: 'Room not found' });
    await assert.rejects(s.rec.start(), { message: 'template error: Room not found' });
    const info = await s.rec.ended;
    assert.equal(info.state, 'failed');
    assert.deepEqual(info.error, { code: 'failed_precondition', message: 'template error: Room not found' });
    await finished(s, info);
  });

  it('fails with the text of a div.error that appears while waiting for the start signal', async () => {
    const s = session(
      { error: 'could not connect to the room: bad token', errorAfterMs: 500 },
      {
        source: { awaitStartSignal: true },
      },
    );
    await assert.rejects(s.rec.start(), { message: 'template error: could not connect to the room: bad token' });
    const info = await s.rec.ended;
    assert.equal(info.state, 'failed');
    assert.equal(info.error?.code, 'failed_precondition');
    await finished(s, info);
  });

  it('fails with the text of a div.error that appears while recording, and still delivers the file', async () => {
    const s = session({ error: 'lost the room', errorAfterMs: 3000 });
    await s.rec.start();
    const info = await s.rec.ended;
    assert.equal(info.state, 'failed');
    assert.deepEqual(info.error, { code: 'failed_precondition', message: 'template error: lost the room' });
    const probe = await finished(s, info);
    assert.ok(probe && probe.durationMs >= 1500, `duration ${probe?.durationMs}`);
  });

  it('fails naming the HTTP status of a page that does not load', async () => {
    const s = session({ status: 503 });
    const info = await s.rec.run();
    assert.equal(info.state, 'failed');
    assert.deepEqual(info.error, { code: 'unavailable', message: 'page load failed: HTTP 503 Service Unavailable' });
    await finished(s, info);
  });

  it('fails naming Chromium when it dies mid-recording, and still delivers the file', async () => {
    const s = session();
    await s.rec.start();
    await delay(3000);
    const browser = listProcesses().find(
      (p) => p.comm === 'chromium' && p.cmdline.includes(s.plan.tmpDir) && !p.cmdline.includes('--type='),
    );
    assert.ok(browser, 'the browser process is found');
    process.kill(browser.pid, 'SIGKILL');
    const info = await s.rec.ended;
    assert.equal(info.state, 'failed');
    assert.equal(info.details, 'End reason: Failure');
    assert.deepEqual(info.error, { code: 'internal', message: 'Chromium exited unexpectedly (signal SIGKILL)' });
    const probe = await finished(s, info);
    assert.ok(probe && probe.durationMs >= 2500, `duration ${probe?.durationMs}`);
    assert.deepEqual(probe.streams.map((st) => st.codecName).sort(), ['aac', 'h264']);
  });

  it('fails when the display dies, and finalizes what was written', async (t) => {
    const s = session();
    await s.rec.start();
    await delay(3000);
    const xvfb = listProcesses().find((p) => p.comm === 'Xvfb' && p.ppid === process.pid && !p.zombie);
    assert.ok(xvfb);
    process.kill(xvfb.pid, 'SIGKILL');
    const info = await s.rec.ended;
    assert.equal(info.state, 'failed');
    assert.match(
      info.error?.message ?? '',
      /Xvfb exited unexpectedly|pipeline error: ximagesrc|Chromium exited unexpectedly/,
    );
    const probe = await finished(s, info);
    // Without EOS the last fragment (up to 1 s) is lost.
    assert.ok(probe && probe.durationMs >= 1500, `duration ${probe?.durationMs}`);
    t.diagnostic(`${info.error?.message}; kept ${probe.durationMs} ms`);
  });

  for (const [what, source, codecs, fileType] of [
    ['audio only', { audioOnly: true }, ['aac'], 'mp4'],
    ['video only', { videoOnly: true }, ['h264'], 'mp4'],
    ['audio only to OGG', { audioOnly: true }, ['opus'], 'ogg'],
    ['audio only to MP3', { audioOnly: true }, ['mp3'], 'mp3'],
  ] as const) {
    it(`records ${what}`, async () => {
      const s = session({}, { source, fileType });
      await s.rec.start();
      await delay(2500);
      s.rec.stop('StopEgress API');
      const info = await s.rec.ended;
      assert.equal(info.state, 'complete');
      const probe = await finished(s, info);
      assert.deepEqual(
        probe?.streams.map((st) => st.codecName),
        codecs,
      );
    });
  }

  const limitCases: [string, SessionLimitsPlan, (p: MediaProbe) => boolean][] = [
    ['file duration', { fileMaxDurationMs: 2500 }, (p) => Math.abs(p.durationMs - 2500) <= 1500],
    // The size is checked each second, so the file passes the limit by up to a second of media.
    ['file size', { fileMaxBytes: 400_000 }, (p) => p.size >= 300_000],
  ];
  for (const [what, limits, check] of limitCases) {
    it(`ends LIMIT_REACHED at the ${what} limit, with the file finalized`, async () => {
      const s = session({}, { limits });
      await s.rec.start();
      const info = await s.rec.ended;
      assert.equal(info.state, 'limit_reached', info.error?.message);
      assert.equal(info.details, 'End reason: Session limit reached');
      assert.deepEqual(info.error, { code: 'resource_exhausted', message: 'Session limit reached' });
      const probe = await finished(s, info);
      assert.ok(probe && check(probe), `delivered ${probe?.durationMs} ms, ${probe?.size} bytes`);
    });
  }

  it('abort() kills everything at once and delivers nothing', async () => {
    const s = session();
    await s.rec.start();
    await delay(1000);
    const t0 = Date.now();
    s.rec.abort('Supervisor shutting down');
    const info = await s.rec.ended;
    assert.ok(Date.now() - t0 < 5000, `abort took ${Date.now() - t0} ms`);
    assert.equal(info.state, 'aborted');
    assert.deepEqual(info.error, { code: 'aborted', message: 'Supervisor shutting down' });
    await finished(s, info);
  });
});
