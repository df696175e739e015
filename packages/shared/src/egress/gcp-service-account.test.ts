import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GCPUpload, StorageConfig as ProtoStorageConfig } from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { GCP_CANARY, refusedGcpCredentials, serviceAccountJson } from '../testing/gcp-credentials.js';
import { parseServiceAccountKey } from './gcp-service-account.js';
import { resolveOutputStorage } from './storage-request.js';

// Nothing listens there: parsing never connects, and a refused key is never handed to anything that would.
const variants = refusedGcpCredentials('http://127.0.0.1:9/token', '/proc/self/environ');

function resolve(credentials: string) {
  const provider = new ProtoStorageConfig({
    provider: { case: 'gcp', value: new GCPUpload({ bucket: 'b', credentials }) },
  }).provider;
  return resolveOutputStorage(
    { outputField: 'egress.outputs[0]', output: provider, outputUploadField: 'egress.outputs[0].storage' },
    { disallow_local_storage: false },
  );
}

for (const v of variants) {
  test(`a request's GCP credentials are refused at the boundary: ${v.name}`, () => {
    assert.throws(
      () => resolve(v.json),
      (err: unknown) => {
        assert.ok(err instanceof EgressError, String(err));
        assert.equal(err.code, 'invalid_argument');
        assert.ok(
          err.message.startsWith(`egress.outputs[0].storage.gcp.credentials${v.leaf}: `),
          `"${err.message}" should name the field`,
        );
        assert.doesNotMatch(err.message, new RegExp(GCP_CANARY));
        assert.doesNotMatch(err.message, /BEGIN PRIVATE KEY/);
        return true;
      },
    );
  });
}

test('a service-account key is accepted and only its email, key and project are kept (token_uri is not)', () => {
  const json = serviceAccountJson({ token_uri: 'http://127.0.0.1:9/token', universe_domain: 'example.test' });
  const key = parseServiceAccountKey(json, 'gcp.credentials');
  assert.deepEqual(Object.keys(key).sort(), ['client_email', 'private_key', 'project_id']);
  assert.equal(key.client_email, 'egress@egress-test.iam.gserviceaccount.com');
  assert.equal(resolve(json).gcp?.credentials_json, json);
});

test('the refused type is named when it is a plain identifier', () => {
  assert.throws(() => parseServiceAccountKey(variants[0]!.json, 'f'), /f\.type: .*\(got "external_account"\)/);
});
