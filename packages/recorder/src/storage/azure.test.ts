// Against Azurite, which scripts/test starts on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeMedia } from '../media/probe.js';
import {
  createAzureContainer,
  readBack,
  sha256,
  sha256File,
  storageServers,
  testAzureConfig,
  uniqueBucketName,
  writeRandomFile,
  writeTestMp4,
} from '../testing/storage-servers.js';
import { startStallProxy } from '../testing/stall-proxy.js';
import { StorageBackendError } from './backend.js';
import { AzureBackend } from './azure.js';

const MiB = 1024 * 1024;
let dir: string;
let container: string;
const serviceUrl = () => storageServers().azure.serviceUrlTemplate;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'egress-azure-test-'));
  container = uniqueBucketName('az');
  await createAzureContainer(container);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a block upload reads back byte for byte at the blob URL', async () => {
  const file = path.join(dir, 'big.bin');
  await writeRandomFile(file, 9 * MiB + 7); // three 4 MiB blocks, the last one short
  const backend = new AzureBackend(testAzureConfig(container), { serviceUrl: serviceUrl(), partSize: 4 * MiB });
  const location = await backend.upload(file, 'dir/big file.bin', 'application/octet-stream');
  assert.equal(location, `${storageServers().azure.endpoint}/${container}/dir/big%20file.bin`);
  assert.equal(sha256(await readBack('azure', container, 'dir/big file.bin')), await sha256File(file));
});

test('a real MP4 survives the round trip through a SAS URL: downloaded and probed', async () => {
  const file = path.join(dir, 'clip.mp4');
  await writeTestMp4(file);
  const backend = new AzureBackend(testAzureConfig(container), { serviceUrl: serviceUrl() });
  await backend.upload(file, 'media/clip.mp4', 'video/mp4');
  const url = await backend.presign('media/clip.mp4', 3600);
  assert.match(url, /[?&]sig=/);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
  const probe = await probeMedia(url);
  assert.deepEqual(probe.streams.map((s) => s.codecName).sort(), ['aac', 'h264']);
  // Without the SAS the blob is private; with a tampered signature it is refused.
  assert.equal((await fetch(url.split('?')[0]!)).status >= 400, true);
  const tampered = url.replace(/sig=([A-Za-z0-9%]{4})/, 'sig=AAAA');
  assert.equal((await fetch(tampered)).status, 403);
});

test('verify accepts the container and refuses a missing container or a wrong key, saying which', async () => {
  await new AzureBackend(testAzureConfig(container), { serviceUrl: serviceUrl() }).verify();
  const missing = new AzureBackend(testAzureConfig(uniqueBucketName('missing')), { serviceUrl: serviceUrl() });
  await assert.rejects(missing.verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /container does not exist/);
    return true;
  });
  const wrongKey = new AzureBackend(
    testAzureConfig(container, { account_key: Buffer.from('wrong').toString('base64') }),
    {
      serviceUrl: serviceUrl(),
    },
  );
  await assert.rejects(wrongKey.verify(), (err: unknown) => {
    assert.ok(err instanceof StorageBackendError);
    assert.match(err.message, /authentication failed/);
    return true;
  });
});

test('an upload that stalls mid-block is retried and completes', async () => {
  const file = path.join(dir, 'stall.bin');
  await writeRandomFile(file, 6 * MiB);
  const port = Number(new URL(storageServers().azure.endpoint).port);
  const proxy = await startStallProxy({ targetPort: port, mode: 'stall', afterBytes: 2 * MiB });
  try {
    const backend = new AzureBackend(testAzureConfig(container), {
      serviceUrl: `${proxy.url}/{account}`,
      partSize: 4 * MiB,
      requestTimeoutMs: 1500,
    });
    await backend.upload(file, 'stalled.bin', 'application/octet-stream');
    assert.equal(proxy.triggered, 1, 'the proxy stalled one request');
    assert.equal(sha256(await readBack('azure', container, 'stalled.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});

test('a connection reset mid-body is retried and completes', async () => {
  const file = path.join(dir, 'drop.bin');
  await writeRandomFile(file, 2 * MiB);
  const port = Number(new URL(storageServers().azure.endpoint).port);
  const proxy = await startStallProxy({ targetPort: port, mode: 'drop', afterBytes: MiB });
  try {
    const backend = new AzureBackend(testAzureConfig(container), { serviceUrl: `${proxy.url}/{account}` });
    await backend.upload(file, 'dropped.bin', 'video/mp4');
    assert.equal(proxy.triggered, 1);
    assert.equal(sha256(await readBack('azure', container, 'dropped.bin')), await sha256File(file));
  } finally {
    await proxy.close();
  }
});
