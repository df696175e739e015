/**
 * Configs for the object-storage servers scripts/test starts on loopback (scripts/lib/storage-servers.sh), and
 * helpers to make buckets and read objects back through each service's own SDK.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { execa } from 'execa';
import type { AzureConfig, GcpConfig, S3Config } from '@egress/shared';
import type { BackendEnvironment } from '../storage/backends.js';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the storage tests through scripts/test, which starts the servers`);
  return v;
}

/** Endpoints and credentials exported by scripts/test. */
export function storageServers() {
  const azureEndpoint = need('EGRESS_TEST_AZURE_ENDPOINT');
  const azureAccount = need('EGRESS_TEST_AZURE_ACCOUNT');
  return {
    s3: {
      endpoint: need('EGRESS_TEST_S3_ENDPOINT'),
      accessKey: need('EGRESS_TEST_S3_ACCESS_KEY'),
      secret: need('EGRESS_TEST_S3_SECRET'),
      region: need('EGRESS_TEST_S3_REGION'),
    },
    azure: {
      endpoint: azureEndpoint,
      // The account is the last path segment of an Azurite URL.
      serviceUrlTemplate: azureEndpoint.replace(new RegExp(`/${azureAccount}$`), '/{account}'),
      account: azureAccount,
      key: need('EGRESS_TEST_AZURE_KEY'),
    },
    gcs: { endpoint: need('EGRESS_TEST_GCS_ENDPOINT') },
  };
}

/** A fresh lowercase name valid as an S3 bucket, Azure container and GCS bucket. */
export function uniqueBucketName(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}`;
}

/** The backend environment for the test servers; `localRoot` for local delivery. */
export function testBackendEnv(localRoot: string, options: BackendEnvironment['options'] = {}): BackendEnvironment {
  const s = storageServers();
  return { localRoot, azureServiceUrl: s.azure.serviceUrlTemplate, gcsEndpoint: s.gcs.endpoint, options };
}

export function testS3Config(bucket: string, overrides: Partial<S3Config> = {}): S3Config {
  const s = storageServers().s3;
  return {
    access_key: s.accessKey,
    secret: s.secret,
    session_token: '',
    assume_role_arn: '',
    assume_role_external_id: '',
    region: s.region,
    endpoint: s.endpoint,
    bucket,
    force_path_style: true,
    max_retries: 5,
    max_retry_delay: 500,
    min_retry_delay: 50,
    metadata: {},
    tagging: '',
    content_disposition: '',
    ...overrides,
  };
}

export function testAzureConfig(container: string, overrides: Partial<AzureConfig> = {}): AzureConfig {
  const s = storageServers().azure;
  return { account_name: s.account, account_key: s.key, container_name: container, ...overrides };
}

export function testGcpConfig(bucket: string, overrides: Partial<GcpConfig> = {}): GcpConfig {
  return { credentials_json: '', bucket, ...overrides };
}

export function s3AdminClient(endpoint = storageServers().s3.endpoint): S3Client {
  const s = storageServers().s3;
  return new S3Client({
    region: s.region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secret },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function azureAdmin(): BlobServiceClient {
  const s = storageServers().azure;
  return new BlobServiceClient(s.endpoint, new StorageSharedKeyCredential(s.account, s.key));
}

function gcsAdmin(): Storage {
  return new Storage({ apiEndpoint: storageServers().gcs.endpoint, projectId: 'test' });
}

export async function createS3Bucket(bucket: string): Promise<void> {
  await s3AdminClient().send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function createAzureContainer(container: string): Promise<void> {
  await azureAdmin().getContainerClient(container).create();
}

export async function createGcsBucket(bucket: string): Promise<void> {
  await gcsAdmin().createBucket(bucket);
}

/** Reads an object back through the service's SDK. */
export async function readBack(kind: 's3' | 'azure' | 'gcs', bucket: string, key: string): Promise<Buffer> {
  if (kind === 's3') {
    const r = await s3AdminClient().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  }
  if (kind === 'azure') return azureAdmin().getContainerClient(bucket).getBlobClient(key).downloadToBuffer();
  const [data] = await gcsAdmin().bucket(bucket).file(key).download();
  return data;
}

/** Headers S3 stores with an object. */
export async function s3Head(bucket: string, key: string) {
  return s3AdminClient().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** The tags S3 stores with an object, as `k=v&...` sorted. */
export async function s3Tagging(bucket: string, key: string): Promise<string> {
  const r = await s3AdminClient().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return (r.TagSet ?? [])
    .map((t) => `${t.Key}=${t.Value}`)
    .sort()
    .join('&');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `bytes` of random data (incompressible, so a wrong byte anywhere changes the hash). */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  await writeFile(file, randomBytes(bytes));
}

/** A short real MP4 (H.264 + AAC) made with ffmpeg, for probing after a round trip. */
export async function writeTestMp4(file: string, seconds = 2): Promise<void> {
  await execa(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=25:duration=${seconds}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
      ...['-movflags', '+faststart', file],
    ],
    { timeout: 60_000 },
  );
}
