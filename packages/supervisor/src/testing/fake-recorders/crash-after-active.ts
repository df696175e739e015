/** Exits with code 3 200 ms after reporting ACTIVE. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('crash-after-active');
