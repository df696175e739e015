/**
 * Test fixtures for recordings: plans with unique ids and scratch dirs, and a check that a recording
 * left nothing behind (processes, pulse sinks, scratch dirs).
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTAINER_CODEC,
  type EncodingPlan,
  type FileType,
  type RecordingPlan,
  type SessionLimitsPlan,
  type WebSourcePlan,
} from '@egress/shared';
import { listPids, readCmdline, readProcStat } from '@egress/shared/host/procfs';
import { nullSinkModules } from '@egress/shared/host/pulse';

/** The 720p30 encoding the media lab measured. */
export const ENCODING_720P30: EncodingPlan = {
  width: 1280,
  height: 720,
  depth: 24,
  framerate: 30,
  videoBitrate: 3000,
  videoProfile: 'high',
  keyFrameInterval: 0,
  audioCodec: 'aac',
  audioBitrate: 128,
  audioFrequency: 48000,
  x264Preset: 'veryfast',
};

/** What a test may change in a web plan. */
export interface WebPlanOverrides {
  source?: Partial<WebSourcePlan>;
  encoding?: Partial<EncodingPlan>;
  /** Directory the file is delivered to (default: a fresh dir under the OS tmp dir). */
  outputDir?: string;
  /** Container of the file (default mp4); OGG and MP3 switch the audio codec to match. */
  fileType?: FileType;
  limits?: SessionLimitsPlan;
}

/** A web recording plan with a unique egress id, scratch dir and destination. */
export function webPlan(url: string, overrides: WebPlanOverrides = {}): RecordingPlan {
  const egressId = `EG_test_${randomBytes(6).toString('hex')}`;
  const root = join(tmpdir(), 'egress-recorder-tests');
  const outputDir = overrides.outputDir ?? join(root, 'out', egressId);
  const fileType = overrides.fileType ?? 'mp4';
  return {
    egressId,
    source: { kind: 'web', url, audioOnly: false, videoOnly: false, awaitStartSignal: false, ...overrides.source },
    encoding: { ...ENCODING_720P30, audioCodec: CONTAINER_CODEC[fileType], ...overrides.encoding },
    outputs: {
      file: {
        fileType,
        filename: `nested/${egressId}.${fileType}`,
        destination: join(outputDir, 'nested', `${egressId}.${fileType}`),
        manifest: false,
      },
    },
    tmpDir: join(root, 'tmp', egressId),
    chrome: { executablePath: '/usr/bin/chromium', sandbox: false, insecure: false, extraFlags: {} },
    ...(overrides.limits ? { limits: overrides.limits } : {}),
  };
}

/** Processes the recorder starts, by the name the kernel knows them by (/proc/<pid>/comm). */
const MEDIA_COMMANDS = new Set(['Xvfb', 'gst-launch-1.0', 'chromium', 'ffmpeg', 'ffprobe']);

/** A process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Kernel name of the command (at most 15 characters). */
  comm: string;
  /** Arguments joined by spaces. */
  cmdline: string;
  zombie: boolean;
}

/** Every process on the machine. */
export function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    // The process went away while we looked.
    if (stat)
      found.push({ pid, ppid: stat.ppid, comm: stat.comm, cmdline: readCmdline(pid), zombie: stat.state === 'Z' });
  }
  return found;
}

/**
 * What a finished recording left behind: media processes that are children of this process, any live
 * process mentioning the plan's scratch dir (Chromium's helpers carry --user-data-dir), its pulse sink,
 * and the scratch dir itself. Empty means clean.
 */
export async function leftovers(plan: Pick<RecordingPlan, 'egressId' | 'tmpDir'>): Promise<string[]> {
  const found: string[] = [];
  for (const p of listProcesses()) {
    if (p.zombie) continue;
    const ourChild = p.ppid === process.pid && MEDIA_COMMANDS.has(p.comm);
    if (ourChild || p.cmdline.includes(plan.tmpDir))
      found.push(`process ${p.pid} ${p.comm}: ${p.cmdline.slice(0, 120)}`);
  }
  for (const index of await nullSinkModules(plan.egressId)) found.push(`pulse sink module ${index} (${plan.egressId})`);
  if (
    await access(plan.tmpDir).then(
      () => true,
      () => false,
    )
  )
    found.push(`scratch dir ${plan.tmpDir}`);
  return found;
}
