// Joins a room on the local livekit-server with @livekit/rtc-node, publishes a short tone and leaves, so that the
// server logs its ICE candidates ("participant active ... [local] ..."). Used by `scripts/test stack`.
//   node scripts/lib/ice-probe.mjs WS_URL API_KEY API_SECRET
// The packages are resolved from the workspace (packages/*, test/) or ICE_PROBE_FROM=<dir with node_modules>.
// Exit 0: joined and published; 3: @livekit/rtc-node or livekit-server-sdk not installed in the workspace.
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs = [
  ...(process.env.ICE_PROBE_FROM ? [process.env.ICE_PROBE_FROM] : []),
  ...readdirSync(path.join(repo, 'packages')).map((d) => path.join(repo, 'packages', d)),
  path.join(repo, 'test'),
];
async function load(name) {
  for (const dir of dirs) {
    try {
      return await import(pathToFileURL(createRequire(path.join(dir, 'package.json')).resolve(name)).href);
    } catch {
      // try the next workspace package
    }
  }
  return undefined;
}
const rtc = await load('@livekit/rtc-node');
const sdk = await load('livekit-server-sdk');
if (!rtc || !sdk) {
  console.log('ice-probe: @livekit/rtc-node or livekit-server-sdk is not installed in the workspace: skipped');
  process.exit(3);
}
const [url, key, secret] = process.argv.slice(2);
const at = new sdk.AccessToken(key, secret, { identity: 'ice-probe' });
at.addGrant({ roomJoin: true, room: 'ice-probe', canPublish: true, canSubscribe: true });
const room = new rtc.Room();
const timer = setTimeout(() => {
  console.log('ice-probe: timed out');
  process.exit(1);
}, 20_000);
await room.connect(url, await at.toJwt(), { autoSubscribe: false, dynacast: false });
const source = new rtc.AudioSource(48000, 1);
const track = rtc.LocalAudioTrack.createAudioTrack('tone', source);
const opts = new rtc.TrackPublishOptions();
opts.source = rtc.TrackSource.SOURCE_MICROPHONE;
await room.localParticipant.publishTrack(track, opts);
for (let i = 0; i < 50; i++) {
  const frame = rtc.AudioFrame.create(48000, 1, 480);
  for (let j = 0; j < 480; j++) frame.data[j] = Math.round(8000 * Math.sin((i * 480 + j) / 10));
  await source.captureFrame(frame);
}
await new Promise((r) => setTimeout(r, 500));
await room.disconnect();
await rtc.dispose();
clearTimeout(timer);
console.log('ice-probe: joined, published 0.5 s of audio, left');
