// Against Azurite, which scripts/test starts on loopback.
import assert from 'node:assert/strict';
import {
  createAzureContainer,
  readBack,
  storageServers,
  testAzureConfig,
  uniqueBucketName,
} from '../testing/storage-servers.js';
import { describeBackendConformance } from './backend-conformance.js';
import { AzureBackend } from './azure.js';

const MiB = 1024 * 1024;
const serviceUrl = () => storageServers().azure.serviceUrlTemplate;

describeBackendConformance('azure', {
  createBucket: async () => {
    const container = uniqueBucketName('az');
    await createAzureContainer(container);
    return container;
  },
  make: (container, { via, tuning } = {}) =>
    new AzureBackend(testAzureConfig(container), { serviceUrl: via ? `${via}/{account}` : serviceUrl(), ...tuning }),
  readBack: (container, key) => readBack('azure', container, key),
  location: (container, key) => `${storageServers().azure.endpoint}/${container}/${encodeURI(key)}`,
  multipart: { partSize: 4 * MiB, size: 9 * MiB + 7 },
  missing: { bucket: async () => uniqueBucketName('missing'), message: /container does not exist/ },
  wrongCredentials: {
    make: (container) =>
      new AzureBackend(testAzureConfig(container, { account_key: Buffer.from('wrong').toString('base64') }), {
        serviceUrl: serviceUrl(),
      }),
    message: /authentication failed/,
  },
  network: {
    port: () => Number(new URL(storageServers().azure.endpoint).port),
    presigned: /[?&]sig=/,
    servesContentType: true,
    stall: { size: 6 * MiB, afterBytes: 2 * MiB, partSize: 4 * MiB },
  },
  afterPresign: async (url) => {
    // Without the SAS the blob is private; with a tampered signature it is refused.
    assert.equal((await fetch(url.split('?')[0]!)).status >= 400, true);
    const tampered = url.replace(/sig=([A-Za-z0-9%]{4})/, 'sig=AAAA');
    assert.equal((await fetch(tampered)).status, 403);
  },
});
