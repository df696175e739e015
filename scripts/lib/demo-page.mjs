// A page worth recording for scripts/run: motion and a tone, served on loopback. Prints its URL.
import { startTestPage } from '../../packages/recorder/dist/testing/test-page.js';

const page = await startTestPage();
console.log(page.urlFor());
const stop = () => page.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
