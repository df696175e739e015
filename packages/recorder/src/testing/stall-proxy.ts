/**
 * A loopback TCP proxy that misbehaves once mid-upload: after `afterBytes` bytes of a request body have gone
 * upstream on one connection, it either stops forwarding and answering (stall) or resets both sides (drop).
 * Every later connection passes through untouched, so a client that retries succeeds.
 */
import net from 'node:net';

export interface StallProxyOptions {
  /** Upstream port on 127.0.0.1. */
  targetPort: number;
  mode: 'stall' | 'drop';
  /** Client-to-server bytes on one connection before it misbehaves. */
  afterBytes: number;
  /** How many connections misbehave. Default 1. */
  times?: number;
}

export interface StallProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Connections that stalled or were dropped so far. */
  readonly triggered: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startStallProxy(o: StallProxyOptions): Promise<StallProxy> {
  const sockets = new Set<net.Socket>();
  let triggered = 0;
  let connections = 0;
  const times = o.times ?? 1;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    connections++;
    track(client);
    const upstream = net.connect(o.targetPort, '127.0.0.1');
    track(upstream);
    let sent = 0;
    let broken = false;
    client.on('data', (chunk: Buffer) => {
      if (broken) return; // stalled: swallow everything
      if (triggered < times && sent + chunk.length > o.afterBytes) {
        triggered++;
        broken = true;
        upstream.write(chunk.subarray(0, Math.max(0, o.afterBytes - sent)));
        if (o.mode === 'drop') {
          client.resetAndDestroy();
          upstream.destroy();
        }
        return;
      }
      sent += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!broken) client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => {
      if (!broken) client.end();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!broken) client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get triggered() {
      return triggered;
    },
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
