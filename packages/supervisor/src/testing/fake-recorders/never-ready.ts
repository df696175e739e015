/** Never says it is ready, so the supervisor's ready timeout fires. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('never-ready');
