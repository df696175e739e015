/** Exits with code 3 after ACTIVE the first time an egress runs; records normally when restarted. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('crash-once-after-active');
