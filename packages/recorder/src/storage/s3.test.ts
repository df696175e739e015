// Against the S3-compatible server (s3rver) that scripts/test starts on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeMedia } from '../media/probe.js';
import {
  createS3Bucket,
  readBack,
  s3Head,
  s3Tagging,
  sha256,
  sha256File,
  storageServers,
  testS3Config,
  uniqueBucketName,
  writeRandomFile,
  writeTestMp4,
} from '../testing/storage-servers.js';
import { startStallProxy } from '../testing/stall-proxy.js';
import { StorageBackendError } from './backend.js';
import { S3Backend } from './s3.js';

const MiB = 1024 * 1024;
let dir: string;
let bucket: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'egress-s3-test-'));
  bucket = uniqueBucketName('s3');
  await createS3Bucket(bucket);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a multipart upload reads back byte for byte, with the headers asked for, at a path-style URL', async () => {
  const file = path.join(dir, 'big.bin');
  await writeRandomFile(file, 12 * MiB + 123); // three 5 MiB parts, the last one short
  const backend = new S3Backend(
    testS3Config(bucket, {
      metadata: { room: 'r1' },
      content_disposition: 'attachment; filename="x.bin"',
      tagging: 'egress=EG_1&room=r1',
    }),
    { partSize: 5 * MiB },
  );
  const location = await backend.upload(file, 'dir/big file.bin', 'application/octet-stream');
  assert.equal(location, `${process.env['EGRESS_TEST_S3_ENDPOINT']}/${bucket}/dir/big%20file.bin`);
  assert.equal(sha256(await readBack('s3', bucket, 'dir/big file.bin')), await sha256File(file));
  const head = await s3Head(bucket, 'dir/big file.bin');
  assert.equal(head.ContentType, 'application/octet-stream');
  assert.equal(head.ContentDisposition, 'attachment; filename="x.bin"');
  assert.deepEqual(head.Metadata, { room: 'r1' });
  assert.equal(await s3Tagging(bucket, 'dir/big file.bin'), 'egress=EG_1&room=r1');
});

test('a real MP4 survives the round trip through a presigned URL: downloaded and probed', async () => {
  const file = path.join(dir, 'clip.mp4');
  await writeTestMp4(file);
  const backend = new S3Backend(testS3Config(bucket));
  await backend.upload(file, 'media/clip.mp4', 'video/mp4');
  const url = await backend.presign('media/clip.mp4', 3600);
  assert.match(url, /X-Amz-Signature=/);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
  const probe = await probeMedia(url);
  assert.deepEqual(probe.streams.map((s) => s.codecName).sort(), ['aac', 'h264']);
  assert.ok(probe.durationMs > 1500, `duration ${probe.durationMs} ms`);
  // The signature is checked: a tampered one is refused.
  const tampered = url.replace(/X-Amz-Signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'));
  assert.equal((await fetch(tampered)).status, 403);
});

test('verify accepts the bucket and refuses a missing bucket or a wrong secret, saying which', async () => {
  await new S3Backend(testS3Config(bucket)).verify();
  await assert.rejects(new S3Backend(testS3Config(uniqueBucketName('missing'))).verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /does not exist/);
    return true;
  });
  await assert.rejects(new S3Backend(testS3Config(bucket, { secret: 'wrong-secret' })).verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /access denied/);
    return true;
  });
});

test('an endpoint with user:password in it is not repeated in errors', async () => {
  const endpoint = new URL(storageServers().s3.endpoint);
  endpoint.username = 'user';
  endpoint.password = 'PASS-SECRET';
  const backend = new S3Backend(testS3Config(bucket, { endpoint: endpoint.toString(), secret: 'wrong-secret' }));
  await assert.rejects(backend.verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /access denied/);
    assert.doesNotMatch(err.message, /PASS-SECRET/);
    return true;
  });
});

test('an upload that stalls mid-body is retried and completes', async () => {
  const file = path.join(dir, 'stall.bin');
  await writeRandomFile(file, 11 * MiB);
  const target = Number(new URL(process.env['EGRESS_TEST_S3_ENDPOINT']!).port);
  const proxy = await startStallProxy({ targetPort: target, mode: 'stall', afterBytes: 3 * MiB });
  try {
    const backend = new S3Backend(testS3Config(bucket, { endpoint: proxy.url }), {
      partSize: 5 * MiB,
      requestTimeoutMs: 1500,
    });
    await backend.upload(file, 'stalled.bin', 'application/octet-stream');
    assert.equal(proxy.triggered, 1, 'the proxy stalled one request');
    assert.equal(sha256(await readBack('s3', bucket, 'stalled.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});

test('a connection reset mid-body is retried and completes', async () => {
  const file = path.join(dir, 'drop.bin');
  await writeRandomFile(file, 2 * MiB);
  const target = Number(new URL(process.env['EGRESS_TEST_S3_ENDPOINT']!).port);
  const proxy = await startStallProxy({ targetPort: target, mode: 'drop', afterBytes: MiB });
  try {
    await new S3Backend(testS3Config(bucket, { endpoint: proxy.url })).upload(file, 'dropped.bin', 'video/mp4');
    assert.equal(proxy.triggered, 1);
    assert.equal(sha256(await readBack('s3', bucket, 'dropped.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});

test('locations follow upstream: virtual-host style without force_path_style', () => {
  const b = new S3Backend(testS3Config('bkt', { endpoint: '', force_path_style: false }));
  assert.equal(b.location('a/b c.mp4'), 'https://bkt.s3.amazonaws.com/a/b%20c.mp4');
  const custom = new S3Backend(testS3Config('bkt', { endpoint: 'https://s3.example.com', force_path_style: false }));
  assert.equal(custom.location('/x.mp4'), 'https://bkt.s3.example.com/x.mp4');
  const pathStyle = new S3Backend(testS3Config('bkt', { endpoint: 'http://127.0.0.1:9000/', force_path_style: true }));
  assert.equal(pathStyle.location('x.mp4'), 'http://127.0.0.1:9000/bkt/x.mp4');
});
