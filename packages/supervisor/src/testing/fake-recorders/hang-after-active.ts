/** Stops answering heartbeats and metrics once ACTIVE. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('hang-after-active');
