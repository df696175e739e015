// Against fake-gcs-server, which scripts/test starts on loopback. It does not check credentials or URL
// signatures, so here a presigned URL proves its form and the bytes it serves, not that GCS would accept it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeMedia } from '../media/probe.js';
import {
  createGcsBucket,
  readBack,
  sha256,
  sha256File,
  storageServers,
  testGcpConfig,
  uniqueBucketName,
  writeRandomFile,
  writeTestMp4,
} from '../testing/storage-servers.js';
import { startStallProxy } from '../testing/stall-proxy.js';
import { StorageBackendError } from './backend.js';
import { GcsBackend } from './gcs.js';

const MiB = 1024 * 1024;
let dir: string;
let bucket: string;
const endpoint = () => storageServers().gcs.endpoint;

/** A service-account JSON with a fresh key: enough for the SDK to sign URLs locally. */
function serviceAccountJson(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return JSON.stringify({
    type: 'service_account',
    project_id: 'egress-test',
    client_email: 'egress@egress-test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'egress-gcs-test-'));
  bucket = uniqueBucketName('gcs');
  await createGcsBucket(bucket);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a chunked resumable upload reads back byte for byte, at <endpoint>/<bucket>/<key>', async () => {
  const file = path.join(dir, 'big.bin');
  await writeRandomFile(file, 9 * MiB + 5); // three 4 MiB chunks, the last one short
  const backend = new GcsBackend(testGcpConfig(bucket), { apiEndpoint: endpoint(), partSize: 4 * MiB });
  const location = await backend.upload(file, 'dir/big file.bin', 'application/octet-stream');
  assert.equal(location, `${endpoint()}/${bucket}/dir/big%20file.bin`);
  assert.equal(sha256(await readBack('gcs', bucket, 'dir/big file.bin')), await sha256File(file));
  const res = await fetch(location);
  assert.equal(res.status, 200, 'the location downloads');
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
});

test('a real MP4 survives the round trip through a signed URL: downloaded and probed', async () => {
  const file = path.join(dir, 'clip.mp4');
  await writeTestMp4(file);
  const backend = new GcsBackend(testGcpConfig(bucket, { credentials_json: serviceAccountJson() }), {
    apiEndpoint: endpoint(),
  });
  await backend.upload(file, 'media/clip.mp4', 'video/mp4');
  const url = await backend.presign('media/clip.mp4', 3600);
  assert.ok(url.startsWith(`${endpoint()}/${bucket}/media/clip.mp4?`), url);
  assert.match(url, /X-Goog-Signature=[0-9a-f]+/);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
  const probe = await probeMedia(url);
  assert.deepEqual(probe.streams.map((s) => s.codecName).sort(), ['aac', 'h264']);
});

test('verify accepts the bucket and refuses a missing one, saying so', async () => {
  await new GcsBackend(testGcpConfig(bucket), { apiEndpoint: endpoint() }).verify();
  const missing = new GcsBackend(testGcpConfig(uniqueBucketName('missing')), { apiEndpoint: endpoint() });
  await assert.rejects(missing.verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /bucket does not exist/);
    return true;
  });
});

test('an upload whose connection is reset mid-body is retried and completes', async () => {
  const file = path.join(dir, 'drop.bin');
  await writeRandomFile(file, 2 * MiB);
  const port = Number(new URL(endpoint()).port);
  const proxy = await startStallProxy({ targetPort: port, mode: 'drop', afterBytes: MiB });
  try {
    await new GcsBackend(testGcpConfig(bucket), { apiEndpoint: proxy.url }).upload(file, 'dropped.bin', 'video/mp4');
    assert.equal(proxy.triggered, 1);
    assert.equal(sha256(await readBack('gcs', bucket, 'dropped.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});

test('an upload that stalls mid-chunk is retried and completes', async () => {
  const file = path.join(dir, 'stall.bin');
  await writeRandomFile(file, 6 * MiB);
  const port = Number(new URL(endpoint()).port);
  const proxy = await startStallProxy({ targetPort: port, mode: 'stall', afterBytes: 2 * MiB });
  try {
    const backend = new GcsBackend(testGcpConfig(bucket), {
      apiEndpoint: proxy.url,
      partSize: 4 * MiB,
      requestTimeoutMs: 1500,
    });
    await backend.upload(file, 'stalled.bin', 'application/octet-stream');
    assert.equal(proxy.triggered, 1, 'the proxy stalled one request');
    assert.equal(sha256(await readBack('gcs', bucket, 'stalled.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});
