import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Any, Empty } from '@bufbuild/protobuf';
import {
  EgressInfo,
  EgressStatus,
  EncodedFileOutput,
  StartEgressRequest,
  TemplateSource,
  WebEgressRequest,
} from '@livekit/protocol';
import { EgressError } from '../errors.js';
import { decodeEnvelope, decodePayload, encodeEnvelope } from './envelope.js';
import {
  ClaimRequest,
  ClaimResponse,
  ListActiveEgressRequest,
  ListActiveEgressResponse,
  PsrpcRequest,
  PsrpcResponse,
  RpcStartEgressRequest,
} from './messages.js';

const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')];

describe('envelope', () => {
  it('encodes the reference test vector byte for byte', () => {
    const claim = new ClaimResponse({ requestId: 'REQ_a', serverId: 'SRV_b' });
    const value = [0x0a, 0x05, ...ascii('REQ_a'), 0x12, 0x05, ...ascii('SRV_b')];
    assert.deepEqual([...claim.toBinary()], value);
    assert.equal(value.length, 14);
    const url = 'type.googleapis.com/internal.ClaimResponse';
    assert.equal(url.length, 0x2a);
    assert.deepEqual([...encodeEnvelope(claim)], [0x0a, 0x2a, ...ascii(url), 0x12, 0x0e, ...value]);
    assert.ok(claim.equals(decodeEnvelope(encodeEnvelope(claim), ClaimResponse)));
  });

  it('uses psrpc type URLs', () => {
    for (const [type, name] of [
      [PsrpcRequest, 'internal.Request'],
      [PsrpcResponse, 'internal.Response'],
      [ClaimRequest, 'internal.ClaimRequest'],
      [ClaimResponse, 'internal.ClaimResponse'],
    ] as const) {
      assert.equal(Any.fromBinary(encodeEnvelope(new type())).typeUrl, `type.googleapis.com/${name}`);
    }
  });

  it('round-trips Request, Response and ClaimRequest', () => {
    const req = new PsrpcRequest({
      requestId: 'REQ_1',
      clientId: 'CLI_1',
      sentAt: 1_700_000_000_000_000_000n,
      expiry: 1_700_000_003_000_000_000n,
      multi: true,
      metadata: { traceparent: '00-abc-def-01' },
      rawRequest: new Uint8Array([1, 2, 3]),
    });
    assert.ok(req.equals(decodeEnvelope(encodeEnvelope(req), PsrpcRequest)));

    const res = new PsrpcResponse({
      requestId: 'REQ_1',
      serverId: 'SRV_1',
      sentAt: 5n,
      error: 'nope',
      code: 'not_found',
      rawResponse: new Uint8Array([9]),
      errorDetails: [Any.pack(new Empty())],
    });
    assert.ok(res.equals(decodeEnvelope(encodeEnvelope(res), PsrpcResponse)));

    const bid = new ClaimRequest({ requestId: 'REQ_1', serverId: 'SRV_1', affinity: 0.5 });
    const back = decodeEnvelope(encodeEnvelope(bid), ClaimRequest);
    assert.equal(back.affinity, 0.5);
    // affinity is a 32-bit float on the wire: tag 0x1d then 4 bytes.
    assert.deepEqual([...bid.toBinary()].slice(-5), [0x1d, 0x00, 0x00, 0x00, 0x3f]);
  });

  it('encodes int64 timestamps as varints', () => {
    const bytes = new PsrpcRequest({ sentAt: 1n, expiry: 300n }).toBinary();
    assert.deepEqual([...bytes], [0x18, 0x01, 0x20, 0xac, 0x02]);
  });

  it('round-trips rpc.StartEgressRequest with a web request', () => {
    const req = new RpcStartEgressRequest({
      egressId: 'EG_abc',
      request: { case: 'web', value: new WebEgressRequest({ url: 'https://example.com', audioOnly: true }) },
      roomId: 'RM_1',
      roomName: 'room',
      token: 't',
      wsUrl: 'ws://x',
      cloudBackupEnabled: true,
      estimatedCpu: 2.5,
      retryCount: 2,
    });
    const bytes = req.toBinary();
    // web is field 11 (length-delimited tag 0x5a); estimated_cpu is field 14 double (tag 0x71).
    assert.ok(bytes.includes(0x5a));
    assert.ok(bytes.includes(0x71));
    const back = decodePayload(RpcStartEgressRequest, bytes, 'malformed_request');
    assert.ok(req.equals(back));
    assert.equal(back.request.case, 'web');
    assert.equal(back.request.value?.url, 'https://example.com');
  });

  it('round-trips rpc.StartEgressRequest with the unified StartEgressRequest', () => {
    const unified = new StartEgressRequest({
      roomName: 'room',
      source: { case: 'template', value: new TemplateSource({ layout: 'grid' }) },
      outputs: [{ config: { case: 'file', value: new EncodedFileOutput({ filepath: 'out.mp4' }) } }],
    });
    const req = new RpcStartEgressRequest({ egressId: 'EG_x', request: { case: 'egress', value: unified } });
    const bytes = req.toBinary();
    // After egress_id (0a 04 "EG_x"): field 16, wire type 2 => tag 0x82 0x01.
    assert.deepEqual([...bytes.slice(6, 8)], [0x82, 0x01]);
    const back = decodePayload(RpcStartEgressRequest, bytes, 'malformed_request');
    assert.ok(req.equals(back));
    assert.equal(back.request.case, 'egress');
  });

  it('round-trips ListActiveEgress messages', () => {
    assert.equal(new ListActiveEgressRequest().toBinary().length, 0);
    const res = new ListActiveEgressResponse({ egressIds: ['EG_1', 'EG_2'] });
    assert.deepEqual(decodePayload(ListActiveEgressResponse, res.toBinary(), 'malformed_result').egressIds, [
      'EG_1',
      'EG_2',
    ]);
  });

  it('round-trips livekit types as raw payloads', () => {
    const info = new EgressInfo({ egressId: 'EG_1', status: EgressStatus.EGRESS_STARTING, startedAt: 123n });
    assert.ok(info.equals(decodePayload(EgressInfo, info.toBinary(), 'malformed_result')));
    assert.equal(new Empty().toBinary().length, 0);
  });

  it('ignores unknown fields, including Msg.channel', () => {
    const claim = new ClaimResponse({ requestId: 'REQ_a', serverId: 'SRV_b' });
    const withChannel = new Uint8Array([...encodeEnvelope(claim), 0x1a, 0x01, 0x78]);
    assert.ok(claim.equals(decodeEnvelope(withChannel, ClaimResponse)));
    const withExtra = new Uint8Array([...claim.toBinary(), 0x48, 0x07]);
    assert.ok(claim.equals(decodePayload(ClaimResponse, withExtra, 'malformed_request')));
  });

  it('rejects garbage with malformed_request', () => {
    const garbage = [
      new Uint8Array([0xff, 0xff, 0xff]),
      new Uint8Array([0x0a, 0x50, 0x41]),
      Buffer.from('hello world'),
      new Uint8Array(0),
      encodeEnvelope(new ClaimRequest({ requestId: 'x' })),
    ];
    for (const bytes of garbage) {
      assert.throws(
        () => decodeEnvelope(bytes, ClaimResponse),
        (err: unknown) => err instanceof EgressError && err.code === 'malformed_request',
      );
    }
    const truncatedValue = new Uint8Array([...encodeEnvelope(new ClaimResponse({ requestId: 'REQ_a' }))]);
    truncatedValue[truncatedValue.length - 6] = 0x20;
    assert.throws(() => decodeEnvelope(truncatedValue, ClaimResponse), EgressError);
    assert.throws(
      () => decodePayload(RpcStartEgressRequest, new Uint8Array([0x5a, 0x10, 0x01]), 'malformed_request'),
      (err: unknown) => err instanceof EgressError && err.code === 'malformed_request',
    );
  });
});
