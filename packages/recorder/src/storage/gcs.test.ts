// Against fake-gcs-server, which scripts/test starts on loopback. It does not check credentials or URL
// signatures, so here a presigned URL proves its form and the bytes it serves, not that GCS would accept it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JWT } from 'google-auth-library';
import { EgressError } from '@egress/shared';
import { GCP_CANARY, refusedGcpCredentials, serviceAccountJson } from '@egress/shared/testing/gcp-credentials';
import {
  createGcsBucket,
  readBack,
  sha256,
  sha256File,
  storageServers,
  testGcpConfig,
  uniqueBucketName,
  writeRandomFile,
} from '../testing/storage-servers.js';
import { describeBackendConformance } from './backend-conformance.js';
import { GcsBackend } from './gcs.js';

const MiB = 1024 * 1024;
const endpoint = () => storageServers().gcs.endpoint;

describeBackendConformance('gcs', {
  createBucket: async () => {
    const bucket = uniqueBucketName('gcs');
    await createGcsBucket(bucket);
    return bucket;
  },
  make: (bucket, { via, forPresign, tuning } = {}) =>
    new GcsBackend(testGcpConfig(bucket, forPresign ? { credentials_json: serviceAccountJson() } : {}), {
      apiEndpoint: via ?? endpoint(),
      ...tuning,
    }),
  readBack: (bucket, key) => readBack('gcs', bucket, key),
  location: (bucket, key) => `${endpoint()}/${bucket}/${encodeURI(key)}`,
  multipart: { partSize: 4 * MiB, size: 9 * MiB + 5 },
  missing: { bucket: async () => uniqueBucketName('missing'), message: /bucket does not exist/ },
  network: {
    port: () => Number(new URL(endpoint()).port),
    presigned: /X-Goog-Signature=[0-9a-f]+/,
    servesContentType: false,
    stall: { size: 6 * MiB, afterBytes: 2 * MiB, partSize: 4 * MiB },
  },
  afterMultipart: async ({ file, location }) => {
    const res = await fetch(location);
    assert.equal(res.status, 200, 'the location downloads');
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), await sha256File(file));
  },
  afterPresign: async (url, { bucket, key }) => {
    assert.ok(url.startsWith(`${endpoint()}/${bucket}/${key}?`), url);
  },
});

let dir: string;
let bucket: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'egress-gcs-test-'));
  bucket = uniqueBucketName('gcs');
  await createGcsBucket(bucket);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A loopback server standing in for a request-chosen token URL: it counts every connection it gets. */
async function startTokenTrap(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = createServer((_req, res) => res.writeHead(500).end());
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/token`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('credentials other than a service-account key never reach google-auth-library, nor open files or URLs', async () => {
  const trap = await startTokenTrap();
  const secretFile = path.join(dir, 'subject-token');
  await writeFile(secretFile, GCP_CANARY);
  try {
    for (const v of refusedGcpCredentials(trap.url, secretFile)) {
      assert.throws(
        () => new GcsBackend(testGcpConfig(bucket, { credentials_json: v.json }), { apiEndpoint: endpoint() }),
        (err: unknown) => {
          assert.ok(err instanceof EgressError, `${v.name}: ${String(err)}`);
          assert.equal(err.code, 'invalid_argument');
          assert.ok(err.message.startsWith(`gcp.credentials${v.leaf}: `), `${v.name}: ${err.message}`);
          assert.doesNotMatch(err.message, new RegExp(GCP_CANARY));
          return true;
        },
      );
    }
    assert.equal(trap.connections(), 0, 'the token URL named in the JSON got no connection');
  } finally {
    await trap.close();
  }
});

test('a service-account key with its own token_uri uploads with a JWT client that never calls that URL', async () => {
  const trap = await startTokenTrap();
  try {
    const json = serviceAccountJson({ token_uri: trap.url, universe_domain: 'example.test' });
    const backend = new GcsBackend(testGcpConfig(bucket, { credentials_json: json }), { apiEndpoint: endpoint() });
    await backend.verify();
    const file = path.join(dir, 'sa.bin');
    await writeRandomFile(file, 1000);
    await backend.upload(file, 'sa.bin', 'application/octet-stream');
    await backend.presign('sa.bin', 60);
    // Google's token endpoint is off limits here: a recording transporter (a stub, no network) shows where the
    // client would ask for a token.
    const auth = backend['bucket'].storage.authClient;
    // The raw JSON (with its token_uri) never reaches google-auth-library: only the two fields the JWT needs.
    assert.deepEqual(Object.keys(auth.jsonContent ?? {}).sort(), ['client_email', 'private_key']);
    const jwt = await auth.getClient();
    assert.ok(jwt instanceof JWT, 'the backend authenticates with a JWT client');
    const asked: string[] = [];
    jwt.transporter = {
      request: (opts: { url?: string }) => {
        asked.push(String(opts.url));
        return Promise.reject(new Error('no network in this test'));
      },
    } as unknown as typeof jwt.transporter;
    await assert.rejects(jwt.getAccessToken(), /no network in this test/);
    assert.equal(asked.length, 1);
    assert.match(asked[0]!, /^https:\/\/[a-z0-9.]*googleapis\.com\//, 'the token comes from Google');
    assert.equal(jwt.universeDomain, 'googleapis.com');
    assert.equal(trap.connections(), 0, 'the token_uri of the JSON got no connection');
  } finally {
    await trap.close();
  }
});
