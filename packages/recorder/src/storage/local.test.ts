// Against a directory on this machine.
import { after } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeBackendConformance } from './backend-conformance.js';
import { LocalBackend } from './local.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'egress-local-backend-'));
after(() => rm(root, { recursive: true, force: true }));

describeBackendConformance('local', {
  createBucket: () => mkdtemp(path.join(root, 'dir-')),
  make: (dir) => new LocalBackend(dir),
  readBack: (dir, key) => readFile(path.join(dir, key)),
  location: (dir, key) => path.join(dir, key),
  multipart: { partSize: 4 * 1024 * 1024, size: 9 * 1024 * 1024 + 3 },
  missing: {
    // Under a regular file no directory can be made.
    bucket: async () => {
      const file = path.join(root, 'a-file');
      await writeFile(file, '');
      return path.join(file, 'out');
    },
    message: /is not a directory/,
  },
});
