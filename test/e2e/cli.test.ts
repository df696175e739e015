/**
 * The operator's command line, run as a process (bin/egress) against the real livekit-server and a running
 * egress service: start, list, status, update-stream, update-layout and stop a web egress end to end.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { probe } from './fixtures/media.js';
import { REPO, stackEnv } from './fixtures/stack.js';
import { serviceSuite } from './fixtures/service-suite.js';

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('bin/egress against livekit-server', () => {
  let env: NodeJS.ProcessEnv;

  /** Runs bin/egress with the stack's server in LIVEKIT_*; bounded, never hangs the suite. */
  async function egress(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    try {
      const r = await execFileAsync(path.join(REPO, 'bin/egress'), args, {
        env: { ...env, ...extraEnv },
        timeout: 90_000,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  const suite = serviceSuite();

  before(() => {
    const s = stackEnv();
    env = {
      ...process.env,
      LIVEKIT_URL: s.wsUrl,
      LIVEKIT_API_KEY: s.apiKey,
      LIVEKIT_API_SECRET: s.apiSecret,
    };
    delete env.EGRESS_CONFIG_BODY;
    delete env.EGRESS_CONFIG_FILE;
  });

  test('start --wait, list, status, update-stream, update-layout, stop --wait', async () => {
    const started = await egress(['start', 'web', '--page', suite.page.urlFor(), '--file', 'cli/page.mp4', '--wait']);
    assert.equal(started.code, 0, started.stderr);
    const m = /^(EG_\w+) {2}ACTIVE {2}web {2}(\S+)\n$/.exec(started.stdout);
    assert.ok(m, `start printed ${JSON.stringify(started.stdout)}`);
    const id = m[1]!;
    assert.equal(m[2], suite.page.urlFor());
    // Progress went to stderr (not a terminal: one line per status).
    assert.match(started.stderr, new RegExp(`^${id} (STARTING|ACTIVE)$`, 'm'));

    const listed = await egress(['list', '--active']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^EGRESS ID +STATUS +TYPE +SOURCE +STARTED +DURATION +ERROR$/m);
    assert.match(listed.stdout, new RegExp(`^${id} +ACTIVE +web +\\S+ +\\d{4}-\\d\\d-\\d\\dT\\S+ +\\d+s$`, 'm'));
    const json = await egress(['list', '--id', id, '--json']);
    const infos = JSON.parse(json.stdout) as { egressId: string; status: string }[];
    assert.deepEqual(
      infos.map((i) => [i.egressId, i.status]),
      [[id, 'EGRESS_ACTIVE']],
    );

    // The node's own view, from its health port (no server needed).
    const nodeEnv = { LIVEKIT_URL: '' };
    const status = await egress(['status', '--port', String(suite.svc.healthPort)], nodeEnv);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^state {5}accepting requests$/m);
    assert.match(
      status.stdout,
      new RegExp(`^${id} +web +ACTIVE +\\d+s +\\d+ +0 +[\\d.]+ +[\\d.]+ [KMG]B +page\\.mp4$`, 'm'),
    );
    const nodeList = await egress(['list', '--port', String(suite.svc.healthPort)], nodeEnv);
    assert.equal(nodeList.code, 0, nodeList.stderr);
    assert.match(nodeList.stdout, new RegExp(`^${id} +web +ACTIVE`, 'm'));
    // With a server named, --node still asks the node.
    const forced = await egress(['list', '--node', '--port', String(suite.svc.healthPort)]);
    assert.match(forced.stdout, new RegExp(`^${id} +web +ACTIVE`, 'm'));

    // A file-only web egress has no stream to update and no layout: refused in one line, exit 1.
    for (const args of [
      ['update-stream', id, '--add-urls', 'rtmp://127.0.0.1:1935/live/key'],
      ['update-layout', id, '--layout', 'grid'],
    ]) {
      const r = await egress(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`^egress ${args[0]}: [^\\n]+\\n$`));
    }

    // An ID the server does not know fails on its own line; the other egress is still stopped.
    const stopped = await egress(['stop', 'EG_doesnotexist2', id, '--wait']);
    assert.equal(stopped.code, 1, stopped.stderr);
    // Progress lines of the wait, then the one error line.
    assert.match(stopped.stderr, /^egress stop: EG_doesnotexist2: not_found: [^\n]+\n$/m);
    assert.equal(stopped.stderr.match(/^egress stop:/gm)?.length, 1);
    const lines = stopped.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^${id} {2}COMPLETE {2}web`));
    const file = /^ {2}file {6}(\S+) {2}\d+s {2}\d+ bytes$/m.exec(stopped.stdout)?.[1];
    assert.ok(file, stopped.stdout);
    assert.equal(file, path.join(suite.svc.outDir, 'cli/page.mp4'));
    const p = await probe(file);
    assert.equal(p.video?.codec_name, 'h264');
    assert.match(stopped.stdout, new RegExp(`^ {2}manifest {2}\\S+${id}\\.json$`, 'm'));

    const done = await egress(['list', '--id', id]);
    assert.match(done.stdout, new RegExp(`^${id} +COMPLETE +web`, 'm'));
  });

  test('server errors: one line and exit 1', async () => {
    const unknown = await egress(['stop', 'EG_doesnotexist1']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^egress stop: EG_doesnotexist1: not_found: [^\n]+\(HTTP 404\)\n$/);

    const badSecret = await egress(['list'], { LIVEKIT_API_SECRET: 'not-the-secret-not-the-secret-xx' });
    assert.equal(badSecret.code, 1);
    assert.match(badSecret.stderr, /^egress list: unauthenticated: [^\n]+\(HTTP 401\)\n$/);
    assert.doesNotMatch(badSecret.stderr, /eyJ/, 'the access token is not printed');

    const down = await egress(['list', '--url', 'ws://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^egress list: cannot reach the LiveKit server at http:\/\/127\.0\.0\.1:1: [^\n]+\n$/);
  });
});
