/** The fake recorder children, one entry file per way a child behaves; a test picks one by name. */
import { fileURLToPath } from 'node:url';

export const FAKE_RECORDER_MODES = [
  'complete',
  'never-ready',
  'crash-before-active',
  'crash-after-active',
  'crash-once-after-active',
  'hang-after-active',
  'garbage',
  'lose-process-once',
] as const;

export type FakeRecorderMode = (typeof FAKE_RECORDER_MODES)[number];

/** The entry file (compiled) of the fake recorder that behaves as `mode` says. */
export function fakeRecorder(mode: FakeRecorderMode): string {
  return fileURLToPath(new URL(`./${mode}.js`, import.meta.url));
}
