import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensurePulseDaemon, loadNullSink, type NullSink } from '../audio/pulse.js';
import { startXvfb, type XvfbDisplay } from '../display/xvfb.js';
import { delay } from '@egress/shared/host/terminate';
import { startTestPage, type TestPageServer } from '../testing/test-page.js';
import { Chromium, chromiumArgs, type ChromiumOptions } from './chromium.js';

const run = promisify(execFile);
const CHROME = { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} };

/** Live processes whose command line mentions `text` (pgrep -f). */
async function pgrep(text: string): Promise<string> {
  const result = await run('pgrep', ['-af', '--', text]).catch(() => ({ stdout: '' }));
  return result.stdout.trim();
}

describe('chromiumArgs', () => {
  const base = { chrome: CHROME, width: 1280, height: 720, userDataDir: '/tmp/u' };
  it('has the capture flags, no sandbox by default, and the DevTools pipe', () => {
    const args = chromiumArgs(base);
    for (const flag of [
      '--disable-background-networking',
      '--no-sandbox',
      '--kiosk',
      '--window-position=0,0',
      '--window-size=1280,720',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-dev-shm-usage',
      '--user-data-dir=/tmp/u',
      '--remote-debugging-pipe',
    ]) {
      assert.ok(args.includes(flag), `missing ${flag}`);
    }
    assert.equal(args.at(-1), 'about:blank');
    assert.ok(!args.includes('--disable-web-security'));
  });
  it('keeps the sandbox when asked, adds insecure flags, and lets extra flags override by name', () => {
    const args = chromiumArgs({
      ...base,
      chrome: {
        ...CHROME,
        sandbox: true,
        insecure: true,
        extraFlags: { '--window-size': '800,600', lang: 'de', 'mute-audio': '' },
      },
    });
    assert.ok(!args.includes('--no-sandbox'));
    assert.ok(args.includes('--disable-web-security') && args.includes('--allow-running-insecure-content'));
    assert.ok(args.includes('--window-size=800,600') && !args.includes('--window-size=1280,720'));
    assert.ok(args.includes('--lang=de') && args.includes('--mute-audio'));
  });
});

describe('Chromium', () => {
  let page: TestPageServer;
  let xvfb: XvfbDisplay;
  let sink: NullSink;
  let dir: string;
  const opts = (): ChromiumOptions => ({
    chrome: CHROME,
    display: xvfb.display,
    xauthority: xvfb.authFile,
    pulseSink: sink.sinkName,
    width: 1280,
    height: 720,
    userDataDir: join(dir, `chrome-${Math.random().toString(36).slice(2)}`),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chromium-test-'));
    page = await startTestPage();
    xvfb = await startXvfb({ width: 1280, height: 720, depth: 24, authFile: join(dir, 'xauthority') });
    await ensurePulseDaemon();
    sink = await loadNullSink(`EG_chromiumtest_${process.pid}`);
  });
  after(async () => {
    await page.close();
    await xvfb.stop();
    await sink.unload();
    assert.equal(await pgrep(dir), '', 'Chromium processes left behind');
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the page full screen, plays into its sink, reports console signals, and closes completely', async () => {
    const o = opts();
    const chromium = await Chromium.launch(o);
    const signals: string[] = [];
    chromium.on('startRecording', () => signals.push('start'));
    chromium.on('endRecording', () => signals.push('end'));
    const disconnected: string[] = [];
    chromium.on('disconnected', (why) => disconnected.push(why));
    await chromium.load(page.urlFor({ startSignalAfterMs: 50, endSignalAfterMs: 150 }));
    const [w, h] = await chromium.page.evaluate(() => [innerWidth, innerHeight]);
    assert.ok(w !== undefined && w >= 1279 && h !== undefined && h >= 719, `inner size ${w}x${h}`);
    for (let i = 0; i < 100 && signals.length < 2; i++) await delay(50);
    assert.deepEqual(signals, ['start', 'end']);

    // The tone reaches our sink (PULSE_SINK), nobody else's.
    const { stdout: sinks } = await run('pactl', ['list', 'short', 'sinks']);
    const sinkIndex = sinks
      .split('\n')
      .find((l) => l.split('\t')[1] === sink.sinkName)
      ?.split('\t')[0];
    let inputs = '';
    for (let i = 0; i < 100 && !inputs; i++) {
      const { stdout } = await run('pactl', ['list', 'short', 'sink-inputs']);
      inputs = stdout
        .split('\n')
        .filter((l) => l.split('\t')[1] === sinkIndex)
        .join('\n');
      if (!inputs) await delay(100);
    }
    assert.notEqual(inputs, '', 'Chromium plays into the recording sink');

    assert.notEqual(await pgrep(o.userDataDir), '');
    await chromium.close();
    await chromium.close();
    assert.equal(await pgrep(o.userDataDir), '', 'no Chromium process left');
    assert.deepEqual(disconnected, [], 'a requested close is not a disconnect');
  });

  it('fails a page load on HTTP >= 400, on a div.error, and on a network error', async () => {
    const chromium = await Chromium.launch(opts());
    try {
      await assert.rejects(chromium.load(page.urlFor({ status: 404 })), {
        code: 'unavailable',
        message: 'page load failed: HTTP 404 Not Found',
      });
      await assert.rejects(chromium.load(page.urlFor({ error: 'Room not found' })), {
        code: 'failed_precondition',
        message: 'template error: Room not found',
      });
      await assert.rejects(chromium.load('http://127.0.0.1:9/'), /page load failed: net::ERR_/);
    } finally {
      await chromium.close();
    }
  });

  it('reports a div.error that appears after load, once, with its text', async () => {
    const chromium = await Chromium.launch(opts());
    try {
      const errors: string[] = [];
      chromium.on('templateError', (text) => errors.push(text));
      await chromium.load(page.urlFor({ error: 'could not connect to the room: bad token', errorAfterMs: 300 }));
      assert.deepEqual(errors, [], 'no error at load');
      for (let i = 0; i < 100 && errors.length === 0; i++) await delay(50);
      assert.deepEqual(errors, ['could not connect to the room: bad token']);
      // Unrelated DOM changes after it do not report it again.
      await chromium.page.evaluate(() => document.body.appendChild(document.createElement('p')));
      await delay(200);
      assert.equal(errors.length, 1);
    } finally {
      await chromium.close();
    }
  });

  it('leaves a page token out of load errors', async () => {
    const chromium = await Chromium.launch(opts());
    try {
      await assert.rejects(chromium.load('http://127.0.0.1:9/?layout=grid&token=secret-jwt'), (err: Error) => {
        assert.match(err.message, /page load failed: net::ERR_/);
        assert.ok(!err.message.includes('secret-jwt'), err.message);
        return true;
      });
    } finally {
      await chromium.close();
    }
  });

  it('logs the page console without tokens, cut to length and bounded in rate', async () => {
    const lines: string[] = [];
    const chromium = await Chromium.launch({ ...opts(), log: (line) => lines.push(line) });
    try {
      await chromium.load(page.urlFor());
      // Chromium's own console line for a failed WebSocket names the room URL with its access token.
      await chromium.page.evaluate(() => {
        new WebSocket('ws://127.0.0.1:9/rtc?access_token=secret-jwt&auto_subscribe=1');
        console.error('request failed: http://127.0.0.1:9/?layout=grid&token=secret-jwt');
      });
      for (let i = 0; i < 100 && !lines.some((l) => l.includes('WebSocket')); i++) await delay(50);
      assert.ok(
        lines.some((l) => l.includes('ws://127.0.0.1:9/rtc?access_token=redacted')),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => l.includes('?layout=grid&token=redacted')),
        lines.join('\n'),
      );
      assert.ok(!lines.some((l) => l.includes('secret-jwt')), lines.join('\n'));

      const before = lines.length;
      await chromium.page.evaluate(() => {
        console.log('y'.repeat(10_000));
        for (let i = 0; i < 2000; i++) console.log(`flood ${i}`);
      });
      for (let i = 0; i < 60 && !lines.some((l) => l.startsWith('dropped ')); i++) await delay(50);
      const relayed = lines.slice(before);
      // "console.log: " and 10000 y: 2048 characters kept, 7965 cut.
      assert.ok(relayed[0]?.startsWith('console.log: yyy'), relayed[0]?.slice(0, 80));
      assert.equal(relayed[0]?.slice(2048), '… [cut 7965 chars]');
      assert.ok(relayed.length < 100, `${relayed.length} lines relayed of 2001`);
      assert.match(relayed.at(-1) ?? '', /^dropped \d+ console lines/);
    } finally {
      await chromium.close();
    }
  });

  it('reports its own death as a disconnect', async () => {
    const o = opts();
    const chromium = await Chromium.launch(o);
    await chromium.load(page.urlFor());
    const why = new Promise<string>((resolve) => chromium.once('disconnected', resolve));
    process.kill(chromium.pid, 'SIGKILL');
    assert.equal(await why, 'Chromium exited unexpectedly (signal SIGKILL)');
    await chromium.close();
    for (let i = 0; i < 50 && (await pgrep(o.userDataDir)); i++) await delay(100);
    assert.equal(await pgrep(o.userDataDir), '');
  });

  it('fails to launch with a clear error and leaves nothing behind', async () => {
    await assert.rejects(
      Chromium.launch({ ...opts(), chrome: { ...CHROME, executablePath: '/nonexistent/chromium' } }),
      {
        code: 'internal',
        message: /Chromium failed to start \(spawn \/nonexistent\/chromium ENOENT\)/,
      },
    );
  });
});
