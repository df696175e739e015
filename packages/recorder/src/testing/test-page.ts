/**
 * A test page for web recordings: a canvas animating at display rate (colour and position change every
 * frame, so an encoder sees real motion) and a 440 Hz WebAudio tone that starts without a user gesture.
 * Served from 127.0.0.1 on a random port; reused by end-to-end tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a page served by {@link startTestPage} does. */
export interface TestPageOptions {
  /** Print START_RECORDING to the console this many ms after load. */
  startSignalAfterMs?: number;
  /** Print END_RECORDING to the console this many ms after load. */
  endSignalAfterMs?: number;
  /** Render `<div class="error">` with this text instead of the animation. */
  error?: string;
  /** With `error`: animate as usual and add the `div.error` this many ms after load (a template failing late). */
  errorAfterMs?: number;
  /** Answer with this HTTP status (and a short body) instead of the page. */
  status?: number;
}

/** A running test page server. */
export interface TestPageServer {
  /** Base URL, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** URL of a page with the given behaviour. */
  urlFor(options?: TestPageOptions): string;
  close(): Promise<void>;
}

const PAGE = (opts: TestPageOptions): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>egress test page</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#000}canvas{display:block}</style>
</head><body>
${opts.error !== undefined && opts.errorAfterMs === undefined ? `<div class="error">${escapeHtml(opts.error)}</div>` : '<canvas id="c"></canvas>'}
<script>
const canvas = document.getElementById('c');
if (canvas) {
  const ctx = canvas.getContext('2d');
  // Kiosk applies after the first layout, so follow the window size.
  const fit = () => { canvas.width = innerWidth; canvas.height = innerHeight; };
  addEventListener('resize', fit); fit();
  let frame = 0;
  const draw = () => {
    frame++;
    ctx.fillStyle = 'hsl(' + (frame * 3) % 360 + ',80%,40%)';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#fff';
    const x = (frame * 8) % Math.max(1, canvas.width - 100);
    ctx.fillRect(x, canvas.height / 2 - 50, 100, 100);
    ctx.font = '48px monospace';
    ctx.fillText('frame ' + frame, 40, 80);
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  osc.frequency.value = 440;
  const gain = audio.createGain();
  gain.gain.value = 0.3;
  osc.connect(gain).connect(audio.destination);
  osc.start();
}
${opts.startSignalAfterMs !== undefined ? `setTimeout(() => console.log('START_RECORDING'), ${opts.startSignalAfterMs});` : ''}
${opts.endSignalAfterMs !== undefined ? `setTimeout(() => console.log('END_RECORDING'), ${opts.endSignalAfterMs});` : ''}
${
  opts.error !== undefined && opts.errorAfterMs !== undefined
    ? `setTimeout(() => { const d = document.createElement('div'); d.className = 'error';
  d.textContent = ${JSON.stringify(opts.error).replace(/</g, '\\u003c')}; document.body.appendChild(d); }, ${opts.errorAfterMs});`
    : ''
}
</script></body></html>`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  return v === null ? undefined : Number.parseInt(v, 10);
}

/** Starts the test page server on 127.0.0.1 with a random port. */
export async function startTestPage(): Promise<TestPageServer> {
  const server: Server = createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    const status = intParam(params, 'status');
    if (status !== undefined) {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
      return;
    }
    const opts: TestPageOptions = {};
    const start = intParam(params, 'start');
    const end = intParam(params, 'end');
    const error = params.get('error');
    const errorAfter = intParam(params, 'errorAfter');
    if (errorAfter !== undefined) opts.errorAfterMs = errorAfter;
    if (start !== undefined) opts.startSignalAfterMs = start;
    if (end !== undefined) opts.endSignalAfterMs = end;
    if (error !== null) opts.error = error;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE(opts));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    urlFor(options = {}) {
      const q = new URLSearchParams();
      if (options.startSignalAfterMs !== undefined) q.set('start', String(options.startSignalAfterMs));
      if (options.endSignalAfterMs !== undefined) q.set('end', String(options.endSignalAfterMs));
      if (options.error !== undefined) q.set('error', options.error);
      if (options.errorAfterMs !== undefined) q.set('errorAfter', String(options.errorAfterMs));
      if (options.status !== undefined) q.set('status', String(options.status));
      const qs = q.toString();
      return qs ? `${url}?${qs}` : url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Chromium keeps connections alive; drop them so close() returns promptly.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
