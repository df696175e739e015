/**
 * The fake recorder picked by FAKE_RECORDER_MODE in the recorder's environment (ActiveEgress tests); an unknown
 * mode exits at once instead of recording. Tests that choose the entry pick a file with fakeRecorder(mode).
 */
import { FAKE_RECORDER_MODES, type FakeRecorderMode } from './fake-recorders/index.js';

const mode = process.env.FAKE_RECORDER_MODE ?? 'complete';
if (!(FAKE_RECORDER_MODES as readonly string[]).includes(mode)) {
  process.stderr.write(
    `FAKE_RECORDER_MODE: unknown mode ${JSON.stringify(mode)} (one of ${FAKE_RECORDER_MODES.join(', ')})\n`,
  );
  process.exit(2);
}
await import(`./fake-recorders/${mode as FakeRecorderMode}.js`);
