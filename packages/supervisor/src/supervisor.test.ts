/**
 * The supervisor against a real redis-server, driven over psrpc as livekit-server drives it. livekit-server's
 * IOInfo side is played by a psrpc server in this test (the end-to-end tests use the real one), and the
 * recorder is the fake-recorder fixture so each way a child can misbehave is staged on demand.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Empty } from '@bufbuild/protobuf';
import {
  EgressInfo,
  EgressStatus,
  EncodedFileOutput,
  Output,
  StartEgressRequest,
  S3Upload,
  StopEgressRequest,
  StreamOutput,
  WebEgressRequest,
  WebSource,
} from '@livekit/protocol';
import { createLogger, EgressError, validateConfig } from '@egress/shared';
import {
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcClient,
  PsrpcServer,
  RedisBus,
  redisOptions,
  RpcStartEgressRequest,
} from '@egress/shared/psrpc/index';
import { startRedis, type TestRedis } from '@egress/shared/testing/redis-server';
import { sleep, until } from '@egress/shared/testing/wait';
import { Supervisor, type SupervisorOptions } from './supervisor.js';
import { fakeRecorder, type FakeRecorderMode } from './testing/fake-recorders/index.js';

describe('supervisor over psrpc', () => {
  let redis: TestRedis;
  let bus: RedisBus;
  let io: PsrpcServer;
  let internal: PsrpcClient;
  let handler: PsrpcClient;
  let supervisor: Supervisor;
  let options: SupervisorOptions;
  let dir: string;
  const reports: { method: string; id: string; status: EgressStatus; error: string; json: string }[] = [];

  const startReq = (egressId: string, url = 'http://127.0.0.1:9/', filepath = 'out.mp4') =>
    new RpcStartEgressRequest({
      egressId,
      request: {
        case: 'web',
        value: new WebEgressRequest({ url, fileOutputs: [new EncodedFileOutput({ filepath })] }),
      },
    });
  const start = (req: RpcStartEgressRequest) =>
    internal.request('StartEgress', undefined, req, EgressInfo, { timeoutMs: 10_000, selectionTimeoutMs: 1000 });
  const stop = (egressId: string) =>
    handler.request('StopEgress', egressId, new StopEgressRequest({ egressId }), EgressInfo, { timeoutMs: 3000 });
  const statuses = (id: string) =>
    reports.filter((r) => r.id === id).map((r) => `${r.method}:${EgressStatus[r.status]}`);
  const terminal = (id: string) =>
    reports.find((r) => r.id === id && r.method === 'UpdateEgress' && r.status >= EgressStatus.EGRESS_COMPLETE);

  before(async () => {
    redis = await startRedis();
    bus = new RedisBus(redisOptions({ address: redis.address }));
    io = new PsrpcServer(bus, 'IOInfo');
    for (const method of ['CreateEgress', 'UpdateEgress']) {
      await io.registerQueue({
        method,
        requestType: EgressInfo,
        handler: async (info: EgressInfo) => {
          reports.push({
            method,
            id: info.egressId,
            status: info.status,
            error: info.error,
            json: info.toJsonString(),
          });
          return new Empty();
        },
      });
    }
    internal = await PsrpcClient.create(bus, 'EgressInternal');
    handler = await PsrpcClient.create(bus, 'EgressHandler');
    dir = mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    const { config } = validateConfig({
      api_key: 'k',
      api_secret: 's',
      ws_url: 'ws://127.0.0.1:7880',
      redis: { address: redis.address },
      tmp_dir: path.join(dir, 'tmp'),
      local_output_dir: path.join(dir, 'out'),
      cpu_cost: { web_cpu_cost: 0.1 },
      // These tests pin down how a death ends an egress; restarts have their own tests beside ActiveEgress.
      recorder_restarts: 0,
    });
    options = {
      config,
      log: createLogger({ level: 'error', json: true }),
      recorderEntry: fakeRecorder('complete'),
      readyTimeoutMs: 1500,
      hangTimeoutMs: 1500,
      // Each test stages its own child misbehaviour (stage), so every start forks anew.
      spareRecorder: false,
    };
    supervisor = new Supervisor(options);
    await supervisor.start();
  });

  // The supervisor reads its recorder entry at each start: the next child runs the fake recorder picked here.
  const stage = (mode: FakeRecorderMode) => (options.recorderEntry = fakeRecorder(mode));
  afterEach(() => stage('complete'));

  after(async () => {
    await supervisor.shutdown('finalize');
    await internal.close();
    await handler.close();
    await io.close();
    await bus.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('start, stop and every status reported in order, CreateEgress first', async () => {
    const info = await start(startReq('EG_ok1'));
    assert.equal(info.status, EgressStatus.EGRESS_STARTING);
    await until(() => statuses('EG_ok1').includes('UpdateEgress:EGRESS_ACTIVE'), { what: 'ACTIVE' });
    const listed = await internal.multi(
      'ListActiveEgress',
      undefined,
      new ListActiveEgressRequest(),
      ListActiveEgressResponse,
      {
        timeoutMs: 500,
      },
    );
    assert.deepEqual(
      listed.map((r) => r.result?.egressIds),
      [['EG_ok1']],
    );
    const stopped = await stop('EG_ok1');
    assert.equal(stopped.status, EgressStatus.EGRESS_ENDING);
    await until(() => terminal('EG_ok1'), { what: 'COMPLETE' });
    assert.deepEqual(statuses('EG_ok1'), [
      'CreateEgress:EGRESS_STARTING',
      'UpdateEgress:EGRESS_ACTIVE',
      'UpdateEgress:EGRESS_ENDING',
      'UpdateEgress:EGRESS_COMPLETE',
    ]);
    await until(() => supervisor.status().egresses.length === 0, { what: 'forgotten' });
    await assert.rejects(stop('EG_ok1'), (e: unknown) => e instanceof EgressError && e.code === 'unavailable');
  });

  test('no credential of the request reaches livekit-server: StartEgress reply, CreateEgress, UpdateEgress', async () => {
    const req = new RpcStartEgressRequest({
      egressId: 'EG_creds',
      request: {
        case: 'web',
        value: new WebEgressRequest({
          url: 'http://127.0.0.1:9/?access_token=CANARY-page',
          fileOutputs: [
            new EncodedFileOutput({
              filepath: 'creds.mp4',
              disableManifest: true,
              output: {
                case: 's3',
                value: new S3Upload({
                  accessKey: 'CANARY-ak',
                  secret: 'CANARY-sk',
                  sessionToken: 'CANARY-st',
                  bucket: 'b',
                  endpoint: 'http://127.0.0.1:9',
                }),
              },
            }),
          ],
          streamOutputs: [new StreamOutput({ urls: ['rtmp://127.0.0.1/live/CANARY-streamkey'] })],
        }),
      },
    });
    const reply = await start(req);
    await stop('EG_creds');
    await until(() => terminal('EG_creds'), { what: 'the end', timeoutMs: 15_000 });
    const sent = [reply.toJsonString(), ...reports.filter((r) => r.id === 'EG_creds').map((r) => r.json)];
    assert.ok(sent.length >= 3);
    for (const json of sent) {
      assert.doesNotMatch(json, /CANARY/, json);
      assert.match(json, /"bucket":"b"/, 'the request copy is still there');
    }
  });

  test('a duplicate egress id is answered already_exists', async () => {
    await start(startReq('EG_dup'));
    await assert.rejects(
      start(startReq('EG_dup')),
      (e: unknown) => e instanceof EgressError && e.code === 'already_exists',
    );
    await stop('EG_dup');
    await until(() => terminal('EG_dup'), { what: 'COMPLETE' });
  });

  test('two concurrent starts of one egress id: one wins, the other is already_exists, the winner stops', async () => {
    const results = await Promise.allSettled([start(startReq('EG_race')), start(startReq('EG_race'))]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1, `results: ${results.map((r) => r.status).join(', ')}`);
    assert.ok(
      lost[0]?.reason instanceof EgressError && lost[0].reason.code === 'already_exists',
      String(lost[0]?.reason),
    );
    await until(() => statuses('EG_race').includes('UpdateEgress:EGRESS_ACTIVE'), { what: 'ACTIVE' });
    const stopped = await stop('EG_race');
    assert.equal(stopped.status, EgressStatus.EGRESS_ENDING);
    await until(() => terminal('EG_race'), { what: 'COMPLETE' });
    await until(() => supervisor.status().egresses.length === 0, { what: 'forgotten' });
  });

  test('a bad request is invalid_argument naming the field, and nothing is started', async () => {
    await assert.rejects(start(startReq('EG_bad', 'ftp://x/')), (e: unknown) => {
      assert.ok(e instanceof EgressError);
      assert.equal(e.code, 'invalid_argument');
      assert.match(e.message, /web\.url/);
      return true;
    });
    assert.equal(existsSync(path.join(dir, 'tmp', 'EG_bad')), false);
    assert.deepEqual(statuses('EG_bad'), []);
  });

  test('more stream URLs than max_stream_urls (8) is invalid_argument naming the field, and nothing is started', async () => {
    const urls = Array.from({ length: 9 }, (_, i) => `rtmp://127.0.0.1:1935/live/key${i}`);
    const req = new RpcStartEgressRequest({
      egressId: 'EG_streams',
      request: {
        case: 'web',
        value: new WebEgressRequest({ url: 'http://127.0.0.1:9/', streamOutputs: [new StreamOutput({ urls })] }),
      },
    });
    await assert.rejects(start(req), {
      code: 'invalid_argument',
      message: 'web.stream_outputs[0].urls: at most 8 per egress (max_stream_urls) (got "9 URLs")',
    });
    assert.deepEqual(statuses('EG_streams'), []);
  });

  test('an unwritable file of a unified request is invalid_argument naming its own output field', async () => {
    mkdirSync(path.join(dir, 'out'), { recursive: true });
    writeFileSync(path.join(dir, 'out', 'not-a-dir'), '');
    const req = new RpcStartEgressRequest({
      egressId: 'EG_unified_file',
      request: {
        case: 'egress',
        value: new StartEgressRequest({
          source: { case: 'web', value: new WebSource({ url: 'http://127.0.0.1:9/' }) },
          outputs: [
            new Output({ config: { case: 'stream', value: new StreamOutput({ urls: ['rtmp://127.0.0.1/live/k'] }) } }),
            new Output({ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'not-a-dir/a.mp4' }) } }),
          ],
        }),
      },
    });
    await assert.rejects(start(req), { code: 'invalid_argument', message: /^egress\.outputs\[1\]\.file\.filepath: / });
    assert.deepEqual(statuses('EG_unified_file'), []);
  });

  test('a child that is never ready is killed and the start fails with a clear error', async () => {
    stage('never-ready');
    await assert.rejects(start(startReq('EG_slow')), (e: unknown) => {
      assert.ok(e instanceof EgressError);
      assert.equal(e.code, 'internal');
      assert.match(e.message, /not ready within 1\.5 s/);
      return true;
    });
    await until(() => supervisor.status().egresses.length === 0, { what: 'forgotten' });
  });

  test('a child that crashes while ACTIVE ends FAILED naming the exit, and its temp dir is removed', async () => {
    stage('crash-after-active');
    await start(startReq('EG_crash'));
    await until(() => existsSync(path.join(dir, 'tmp', 'EG_crash')), { what: 'scratch dir' });
    const end = await until(() => terminal('EG_crash'), { what: 'FAILED' });
    assert.equal(end.status, EgressStatus.EGRESS_FAILED);
    assert.match(end.error, /exit code 3/);
    assert.equal(existsSync(path.join(dir, 'tmp', 'EG_crash')), false);
  });

  test('a child that stops answering heartbeats is killed and ends FAILED naming the hang', async () => {
    stage('hang-after-active');
    const info = await start(startReq('EG_hang'));
    const pid = supervisor.status().egresses.find((e) => e.egressId === info.egressId)?.pid;
    const end = await until(() => terminal('EG_hang'), { what: 'FAILED', timeoutMs: 8000 });
    assert.match(end.error, /no heartbeat/);
    assert.ok(pid);
    assert.throws(() => process.kill(pid, 0), 'the hung child is gone');
  });

  test('malformed child messages are ignored, not fatal', async () => {
    stage('garbage');
    await start(startReq('EG_garbage'));
    await sleep(300);
    await stop('EG_garbage');
    const end = await until(() => terminal('EG_garbage'), { what: 'COMPLETE' });
    assert.equal(end.status, EgressStatus.EGRESS_COMPLETE);
  });

  test('draining stops bidding: livekit-server gets no bid', async () => {
    const draining = supervisor.shutdown('drain');
    await assert.rejects(
      start(startReq('EG_late')),
      (e: unknown) => e instanceof EgressError && e.code === 'unavailable',
    );
    await draining;
  });
});
