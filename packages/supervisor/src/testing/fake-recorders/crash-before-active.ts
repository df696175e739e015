/** Exits with code 3 as soon as it is told to start, before ACTIVE. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('crash-before-active');
