/**
 * The contract every StorageBackend keeps, as one suite that each backend's test file runs against its real
 * server (s3rver, Azurite, fake-gcs-server on loopback, or a directory). Backend-specific tests stay beside it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeMedia } from '../media/probe.js';
import { sha256, sha256File, writeRandomFile, writeTestMp4 } from '../testing/storage-servers.js';
import { startStallProxy } from '../testing/stall-proxy.js';
import { StorageBackendError, type BackendOptions, type StorageBackend } from './backend.js';

const MiB = 1024 * 1024;

/** How the suite builds a backend. */
export interface MakeOptions {
  /** Part size and timeouts to build the backend with. */
  tuning?: BackendOptions;
  /** A proxy's base URL standing in for the server's endpoint. */
  via?: string;
  /** Uploads carry the metadata, disposition and tags the backend supports (checked in afterMultipart). */
  withMetadata?: boolean;
  /** Credentials that can sign URLs. */
  forPresign?: boolean;
}

/** One backend as the suite sees it. */
export interface BackendSubject {
  /** Creates a fresh bucket (container, directory) and returns its name. */
  createBucket(): Promise<string>;
  make(bucket: string, options?: MakeOptions): StorageBackend;
  /** The bytes stored at `key`, read back without the backend under test. */
  readBack(bucket: string, key: string): Promise<Buffer>;
  /** The location an upload to `key` must report. */
  location(bucket: string, key: string): string;
  /** Part size, and a file size that makes three parts, the last one short. */
  multipart: { partSize: number; size: number };
  /** A bucket verify must refuse, and the words it must use. */
  missing: { bucket(): Promise<string>; message: RegExp };
  /** A backend with credentials the server refuses, and the words verify must use. */
  wrongCredentials?: { make(bucket: string): StorageBackend; message: RegExp };
  /** Backends behind a network endpoint: presigned URLs, and retries through a misbehaving proxy. */
  network?: {
    port(): number;
    presigned: RegExp;
    /** The server answers a presigned download with the uploaded content type. */
    servesContentType: boolean;
    stall: { size: number; afterBytes: number; partSize: number };
  };
  /** Backend-specific checks after the multipart upload. */
  afterMultipart?(ctx: { bucket: string; key: string; file: string; location: string }): Promise<void>;
  /** Backend-specific checks of a presigned URL after the shared ones. */
  afterPresign?(url: string, ctx: { bucket: string; key: string }): Promise<void>;
}

export function describeBackendConformance(name: string, subject: BackendSubject): void {
  describe(`${name}: storage backend contract`, () => {
    let dir: string;
    let bucket: string;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), `egress-${name}-test-`));
      bucket = await subject.createBucket();
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('a multipart upload reads back byte for byte at the location it reports', async () => {
      const file = path.join(dir, 'big.bin');
      const key = 'dir/big file.bin';
      await writeRandomFile(file, subject.multipart.size);
      const backend = subject.make(bucket, { tuning: { partSize: subject.multipart.partSize }, withMetadata: true });
      const location = await backend.upload(file, key, 'application/octet-stream');
      assert.equal(location, subject.location(bucket, key));
      assert.equal(sha256(await subject.readBack(bucket, key)), await sha256File(file));
      await subject.afterMultipart?.({ bucket, key, file, location });
    });

    test('verify accepts the bucket and refuses a missing one or wrong credentials, saying which', async () => {
      await subject.make(bucket).verify();
      const missing = subject.make(await subject.missing.bucket());
      await assert.rejects(missing.verify(), (err: unknown) => {
        assert.ok(err instanceof StorageBackendError);
        assert.match(err.message, subject.missing.message);
        return true;
      });
      const wrong = subject.wrongCredentials;
      if (!wrong) return;
      await assert.rejects(wrong.make(bucket).verify(), (err: unknown) => {
        assert.ok(err instanceof StorageBackendError);
        assert.match(err.message, wrong.message);
        return true;
      });
    });

    const network = subject.network;
    if (!network) return;

    test('a real MP4 survives the round trip through a presigned URL: downloaded and probed', async () => {
      const file = path.join(dir, 'clip.mp4');
      const key = 'media/clip.mp4';
      await writeTestMp4(file);
      const backend = subject.make(bucket, { forPresign: true });
      await backend.upload(file, key, 'video/mp4');
      const url = await backend.presign(key, 3600);
      assert.match(url, network.presigned);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      if (network.servesContentType) assert.equal(res.headers.get('content-type'), 'video/mp4');
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
      const probe = await probeMedia(url);
      assert.deepEqual(probe.streams.map((s) => s.codecName).sort(), ['aac', 'h264']);
      assert.ok(probe.durationMs > 1500, `duration ${probe.durationMs} ms`);
      await subject.afterPresign?.(url, { bucket, key });
    });

    test('an upload that stalls mid-body is retried and completes', async () => {
      const { size, afterBytes, partSize } = network.stall;
      const file = path.join(dir, 'stall.bin');
      await writeRandomFile(file, size);
      const proxy = await startStallProxy({ targetPort: network.port(), mode: 'stall', afterBytes });
      try {
        const backend = subject.make(bucket, { via: proxy.url, tuning: { partSize, requestTimeoutMs: 1500 } });
        await backend.upload(file, 'stalled.bin', 'application/octet-stream');
        assert.equal(proxy.triggered, 1, 'the proxy stalled one request');
        assert.equal(sha256(await subject.readBack(bucket, 'stalled.bin')), await sha256File(file));
      } finally {
        await proxy.close();
      }
    });

    test('a connection reset mid-body is retried and completes', async () => {
      const file = path.join(dir, 'drop.bin');
      await writeRandomFile(file, 2 * MiB);
      const proxy = await startStallProxy({ targetPort: network.port(), mode: 'drop', afterBytes: MiB });
      try {
        await subject.make(bucket, { via: proxy.url }).upload(file, 'dropped.bin', 'video/mp4');
        assert.equal(proxy.triggered, 1);
        assert.equal(sha256(await subject.readBack(bucket, 'dropped.bin')), await sha256File(file));
      } finally {
        await proxy.close();
      }
    });
  });
}
