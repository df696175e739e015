// Real uploads through the service against the loopback object stores scripts/test starts (versitygw for S3,
// Azurite for Azure Blob, fake-gcs-server for GCS).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  AzureBlobUpload,
  DirectFileOutput,
  EgressStatus,
  EncodedFileOutput,
  GCPUpload,
  ImageOutput,
  RoomServiceClient,
  S3Upload,
  SegmentedFileOutput,
  TrackType,
  TwirpError,
  type EgressInfo,
} from 'livekit-server-sdk';
import { refusedGcpCredentials, serviceAccountJson } from '@egress/shared/testing/gcp-credentials';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import {
  createAzureContainer,
  createGcsBucket,
  createS3Bucket,
  readBack,
  s3AdminClient,
  storageServers,
  uniqueBucketName,
} from '@egress/recorder/testing/storage-servers';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import { disposeRtc, startPublisher } from './fixtures/publisher.js';
import {
  egressClient,
  type RunningService,
  stackEnv,
  startService,
  TERMINAL,
  waitForStatus,
} from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

let scratch: string;

/** Writes an object read back from a store to disk and probes it: a file is judged by what a player sees. */
async function probeObject(kind: 's3' | 'azure' | 'gcs', bucket: string, key: string) {
  const file = path.join(scratch, `${kind}-${path.basename(key)}`);
  await writeFile(file, await readBack(kind, bucket, key));
  return probe(file);
}

async function recordFor(client: ReturnType<typeof egressClient>, ms: number, start: () => Promise<EgressInfo>) {
  const info = await start();
  await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
  await sleep(ms);
  await client.stopEgress(info.egressId);
  return waitForStatus(client, info.egressId, TERMINAL, 60_000);
}

const s3Yaml = (bucket: string, extra = '') => {
  const s = storageServers().s3;
  return (
    `{ access_key: ${s.accessKey}, secret: ${s.secret}, region: ${s.region}, endpoint: "${s.endpoint}", ` +
    `bucket: ${bucket}, force_path_style: true${extra} }`
  );
};
const azureYaml = (container: string, key = storageServers().azure.key) =>
  `{ account_name: ${storageServers().azure.account}, account_key: "${key}", container_name: ${container} }`;

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'egress-storage-e2e-'));
  // The service's processes find the emulators the way an operator points them at a private endpoint.
  process.env['EGRESS_AZURE_BLOB_ENDPOINT'] = storageServers().azure.serviceUrlTemplate;
  process.env['EGRESS_GCS_ENDPOINT'] = storageServers().gcs.endpoint;
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('uploads: S3 as the config storage, Azure and GCS from the request, backup, presigned', () => {
  let svc: RunningService;
  let page: TestPageServer;
  const client = egressClient();
  const s3Bucket = uniqueBucketName('e2e-s3');
  const azContainer = uniqueBucketName('e2e-az');
  const gcsBucket = uniqueBucketName('e2e-gcs');
  const backupContainer = uniqueBucketName('e2e-backup');

  before(async () => {
    await Promise.all([
      createS3Bucket(s3Bucket),
      createAzureContainer(azContainer),
      createGcsBucket(gcsBucket),
      createAzureContainer(backupContainer),
    ]);
    page = await startTestPage();
    svc = await startService(
      [
        'cpu_cost: { web_cpu_cost: 0.5, track_cpu_cost: 0.5, max_cpu_utilization: 1.0 }',
        `storage: { prefix: rec, s3: ${s3Yaml(s3Bucket)} }`,
        `backup: { azure: ${azureYaml(backupContainer)} }`,
      ].join('\n'),
    );
  });

  after(async () => {
    await disposeRtc();
    assert.equal(await svc?.stop('SIGTERM'), 0);
    await page?.close();
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  test('S3 from the config: the file and the HLS segments and playlist are objects that play; manifest beside them', async () => {
    const done = await recordFor(client, 7000, () =>
      client.startWebEgress(page.urlFor(), {
        file: new EncodedFileOutput({ filepath: 's3/{room_name}rec.mp4' }),
        segments: new SegmentedFileOutput({ filenamePrefix: 's3/hls/seg', segmentDuration: 2 }),
        images: new ImageOutput({ captureInterval: 2, width: 320, height: 180, filenamePrefix: 's3/img/snap' }),
      }),
    );
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    const file = done.fileResults[0]!;
    const base = `${storageServers().s3.endpoint}/${s3Bucket}`;
    assert.equal(file.location, `${base}/rec/s3/rec.mp4`);
    // Upstream's FileInfo.filename: the requested path, placeholders filled, without the storage prefix.
    assert.equal(file.filename, 's3/rec.mp4');
    const m = await probeObject('s3', s3Bucket, 'rec/s3/rec.mp4');
    assert.equal(m.video?.codec_name, 'h264');
    assert.ok(m.durationSec > 5, `${m.durationSec} s`);
    const seg = done.segmentResults[0]!;
    assert.equal(seg.playlistLocation, `${base}/rec/s3/hls/seg.m3u8`);
    const playlist = (await readBack('s3', s3Bucket, 'rec/s3/hls/seg.m3u8')).toString();
    assert.match(playlist, /#EXT-X-ENDLIST/);
    const names = playlist.split('\n').filter((l) => l.endsWith('.ts'));
    assert.equal(BigInt(names.length), seg.segmentCount);
    for (const n of names) {
      const sm = await probeObject('s3', s3Bucket, `rec/s3/hls/${n}`);
      assert.equal(sm.video?.codec_name, 'h264', n);
    }
    // Images are objects too, as many as ImagesInfo counts.
    const img = done.imageResults[0]!;
    assert.equal(img.filenamePrefix, 's3/img/snap');
    const listed = await s3AdminClient().send(new ListObjectsV2Command({ Bucket: s3Bucket, Prefix: 'rec/s3/img/' }));
    const jpegs = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.jpeg'));
    assert.equal(BigInt(jpegs.length), img.imageCount);
    assert.ok(jpegs.length >= 3, `${jpegs.length} images`);
    const im = await probeObject('s3', s3Bucket, jpegs[0]!);
    assert.deepEqual([im.video?.codec_name, im.video?.width, im.video?.height], ['mjpeg', 320, 180]);
    assert.equal(done.manifestLocation, `${base}/rec/s3/${done.egressId}.json`);
    const manifest = JSON.parse((await readBack('s3', s3Bucket, `rec/s3/${done.egressId}.json`)).toString()) as {
      files: { location: string }[];
    };
    assert.equal(manifest.files[0]?.location, file.location);
    // Nothing stays behind locally once delivered.
    assert.equal(existsSync(path.join(svc.tmpDir, done.egressId)), false);
  });

  test('per-request storage wins over the config: a file and HLS to Azure, and to GCS, all playable', async () => {
    const azureUpload = {
      case: 'azure' as const,
      value: new AzureBlobUpload({
        accountName: storageServers().azure.account,
        accountKey: storageServers().azure.key,
        containerName: azContainer,
      }),
    };
    // fake-gcs-server takes no auth at a custom endpoint, but the key still goes the whole way: request, checks, JWT.
    const gcsKey = serviceAccountJson();
    const gcsUpload = { case: 'gcp' as const, value: new GCPUpload({ bucket: gcsBucket, credentials: gcsKey }) };
    for (const [kind, bucket, upload] of [
      ['azure', azContainer, azureUpload],
      ['gcs', gcsBucket, gcsUpload],
    ] as const) {
      const done = await recordFor(client, 5000, () =>
        client.startWebEgress(page.urlFor(), {
          file: new EncodedFileOutput({ filepath: `${kind}/rec.mp4`, output: upload }),
          segments: new SegmentedFileOutput({ filenamePrefix: `${kind}/hls/seg`, segmentDuration: 2, output: upload }),
        }),
      );
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      // What livekit-server keeps and lists carries neither the Azure account key nor the GCP private key.
      const [listed] = await client.listEgress({ egressId: done.egressId });
      const keyLine = (JSON.parse(gcsKey) as { private_key: string }).private_key.split('\n')[2]!;
      for (const secret of [storageServers().azure.key, keyLine]) {
        assert.ok(!listed!.toJsonString().includes(secret), `${kind}: a secret in ListEgress`);
      }
      assert.match(done.fileResults[0]!.location, new RegExp(`${bucket}/rec/${kind}/rec\\.mp4`));
      assert.equal((await probeObject(kind, bucket, `rec/${kind}/rec.mp4`)).video?.codec_name, 'h264', kind);
      const seg = done.segmentResults[0]!;
      assert.match(seg.playlistLocation, new RegExp(`${bucket}/rec/${kind}/hls/seg\\.m3u8`));
      const playlist = (await readBack(kind, bucket, `rec/${kind}/hls/seg.m3u8`)).toString();
      assert.match(playlist, /#EXT-X-ENDLIST/);
      const names = playlist.split('\n').filter((l) => l.endsWith('.ts'));
      assert.equal(BigInt(names.length), seg.segmentCount, kind);
      for (const n of names) {
        assert.equal((await probeObject(kind, bucket, `rec/${kind}/hls/${n}`)).video?.codec_name, 'h264', n);
      }
    }
  });

  test('GCP credentials other than a service-account key are refused through livekit-server, naming the field', async () => {
    const [external] = refusedGcpCredentials('http://127.0.0.1:9/token', '/proc/self/environ');
    await assert.rejects(
      client.startWebEgress(page.urlFor(), {
        file: new EncodedFileOutput({
          filepath: 'refused.mp4',
          output: { case: 'gcp', value: new GCPUpload({ bucket: gcsBucket, credentials: external!.json }) },
        }),
      }),
      (err: unknown) => {
        assert.ok(err instanceof TwirpError, String(err));
        assert.equal(err.code, 'invalid_argument', err.message);
        assert.match(err.message, /file_outputs\[0\]\.output\.gcp\.credentials\.type/);
        return true;
      },
    );
    assert.deepEqual(await leftoversAfter(2000), []);
  });

  test("track egress files: to the config's S3, or to the request's own GCS, named once the track is known", async () => {
    const env = stackEnv();
    const rooms = new RoomServiceClient(env.wsUrl.replace(/^ws/, 'http'), env.apiKey, env.apiSecret);
    const room = `st-${randomBytes(4).toString('hex')}`;
    const publisher = await startPublisher({ ...env, room, identity: 'uploader', maxDurationMs: 60_000 });
    try {
      let tracks: { type: TrackType; sid: string }[] = [];
      for (let i = 0; i < 100 && tracks.length < 2; i++) {
        tracks = (await rooms.listParticipants(room))[0]?.tracks ?? [];
        if (tracks.length < 2) await sleep(100);
      }
      const sid = (type: TrackType) => tracks.find((x) => x.type === type)?.sid ?? assert.fail(`no ${type} track`);
      const gcsUpload = { case: 'gcp' as const, value: new GCPUpload({ bucket: gcsBucket }) };
      const filepath = 'tracks/{publisher_identity}-{track_type}';
      const [video, audio] = await Promise.all([
        recordFor(client, 4000, () =>
          client.startTrackEgress(room, new DirectFileOutput({ filepath }), sid(TrackType.VIDEO)),
        ),
        recordFor(client, 4000, () =>
          client.startTrackEgress(room, new DirectFileOutput({ filepath, output: gcsUpload }), sid(TrackType.AUDIO)),
        ),
      ]);
      assert.equal(video.status, EgressStatus.EGRESS_COMPLETE, video.error);
      assert.equal(audio.status, EgressStatus.EGRESS_COMPLETE, audio.error);
      const s3Base = `${storageServers().s3.endpoint}/${s3Bucket}`;
      assert.equal(video.fileResults[0]!.location, `${s3Base}/rec/tracks/uploader-video.mp4`);
      assert.equal(video.fileResults[0]!.filename, 'tracks/uploader-video.mp4');
      const v = await probeObject('s3', s3Bucket, 'rec/tracks/uploader-video.mp4');
      assert.equal(v.video?.codec_name, 'h264');
      assert.ok(v.durationSec > 2.5, `${v.durationSec} s of video`);
      assert.match(audio.fileResults[0]!.location, new RegExp(`${gcsBucket}/rec/tracks/uploader-audio\\.ogg`));
      const a = await probeObject('gcs', gcsBucket, 'rec/tracks/uploader-audio.ogg');
      assert.deepEqual([a.audio?.codec_name, a.video], ['opus', undefined]);
      assert.ok(a.durationSec > 2.5, `${a.durationSec} s of audio`);
      for (const done of [video, audio]) assert.equal(existsSync(path.join(svc.tmpDir, done.egressId)), false);
    } finally {
      await publisher.stop();
      await rooms.deleteRoom(room).catch(() => {});
    }
  });

  test('a primary that refuses at the end sends the file to the backup, and the egress says so', async () => {
    const doomed = uniqueBucketName('e2e-doomed');
    await createS3Bucket(doomed);
    const info = await client.startWebEgress(
      page.urlFor(),
      new EncodedFileOutput({
        filepath: 'fallback/rec.mp4',
        output: {
          case: 's3',
          value: new S3Upload({
            accessKey: storageServers().s3.accessKey,
            secret: storageServers().s3.secret,
            region: storageServers().s3.region,
            endpoint: storageServers().s3.endpoint,
            bucket: doomed,
            forcePathStyle: true,
          }),
        },
      }),
    );
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    // The bucket passed the start-up check; it is gone by the time the file is ready.
    await s3AdminClient().send(new DeleteBucketCommand({ Bucket: doomed }));
    await sleep(3000);
    await client.stopEgress(info.egressId);
    const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    assert.equal(done.backupStorageUsed, true);
    // The backup block has no prefix of its own: the primary's does not apply there.
    assert.match(done.fileResults[0]!.location, new RegExp(`/${backupContainer}/fallback/rec\\.mp4$`));
    assert.equal((await probeObject('azure', backupContainer, 'fallback/rec.mp4')).video?.codec_name, 'h264');
  });
});

describe('uploads: presigned locations, a bucket that does not exist, every target failing', () => {
  const client = egressClient();
  let page: TestPageServer;
  const bucket = uniqueBucketName('e2e-pre');

  before(async () => {
    page = await startTestPage();
    await createS3Bucket(bucket);
  });
  after(async () => {
    await page?.close();
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  test('generate_presigned_url: the reported location downloads and plays', async () => {
    const svc = await startService(`storage: { generate_presigned_url: true, s3: ${s3Yaml(bucket)} }`);
    try {
      const done = await recordFor(client, 4000, () =>
        client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'pre/rec.mp4' })),
      );
      assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
      const url = done.fileResults[0]!.location;
      assert.match(url, /X-Amz-Signature=/);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      const file = path.join(scratch, 'presigned.mp4');
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      assert.equal((await probe(file)).video?.codec_name, 'h264');
    } finally {
      assert.equal(await svc.stop('SIGTERM'), 0);
    }
  });

  test('a config storage whose bucket does not exist stops the service at start-up, naming it', async () => {
    await assert.rejects(
      startService(`storage: { s3: ${s3Yaml('no-such-bucket-e2e')} }`),
      /exited with 1 during start-up[^]*no-such-bucket-e2e[^\n]*does not exist[^\n]*storage is not usable/,
    );
  });

  test('every target failing: FAILED with the local path and the cause; the file is kept and plays', async () => {
    const doomed = uniqueBucketName('e2e-gone');
    await createS3Bucket(doomed);
    const svc = await startService(`storage: { s3: ${s3Yaml(doomed)} }`);
    try {
      const info = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'lost/rec.mp4' }));
      await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
      const objects = await s3AdminClient().send(new ListObjectsV2Command({ Bucket: doomed }));
      if (objects.Contents?.length) {
        await s3AdminClient().send(
          new DeleteObjectsCommand({
            Bucket: doomed,
            Delete: { Objects: objects.Contents.map((o) => ({ Key: o.Key! })) },
          }),
        );
      }
      await s3AdminClient().send(new DeleteBucketCommand({ Bucket: doomed }));
      await sleep(3000);
      await client.stopEgress(info.egressId);
      const done = await waitForStatus(client, info.egressId, TERMINAL, 60_000);
      assert.equal(done.status, EgressStatus.EGRESS_FAILED);
      assert.match(done.error, /upload failed, the file is kept at /);
      const kept = done.fileResults[0]!.location;
      assert.ok(kept.startsWith(svc.tmpDir), `kept at ${kept}`);
      assert.ok(done.error.includes(kept));
      assert.equal((await probe(kept)).video?.codec_name, 'h264');
      // The reaper's next pass (at start-up of a new service on the same tmp_dir) keeps it too.
      await sleep(1000);
      assert.ok(existsSync(kept), 'the undelivered file is still there');
    } finally {
      assert.equal(await svc.stop('SIGTERM'), 0);
    }
  });
});
