/**
 * psrpc's Redis message bus: plain PUBLISH/SUBSCRIBE of binary payloads, plus the SETNX lock that makes a
 * queue channel deliver each message to one process. One subscriber connection (buffer mode) and one
 * command connection are shared by every psrpc server and client in the process.
 */
import { createHash, randomInt } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { errors } from '../errors.js';
import type { BadInput } from './reporting.js';

/** Redis settings as livekit's `redis:` config block names them. */
export interface RedisConfig {
  /** `host:port` (`[v6addr]:port` for IPv6); the port defaults to 6379. */
  address: string;
  username?: string;
  password?: string;
  db?: number;
  useTls?: boolean;
}

/** Called with every message on a subscribed channel; may be async. */
export type BusHandler = (payload: Buffer, channel: string) => void | Promise<void>;

/** Receives failures the bus cannot throw to anyone: connection errors and handler exceptions. */
export type BusErrorReporter = (err: unknown, context: string) => void;

const DEFAULT_PORT = 6379;
// psrpc's lock lifetime: long enough that every process has seen the message before the key expires.
const LOCK_SECONDS = 5;
/** Largest payload decoded: EgressInfo and start requests are kilobytes; more is a hostile or broken publisher. */
export const MAX_BUS_PAYLOAD_BYTES = 1024 * 1024;
/** An oversized-payload flood is reported on its first drop and then once per this many. */
const OVERSIZED_REPORT_EVERY = 100;

/** Splits `host:port`, `[v6]:port` or a bare host into ioredis `host`/`port`. */
export function parseRedisAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(address.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw errors.invalidArgument('redis.address', address, 'expected host:port');
  }
  return { host, port };
}

/** Builds ioredis options from livekit-style Redis settings. */
export function redisOptions(config: RedisConfig): RedisOptions {
  return {
    ...parseRedisAddress(config.address),
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(config.db ? { db: config.db } : {}),
    ...(config.useTls ? { tls: {} } : {}),
  };
}

interface Subscription {
  handlers: Set<BusHandler>;
  /** Settles once Redis acknowledged the SUBSCRIBE. */
  ready: Promise<unknown>;
}

/** The process-wide Redis bus. Handlers are reference-counted per channel by identity. */
export class RedisBus {
  private readonly subscriber: Redis;
  private readonly commands: Redis;
  private readonly subscriptions = new Map<string, Subscription>();
  private closed = false;
  private oversized = 0;

  constructor(
    options: RedisOptions,
    private readonly report: BusErrorReporter = () => {},
    /** Receives payloads dropped unread (over {@link MAX_BUS_PAYLOAD_BYTES}): a sender's fault, not the bus's. */
    private readonly onBadInput: (input: BadInput) => void = () => {},
  ) {
    this.subscriber = new Redis(options);
    this.commands = new Redis(options);
    this.subscriber.on('error', (err: unknown) => this.report(err, 'redis subscriber connection'));
    this.commands.on('error', (err: unknown) => this.report(err, 'redis command connection'));
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.dispatch(channel, payload));
  }

  /** Adds `handler` to `channel`, sending SUBSCRIBE for the first one; resolves once Redis confirmed it. */
  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    this.assertOpen();
    let sub = this.subscriptions.get(channel);
    if (!sub) {
      sub = { handlers: new Set(), ready: this.subscriber.subscribe(channel) };
      this.subscriptions.set(channel, sub);
    }
    sub.handlers.add(handler);
    try {
      await sub.ready;
    } catch (err) {
      await this.unsubscribe(channel, handler).catch(() => {});
      throw err;
    }
  }

  /** Removes `handler` from `channel`, sending UNSUBSCRIBE when it was the last one. */
  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    const sub = this.subscriptions.get(channel);
    if (!sub?.handlers.delete(handler) || sub.handlers.size > 0) return;
    this.subscriptions.delete(channel);
    if (!this.closed) await this.subscriber.unsubscribe(channel);
  }

  /** PUBLISHes raw bytes to `channel`. */
  async publish(channel: string, payload: Uint8Array): Promise<void> {
    this.assertOpen();
    await this.commands.publish(channel, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  /**
   * psrpc's queue lock: `SET base64(sha256(payload)) <random> EX 5 NX`. True only for the one process that
   * set the key first; a Redis error counts as not acquired, as in psrpc.
   */
  async lock(payload: Uint8Array): Promise<boolean> {
    const key = createHash('sha256').update(payload).digest('base64');
    try {
      return (await this.commands.set(key, String(randomInt(2 ** 47)), 'EX', LOCK_SECONDS, 'NX')) === 'OK';
    } catch (err) {
      this.report(err, 'redis queue lock');
      return false;
    }
  }

  /** Round trip to Redis, bounded: start-up uses it to fail fast on a wrong address or password. */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.commands.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops every subscription and closes both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.clear();
    this.subscriber.disconnect();
    if (this.commands.status === 'ready') {
      await this.commands.quit().catch(() => this.commands.disconnect());
    } else {
      this.commands.disconnect();
    }
  }

  private dispatch(channelName: Buffer, payload: Buffer): void {
    const channel = channelName.toString();
    const sub = this.subscriptions.get(channel);
    if (!sub) return;
    if (payload.length > MAX_BUS_PAYLOAD_BYTES) {
      if (this.oversized++ % OVERSIZED_REPORT_EVERY === 0) {
        this.onBadInput({
          service: channel.split('|')[0] ?? '',
          channel,
          reason: `${payload.length} bytes, over the ${MAX_BUS_PAYLOAD_BYTES}-byte limit (${this.oversized} dropped so far)`,
        });
      }
      return;
    }
    for (const handler of [...sub.handlers]) {
      // A handler failure must neither reach the ioredis event loop nor stop the other handlers.
      try {
        Promise.resolve(handler(payload, channel)).catch((err: unknown) => this.report(err, `handler on ${channel}`));
      } catch (err) {
        this.report(err, `handler on ${channel}`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw errors.failedPrecondition('redis bus is closed');
  }
}
