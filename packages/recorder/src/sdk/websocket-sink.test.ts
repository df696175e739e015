import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
import { WebsocketSink } from './websocket-sink.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("the receiver's query values never reach the error or StreamInfo.url", async () => {
  const refused = new WebsocketSink({ url: `ws://127.0.0.1:${await closedPort()}/sink?auth=WS-SECRET`, log: () => {} });
  await assert.rejects(refused.open(), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /^websocket ws:\/\/127\.0\.0\.1:\d+\/sink\?auth=redacted: /);
    return true;
  });

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as { port: number };
  const sink = new WebsocketSink({ url: `ws://u:WS-PASS@127.0.0.1:${port}/sink?auth=WS-SECRET&id=7`, log: () => {} });
  try {
    await sink.open();
    const { url } = sink.result();
    assert.equal(url, `ws://redacted:redacted@127.0.0.1:${port}/sink?auth=redacted&id=redacted`);
  } finally {
    await sink.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
});
