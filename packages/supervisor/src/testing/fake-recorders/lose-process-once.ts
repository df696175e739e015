/** Ends FAILED (a lost Chromium) after ACTIVE the first time an egress runs; records normally when restarted. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('lose-process-once');
