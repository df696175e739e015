import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
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

test('start from a JSON request file with a flag on top, against a loopback Twirp endpoint', async () => {
  // Stands in for livekit-server, which would hand a room composite to an egress service that cannot record
  // it yet; the e2e CLI test runs web egress against the real server.
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as Record<string, unknown>;
      bodies.push(request);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          egress_id: 'EG_fromjson',
          room_name: request.room_name ?? request.roomName,
          status: 'EGRESS_STARTING',
          room_composite: request,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'egress-cli-start-'));
  try {
    const file = path.join(dir, 'request.json');
    await writeFile(
      file,
      JSON.stringify({ room_name: 'my-room', layout: 'grid', file_outputs: [{ filepath: 'r.mp4' }] }),
    );
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await captureOutput(() =>
      start([
        '--url',
        url,
        '--api-key',
        'k',
        '--api-secret',
        's',
        '--type',
        'room-composite',
        file,
        '--layout',
        'speaker',
      ]),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'EG_fromjson  STARTING  room-composite  my-room\n');
    assert.equal(bodies.length, 1);
    const sent = bodies[0]!;
    assert.equal(sent.roomName ?? sent.room_name, 'my-room');
    assert.equal(sent.layout, 'speaker');
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
