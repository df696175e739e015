// Against the S3-compatible server (s3rver) that scripts/test starts on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createS3Bucket,
  readBack,
  s3Head,
  s3Tagging,
  storageServers,
  testS3Config,
  uniqueBucketName,
} from '../testing/storage-servers.js';
import { describeBackendConformance } from './backend-conformance.js';
import { StorageBackendError } from './backend.js';
import { S3Backend } from './s3.js';

const MiB = 1024 * 1024;
const s3Endpoint = () => process.env['EGRESS_TEST_S3_ENDPOINT']!;

describeBackendConformance('s3', {
  createBucket: async () => {
    const bucket = uniqueBucketName('s3');
    await createS3Bucket(bucket);
    return bucket;
  },
  make: (bucket, { via, withMetadata, tuning } = {}) =>
    new S3Backend(
      testS3Config(bucket, {
        ...(via ? { endpoint: via } : {}),
        ...(withMetadata
          ? {
              metadata: { room: 'r1' },
              content_disposition: 'attachment; filename="x.bin"',
              tagging: 'egress=EG_1&room=r1',
            }
          : {}),
      }),
      tuning,
    ),
  readBack: (bucket, key) => readBack('s3', bucket, key),
  location: (bucket, key) => `${s3Endpoint()}/${bucket}/${encodeURI(key)}`,
  multipart: { partSize: 5 * MiB, size: 12 * MiB + 123 },
  missing: { bucket: async () => uniqueBucketName('missing'), message: /does not exist/ },
  wrongCredentials: {
    make: (bucket) => new S3Backend(testS3Config(bucket, { secret: 'wrong-secret' })),
    message: /access denied/,
  },
  network: {
    port: () => Number(new URL(s3Endpoint()).port),
    presigned: /X-Amz-Signature=/,
    servesContentType: true,
    stall: { size: 11 * MiB, afterBytes: 3 * MiB, partSize: 5 * MiB },
  },
  afterMultipart: async ({ bucket, key }) => {
    const head = await s3Head(bucket, key);
    assert.equal(head.ContentType, 'application/octet-stream');
    assert.equal(head.ContentDisposition, 'attachment; filename="x.bin"');
    assert.deepEqual(head.Metadata, { room: 'r1' });
    assert.equal(await s3Tagging(bucket, key), 'egress=EG_1&room=r1');
  },
  afterPresign: async (url) => {
    // The signature is checked: a tampered one is refused.
    const tampered = url.replace(/X-Amz-Signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'));
    assert.equal((await fetch(tampered)).status, 403);
  },
});

test('an endpoint with user:password in it is not repeated in errors', async () => {
  const bucket = uniqueBucketName('s3');
  await createS3Bucket(bucket);
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

test('locations follow upstream: virtual-host style without force_path_style', () => {
  const b = new S3Backend(testS3Config('bkt', { endpoint: '', force_path_style: false }));
  assert.equal(b.location('a/b c.mp4'), 'https://bkt.s3.amazonaws.com/a/b%20c.mp4');
  const custom = new S3Backend(testS3Config('bkt', { endpoint: 'https://s3.example.com', force_path_style: false }));
  assert.equal(custom.location('/x.mp4'), 'https://bkt.s3.example.com/x.mp4');
  const pathStyle = new S3Backend(testS3Config('bkt', { endpoint: 'http://127.0.0.1:9000/', force_path_style: true }));
  assert.equal(pathStyle.location('x.mp4'), 'http://127.0.0.1:9000/bkt/x.mp4');
});
