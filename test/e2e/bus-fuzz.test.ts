/**
 * Bad input on the bus: malformed envelopes, undecodable payloads, unknown request types, expired requests and
 * duplicate egress ids are answered with the right psrpc code or dropped as psrpc does, never a crash or a leak.
 * A seeded fuzz run throws random and mutated payloads at every channel the service listens on; afterwards the
 * service still records a normal egress and its live memory (after a full GC) is flat. Replay a run with FUZZ_SEED=<seed printed below>.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { EgressStatus, EncodedFileOutput } from 'livekit-server-sdk';
import { startTestPage, type TestPageServer } from '@egress/recorder/testing/test-page';
import {
  ClaimRequest,
  ClaimResponse,
  decodeEnvelope,
  encodeEnvelope,
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcRequest,
  PsrpcResponse,
  RpcStartEgressRequest,
} from '@egress/shared/psrpc/index';
import { attachHeapProbe, type HeapProbe, INSPECT_ENV } from './fixtures/heap-probe.js';
import { leftoversAfter } from './fixtures/leftovers.js';
import { probe } from './fixtures/media.js';
import {
  egressClient,
  type RunningService,
  stackEnv,
  startService,
  TERMINAL,
  waitForStatus,
} from './fixtures/stack.js';
import { sleep } from '@egress/shared/testing/wait';

const START = { req: 'EgressInternal|StartEgress|REQ', rclaim: 'EgressInternal|StartEgress|RCLAIM' };
const LIST = { req: 'EgressInternal|ListActiveEgress|REQ', rclaim: '' };

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(0, 2 ** 32);
/** Brings lazily compiled code and the service's bounded caches to their working size before the first measure. */
const WARMUP_COUNT = 1500;
const FUZZ_COUNT = 3000;
const FUZZ_CAP_MS = 20_000;
const STOP_FUZZ_COUNT = 300;
/**
 * Huge string fields in the fuzz: 16-48 KiB each (normal psrpc messages are under 1 KiB). Larger ones are sent
 * once per channel by the 1 MiB test, not in the measured runs, so the measured bytes are many mid-size messages.
 */
const HUGE_FIELD_BYTES: [number, number] = [16 * 1024, 48 * 1024];
/**
 * Allowed growth of the service's live memory (V8 heap plus Buffers, after a full GC) from the end of the
 * warm-up to the end of the fuzz. The fuzz publishes more than four times this (asserted), so a service that kept
 * a quarter of what it was sent (payloads, decoded messages, or claims and timers holding them) fails. RSS is
 * printed but not bounded: it swung by 30+ MB between runs with glibc keeping freed pages, whatever the service kept.
 */
const LIVE_GROWTH_LIMIT = 8 * 2 ** 20;

// ---- a seeded PRNG (mulberry32) ----------------------------------------------------------------------------

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  id(prefix: string, n = 12): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let s = prefix;
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  /**
   * A string of about `size` bytes in V8 (one byte per char for ASCII, two otherwise): plain ASCII, or a mix with
   * `|`, spaces, NULs, multi-byte and astral characters (for channel escaping and UTF-8 decoding).
   */
  hugeString(size: number): string {
    if (this.chance(0.5)) return this.pick(['x', 'A', '9', '_']).repeat(size);
    const unit = this.pick(['a|b c', 'é€', '\u{1F600}z', 'u+002d|', '\0\n']);
    return unit.repeat(Math.ceil(size / 2 / unit.length));
  }
}

// ---- hand-made protobuf bits (for envelopes the project's types would refuse to build) ----------------------

const utf8 = (s: string) => new TextEncoder().encode(s);

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lenField(no: number, bytes: Uint8Array): Uint8Array {
  const head = [...varint((no << 3) | 2), ...varint(bytes.length)];
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head, 0);
  out.set(bytes, head.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `google.protobuf.Any{type_url, value}`, i.e. psrpc's Msg, with any type URL. */
function anyEnvelope(typeUrl: string, value: Uint8Array): Uint8Array {
  return concat(lenField(1, utf8(typeUrl)), lenField(2, value));
}

/** Bytes no protobuf schema decodes: a field whose length runs past the end, or a wire type that does not exist. */
function garbageRaw(rng: Rng): Uint8Array {
  const field = rng.range(1, 2000);
  if (rng.chance(0.3)) return concat(new Uint8Array(varint((field << 3) | rng.pick([6, 7]))), rng.bytes(rng.int(64)));
  const body = rng.bytes(rng.int(256));
  return concat(new Uint8Array([...varint((field << 3) | 2), ...varint(body.length + rng.range(1, 1000))]), body);
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const msFromNowNs = (ms: number) => BigInt(Date.now() + ms) * 1_000_000n;

// ---- what the service sends back to our client id --------------------------------------------------------

interface Received {
  service: string;
  response: PsrpcResponse;
}

/** Our side of psrpc: subscribes `<Service>|<our id>|RES` and `|CLAIM` in buffer mode and records everything. */
class Inbox {
  readonly responses = new Map<string, Received[]>();
  readonly bids = new Map<string, ClaimRequest[]>();
  /** Payloads from the service we could not decode: the service must never publish garbage. */
  readonly undecodable: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly sub: Redis,
    readonly clientId: string,
  ) {
    sub.on('messageBuffer', (channelBuf: Buffer, payload: Buffer) => {
      const channel = channelBuf.toString();
      const [service, , suffix] = channel.split('|');
      try {
        if (suffix === 'RES') {
          const response = decodeEnvelope(payload, PsrpcResponse);
          const list = this.responses.get(response.requestId) ?? [];
          list.push({ service: service ?? '', response });
          this.responses.set(response.requestId, list);
        } else if (suffix === 'CLAIM') {
          const bid = decodeEnvelope(payload, ClaimRequest);
          const list = this.bids.get(bid.requestId) ?? [];
          list.push(bid);
          this.bids.set(bid.requestId, list);
        }
      } catch (err) {
        this.undecodable.push(`${channel}: ${String(err)}`);
      }
      for (const w of [...this.waiters]) w();
    });
  }

  async listen(): Promise<void> {
    const channels = ['EgressInternal', 'EgressHandler'].flatMap((s) => [
      `${s}|${this.clientId}|RES`,
      `${s}|${this.clientId}|CLAIM`,
    ]);
    await this.sub.subscribe(...channels);
  }

  /** Resolves true once `cond()` holds, false after `timeoutMs`. */
  waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (cond()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
    });
  }
}

// ---- the fuzz payload generator ---------------------------------------------------------------------------

type TargetKind = 'start' | 'list' | 'stop' | 'rclaim' | 'io-res' | 'io-claim';

interface Target {
  kind: TargetKind;
  channel: string;
}

interface Expectations {
  /** Requests with an undecodable raw_request: each must get `malformed_request` from this service. */
  malformed: Map<string, string>;
  /** Expired requests: no bid, no answer. */
  silent: Set<string>;
  /** StartEgress with no (or an unknown) request oneof: one bid, and no answer since we never pick the server. */
  bidOnly: Set<string>;
}

const KINDS = [
  'random',
  'truncated',
  'bitflip',
  'wrong-type',
  'huge',
  'valid',
  'duplicate',
  'garbage-raw',
  'expired',
  'no-request',
] as const;
type PayloadKind = (typeof KINDS)[number];

const WEIGHTS: Record<PayloadKind, number> = {
  random: 25,
  truncated: 14,
  bitflip: 20,
  'wrong-type': 10,
  huge: 30,
  valid: 4,
  duplicate: 4,
  'garbage-raw': 10,
  expired: 7,
  'no-request': 6,
};

const isRequestTarget = (k: TargetKind) => k === 'start' || k === 'list' || k === 'stop';

class Fuzzer {
  readonly counts = new Map<string, number>();
  bytesSent = 0;
  private last: { channel: string; payload: Uint8Array } | undefined;
  private seq = 0;

  constructor(
    private readonly rng: Rng,
    private readonly clientId: string,
    private readonly expect: Expectations,
  ) {}

  /** Size range of huge string fields, in bytes. */
  hugeBytes: [number, number] = HUGE_FIELD_BYTES;

  private huge(): string {
    return this.rng.hugeString(this.rng.range(...this.hugeBytes));
  }

  private reqId(): string {
    return `REQ_fz${(this.seq++).toString(36)}_${this.rng.id('', 6)}`;
  }

  private validRaw(kind: TargetKind, huge = false): Uint8Array {
    const rng = this.rng;
    if (kind === 'start') {
      return new RpcStartEgressRequest({
        egressId: huge ? this.huge() : rng.id('EG_fz'),
        roomName: huge && rng.chance(0.5) ? this.huge() : '',
        // Never run: the fuzz never picks the service in a claim decision.
        request: {
          case: 'web',
          value: {
            url: huge ? `http://127.0.0.1:9/${this.huge()}` : 'http://127.0.0.1:9/fuzz',
            fileOutputs: [{ filepath: 'fuzz.mp4' }],
          },
        },
      }).toBinary();
    }
    if (kind === 'list') return new ListActiveEgressRequest().toBinary();
    // livekit.StopEgressRequest{1 egress_id}
    return lenField(1, utf8(huge ? this.huge() : rng.id('EG_fz')));
  }

  /** A well-formed envelope of the type `target` expects; expiries are short so bids never pile up. */
  private valid(target: Target, huge = false): Uint8Array {
    const rng = this.rng;
    const big = () => (huge && rng.chance(0.5) ? this.huge() : undefined);
    switch (target.kind) {
      case 'start':
      case 'list':
      case 'stop':
        return encodeEnvelope(
          new PsrpcRequest({
            requestId: big() ?? this.reqId(),
            clientId: huge && rng.chance(0.3) ? this.huge() : this.clientId,
            sentAt: nowNs(),
            expiry: msFromNowNs(rng.range(100, 1000)),
            multi: target.kind === 'list',
            metadata: huge ? { traceparent: this.huge() } : { traceparent: '00-fuzz-01' },
            rawRequest: this.validRaw(target.kind, huge && rng.chance(0.5)),
          }),
        );
      case 'rclaim':
        return encodeEnvelope(
          new ClaimResponse({ requestId: big() ?? rng.id('REQ_'), serverId: big() ?? rng.id('SRV_') }),
        );
      case 'io-res':
        return encodeEnvelope(
          new PsrpcResponse({
            requestId: big() ?? rng.id('REQ_'),
            serverId: rng.id('SRV_'),
            sentAt: nowNs(),
            ...(rng.chance(0.5)
              ? { error: big() ?? 'fuzz', code: rng.pick(['internal', 'unavailable', 'bogus', '']) }
              : {}),
            rawResponse: huge ? utf8(this.huge()) : rng.bytes(rng.int(64)),
          }),
        );
      case 'io-claim':
        return encodeEnvelope(
          new ClaimRequest({
            requestId: big() ?? rng.id('REQ_'),
            serverId: big() ?? rng.id('SRV_'),
            affinity: rng.pick([1, 0.5, 0, -1, Number.NaN, Infinity, 3.4e38]),
          }),
        );
    }
  }

  /** A valid envelope of some other psrpc type, or a type URL psrpc does not know. */
  private wrongType(target: Target): Uint8Array {
    const rng = this.rng;
    const others: TargetKind[] = ['start', 'rclaim', 'io-res', 'io-claim'];
    const otherKind = rng.pick(
      others.filter((k) => (isRequestTarget(target.kind) ? k !== 'start' : k !== target.kind)),
    );
    if (rng.chance(0.5)) return this.valid({ kind: otherKind, channel: target.channel });
    const url = rng.pick([
      'type.googleapis.com/internal.Bogus',
      'type.googleapis.com/rpc.StartEgressRequest',
      'type.googleapis.com/internal.Stream',
      'internal.Request',
      '',
      `type.googleapis.com/${rng.id('', 40)}`,
    ]);
    return anyEnvelope(url, isRequestTarget(target.kind) ? this.validRaw(target.kind) : rng.bytes(rng.int(128)));
  }

  build(target: Target, kind: PayloadKind): Uint8Array {
    const rng = this.rng;
    switch (kind) {
      case 'random':
        return rng.bytes(rng.int(4097));
      case 'truncated': {
        const v = this.valid(target);
        return v.subarray(0, rng.int(v.length));
      }
      case 'bitflip': {
        const v = this.valid(target).slice();
        for (let i = rng.range(1, 8); i > 0; i--) {
          const at = rng.int(v.length);
          v[at] = (v[at] ?? 0) ^ (1 << rng.int(8));
        }
        return v;
      }
      case 'wrong-type':
        return this.wrongType(target);
      case 'huge':
        return this.valid(target, true);
      case 'valid':
        return this.valid(target);
      case 'duplicate':
        throw new Error('handled by next()');
      case 'garbage-raw':
      case 'expired':
      case 'no-request': {
        const requestId = this.reqId();
        let rawRequest: Uint8Array;
        // Long enough to outlast any lag of the service behind the fuzz.
        let expiry = msFromNowNs(kind === 'garbage-raw' ? 10_000 : 3000);
        if (kind === 'garbage-raw') {
          rawRequest = garbageRaw(rng);
          this.expect.malformed.set(requestId, target.kind === 'stop' ? 'EgressHandler' : 'EgressInternal');
        } else if (kind === 'expired') {
          rawRequest = this.validRaw(target.kind);
          expiry = rng.pick([0n, -1n, nowNs() - BigInt(rng.range(1, 86_400_000)) * 1_000_000n, nowNs()]);
          this.expect.silent.add(requestId);
        } else {
          const known = new RpcStartEgressRequest({ egressId: rng.id('EG_fz') }).toBinary();
          // A oneof member this schema does not have (field 19), or no request at all.
          rawRequest = rng.chance(0.5) ? concat(known, lenField(19, rng.bytes(rng.int(32)))) : known;
          this.expect.bidOnly.add(requestId);
        }
        return encodeEnvelope(
          new PsrpcRequest({
            requestId,
            clientId: this.clientId,
            sentAt: nowNs(),
            expiry,
            multi: target.kind === 'list',
            rawRequest,
          }),
        );
      }
    }
  }

  private pickKind(target: Target): PayloadKind {
    const allowed = KINDS.filter((k) => {
      if (k === 'garbage-raw' || k === 'expired') return isRequestTarget(target.kind);
      if (k === 'no-request') return target.kind === 'start';
      if (k === 'duplicate') return this.last !== undefined;
      return true;
    });
    let roll = this.rng.next() * allowed.reduce((n, k) => n + WEIGHTS[k], 0);
    for (const k of allowed) {
      roll -= WEIGHTS[k];
      if (roll < 0) return k;
    }
    return 'random';
  }

  next(targets: readonly Target[]): { channel: string; payload: Uint8Array } {
    const target = this.rng.pick(targets);
    const kind = this.pickKind(target);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    // A verbatim resend of the previous message (a duplicated delivery, a replayed request id).
    const msg =
      kind === 'duplicate' && this.last ? this.last : { channel: target.channel, payload: this.build(target, kind) };
    this.last = msg;
    this.bytesSent += msg.payload.length;
    return msg;
  }
}

// ---- the tests ---------------------------------------------------------------------------------------------

describe('bad input on the bus', () => {
  let svc: RunningService;
  let heap: HeapProbe;
  let page: TestPageServer;
  let pub: Redis;
  let sub: Redis;
  let inbox: Inbox;
  let serviceChannels: string[];
  /** Every psrpc channel on Redis (livekit-server's too) once the service is up. */
  let channelsAtStart: string[];
  let targets: Target[];
  const client = egressClient();
  const clientId = `CLI_fuzz${SEED.toString(36)}`;
  const rng = new Rng(SEED);
  const expect: Expectations = { malformed: new Map(), silent: new Set(), bidOnly: new Set() };
  const fuzzer = new Fuzzer(rng, clientId, expect);
  const alive = () => svc.proc.exitCode === null && svc.proc.signalCode === null;

  const busChannels = async (): Promise<string[]> =>
    ((await pub.pubsub('CHANNELS', '*')) as string[])
      .filter((c) => /^(EgressInternal|EgressHandler|IOInfo)\|/.test(c) && !c.includes(clientId))
      .sort();

  /** Service log lines since `from` that must never appear: errors, psrpc/bus failures, anything unhandled. */
  const problemLines = (from: number): string[] =>
    svc.logs.slice(from).filter((line) => {
      if (/unhandled|uncaught/i.test(line)) return true;
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        return entry.level === 'error' || /^(psrpc error|redis bus error)$/.test(entry.msg ?? '');
      } catch {
        return false;
      }
    });

  let barriers = 0;
  let maxBarrierMs = 0;
  /**
   * Waits until the service has caught up: a malformed multi request is answered right after everything
   * published before it was decoded. Keeps its Redis output buffer (pubsub hard limit 32 MB) far from full.
   */
  const barrier = async () => {
    const requestId = `REQ_barrier${(barriers++).toString(36)}`;
    const t0 = Date.now();
    const request = new PsrpcRequest({
      requestId,
      clientId,
      sentAt: nowNs(),
      expiry: msFromNowNs(30_000),
      multi: true,
      rawRequest: new Uint8Array([0x0a, 0x10, 0x41]),
    });
    await pub.publish(LIST.req, Buffer.from(encodeEnvelope(request)));
    const answered = await inbox.waitFor(() => inbox.responses.has(requestId), 15_000);
    assert.ok(answered && alive(), `the service stopped answering (seed ${SEED})`);
    maxBarrierMs = Math.max(maxBarrierMs, Date.now() - t0);
  };

  /** Publishes `count` fuzz messages (bounded by `capMs`), checking the service is alive as it goes. */
  const blast = async (count: number, capMs: number, to: readonly Target[]) => {
    const start = Date.now();
    let sent = 0;
    while (sent < count && Date.now() - start < capMs) {
      const { channel, payload } = fuzzer.next(to);
      await pub.publish(channel, Buffer.from(payload));
      sent++;
      // Small pauses, so the service (not Redis, not this loop) sets the pace; after a big one, wait for it.
      if (payload.length > 64 * 1024 || sent % 100 === 0) await barrier();
      else if (sent % 4 === 0) await sleep(1);
      if (sent % 50 === 0) assert.ok(alive(), `service died after ${sent} fuzz messages (seed ${SEED})`);
    }
    return { sent, ms: Date.now() - start };
  };

  /**
   * A psrpc call as livekit-server makes it, with our own envelope bytes: publish the Request, pick the first
   * bidder, collect the Response. Waits `waitMs` for a bid or an answer.
   */
  const call = async (
    channel: { req: string; rclaim: string },
    rawRequest: Uint8Array,
    opts: { multi?: boolean; expiryMs?: number; waitMs?: number } = {},
  ) => {
    const requestId = rng.id('REQ_call');
    await pub.publish(
      channel.req,
      Buffer.from(
        encodeEnvelope(
          new PsrpcRequest({
            requestId,
            clientId,
            sentAt: nowNs(),
            expiry: msFromNowNs(opts.expiryMs ?? 5000),
            multi: opts.multi ?? false,
            rawRequest,
          }),
        ),
      ),
    );
    await inbox.waitFor(() => inbox.bids.has(requestId) || inbox.responses.has(requestId), opts.waitMs ?? 1500);
    const bid = inbox.bids.get(requestId)?.[0];
    if (bid) {
      await pub.publish(
        channel.rclaim,
        Buffer.from(encodeEnvelope(new ClaimResponse({ requestId, serverId: bid.serverId }))),
      );
      await inbox.waitFor(() => inbox.responses.has(requestId), 5000);
    }
    return { requestId, bids: inbox.bids.get(requestId) ?? [], responses: inbox.responses.get(requestId) ?? [] };
  };

  before(async () => {
    const { host, port } = (() => {
      const [h, p] = stackEnv().redis.split(':');
      return { host: h ?? '127.0.0.1', port: Number(p ?? 6379) };
    })();
    pub = new Redis({ host, port });
    sub = new Redis({ host, port });
    inbox = new Inbox(sub, clientId);
    await inbox.listen();
    page = await startTestPage();
    const beforeChannels = new Set(await busChannels());
    // Half a CPU per web egress, so the duplicate-id check is bid on while the real egress runs.
    svc = await startService('cpu_cost: { web_cpu_cost: 0.5 }', { env: INSPECT_ENV });
    heap = await attachHeapProbe(svc);
    channelsAtStart = await busChannels();
    serviceChannels = channelsAtStart.filter((c) => !beforeChannels.has(c));
    const ioRes = serviceChannels.filter((c) => /^IOInfo\|CLI_[A-Za-z0-9]+\|RES$/.test(c));
    assert.equal(ioRes.length, 1, `one IOInfo client of the service: ${serviceChannels.join(', ')}`);
    const ioClient = ioRes[0]!.split('|')[1]!;
    assert.deepEqual(
      serviceChannels,
      [
        'EgressInternal|ListActiveEgress|REQ',
        'EgressInternal|StartEgress|RCLAIM',
        'EgressInternal|StartEgress|REQ',
        `IOInfo|${ioClient}|CLAIM`,
        `IOInfo|${ioClient}|RES`,
      ].sort(),
    );
    const numsub = (await pub.pubsub('NUMSUB', START.req)) as [string, number];
    assert.equal(Number(numsub[1]), 1, 'only this service serves StartEgress on this Redis');
    targets = [
      { kind: 'start', channel: START.req },
      { kind: 'rclaim', channel: START.rclaim },
      { kind: 'list', channel: LIST.req },
      { kind: 'io-res', channel: `IOInfo|${ioClient}|RES` },
      { kind: 'io-claim', channel: `IOInfo|${ioClient}|CLAIM` },
    ];
  });

  after(async () => {
    // Detached first: Node waits at exit for an attached debugger to disconnect.
    await heap?.close();
    const stopAt = Date.now();
    const code = await svc?.stop('SIGTERM');
    const stopMs = Date.now() - stopAt;
    await page?.close();
    await Promise.all([pub?.quit(), sub?.quit()]);
    assert.equal(code, 0, 'the service exits 0 on SIGTERM');
    // A bid or timer left pending by the fuzz would hold shutdown; 60 s is the longest claim wait.
    assert.ok(stopMs < 10_000, `SIGTERM to exit took ${stopMs} ms`);
    assert.deepEqual(await leftoversAfter(3000), []);
  });

  test('psrpc answers: malformed_request, expired, wrong type, no request type, duplicate delivery', async () => {
    // Garbage raw_request: answered at once with malformed_request, before any claim (StartEgress and multi).
    const garbage = new Uint8Array([0x0a, 0x10, 0x41]); // field 1, 16 bytes long, 1 byte present
    assert.throws(() => RpcStartEgressRequest.fromBinary(garbage));
    for (const ch of [START, LIST]) {
      const r = await call(ch, garbage, { multi: ch === LIST });
      assert.equal(r.bids.length, 0, `${ch.req}: no bid on a malformed request`);
      assert.equal(r.responses.length, 1, `${ch.req}: one response`);
      assert.equal(r.responses[0]!.service, 'EgressInternal');
      assert.equal(r.responses[0]!.response.code, 'malformed_request', r.responses[0]!.response.error);
    }

    // A healthy multi call still works (and there is nothing active).
    const listed = await call(LIST, new ListActiveEgressRequest().toBinary(), { multi: true });
    assert.equal(listed.responses.length, 1);
    assert.deepEqual(ListActiveEgressResponse.fromBinary(listed.responses[0]!.response.rawResponse).egressIds, []);

    // Expired: dropped without a bid or an answer.
    const valid = new RpcStartEgressRequest({
      egressId: 'EG_fuzz_expired',
      request: { case: 'web', value: { url: 'http://127.0.0.1:9/', fileOutputs: [{ filepath: 'x.mp4' }] } },
    }).toBinary();
    for (const ch of [START, LIST]) {
      const raw = ch === START ? valid : new Uint8Array();
      const r = await call(ch, raw, { expiryMs: -1, multi: ch === LIST, waitMs: 1000 });
      assert.equal(r.bids.length, 0, `${ch.req}: no bid on an expired request`);
      assert.equal(r.responses.length, 0, `${ch.req}: no response within 1 s`);
    }

    // Wrong type URL: dropped (and logged), as psrpc drops what it cannot unmarshal.
    const wrongId = 'REQ_fuzzwrongtype';
    const asBogus = anyEnvelope(
      'type.googleapis.com/internal.Bogus',
      new PsrpcRequest({ requestId: wrongId, clientId, expiry: msFromNowNs(5000), rawRequest: valid }).toBinary(),
    );
    await pub.publish(START.req, Buffer.from(asBogus));
    await svc.waitForLog(/dropped bad message from the bus.*internal\.Bogus/, 2000);
    assert.equal(await inbox.waitFor(() => inbox.bids.has(wrongId) || inbox.responses.has(wrongId), 1000), false);

    // No request oneof, or one this schema does not know (field 19): bid on, then refused with invalid_argument.
    const noRequest = new RpcStartEgressRequest({ egressId: 'EG_fuzz_noreq' }).toBinary();
    const unknownOneof = concat(
      new RpcStartEgressRequest({ egressId: 'EG_fuzz_unknown' }).toBinary(),
      lenField(19, lenField(1, utf8('future'))),
    );
    for (const raw of [noRequest, unknownOneof]) {
      const r = await call(START, raw);
      assert.equal(r.bids.length, 1, 'one bid');
      assert.equal(r.responses.length, 1, 'one answer');
      assert.equal(r.responses[0]!.response.code, 'invalid_argument', r.responses[0]!.response.error);
      assert.match(r.responses[0]!.response.error, /request/);
    }

    // The same Request delivered twice while its claim is pending: one bid, not two.
    const dupId = 'REQ_fuzzduplicate';
    const dup = Buffer.from(
      encodeEnvelope(
        new PsrpcRequest({ requestId: dupId, clientId, expiry: msFromNowNs(1500), rawRequest: noRequest }),
      ),
    );
    await pub.publish(START.req, dup);
    await pub.publish(START.req, dup);
    await sleep(1000);
    assert.equal(inbox.bids.get(dupId)?.length ?? 0, 1, 'a duplicated delivery is bid on once');
    assert.equal(inbox.responses.get(dupId)?.length ?? 0, 0, 'and not answered without a decision');

    assert.ok(alive());
  });

  test(`fuzz: ${FUZZ_COUNT} random and mutated payloads on every channel, service alive and live memory flat`, async (t) => {
    t.diagnostic(`FUZZ_SEED=${SEED} (set it to replay this run)`);
    const logStart = svc.logs.length;
    const warm = await blast(WARMUP_COUNT, FUZZ_CAP_MS, targets);
    const liveBefore = await heap.live();
    const bytesBefore = fuzzer.bytesSent;
    const main = await blast(FUZZ_COUNT, FUZZ_CAP_MS, targets);
    const mainBytes = fuzzer.bytesSent - bytesBefore;
    assert.ok(main.sent >= FUZZ_COUNT / 2, `sent only ${main.sent} messages in ${main.ms} ms`);
    assert.ok(alive(), 'the service is alive after the fuzz');

    // Every tracked expectation, bounded.
    const malformedDone = () =>
      [...expect.malformed.keys()].every((id) => inbox.responses.has(id)) &&
      [...expect.bidOnly].every((id) => inbox.bids.has(id));
    await inbox.waitFor(malformedDone, 5000);

    const missing = [...expect.malformed.keys()].filter((id) => !inbox.responses.has(id));
    assert.deepEqual(missing, [], 'every garbage raw_request is answered');
    for (const [id, service] of expect.malformed) {
      for (const r of inbox.responses.get(id) ?? []) {
        assert.equal(r.service, service, id);
        assert.equal(r.response.code, 'malformed_request', `${id}: ${r.response.error}`);
      }
    }
    const answeredExpired = [...expect.silent].filter((id) => inbox.responses.has(id) || inbox.bids.has(id));
    assert.deepEqual(answeredExpired, [], 'expired requests get neither a bid nor an answer');
    for (const id of expect.bidOnly) {
      assert.equal(inbox.bids.get(id)?.length, 1, `${id}: one bid (duplicates are bid on once)`);
      assert.equal(inbox.responses.get(id)?.length ?? 0, 0, `${id}: no answer without a decision`);
    }
    assert.deepEqual(inbox.undecodable, [], 'the service publishes only well-formed envelopes');

    // Logs: drops are reported per channel; nothing unhandled, no error-level line, no psrpc/bus error.
    assert.deepEqual(
      problemLines(logStart).map((l) => l.slice(0, 300)),
      [],
    );
    const parsed = svc.logs.slice(logStart).flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string; channel?: string }];
      } catch {
        return [];
      }
    });
    const drops = new Map<string, number>();
    for (const p of parsed) {
      if (p.msg === 'dropped bad message from the bus' && p.channel)
        drops.set(p.channel, (drops.get(p.channel) ?? 0) + 1);
    }
    for (const { channel } of targets) assert.ok(drops.get(channel), `drops logged on ${channel}`);

    // Nothing started, no subscription leaked or lost.
    const health = (await (await fetch(`http://127.0.0.1:${svc.healthPort}/`)).json()) as { egresses: unknown[] };
    assert.deepEqual(health.egresses, [], 'the fuzz started no egress');
    assert.deepEqual(readdirSync(svc.tmpDir), [], 'no temp dir');
    assert.deepEqual(await busChannels(), channelsAtStart, 'the same subscriptions as before the fuzz');

    const liveAfter = await heap.live();
    const growth = liveAfter.heapUsed + liveAfter.external - (liveBefore.heapUsed + liveBefore.external);
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    t.diagnostic(
      `seed ${SEED}: warm-up ${warm.sent} msgs; fuzz ${main.sent} msgs / ${(mainBytes / 2 ** 20).toFixed(1)} MiB ` +
        `in ${main.ms} ms; kinds ${JSON.stringify(Object.fromEntries(fuzzer.counts))}; ` +
        `tracked: ${expect.malformed.size} malformed, ${expect.silent.size} expired, ${expect.bidOnly.size} no-request; ` +
        `${barriers} barriers, slowest ${maxBarrierMs} ms`,
    );
    t.diagnostic(
      `service live memory after GC (heap + external): ${mib(liveBefore.heapUsed)} + ${mib(liveBefore.external)} ` +
        `after warm-up, ${mib(liveAfter.heapUsed)} + ${mib(liveAfter.external)} after the fuzz: growth ` +
        `${mib(growth)}; RSS ${mib(liveBefore.rss)} -> ${mib(liveAfter.rss)}`,
    );
    assert.ok(mainBytes > 4 * LIVE_GROWTH_LIMIT, `the fuzz sent 4x more than the bound (${mainBytes} bytes)`);
    assert.ok(growth < LIVE_GROWTH_LIMIT, `live memory grew ${growth} bytes (limit ${LIVE_GROWTH_LIMIT})`);
  });

  test('1 MiB string fields on every channel: dropped or answered, and the service keeps answering', async (t) => {
    // Ids, client ids (the service escapes them into the channel it answers on), metadata, URLs, error text.
    const logStart = svc.logs.length;
    maxBarrierMs = 0;
    fuzzer.hugeBytes = [1024 * 1024, 1024 * 1024];
    try {
      for (const target of targets) {
        for (let i = 0; i < 3; i++) {
          await pub.publish(target.channel, Buffer.from(fuzzer.build(target, 'huge')));
          await barrier();
        }
      }
    } finally {
      fuzzer.hugeBytes = HUGE_FIELD_BYTES;
    }
    t.diagnostic(`1 MiB fields: the service answered the next request within ${maxBarrierMs} ms at worst`);
    assert.ok(alive());
    assert.deepEqual(inbox.undecodable, []);
    assert.deepEqual(
      problemLines(logStart).map((l) => l.slice(0, 300)),
      [],
    );
  });

  test('afterwards: a normal web egress completes; its StopEgress channel survives fuzz; duplicate id refused', async (t) => {
    const logStart = svc.logs.length;
    const info = await client.startWebEgress(page.urlFor(), new EncodedFileOutput({ filepath: 'after-fuzz.mp4' }));
    assert.equal(info.status, EgressStatus.EGRESS_STARTING);
    await waitForStatus(client, info.egressId, [EgressStatus.EGRESS_ACTIVE]);
    const activeAt = Date.now();

    // StartEgress again with the id of the running egress: already_exists.
    const dup = await call(
      START,
      new RpcStartEgressRequest({
        egressId: info.egressId,
        request: { case: 'web', value: { url: page.urlFor(), fileOutputs: [{ filepath: 'dup.mp4' }] } },
      }).toBinary(),
    );
    assert.equal(dup.bids.length, 1, 'bid on (there is room)');
    assert.equal(dup.responses[0]?.response.code, 'already_exists', dup.responses[0]?.response.error);

    // Fuzz the per-egress control channel: garbage there must neither stop nor crash it.
    const stopReq = `EgressHandler|StopEgress|${info.egressId}|REQ`;
    assert.ok((await busChannels()).includes(stopReq), `${stopReq} is subscribed`);
    const before = expect.malformed.size;
    const burst = await blast(STOP_FUZZ_COUNT, 10_000, [{ kind: 'stop', channel: stopReq }]);
    const stopMalformed = [...expect.malformed].slice(before).filter(([, s]) => s === 'EgressHandler');
    await inbox.waitFor(() => stopMalformed.every(([id]) => inbox.responses.has(id)), 5000);
    for (const [id] of stopMalformed) {
      assert.equal(inbox.responses.get(id)?.[0]?.response.code, 'malformed_request', id);
    }
    t.diagnostic(`StopEgress channel: ${burst.sent} msgs, ${stopMalformed.length} answered malformed_request`);
    assert.ok(alive());
    assert.deepEqual(
      problemLines(logStart).map((l) => l.slice(0, 300)),
      [],
    );
    const [still] = await client.listEgress({ egressId: info.egressId });
    assert.equal(still?.status, EgressStatus.EGRESS_ACTIVE, 'still recording after the control-channel fuzz');

    await sleep(Math.max(0, 4000 - (Date.now() - activeAt)));
    await client.stopEgress(info.egressId);
    const done = await waitForStatus(client, info.egressId, TERMINAL);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    const p = await probe(done.fileResults[0]!.location);
    assert.equal(p.video?.codec_name, 'h264');
    assert.ok(p.durationSec > 3, `duration ${p.durationSec}`);

    // The per-egress topics go away with the egress.
    const gone = async () => !(await busChannels()).some((c) => c.includes(info.egressId));
    const deadline = Date.now() + 3000;
    while (!(await gone()) && Date.now() < deadline) await sleep(100);
    assert.ok(await gone(), 'per-egress channels unsubscribed');
    assert.deepEqual(
      svc.logs.filter((l) => /unhandled|uncaught/i.test(l)),
      [],
      'nothing unhandled in the whole run',
    );
    assert.ok(alive());
  });
});
