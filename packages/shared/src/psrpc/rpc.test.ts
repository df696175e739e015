import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Empty, type Message } from '@bufbuild/protobuf';
import { EgressInfo, EgressStatus, StopEgressRequest, WebEgressRequest } from '@livekit/protocol';
import { EgressError, errors } from '../errors.js';
import { sleep, until } from '../testing/wait.js';
import { RedisBus, redisOptions } from './bus.js';
import { claimRequestChannel, requestChannel, responseChannel } from './channels.js';
import { PsrpcClient } from './client.js';
import { msToNs } from './clock.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import {
  ClaimRequest,
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcRequest,
  PsrpcResponse,
  RpcStartEgressRequest,
} from './messages.js';
import type { BadInput } from './reporting.js';
import { startRedis as startTestRedis, type TestRedis } from '../testing/redis-server.js';
import { PsrpcServer, type HandlerContext } from './server.js';

let redis: TestRedis;
let address = '';
const buses: RedisBus[] = [];

async function startRedis(): Promise<void> {
  redis = await startTestRedis();
  address = redis.address;
}

/** A bus standing for one process; closed after all tests. */
function newBus(): RedisBus {
  const bus = new RedisBus(redisOptions({ address }), (err, context) => {
    // Connection errors are unexpected in these tests; handler failures are reported by the tests themselves.
    if (context.startsWith('redis')) console.error(context, err);
  });
  buses.push(bus);
  return bus;
}

/** Collects raw payloads on a channel, as an observer outside psrpc. */
async function tap(bus: RedisBus, channel: string): Promise<{ payloads: Buffer[]; stop(): Promise<void> }> {
  const payloads: Buffer[] = [];
  const handler = (payload: Buffer): void => {
    payloads.push(payload);
  };
  await bus.subscribe(channel, handler);
  return { payloads, stop: () => bus.unsubscribe(channel, handler) };
}

function rejectsWith(code: string, message?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgressError, `expected EgressError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  };
}

const startReq = (egressId: string): RpcStartEgressRequest =>
  new RpcStartEgressRequest({
    egressId,
    request: { case: 'web', value: new WebEgressRequest({ url: 'https://example.com' }) },
  });

function rawRequest(clientId: string, raw: Uint8Array, expiryMs: number, requestId = 'REQ_raw'): Uint8Array {
  return encodeEnvelope(
    new PsrpcRequest({
      requestId,
      clientId,
      sentAt: msToNs(Date.now()),
      expiry: msToNs(expiryMs),
      rawRequest: raw,
    }),
  );
}

describe('psrpc over a real redis-server', () => {
  before(startRedis);
  after(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await redis.stop();
  });

  it('affinity: StartEgress round trip', async () => {
    const serverBus = newBus();
    const clientBus = newBus();
    const server = new PsrpcServer(serverBus, 'EgressInternal');
    let seen: HandlerContext | undefined;
    await server.registerAffinity({
      method: 'StartEgress',
      topic: [''],
      requestType: RpcStartEgressRequest,
      affinity: () => 1,
      handler: async (req, ctx) => {
        seen = ctx;
        assert.equal(req.request.case, 'web');
        return new EgressInfo({ egressId: req.egressId, status: EgressStatus.EGRESS_STARTING });
      },
    });
    const client = await PsrpcClient.create(clientBus, 'EgressInternal');
    try {
      const info = await client.request('StartEgress', '', startReq('EG_1'), EgressInfo, {
        timeoutMs: 3000,
        selectionTimeoutMs: 1000,
        metadata: { traceparent: 'tp' },
      });
      assert.equal(info.egressId, 'EG_1');
      assert.equal(info.status, EgressStatus.EGRESS_STARTING);
      assert.ok(seen);
      assert.equal(seen.clientId, client.id);
      assert.equal(seen.serverId, server.id);
      assert.match(seen.requestId, /^REQ_[a-zA-Z0-9]{12}$/);
      assert.match(server.id, /^SRV_[a-zA-Z0-9]{12}$/);
      assert.match(client.id, /^CLI_[a-zA-Z0-9]{12}$/);
      assert.deepEqual({ ...seen.metadata }, { traceparent: 'tp' });
      assert.equal(seen.signal.aborted, false);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('affinity: the client picks one of two bidders, the other stays silent', async () => {
    const calls: string[] = [];
    const servers = [new PsrpcServer(newBus(), 'EgressInternal'), new PsrpcServer(newBus(), 'EgressInternal')];
    for (const server of servers) {
      await server.registerAffinity({
        method: 'StartEgress',
        requestType: RpcStartEgressRequest,
        affinity: () => 0.5,
        handler: async (req) => {
          calls.push(server.id);
          return new EgressInfo({ egressId: req.egressId });
        },
      });
    }
    const clientBus = newBus();
    const client = await PsrpcClient.create(clientBus, 'EgressInternal');
    const responses = await tap(clientBus, responseChannel('EgressInternal', client.id));
    try {
      const info = await client.request('StartEgress', undefined, startReq('EG_2'), EgressInfo, { timeoutMs: 3000 });
      assert.equal(info.egressId, 'EG_2');
      await sleep(200);
      assert.equal(calls.length, 1);
      assert.equal(responses.payloads.length, 1);
    } finally {
      await responses.stop();
      await client.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('queue: of two servers exactly one handles StopEgress, and the lock key is set with a 5 s expiry', async () => {
    const handled: string[] = [];
    const servers = [new PsrpcServer(newBus(), 'EgressHandler'), new PsrpcServer(newBus(), 'EgressHandler')];
    for (const server of servers) {
      await server.registerQueue({
        method: 'StopEgress',
        topic: ['EG_q-1'],
        requestType: StopEgressRequest,
        handler: async (req) => {
          handled.push(server.id);
          return new EgressInfo({ egressId: req.egressId, status: EgressStatus.EGRESS_ENDING });
        },
      });
    }
    const clientBus = newBus();
    const client = await PsrpcClient.create(clientBus, 'EgressHandler');
    const bids = await tap(clientBus, claimRequestChannel('EgressHandler', client.id));
    try {
      const info = await client.request(
        'StopEgress',
        'EG_q-1',
        new StopEgressRequest({ egressId: 'EG_q-1' }),
        EgressInfo,
        {
          timeoutMs: 3000,
          selectionTimeoutMs: 1000,
        },
      );
      assert.equal(info.status, EgressStatus.EGRESS_ENDING);
      await sleep(200);
      assert.equal(handled.length, 1);
      assert.equal(bids.payloads.length, 1);
      const bid = decodeEnvelope(bids.payloads[0] ?? Buffer.alloc(0), ClaimRequest);
      assert.equal(bid.affinity, 1);

      const { Redis } = await import('ioredis');
      const probe = new Redis(redisOptions({ address }));
      try {
        const keys = await probe.keys('*');
        assert.equal(keys.length, 1);
        assert.match(keys[0] ?? '', /^[A-Za-z0-9+/]{43}=$/);
        const ttl = await probe.ttl(keys[0] ?? '');
        assert.ok(ttl > 0 && ttl <= 5, `ttl ${ttl}`);
        await probe.flushdb();
      } finally {
        await probe.quit();
      }
    } finally {
      await bids.stop();
      await client.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('queue: an IOInfo-style method returning Empty succeeds with no raw_response', async () => {
    const server = new PsrpcServer(newBus(), 'IOInfo');
    const stored: string[] = [];
    await server.registerQueue({
      method: 'CreateEgress',
      requestType: EgressInfo,
      handler: async (info) => {
        stored.push(info.egressId);
        return new Empty();
      },
    });
    const clientBus = newBus();
    const client = await PsrpcClient.create(clientBus, 'IOInfo');
    const responses = await tap(clientBus, responseChannel('IOInfo', client.id));
    try {
      const res = await client.request('CreateEgress', undefined, new EgressInfo({ egressId: 'EG_io' }), Empty, {
        timeoutMs: 2000,
      });
      assert.ok(res instanceof Empty);
      assert.deepEqual(stored, ['EG_io']);
      await until(() => responses.payloads.length === 1, { timeoutMs: 2000, intervalMs: 10 });
      const wire = decodeEnvelope(responses.payloads[0] ?? Buffer.alloc(0), PsrpcResponse);
      assert.equal(wire.rawResponse.length, 0);
      assert.equal(wire.error, '');
    } finally {
      await responses.stop();
      await client.close();
      await server.close();
    }
  });

  it('multi: two servers, two replies', async () => {
    const servers = [new PsrpcServer(newBus(), 'EgressInternal'), new PsrpcServer(newBus(), 'EgressInternal')];
    for (const [i, server] of servers.entries()) {
      await server.registerMulti({
        method: 'ListActiveEgress',
        topic: '',
        requestType: ListActiveEgressRequest,
        handler: async () => new ListActiveEgressResponse({ egressIds: [`EG_${i}`] }),
      });
    }
    const client = await PsrpcClient.create(newBus(), 'EgressInternal');
    try {
      const results = await client.multi(
        'ListActiveEgress',
        '',
        new ListActiveEgressRequest(),
        ListActiveEgressResponse,
        { timeoutMs: 400 },
      );
      assert.equal(results.length, 2);
      assert.deepEqual(results.flatMap((r) => r.result?.egressIds ?? []).sort(), ['EG_0', 'EG_1']);
      assert.deepEqual(results.map((r) => r.serverId).sort(), servers.map((s) => s.id).sort());
    } finally {
      await client.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('multi: no servers is zero results, not an error', async () => {
    const client = await PsrpcClient.create(newBus(), 'EgressInternal');
    try {
      const results = await client.multi(
        'ListActiveEgress',
        '',
        new ListActiveEgressRequest(),
        ListActiveEgressResponse,
        {
          timeoutMs: 100,
        },
      );
      assert.deepEqual(results, []);
    } finally {
      await client.close();
    }
  });

  it('drops an expired request without a bid or a reply', async () => {
    const bus = newBus();
    const server = new PsrpcServer(bus, 'EgressInternal');
    let called = false;
    await server.registerAffinity({
      method: 'StartEgress',
      requestType: RpcStartEgressRequest,
      affinity: () => 1,
      handler: async () => {
        called = true;
        return new EgressInfo();
      },
    });
    const bids = await tap(bus, claimRequestChannel('EgressInternal', 'CLI_expired'));
    const replies = await tap(bus, responseChannel('EgressInternal', 'CLI_expired'));
    try {
      await bus.publish(
        requestChannel('EgressInternal', 'StartEgress'),
        rawRequest('CLI_expired', startReq('EG_x').toBinary(), Date.now() - 1),
      );
      await sleep(200);
      assert.equal(called, false);
      assert.equal(bids.payloads.length, 0);
      assert.equal(replies.payloads.length, 0);
    } finally {
      await bids.stop();
      await replies.stop();
      await server.close();
    }
  });

  it('a negative affinity is no bid: the client gets unavailable "no response from servers"', async () => {
    const server = new PsrpcServer(newBus(), 'EgressInternal');
    await server.registerAffinity({
      method: 'StartEgress',
      requestType: RpcStartEgressRequest,
      affinity: () => -1,
      handler: async () => assert.fail('must not run'),
    });
    const client = await PsrpcClient.create(newBus(), 'EgressInternal');
    try {
      await assert.rejects(
        client.request('StartEgress', '', startReq('EG_n'), EgressInfo, { timeoutMs: 2000, selectionTimeoutMs: 300 }),
        rejectsWith('unavailable', 'no response from servers'),
      );
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a bid of 0 never wins: unavailable "no servers available (received 1 responses)"', async () => {
    const server = new PsrpcServer(newBus(), 'EgressInternal');
    await server.registerAffinity({
      method: 'StartEgress',
      requestType: RpcStartEgressRequest,
      affinity: () => 0,
      handler: async () => assert.fail('must not run'),
    });
    const client = await PsrpcClient.create(newBus(), 'EgressInternal');
    try {
      await assert.rejects(
        client.request('StartEgress', '', startReq('EG_z'), EgressInfo, { timeoutMs: 2000, selectionTimeoutMs: 300 }),
        rejectsWith('unavailable', 'no servers available (received 1 responses)'),
      );
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('caps an error reply at 4 KiB, keeping its code', async () => {
    const server = new PsrpcServer(newBus(), 'EgressHandler');
    await server.registerQueue({
      method: 'StopEgress',
      topic: 'EG_long',
      requestType: StopEgressRequest,
      handler: async () => {
        throw new EgressError('failed_precondition', `page said: ${'x'.repeat(1024 * 1024)}`);
      },
    });
    const client = await PsrpcClient.create(newBus(), 'EgressHandler');
    try {
      await assert.rejects(
        client.request('StopEgress', 'EG_long', new StopEgressRequest(), EgressInfo, { timeoutMs: 2000 }),
        (err: unknown) => {
          assert.ok(err instanceof EgressError);
          assert.equal(err.code, 'failed_precondition');
          assert.ok(Buffer.byteLength(err.message) <= 4096, `${Buffer.byteLength(err.message)} bytes`);
          assert.match(err.message, /^page said: x+… \[cut: \d+ bytes\]$/);
          return true;
        },
      );
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('propagates a handler EgressError code and message; other throws become internal', async () => {
    const onError: unknown[] = [];
    const server = new PsrpcServer(newBus(), 'EgressHandler', { onError: (err) => onError.push(err) });
    await server.registerQueue({
      method: 'StopEgress',
      topic: 'EG_missing',
      requestType: StopEgressRequest,
      handler: async () => {
        throw errors.notFound('egress EG_missing');
      },
    });
    await server.registerQueue({
      method: 'UpdateStream',
      topic: 'EG_missing',
      requestType: StopEgressRequest,
      handler: async () => {
        throw new TypeError('boom');
      },
    });
    const client = await PsrpcClient.create(newBus(), 'EgressHandler');
    try {
      await assert.rejects(
        client.request('StopEgress', 'EG_missing', new StopEgressRequest(), EgressInfo, { timeoutMs: 2000 }),
        rejectsWith('not_found', 'egress EG_missing not found'),
      );
      await assert.rejects(
        client.request('UpdateStream', 'EG_missing', new StopEgressRequest(), EgressInfo, { timeoutMs: 2000 }),
        rejectsWith('internal', 'boom'),
      );
      assert.equal(onError.length, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('times out with deadline_exceeded "request timed out" and aborts the handler signal', async () => {
    const server = new PsrpcServer(newBus(), 'EgressHandler');
    let aborted = false;
    await server.registerQueue({
      method: 'StopEgress',
      topic: 'EG_slow',
      requestType: StopEgressRequest,
      handler: async (_req, ctx) => {
        await once(ctx.signal, 'abort');
        aborted = true;
        return new EgressInfo();
      },
    });
    const client = await PsrpcClient.create(newBus(), 'EgressHandler');
    try {
      await assert.rejects(
        client.request('StopEgress', 'EG_slow', new StopEgressRequest(), EgressInfo, { timeoutMs: 300 }),
        rejectsWith('deadline_exceeded', 'request timed out'),
      );
      await until(() => aborted, { timeoutMs: 2000, intervalMs: 10 });
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a caller abort fails the request with canceled', async () => {
    const client = await PsrpcClient.create(newBus(), 'IOInfo');
    try {
      const abort = new AbortController();
      const pending = client.request('GetEgress', undefined, new Empty(), EgressInfo, {
        timeoutMs: 5000,
        signal: abort.signal,
      });
      setTimeout(() => abort.abort(), 50);
      await assert.rejects(pending, rejectsWith('canceled', 'request canceled'));
    } finally {
      await client.close();
    }
  });

  it('deregister stops serving', async () => {
    const server = new PsrpcServer(newBus(), 'EgressHandler');
    await server.registerQueue({
      method: 'StopEgress',
      topic: 'EG_gone',
      requestType: StopEgressRequest,
      handler: async () => new EgressInfo(),
    });
    await server.deregister('StopEgress', 'EG_gone');
    const client = await PsrpcClient.create(newBus(), 'EgressHandler');
    try {
      await assert.rejects(
        client.request('StopEgress', 'EG_gone', new StopEgressRequest(), EgressInfo, {
          timeoutMs: 1000,
          selectionTimeoutMs: 200,
        }),
        rejectsWith('unavailable', 'no response from servers'),
      );
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('refuses to register the same method and topic twice', async () => {
    const server = new PsrpcServer(newBus(), 'EgressHandler');
    const def = {
      method: 'StopEgress',
      topic: 'EG_dup',
      requestType: StopEgressRequest,
      handler: async () => new EgressInfo(),
    };
    try {
      await server.registerQueue(def);
      await assert.rejects(server.registerQueue(def), rejectsWith('already_exists'));
    } finally {
      await server.close();
    }
  });

  describe('malformed input', () => {
    it('garbage on REQ, RCLAIM, RES and CLAIM is reported and nothing crashes', async () => {
      const bad: BadInput[] = [];
      const onBadInput = (input: BadInput): void => {
        bad.push(input);
      };
      const bus = newBus();
      const server = new PsrpcServer(bus, 'EgressInternal', { onBadInput });
      await server.registerAffinity({
        method: 'StartEgress',
        requestType: RpcStartEgressRequest,
        affinity: () => 1,
        handler: async (req) => new EgressInfo({ egressId: req.egressId }),
      });
      const client = await PsrpcClient.create(newBus(), 'EgressInternal', { onBadInput });
      try {
        const garbage = Buffer.from([0xff, 0x00, 0x13, 0x37]);
        const wrongType = encodeEnvelope(new ClaimRequest({ requestId: 'REQ_x' }));
        const channels = [
          'EgressInternal|StartEgress|REQ',
          'EgressInternal|StartEgress|RCLAIM',
          `EgressInternal|${client.id}|RES`,
          `EgressInternal|${client.id}|CLAIM`,
        ];
        for (const channel of channels) {
          await bus.publish(channel, garbage);
          await bus.publish(channel, Buffer.alloc(0));
        }
        await bus.publish('EgressInternal|StartEgress|REQ', wrongType);
        await until(() => bad.length === channels.length * 2 + 1, { timeoutMs: 2000, intervalMs: 10 });
        assert.deepEqual([...new Set(bad.map((b) => b.channel))].sort(), [...channels].sort());
        assert.ok(bad.every((b) => b.service === 'EgressInternal' && b.reason.length > 0));

        const info = await client.request('StartEgress', '', startReq('EG_ok'), EgressInfo, { timeoutMs: 2000 });
        assert.equal(info.egressId, 'EG_ok');
      } finally {
        await client.close();
        await server.close();
      }
    });

    it('an undecodable raw_request is answered at once with malformed_request', async () => {
      const bad: BadInput[] = [];
      const bus = newBus();
      const server = new PsrpcServer(bus, 'EgressHandler', { onBadInput: (b) => bad.push(b) });
      let called = false;
      await server.registerQueue({
        method: 'StopEgress',
        topic: 'EG_m',
        requestType: StopEgressRequest,
        handler: async () => {
          called = true;
          return new EgressInfo();
        },
      });
      const bids = await tap(bus, claimRequestChannel('EgressHandler', 'CLI_raw'));
      const replies = await tap(bus, responseChannel('EgressHandler', 'CLI_raw'));
      try {
        // Field 1 (string) claims 16 bytes but only 1 follows.
        await bus.publish(
          requestChannel('EgressHandler', 'StopEgress', 'EG_m'),
          rawRequest('CLI_raw', new Uint8Array([0x0a, 0x10, 0x41]), Date.now() + 2000),
        );
        await until(() => replies.payloads.length === 1, { timeoutMs: 2000, intervalMs: 10 });
        const res = decodeEnvelope(replies.payloads[0] ?? Buffer.alloc(0), PsrpcResponse);
        assert.equal(res.requestId, 'REQ_raw');
        assert.equal(res.serverId, server.id);
        assert.equal(res.code, 'malformed_request');
        assert.ok(res.error.length > 0);
        assert.ok(res.sentAt > 0n);
        assert.equal(bids.payloads.length, 0);
        assert.equal(called, false);
        assert.equal(bad.length, 1);
      } finally {
        await bids.stop();
        await replies.stop();
        await server.close();
      }
    });

    it('the client reports a malformed_request refusal when nobody bids', async () => {
      const server = new PsrpcServer(newBus(), 'EgressInternal');
      await server.registerAffinity({
        method: 'StartEgress',
        requestType: RpcStartEgressRequest,
        affinity: () => 1,
        handler: async () => new EgressInfo(),
      });
      const client = await PsrpcClient.create(newBus(), 'EgressInternal');
      // A message whose bytes are not a valid rpc.StartEgressRequest: field 11 (web) with a bad length.
      const notStart = { toBinary: () => new Uint8Array([0x5a, 0x10, 0x01]) } as unknown as Message;
      try {
        await assert.rejects(
          client.request('StartEgress', '', notStart, EgressInfo, { timeoutMs: 1000, selectionTimeoutMs: 300 }),
          rejectsWith('malformed_request'),
        );
      } finally {
        await client.close();
        await server.close();
      }
    });

    it('a claim decision for another server runs nothing and sends nothing', async () => {
      const bus = newBus();
      const server = new PsrpcServer(bus, 'EgressInternal');
      let called = false;
      await server.registerAffinity({
        method: 'StartEgress',
        requestType: RpcStartEgressRequest,
        affinity: () => 1,
        handler: async () => {
          called = true;
          return new EgressInfo();
        },
      });
      const bids = await tap(bus, claimRequestChannel('EgressInternal', 'CLI_other'));
      const replies = await tap(bus, responseChannel('EgressInternal', 'CLI_other'));
      try {
        await bus.publish(
          requestChannel('EgressInternal', 'StartEgress'),
          rawRequest('CLI_other', startReq('EG_o').toBinary(), Date.now() + 2000, 'REQ_other'),
        );
        await until(() => bids.payloads.length === 1, { timeoutMs: 2000, intervalMs: 10 });
        const { ClaimResponse } = await import('./messages.js');
        await bus.publish(
          'EgressInternal|StartEgress|RCLAIM',
          encodeEnvelope(new ClaimResponse({ requestId: 'REQ_other', serverId: 'SRV_someoneelse' })),
        );
        await sleep(200);
        assert.equal(called, false);
        assert.equal(replies.payloads.length, 0);
      } finally {
        await bids.stop();
        await replies.stop();
        await server.close();
      }
    });

    it('a throwing bus handler is reported and does not stop other handlers', async () => {
      const reported: string[] = [];
      const bus = new RedisBus(redisOptions({ address }), (_err, context) => reported.push(context));
      buses.push(bus);
      const got: string[] = [];
      await bus.subscribe('psrpc-test', () => {
        throw new Error('sync');
      });
      await bus.subscribe('psrpc-test', async () => {
        throw new Error('async');
      });
      await bus.subscribe('psrpc-test', (payload) => {
        got.push(payload.toString());
      });
      await bus.publish('psrpc-test', Buffer.from('hi'));
      await until(() => got.length === 1 && reported.length === 2, { timeoutMs: 2000, intervalMs: 10 });
      assert.deepEqual(reported, ['handler on psrpc-test', 'handler on psrpc-test']);
    });
  });
});
