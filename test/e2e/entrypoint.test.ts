/**
 * docker/entrypoint.sh run for real, as in the image: tini as PID 1 of its own PID namespace (unshare), so
 * that, as in a container, whatever the script started (the PulseAudio daemon) dies with PID 1. Paths point
 * into a temp HOME; the config is EGRESS_CONFIG_BODY aimed at the test stack.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import { egressClient, freePort, REPO, stackEnv, waitForStatus } from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

/** Host pids of the PulseAudio daemons started with this HOME (the pid file holds the namespace's pid). */
function pulseDaemons(home: string): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-x', 'pulseaudio'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`HOME=${home}`);
      } catch {
        return false;
      }
    });
}

/** A pid that no process has: one that just exited (the kernel does not hand it out again at once). */
function deadPid(): number {
  const child = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' });
  return Number(child.trim());
}

describe('docker/entrypoint.sh', () => {
  let root: string;
  let home: string;
  let x11: string;
  let proc: ChildProcess;
  let exited: Promise<number | null>;
  let healthPort: number;
  const output: string[] = [];
  let page: TestPageServer;

  before(async () => {
    page = await startTestPage();
    // Short: Chromium's singleton socket path under HOME/tmp must stay within 108 bytes, as in the image.
    root = await mkdtemp('/tmp/eg-ep-');
    home = path.join(root, 'h');
    x11 = path.join(root, 'x11');
    // What a previous run of the container may have left behind.
    await mkdir(path.join(home, 'tmp/stale-chromium-profile'), { recursive: true });
    await writeFile(path.join(home, 'tmp/stale-chromium-profile/Cookies'), 'x');
    await mkdir(path.join(home, 'tmp/lk-egress-logs'), { recursive: true });
    await writeFile(path.join(home, 'tmp/lk-egress-logs/EG_previous.log'), 'kept\n');
    await mkdir(path.join(home, '.cache/xdgr/pulse'), { recursive: true });
    await writeFile(path.join(home, '.cache/xdgr/pulse/pid'), `${deadPid()}\n`);
    await mkdir(path.join(x11, '.X11-unix'), { recursive: true });
    await writeFile(path.join(x11, '.X77-lock'), `${String(deadPid()).padStart(10)}\n`);
    await writeFile(path.join(x11, '.X11-unix/X77'), '');

    const env = stackEnv();
    healthPort = await freePort();
    const body = [
      `api_key: ${env.apiKey}`,
      `api_secret: ${env.apiSecret}`,
      `ws_url: ${env.wsUrl}`,
      `redis: { address: "${env.redis}" }`,
      `health_port: ${healthPort}`,
      `template_port: ${await freePort()}`,
      `local_output_dir: ${path.join(root, 'out')}`,
      'logging: { level: info, json: true }',
    ].join('\n');
    // The stack's own PulseAudio must not leak in: the script starts and uses its own.
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['PULSE_SERVER', 'PULSE_RUNTIME_PATH', 'PULSE_STATE_PATH', 'XDG_RUNTIME_DIR', 'TMPDIR']) {
      delete childEnv[k];
    }
    Object.assign(childEnv, {
      HOME: home,
      EGRESS_X11_TMP: x11,
      EGRESS_BIN: path.join(REPO, 'bin/egress'),
      EGRESS_CONFIG_BODY: body,
    });
    proc = spawn(
      'unshare',
      ['--pid', '--fork', '--kill-child', '--mount-proc', 'tini', '--', path.join(REPO, 'docker/entrypoint.sh')],
      { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const s of [proc.stdout, proc.stderr]) s?.on('data', (c: Buffer) => output.push(...c.toString().split('\n')));
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  });

  after(async () => {
    // Bounded: a test that failed half-way must still not leave the namespace running.
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    await page?.close();
    await rm(root, { recursive: true, force: true });
  });

  /** The host pid of tini, PID 1 of the namespace: the process a container runtime signals. */
  function tiniPid(): number {
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(children.length, 1, `unshare has one child (${children.join(' ')})`);
    return Number(children[0]);
  }

  test('clears stale state, starts PulseAudio, and serves health', async () => {
    let status: { nodeId?: string; draining?: boolean } | undefined;
    for (let i = 0; i < 300 && !status; i++) {
      assert.equal(proc.exitCode, null, `the entrypoint exited early:\n${output.join('\n')}`);
      try {
        status = (await (await fetch(`http://127.0.0.1:${healthPort}/health`)).json()) as typeof status;
      } catch {
        await sleep(100);
      }
    }
    assert.ok(status, `no /health answer within 30 s:\n${output.slice(-20).join('\n')}`);
    assert.match(status.nodeId ?? '', /^NE_/);
    assert.equal(status.draining, false);
    assert.ok(output.some((l) => l.startsWith('entrypoint: PulseAudio ready')));
    assert.ok(output.some((l) => l.includes('removed stale X display lock :77')));

    const tmp = path.join(home, 'tmp');
    assert.equal(existsSync(path.join(tmp, 'stale-chromium-profile')), false, 'stale temp files are gone');
    assert.equal(readFileSync(path.join(tmp, 'lk-egress-logs/EG_previous.log'), 'utf8'), 'kept\n');
    assert.equal(existsSync(path.join(x11, '.X77-lock')), false);
    assert.equal(existsSync(path.join(x11, '.X11-unix/X77')), false);

    assert.equal(pulseDaemons(home).length, 1, 'one PulseAudio daemon runs for this HOME');
  });

  test('records a web page through livekit-server with that PulseAudio', async () => {
    const client = egressClient();
    const info = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'page.mp4' }));
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    // The recording's null sink lives in the daemon the entrypoint started.
    const pulseEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete pulseEnv.PULSE_SERVER;
    delete pulseEnv.PULSE_STATE_PATH;
    pulseEnv.PULSE_RUNTIME_PATH = path.join(home, '.cache/xdgr/pulse');
    let sinks = '';
    try {
      sinks = execFileSync('pactl', ['list', 'short', 'sinks'], { encoding: 'utf8', env: pulseEnv });
      await sleep(3000);
    } finally {
      // Stopped whatever happens above: SIGTERM below drains, and would wait for a recording left running.
      await client.stopEgress(info.egressId);
    }
    assert.match(sinks, new RegExp(info.egressId));
    const done = await waitForStatus(client, info.egressId, [
      EgressStatus.EGRESS_COMPLETE,
      EgressStatus.EGRESS_FAILED,
      EgressStatus.EGRESS_ABORTED,
    ]);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    const p = await probe(done.fileResults[0]!.location);
    assert.equal(p.video?.codec_name, 'h264');
    assert.equal(p.audio?.codec_name, 'aac');
  });

  test('SIGTERM to PID 1 stops the service cleanly and leaves nothing behind', async () => {
    process.kill(tiniPid(), 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `exit code through tini:\n${output.slice(-10).join('\n')}`);
    assert.ok(output.some((l) => l.includes('shut down cleanly')));
    assert.deepEqual(pulseDaemons(home), [], 'the PulseAudio daemon died with PID 1');
    const scratch = path.join(home, 'tmp/lk-egress');
    assert.deepEqual(existsSync(scratch) ? readdirSync(scratch) : [], [], 'no scratch dir left');
    assert.deepEqual(await leftoversAfter(3000), []);
  });
});
