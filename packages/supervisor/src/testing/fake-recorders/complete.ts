/** Records nothing but otherwise behaves: ready, ACTIVE, and COMPLETE when stopped. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('complete');
