// Against the S3 (versitygw) and Azure (Azurite) servers scripts/test starts on loopback, and local disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EgressError, type StorageConfig } from '@egress/shared';
import { probeMedia } from '../media/probe.js';
import {
  createAzureContainer,
  createS3Bucket,
  readBack,
  sha256,
  sha256File,
  testAzureConfig,
  testBackendEnv,
  testS3Config,
  uniqueBucketName,
  writeRandomFile,
  writeTestMp4,
} from '../testing/storage-servers.js';
import { DeliveryError, DeliveryTarget, applyPrefix } from './delivery-target.js';

let dir: string;
let bucket: string;
let container: string;
let file: string;

const s3Storage = (b: string, extra: Partial<StorageConfig> = {}, s3: Parameters<typeof testS3Config>[1] = {}) => ({
  prefix: '',
  generate_presigned_url: false,
  s3: testS3Config(b, s3),
  ...extra,
});
const azureStorage = (c: string, extra: Partial<StorageConfig> = {}) => ({
  prefix: '',
  generate_presigned_url: false,
  azure: testAzureConfig(c),
  ...extra,
});

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'egress-delivery-test-'));
  bucket = uniqueBucketName('dt');
  container = uniqueBucketName('dt');
  await createS3Bucket(bucket);
  await createAzureContainer(container);
  file = path.join(dir, 'capture.bin');
  await writeRandomFile(file, 300 * 1024);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('prefix is a folder joined with one slash', () => {
  assert.equal(applyPrefix('', '/a.mp4'), 'a.mp4');
  assert.equal(applyPrefix('rec/', 'a.mp4'), 'rec/a.mp4');
  assert.equal(applyPrefix('rec', 'x/a.mp4'), 'rec/x/a.mp4');
});

test('a key cannot leave its prefix: ".." (also behind backslashes or percent-encoded) is refused', () => {
  assert.equal(applyPrefix('rec', '//x/./a.mp4'), 'rec/x/a.mp4');
  for (const key of ['../a.mp4', 'x/../../a.mp4', 'x\\..\\..\\a.mp4', 'x/%2E%2e/a.mp4', 'a\nb.mp4']) {
    assert.throws(
      () => applyPrefix('rec', key),
      (err: unknown) => err instanceof EgressError && err.code === 'invalid_argument',
      key,
    );
  }
});

test('the primary takes the file under its prefix; the local file stays for the caller', async () => {
  const target = DeliveryTarget.create(s3Storage(bucket, { prefix: 'rooms/' }), undefined, testBackendEnv(dir));
  assert.deepEqual(await target.verify(), []);
  const r = await target.deliver(file, 'r1/capture.bin', 'application/octet-stream');
  assert.equal(r.key, 'rooms/r1/capture.bin');
  assert.equal(r.backupUsed, false);
  assert.equal(r.size, 300 * 1024);
  assert.match(r.location, new RegExp(`/${bucket}/rooms/r1/capture\\.bin$`));
  assert.equal(sha256(await readBack('s3', bucket, 'rooms/r1/capture.bin')), await sha256File(file));
  await stat(file);
});

test('a primary that refuses (missing bucket) sends the file to the backup, and later files straight there', async () => {
  const target = DeliveryTarget.create(
    s3Storage(uniqueBucketName('missing')),
    azureStorage(container, { prefix: 'backup' }),
    testBackendEnv(dir),
  );
  const first = await target.deliver(file, 'a.bin', 'application/octet-stream');
  assert.equal(first.backupUsed, true);
  assert.equal(first.key, 'backup/a.bin');
  assert.match(first.location, new RegExp(`/${container}/backup/a\\.bin$`));
  assert.equal(sha256(await readBack('azure', container, 'backup/a.bin')), await sha256File(file));
  const second = await target.deliver(file, 'b.bin', 'application/octet-stream');
  assert.equal(second.backupUsed, true);
  assert.equal(target.backupUsed, true);
});

test('a wrong key on the primary is reported by verify before any recording; the backup still works', async () => {
  const target = DeliveryTarget.create(
    s3Storage(bucket, {}, { secret: 'not-the-secret' }),
    azureStorage(container),
    testBackendEnv(dir),
  );
  await assert.rejects(target.verify(), (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, 'failed_precondition');
    assert.match(err.message, new RegExp(`s3 bucket "${bucket}".*access denied`));
    return true;
  });
  const r = await target.deliver(file, 'wrong-key.bin', 'application/octet-stream');
  assert.equal(r.backupUsed, true);
});

test('when every target fails, the error names each one and the kept local file', async () => {
  const missingBucket = uniqueBucketName('missing');
  const missingContainer = uniqueBucketName('missing');
  const target = DeliveryTarget.create(s3Storage(missingBucket), azureStorage(missingContainer), testBackendEnv(dir));
  const warnings = target.verify();
  await assert.rejects(warnings, /storage check failed/);
  await assert.rejects(target.deliver(file, 'lost.bin', 'application/octet-stream'), (err: unknown) => {
    assert.ok(err instanceof DeliveryError);
    assert.equal(err.localPath, file);
    assert.equal(err.failures.length, 2);
    assert.match(err.message, new RegExp(`kept at ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(err.message, new RegExp(`primary s3 bucket "${missingBucket}".*upload failed`));
    assert.match(err.message, new RegExp(`backup azure container "${missingContainer}".*upload failed`));
    return true;
  });
  assert.equal(sha256(await readFile(file)), await sha256File(file), 'the local file is intact');
});

test('generate_presigned_url makes the location a URL that downloads a playable file', async () => {
  const mp4 = path.join(dir, 'clip.mp4');
  await writeTestMp4(mp4);
  const target = DeliveryTarget.create(
    s3Storage(bucket, { generate_presigned_url: true }),
    undefined,
    testBackendEnv(dir),
  );
  const r = await target.deliver(mp4, 'clip.mp4', 'video/mp4');
  assert.match(r.location, /X-Amz-Signature=/);
  const probe = await probeMedia(r.location);
  assert.deepEqual(probe.streams.map((s) => s.codecName).sort(), ['aac', 'h264']);
});

test('local delivery creates directories, and verify refuses a root that is not a writable directory', async () => {
  const root = path.join(dir, 'out');
  const target = DeliveryTarget.create({ prefix: 'p', generate_presigned_url: false }, undefined, testBackendEnv(root));
  assert.deepEqual(await target.verify(), []);
  const r = await target.deliver(file, 'deep/er/capture.bin', 'application/octet-stream');
  assert.equal(r.location, path.join(root, 'p/deep/er/capture.bin'));
  assert.equal(await sha256File(r.location), await sha256File(file));

  const notDir = path.join(dir, 'a-file');
  await writeFile(notDir, 'x');
  const bad = DeliveryTarget.create({ prefix: '', generate_presigned_url: false }, undefined, testBackendEnv(notDir));
  await assert.rejects(bad.verify(), /is not a directory/);

  // Mode bits do not stop root, so a place no process can write: /proc.
  const proc = DeliveryTarget.create(
    { prefix: '', generate_presigned_url: false },
    undefined,
    testBackendEnv('/proc/x'),
  );
  await assert.rejects(proc.verify(), /not writable/);
});
