/**
 * Upload benchmark (not a test): one BENCH_UPLOAD_MB (default 1024) MB file through each backend on loopback
 * (S3 = versitygw, Azure = Azurite, GCS = fake-gcs-server, local disk), each in a fresh child process whose RSS
 * is sampled every 50 ms: throughput, and RSS growth from just before the upload to its peak (goal < 100 MB).
 * Needs the servers of scripts/lib/storage-servers.sh (`BENCH_ONLY=upload scripts/bench` starts them).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeliveryTarget } from '@egress/recorder/storage/delivery-target';
import {
  createAzureContainer,
  createGcsBucket,
  createS3Bucket,
  testAzureConfig,
  testBackendEnv,
  testGcpConfig,
  testS3Config,
  uniqueBucketName,
} from '@egress/recorder/testing/storage-servers';
import type { StorageConfig } from '@egress/shared';
import { rssBytes } from './proc-stats.js';

const MB = 1024 * 1024;
const BACKENDS = ['s3', 'azure', 'gcs', 'local'] as const;
type Backend = (typeof BACKENDS)[number];
const RSS_GOAL_MB = 100;

function storageFor(backend: Backend, name: string): StorageConfig {
  const base = { prefix: 'bench', generate_presigned_url: false };
  if (backend === 's3') return { ...base, s3: testS3Config(name) };
  if (backend === 'azure') return { ...base, azure: testAzureConfig(name) };
  if (backend === 'gcs') return { ...base, gcp: testGcpConfig(name) };
  return base;
}

/** Child: deliver the file once, report timing on stdout. RSS is read by the parent. */
async function child(backend: Backend, name: string, file: string, localRoot: string): Promise<void> {
  const target = DeliveryTarget.create(storageFor(backend, name), undefined, testBackendEnv(localRoot));
  await target.verify();
  // Let the runtime settle so the baseline is the idle uploader, not module loading.
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = process.hrtime.bigint();
  const r = await target.deliver(file, `upload-${backend}.bin`, 'application/octet-stream');
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${JSON.stringify({ seconds, size: r.size, location: r.location })}\n`);
}

interface Row {
  backend: Backend;
  mb: number;
  seconds: number;
  mbPerSec: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
}

async function runChild(backend: Backend, name: string, file: string, localRoot: string): Promise<Row> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--expose-gc', self, '--child', backend, name, file, localRoot], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let before = 0;
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!sampler && out.includes('ready\n')) {
      before = rssBytes(proc.pid!);
      peak = before;
      sampler = setInterval(() => (peak = Math.max(peak, rssBytes(proc.pid!))), 50);
    }
  });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${backend}: upload child exited with ${code}: ${out}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; size: number };
  const mb = result.size / MB;
  return {
    backend,
    mb,
    seconds: +result.seconds.toFixed(2),
    mbPerSec: +(mb / result.seconds).toFixed(1),
    rssBeforeMb: +(before / MB).toFixed(1),
    rssPeakMb: +(peak / MB).toFixed(1),
    rssGrowthMb: +((peak - before) / MB).toFixed(1),
  };
}

async function writeBigFile(file: string, bytes: number): Promise<void> {
  // Random 8 MiB blocks repeated: incompressible enough, without 1 GB of random generation.
  const block = randomBytes(8 * MB);
  const fh = await open(file, 'w');
  try {
    for (let done = 0; done < bytes; done += block.length) {
      await fh.write(block, 0, Math.min(block.length, bytes - done));
    }
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const sizeMb = Number(process.env['BENCH_UPLOAD_MB'] ?? 1024);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'egress-upload-bench-'));
  try {
    const file = path.join(dir, 'upload.bin');
    await writeBigFile(file, sizeMb * MB);
    const rows: Row[] = [];
    for (const backend of BACKENDS) {
      const name = uniqueBucketName('bench');
      if (backend === 's3') await createS3Bucket(name);
      if (backend === 'azure') await createAzureContainer(name);
      if (backend === 'gcs') await createGcsBucket(name);
      const row = await runChild(backend, name, file, path.join(dir, 'local-out'));
      process.stderr.write(`${backend}: ${JSON.stringify(row)}\n`);
      rows.push(row);
      await rm(path.join(dir, 'local-out'), { recursive: true, force: true });
    }
    process.stdout.write(`\nupload of ${sizeMb} MB on loopback (one child process per backend)\n`);
    process.stdout.write('backend   MB/s    seconds  RSS before  RSS peak  RSS growth (goal < 100 MB)\n');
    for (const r of rows) {
      process.stdout.write(
        `${r.backend.padEnd(8)} ${String(r.mbPerSec).padStart(6)} ${String(r.seconds).padStart(9)} ` +
          `${String(r.rssBeforeMb).padStart(9)}M ${String(r.rssPeakMb).padStart(8)}M ${String(r.rssGrowthMb).padStart(9)}M` +
          `${r.rssGrowthMb < RSS_GOAL_MB ? '' : '  OVER GOAL'}\n`,
      );
    }
    const result = { sizeMb, rssGoalMb: RSS_GOAL_MB, rows };
    process.stdout.write(`\n${JSON.stringify(result, null, 2)}\n`);
    if (rows.some((r) => r.rssGrowthMb >= RSS_GOAL_MB)) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , backend, name, file, localRoot] = process.argv;
  await child(backend as Backend, name!, file!, localRoot!);
} else {
  await main();
}
