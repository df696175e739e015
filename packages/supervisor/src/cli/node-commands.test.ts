import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startHealthServer } from '../http/health-server.js';
import { EgressLogFile } from '../logs/egress-log-file.js';
import { captureOutput } from '../testing/capture-output.js';
import { formatStatus, healthUrl, listNode, status, type NodeStatus } from './node-commands.js';

/**
 * The real health server, answering for a fixed node state: what a supervisor with these egresses reports
 * (the e2e CLI test reads a real supervisor's).
 */
const node: NodeStatus & { isDraining: boolean } = {
  nodeId: 'NE_test',
  availableCpu: 1.6,
  draining: false,
  isDraining: false,
  egresses: [
    {
      egressId: 'EG_one',
      type: 'web',
      status: 'active',
      ageSec: 65,
      pid: 4321,
      restarts: 1,
      cpu: 0.613,
      rssBytes: 512 * 2 ** 20,
      output: 'room.mp4',
    },
    { egressId: 'EG_two', type: 'roomComposite', status: 'starting', ageSec: 2, restarts: 0, cpu: 0, rssBytes: 0 },
  ],
};

let server: http.Server;
let port: string;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'egress-node-cli-'));

before(async () => {
  server = await startHealthServer(0, {
    status: () => ({ ...node, isDraining: undefined }),
    get isDraining() {
      return node.draining;
    },
  });
  port = String((server.address() as AddressInfo).port);
});
after(async () => {
  server.close();
  await fs.rm(root, { recursive: true, force: true });
});

test('status: the node, its state and a table of its egresses', async () => {
  const r = await captureOutput(() => status(['--port', port]));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    [
      'node      NE_test',
      'state     accepting requests',
      'free CPU  1.60 cores',
      'egresses  2 active',
      '',
      'EGRESS ID  TYPE            STATUS    AGE    PID   RESTARTS  CPU   MEMORY    OUTPUT',
      'EG_one     web             ACTIVE    1m05s  4321  1         0.61  512.0 MB  room.mp4',
      'EG_two     room-composite  STARTING  2s     -     0         0.00  -         -',
      '',
    ].join('\n'),
  );
});

test('status --json is the health JSON itself', async () => {
  const r = await captureOutput(() => status(['--port', port, '--json']));
  assert.equal(r.code, 0);
  const parsed = JSON.parse(r.stdout) as NodeStatus;
  assert.equal(parsed.nodeId, 'NE_test');
  assert.deepEqual(parsed.egresses, node.egresses);
});

test('a draining node says so', () => {
  assert.match(
    formatStatus({ ...node, draining: true }),
    /^state {5}draining: taking no new requests, finishing 2 recordings$/m,
  );
  assert.match(formatStatus({ ...node, egresses: [] }), /egresses {2}0 active\n$/);
});

test('list --node, and --all with the ended egresses from their logs', async () => {
  const dir = path.join(root, 'logs');
  for (const [id, summary] of [
    ['EG_done', 'complete'],
    ['EG_bad', 'failed: Chromium exited'],
    // A live egress's log is listed as active, not again as ended.
    ['EG_one', ''],
  ] as const) {
    const log = EgressLogFile.open(dir, id);
    log.write('a line');
    if (summary) await log.end(summary);
    else await log.end('still running'); // its end line is ignored: the node reports it active
  }
  await fs.writeFile(path.join(dir, 'not-a-log.txt'), 'x');
  const plain = await captureOutput(() => listNode(['--node', '--port', port]));
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^EGRESS ID {2}TYPE/);
  assert.equal(plain.stdout.trim().split('\n').length, 3);

  const all = await captureOutput(() => listNode(['--port', port, '--all', '--dir', dir]));
  assert.equal(all.code, 0, all.stderr);
  const ended = all.stdout.split('\n\n')[1]!;
  assert.match(ended, /^EGRESS ID {2}ENDED +RESULT\n/);
  assert.match(ended, /^EG_done {4}\d{4}-\d\d-\d\dT[\d:.]+Z {2}complete$/m);
  assert.match(ended, /^EG_bad {5}\S+ {2}failed: Chromium exited$/m);
  assert.doesNotMatch(ended, /EG_one|not-a-log/);

  const json = await captureOutput(() => listNode(['--port', port, '--all', '--dir', dir, '--json']));
  const parsed = JSON.parse(json.stdout) as { active: unknown[]; finished: { egressId: string }[] };
  assert.equal(parsed.active.length, 2);
  assert.deepEqual(parsed.finished.map((f) => f.egressId).sort(), ['EG_bad', 'EG_done']);
});

test('the health port comes from the service config when no flag names it', () => {
  const body = [
    'api_key: k',
    'api_secret: s',
    'ws_url: ws://127.0.0.1:7880',
    'redis: { address: 127.0.0.1:6379 }',
    'health_port: 8123',
  ].join('\n');
  assert.equal(healthUrl({}, { EGRESS_CONFIG_BODY: body }), 'http://127.0.0.1:8123/');
  assert.equal(healthUrl({ port: '9000' }, { EGRESS_CONFIG_BODY: body }), 'http://127.0.0.1:9000/');
  assert.equal(healthUrl({ 'health-url': 'http://10.0.0.5:8080/' }, {}), 'http://10.0.0.5:8080/');
  assert.throws(() => healthUrl({}, {}), /no health port: pass --port N/);
  assert.throws(
    () => healthUrl({}, { EGRESS_CONFIG_BODY: body.replace('8123', '0') }),
    /health_port is 0 \(off\) in the service config/,
  );
});

test('errors: one line on stderr; 2 for usage, 1 when the node does not answer', async () => {
  for (const argv of [['--port', 'abc'], ['--bogus'], ['extra'], ['--health-url', 'ftp://x']]) {
    const r = await captureOutput(() => status(argv));
    assert.equal(r.code, 2, JSON.stringify(argv));
    assert.match(r.stderr, /^egress status: [^\n]+\n$/);
    assert.equal(r.stdout, '');
  }
  assert.equal((await captureOutput(() => listNode(['--port', port, '--dir', root]))).code, 2, '--dir needs --all');

  // A port nothing listens on: the one this test's server had, closed.
  const closed = await startHealthServer(0, { status: () => ({}), isDraining: false });
  const closedPort = String((closed.address() as AddressInfo).port);
  await new Promise((r) => closed.close(r));
  const r = await captureOutput(() => status(['--port', closedPort]));
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `egress status: no egress service answers at http://127.0.0.1:${closedPort}/ (ECONNREFUSED): is it running on that port?\n`,
  );

  // Something that is not an egress node.
  const other = await startHealthServer(0, { status: () => ({ hello: 'world' }), isDraining: false });
  const o = await captureOutput(() => listNode(['--port', String((other.address() as AddressInfo).port)]));
  other.close();
  assert.equal(o.code, 1);
  assert.match(o.stderr, /^egress list: http:\/\/127\.0\.0\.1:\d+\/ did not answer with an egress health JSON/);
});
