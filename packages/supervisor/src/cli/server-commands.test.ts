import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressInfo, EgressStatus, WebEgressRequest } from 'livekit-server-sdk';
import { captureOutput } from '../testing/capture-output.js';
import { results, serverConnection, start, stop, summary, updateLayout, updateStream } from './server-commands.js';

test('the server comes from flags, else LIVEKIT_*; ws URLs become http for the Twirp API', () => {
  const env = { LIVEKIT_URL: 'wss://lk.example.com', LIVEKIT_API_KEY: 'ek', LIVEKIT_API_SECRET: 'es' };
  assert.deepEqual(serverConnection({}, env), { url: 'https://lk.example.com', apiKey: 'ek', apiSecret: 'es' });
  assert.deepEqual(serverConnection({ url: 'ws://127.0.0.1:7880/', 'api-key': 'fk', 'api-secret': 'fs' }, env), {
    url: 'http://127.0.0.1:7880',
    apiKey: 'fk',
    apiSecret: 'fs',
  });
  assert.throws(() => serverConnection({}, {}), /no LiveKit server: pass --url or set LIVEKIT_URL/);
  assert.throws(() => serverConnection({ url: 'ftp://x' }, env), /--url must be ws, wss, http or https/);
  assert.throws(() => serverConnection({ url: 'http://x' }, {}), /no API key: pass --api-key or set LIVEKIT_API_KEY/);
  assert.throws(
    () => serverConnection({ url: 'http://x', 'api-key': 'k' }, {}),
    /no API secret: pass --api-secret or set LIVEKIT_API_SECRET/,
  );
});

test('an egress in one line, and what an ended one produced', () => {
  const info = new EgressInfo({
    egressId: 'EG_x',
    status: EgressStatus.EGRESS_FAILED,
    request: { case: 'web', value: new WebEgressRequest({ url: 'https://example.com' }) },
    error: 'Chromium exited',
    fileResults: [{ location: '/rec/a.mp4', duration: 65_000_000_000n, size: 1234n }],
    manifestLocation: '/rec/EG_x.json',
  });
  assert.equal(summary(info), 'EG_x  FAILED  web  https://example.com  error: Chromium exited');
  assert.equal(results(info), '  file      /rec/a.mp4  1m05s  1234 bytes\n  manifest  /rec/EG_x.json\n');
});

test('usage errors: one line on stderr, exit 2, nothing sent', async () => {
  const server = ['--url', 'http://127.0.0.1:9', '--api-key', 'k', '--api-secret', 's'];
  const cases: [string, () => Promise<number>, RegExp][] = [
    ['no server', () => start(['web', '--page', 'https://x', '--file', 'a.mp4']), /no LiveKit server/],
    ['no type', () => start([...server, '--file', 'a.mp4']), /--type is required/],
    ['bad flag', () => start([...server, 'web', '--bogus']), /Unknown option '--bogus'/],
    ['bad request', () => start([...server, 'web', '--file', 'a.mp4']), /web egress needs --page URL/],
    [
      'bad timeout',
      () => start([...server, 'web', '--page', 'https://x', '--file', 'a', '--timeout', '0']),
      /--timeout must be a positive number/,
    ],
    [
      'missing file',
      () => start([...server, 'web', '/nonexistent/request.json']),
      /cannot read the request \/nonexistent\/request\.json/,
    ],
    ['no id', () => stop(server), /an egress ID is required/],
    ['not an id', () => stop([...server, 'room1']), /not an egress ID: "room1"/],
    ['no layout', () => updateLayout([...server, 'EG_a']), /--layout is required/],
    ['two ids', () => updateLayout([...server, 'EG_a', 'EG_b', '--layout', 'grid']), /one egress ID only/],
    ['no urls', () => updateStream([...server, 'EG_a']), /give --add-urls or --remove-urls/],
    ['bad url', () => updateStream([...server, 'EG_a', '--add-urls', 'http://x']), /must be rtmp, rtmps or srt/],
  ];
  for (const [name, run, pattern] of cases) {
    const r = await captureOutput(run);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    assert.match(r.stderr, /^egress [a-z-]+: [^\n]+\n$/, name);
    assert.match(r.stderr, pattern, name);
  }
  const help = await captureOutput(() => start(['--help']));
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: egress start /);
});
