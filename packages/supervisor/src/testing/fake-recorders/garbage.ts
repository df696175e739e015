/** Sends a malformed message after ACTIVE, then behaves. */
import { runFakeRecorder } from './behaviour.js';

runFakeRecorder('garbage');
